"""Errors as data: every exception class and ``Diagnostic``, each with its code registered in ``CODES``.

- ``diagnostics``: ``Diagnostic``, ``SourceLocation``, ``CODES`` and the helpers that word them;
- ``exceptions``: ``CareflowError`` and the errors of definitions, histories, rendering and stores;
- ``refusals``: ``Refusal`` (what a case refuses, as data) and the ``CaseError`` tree the facades raise.
- ``checkpoints``: a signed checkpoint or a key that cannot be used;
- ``stores``: the stores' refusals to open or write (no store, not a store, damaged, read-only, bad case id).

This package imports nothing else from careflow at run time, so every layer can use it.
"""

from __future__ import annotations

from careflow.errors.access import InvalidReader
from careflow.errors.checkpoints import CheckpointInvalid, KeyProblem
from careflow.errors.commandline import NotAProcessId, SearchPathWarning
from careflow.errors.diagnostics import (
    CODES,
    Diagnostic,
    DiagnosticsHolder,
    Severity,
    SourceLocation,
    did_you_mean,
    escape_pointer_token,
    pointer_join,
    sort_diagnostics,
)
from careflow.errors.exceptions import (
    CareflowError,
    CaseExists,
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionError,
    GraphvizMissing,
    HistoryFileError,
    ProcessNotFound,
    RenderError,
    SchemaTooNew,
    StoreError,
)
from careflow.errors.limits import (
    BOUNDARY_ERRORS,
    InvalidActor,
    InvalidEvent,
    InvalidInput,
    InvalidReason,
    InvalidValue,
    OverLimit,
)
from careflow.errors.records import RedactionRefused
from careflow.errors.refusals import (
    ActionFailed,
    CaseClosed,
    CaseError,
    ChecklistOpen,
    EventNotAllowed,
    GuardFailed,
    HistoryError,
    InvalidData,
    MissingData,
    Refusal,
    RoleDenied,
    refusal_error,
)
from careflow.errors.stores import (
    InvalidCaseId,
    LockConflict,
    NotAStore,
    StoreDamaged,
    StoreMissing,
    StoreReadOnly,
    TamperedCase,
)

__all__ = [
    "BOUNDARY_ERRORS",
    "CODES",
    "ActionFailed",
    "CareflowError",
    "CaseClosed",
    "CaseError",
    "CaseExists",
    "CaseNotFound",
    "ChecklistOpen",
    "CheckpointInvalid",
    "ConcurrentUpdate",
    "DefinitionError",
    "Diagnostic",
    "DiagnosticsHolder",
    "EventNotAllowed",
    "GraphvizMissing",
    "GuardFailed",
    "HistoryError",
    "HistoryFileError",
    "InvalidActor",
    "InvalidCaseId",
    "InvalidData",
    "InvalidEvent",
    "InvalidInput",
    "InvalidReader",
    "InvalidReason",
    "InvalidValue",
    "KeyProblem",
    "LockConflict",
    "MissingData",
    "NotAProcessId",
    "NotAStore",
    "OverLimit",
    "ProcessNotFound",
    "RedactionRefused",
    "Refusal",
    "RenderError",
    "RoleDenied",
    "SchemaTooNew",
    "SearchPathWarning",
    "Severity",
    "SourceLocation",
    "StoreDamaged",
    "StoreError",
    "StoreMissing",
    "StoreReadOnly",
    "TamperedCase",
    "did_you_mean",
    "escape_pointer_token",
    "pointer_join",
    "refusal_error",
    "sort_diagnostics",
]
