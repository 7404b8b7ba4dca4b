"""careflow: YAML process definitions as validated state machines, with cases, audit and diagrams.

Attributes are imported lazily, so ``import careflow`` (and ``careflow --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # definitions
    "load": "careflow.loader",
    "loads": "careflow.loader",
    "validate": "careflow.loader",
    "bundled": "careflow.loader",
    "find": "careflow.loader",
    "ProcessDefinition": "careflow.model",
    # errors
    "CareflowError": "careflow.errors",
    "DefinitionError": "careflow.errors",
    "ProcessNotFound": "careflow.errors",
    "Diagnostic": "careflow.errors",
    "SourceLocation": "careflow.errors",
    "CaseError": "careflow.data",
    "InvalidData": "careflow.data",
    "EventNotAllowed": "careflow.compiled",
    "RoleDenied": "careflow.compiled",
    "GuardFailed": "careflow.compiled",
    "MissingData": "careflow.compiled",
    "ChecklistOpen": "careflow.compiled",
    "CaseClosed": "careflow.compiled",
    "HistoryError": "careflow.case",
    "ActionFailed": "careflow.case",
    # cases
    "Case": "careflow.case",
    "FireResult": "careflow.case",
    "Explanation": "careflow.case",
    "overdue": "careflow.case",
    "Actor": "careflow.compiled",
    "SYSTEM": "careflow.compiled",
    "Registry": "careflow.registry",
    "AuditEntry": "careflow.audit",
    "verify": "careflow.audit",
    "Clock": "careflow.clock",
    "SystemClock": "careflow.clock",
    "FixedClock": "careflow.clock",
    "ManualClock": "careflow.clock",
    # replay and histories
    "replay": "careflow.replay",
    "ReplayResult": "careflow.replay",
    "Divergence": "careflow.replay",
    "read_history": "careflow.history",
    "HistoryFileError": "careflow.history",
}

if TYPE_CHECKING:
    from careflow.audit import AuditEntry, verify
    from careflow.case import ActionFailed, Case, Explanation, FireResult, HistoryError, overdue
    from careflow.clock import Clock, FixedClock, ManualClock, SystemClock
    from careflow.compiled import (
        SYSTEM,
        Actor,
        CaseClosed,
        ChecklistOpen,
        EventNotAllowed,
        GuardFailed,
        MissingData,
        RoleDenied,
    )
    from careflow.data import CaseError, InvalidData
    from careflow.errors import CareflowError, DefinitionError, Diagnostic, ProcessNotFound, SourceLocation
    from careflow.history import HistoryFileError, read_history
    from careflow.loader import bundled, find, load, loads, validate
    from careflow.model import ProcessDefinition
    from careflow.registry import Registry
    from careflow.replay import Divergence, ReplayResult, replay

__all__ = [
    "SYSTEM", "ActionFailed", "Actor", "AuditEntry", "CareflowError", "Case", "CaseClosed", "CaseError",
    "ChecklistOpen", "Clock", "DefinitionError", "Diagnostic", "Divergence", "EventNotAllowed", "Explanation",
    "FireResult", "FixedClock", "GuardFailed", "HistoryError", "HistoryFileError", "InvalidData", "ManualClock",
    "MissingData", "ProcessDefinition", "ProcessNotFound", "Registry", "ReplayResult", "RoleDenied",
    "SourceLocation", "SystemClock", "bundled", "find", "load", "loads", "overdue", "read_history", "replay",
    "validate", "verify",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'careflow' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
