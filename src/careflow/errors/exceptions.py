"""The exception tree's root, and the errors of definitions, histories, rendering and stores.

Each class carries a ``code`` registered in ``careflow.errors.CODES``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from careflow.errors.diagnostics import CODES, Diagnostic, DiagnosticsHolder, did_you_mean, sort_diagnostics


class CareflowError(Exception):
    """Base of every error careflow raises on purpose."""

    code: str = "CF000"


class DefinitionError(DiagnosticsHolder, CareflowError):
    """A process definition has problems; ``diagnostics`` holds all of them, sorted."""

    code = "CF100"

    def __init__(self, diagnostics: Sequence[Diagnostic], source: str | None = None) -> None:
        self.diagnostics: list[Diagnostic] = sort_diagnostics(diagnostics)
        self.source = source
        errors = self.errors
        first = (errors or self.diagnostics)[0] if self.diagnostics else None
        summary = f"{len(errors)} error(s)" if errors else f"{len(self.diagnostics)} problem(s)"
        where = f" in {source}" if source else ""
        detail = f"; first: {first.format()}" if first else ""
        super().__init__(f"process definition{where} has {summary}{detail}")

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)

    def to_json(self) -> str:
        return json.dumps([d.to_json() for d in self.diagnostics], ensure_ascii=False, indent=2)


class ProcessNotFound(CareflowError):
    """No bundled, plugged-in or on-disk process has that id or path."""

    code = "CF010"

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        hint = did_you_mean(name, known, "process")
        super().__init__(f"no process named '{name}'" + (f"; {hint}" if hint else ""))


# -- histories, render, cli --

CODES.update({
    "CF970": "render-failed",
    "CF971": "graphviz-missing",
})


class HistoryFileError(CareflowError):
    """A history file that cannot be read or does not fit the history schema; ``diagnostics`` says where.

    The one error of the one history reader (``careflow.history``): replay, coverage, overlays and the
    pytest plugin all raise it."""

    code = "CF009"

    def __init__(self, diagnostics: Sequence[Diagnostic], file: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        self.file = file
        first = self.diagnostics[0].format() if self.diagnostics else "unreadable"
        super().__init__(f"{file or 'history'}: {len(self.diagnostics)} problem(s); first: {first}")

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class RenderError(CareflowError):
    """A diagram cannot be produced: an unknown format, or Graphviz failed."""

    code = "CF970"


class GraphvizMissing(RenderError):
    """Graphviz's ``dot`` is needed (svg, png, pdf) but not installed; the message says how to install it."""

    code = "CF971"


# -- stores --

CODES.update({
    "CF950": "store-error",
    "CF951": "concurrent-update",
    "CF952": "case-not-found",
    "CF953": "case-exists",
    "CF954": "schema-too-new",
})


class StoreError(CareflowError):
    """A case store cannot be opened or used: bad URL, unreachable server, damaged file, newer schema.

    ``hint`` says what to do about it. The data is never touched when this is raised on open.
    """

    code = "CF950"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message + (f"\n    hint: {hint}" if hint else ""))
        self.hint = hint


class ConcurrentUpdate(StoreError):
    """The case changed since it was read (its version moved on); nothing was written."""

    code = "CF951"

    def __init__(self, case_id: str, expected: int, actual: int | None) -> None:
        now = "is gone" if actual is None else f"is at version {actual}"
        super().__init__(f"case '{case_id}' was changed concurrently: expected version {expected}, it {now}",
                         "load the case again and retry (store.fire(..., retries=N) does that for a pure step)")
        self.case_id, self.expected, self.actual = case_id, expected, actual
        self.cached = False  # the stale version came from the store's own row cache, not from the caller


class CaseNotFound(StoreError):
    """No case with that id in the store."""

    code = "CF952"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"no case '{case_id}' in this store", "list cases with 'careflow case list'")
        self.case_id = case_id


class CaseExists(StoreError):
    """A new case's id is already taken in the store."""

    code = "CF953"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"a case '{case_id}' already exists in this store", "choose another id")
        self.case_id = case_id


class SchemaTooNew(StoreError):
    """The database was written by a newer careflow (its schema version is higher than ours)."""

    code = "CF954"
