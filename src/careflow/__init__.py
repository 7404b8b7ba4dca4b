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
    "load": "careflow.definitions.loader",
    "loads": "careflow.definitions.loader",
    "validate": "careflow.definitions.loader",
    "bundled": "careflow.definitions.loader",
    "find": "careflow.definitions.loader",
    "ProcessDefinition": "careflow.model.definition",
    # errors
    "CareflowError": "careflow.errors",
    "DefinitionError": "careflow.errors",
    "ProcessNotFound": "careflow.errors",
    "Diagnostic": "careflow.errors",
    "SourceLocation": "careflow.errors",
    "CaseError": "careflow.runtime.data",
    "InvalidData": "careflow.runtime.data",
    "EventNotAllowed": "careflow.runtime.compiled",
    "RoleDenied": "careflow.runtime.compiled",
    "GuardFailed": "careflow.runtime.compiled",
    "MissingData": "careflow.runtime.compiled",
    "ChecklistOpen": "careflow.runtime.compiled",
    "CaseClosed": "careflow.runtime.compiled",
    "HistoryError": "careflow.cases.case",
    "ActionFailed": "careflow.cases.case",
    # cases
    "Case": "careflow.cases.case",
    "FireResult": "careflow.cases.case",
    "Explanation": "careflow.cases.case",
    "overdue": "careflow.cases.case",
    "Actor": "careflow.runtime.compiled",
    "SYSTEM": "careflow.runtime.compiled",
    "Registry": "careflow.runtime.registry",
    "AuditEntry": "careflow.runtime.audit",
    "verify": "careflow.runtime.audit",
    "Clock": "careflow.clock",
    "SystemClock": "careflow.clock",
    "FixedClock": "careflow.clock",
    "ManualClock": "careflow.clock",
    # replay and histories
    "replay": "careflow.history.replay",
    "ReplayResult": "careflow.history.replay",
    "Divergence": "careflow.history.replay",
    "read_history": "careflow.history.reader",
    "HistoryFileError": "careflow.history.reader",
}

if TYPE_CHECKING:
    from careflow.cases.case import ActionFailed, Case, Explanation, FireResult, HistoryError, overdue
    from careflow.clock import Clock, FixedClock, ManualClock, SystemClock
    from careflow.definitions.loader import bundled, find, load, loads, validate
    from careflow.errors import CareflowError, DefinitionError, Diagnostic, ProcessNotFound, SourceLocation
    from careflow.history.reader import HistoryFileError, read_history
    from careflow.history.replay import Divergence, ReplayResult, replay
    from careflow.model.definition import ProcessDefinition
    from careflow.runtime.audit import AuditEntry, verify
    from careflow.runtime.compiled import (
        SYSTEM,
        Actor,
        CaseClosed,
        ChecklistOpen,
        EventNotAllowed,
        GuardFailed,
        MissingData,
        RoleDenied,
    )
    from careflow.runtime.data import CaseError, InvalidData
    from careflow.runtime.registry import Registry

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
