"""careflow: YAML process definitions as validated state machines, with cases, audit and diagrams.

The public API, about thirty names (docs/architecture.md says where each lives):

- definitions: ``load``, ``loads``, ``validate`` (→ ``Validation``), ``find_process``, ``ProcessDefinition``;
- cases: ``Case``, ``Actor``, ``FireResult``, ``Explanation``, ``open_store``;
- the pure core: ``open_case``, ``step`` (→ ``Step`` with a ``Refusal`` or None), ``Snapshot``;
- histories: ``replay`` (→ ``ReplayResult``), ``read_history``, ``dumps_jsonl``;
- the audit chain: ``AuditEntry``, ``verify_chain`` (→ ``VerifyResult``);
- clocks: ``Clock``, ``ManualClock``;
- errors: ``CareflowError``, ``DefinitionError``, ``CaseError`` (every other one is in ``careflow.errors``).

Names are imported lazily, so ``import careflow`` (and ``careflow --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careflow.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "load": "careflow.definitions.loader",
    "loads": "careflow.definitions.loader",
    "validate": "careflow.definitions.loader",
    "Validation": "careflow.definitions.loader",
    "find_process": "careflow.definitions.loader",
    "ProcessDefinition": "careflow.model.definition",
    "Case": "careflow.cases.case",
    "Actor": "careflow.runtime.compiled",
    "FireResult": "careflow.cases.results",
    "Explanation": "careflow.cases.results",
    "open_store": "careflow.cases.store",
    "open_case": "careflow.runtime.changes",
    "step": "careflow.runtime.engine",
    "Step": "careflow.runtime.engine",
    "Refusal": "careflow.errors",
    "Snapshot": "careflow.runtime.fields",
    "replay": "careflow.history.replay",
    "ReplayResult": "careflow.history.replay",
    "read_history": "careflow.history.reader",
    "dumps_jsonl": "careflow.history.writer",
    "AuditEntry": "careflow.runtime.audit",
    "verify_chain": "careflow.runtime.audit",
    "VerifyResult": "careflow.runtime.audit",
    "Clock": "careflow.clock",
    "ManualClock": "careflow.clock",
    "CareflowError": "careflow.errors",
    "DefinitionError": "careflow.errors",
    "CaseError": "careflow.errors",
}

if TYPE_CHECKING:
    from careflow.cases.case import Case
    from careflow.cases.results import Explanation, FireResult
    from careflow.cases.store import open_store
    from careflow.clock import Clock, ManualClock
    from careflow.definitions.loader import Validation, find_process, load, loads, validate
    from careflow.errors import CareflowError, CaseError, DefinitionError, Refusal
    from careflow.history.reader import read_history
    from careflow.history.replay import ReplayResult, replay
    from careflow.history.writer import dumps_jsonl
    from careflow.model.definition import ProcessDefinition
    from careflow.runtime.audit import AuditEntry, VerifyResult, verify_chain
    from careflow.runtime.changes import open_case
    from careflow.runtime.compiled import Actor
    from careflow.runtime.engine import Step, step
    from careflow.runtime.fields import Snapshot

__all__ = [
    "Actor", "AuditEntry", "CareflowError", "Case", "CaseError", "Clock", "DefinitionError", "Explanation",
    "FireResult", "ManualClock", "ProcessDefinition", "Refusal", "ReplayResult", "Snapshot", "Step", "Validation",
    "VerifyResult", "dumps_jsonl", "find_process", "load", "loads", "open_case", "open_store", "read_history",
    "replay", "step", "validate", "verify_chain",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
