"""careflow: YAML process definitions as validated state machines, with cases, audit and diagrams.

Attributes are imported lazily, so ``import careflow`` (and ``careflow --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "load": "careflow.loader",
    "loads": "careflow.loader",
    "validate": "careflow.loader",
    "bundled": "careflow.loader",
    "find": "careflow.loader",
    "CareflowError": "careflow.errors",
    "DefinitionError": "careflow.errors",
    "ProcessNotFound": "careflow.errors",
    "Diagnostic": "careflow.errors",
    "SourceLocation": "careflow.errors",
    "ProcessDefinition": "careflow.model",
    "Registry": "careflow.registry",
}

if TYPE_CHECKING:
    from careflow.errors import CareflowError, DefinitionError, Diagnostic, ProcessNotFound, SourceLocation
    from careflow.loader import bundled, find, load, loads, validate
    from careflow.model import ProcessDefinition
    from careflow.registry import Registry

__all__ = [
    "CareflowError", "DefinitionError", "Diagnostic", "ProcessDefinition", "ProcessNotFound", "Registry",
    "SourceLocation", "bundled", "find", "load", "loads", "validate",
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
