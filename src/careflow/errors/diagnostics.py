"""Diagnostics: a problem in an author's file as data, with a stable code, a location and a hint.

Every code is registered in ``CODES`` (the exception modules add theirs). No careflow imports here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

Severity = Literal["error", "warning"]

#: Stable diagnostic codes. The number never changes meaning; the name is for people.
CODES: dict[str, str] = {
    # reading the file (YAML level)
    "CF001": "yaml-syntax",
    "CF002": "duplicate-key",
    "CF003": "forbidden-tag",
    "CF004": "alias-limit",
    "CF005": "too-deep",
    "CF006": "too-large",
    "CF007": "non-string-key",
    "CF008": "not-a-mapping",
    "CF009": "unreadable-file",
    "CF010": "not-found",
    # the schema and the structure
    "CF100": "schema",
    "CF101": "wrong-type",
    "CF102": "missing-property",
    "CF103": "unknown-property",
    "CF104": "unknown-target",
    "CF105": "unknown-role",
    "CF106": "unknown-language",
    "CF107": "bad-value",
    "CF108": "unknown-data-field",
    "CF109": "bad-duration",
    "CF110": "unsupported-format",
    "CF111": "duplicate-state",
    "CF112": "bad-default",
    "CF113": "unknown-checklist-item",
    "CF114": "unknown-event",
    "CF115": "bad-initial",
    "CF116": "bad-final",
    "CF117": "duplicate-transition-id",
    "CF118": "bad-extends",
    "CF119": "bad-assign",
    # semantic checks over the graph
    "CF201": "unreachable-state",
    "CF202": "no-way-out",
    "CF203": "nondeterministic",
    "CF204": "unknown-process",
    "CF205": "unregistered-guard",
    "CF206": "no-final-state",
    "CF207": "unused-role",
    "CF208": "deadline-event-unhandled",
    "CF209": "guard-always-true",
    "CF215": "bad-handoff",  # issue 15: a spawn's start state or carried data against the other process
    "CF216": "bad-report",  # issue 15: a report back against the parent process
    # labels and languages
    "CF301": "missing-label",
    # guard expressions
    "CF401": "expression-syntax",
    "CF402": "unknown-name",
    "CF403": "forbidden-construct",
    "CF404": "unknown-function",
    "CF405": "type-mismatch",
    "CF406": "wrong-arguments",
    "CF407": "impossible-comparison",
    "CF408": "expression-too-complex",  # issue 11: longer or deeper than the guard limits
}


@attrs.frozen
class SourceLocation:
    """Where a problem is: a file position (1-based line and column) and a JSON pointer."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str = ""

    def __str__(self) -> str:
        parts = [self.file or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.pointer)


@attrs.frozen
class Diagnostic:
    """One problem in an author's file."""

    code: str
    message: str
    location: SourceLocation = SourceLocation()
    hint: str | None = None
    severity: Severity = "error"
    related: tuple[SourceLocation, ...] = ()  # other places the problem involves (e.g. in a base process)

    @property
    def name(self) -> str:
        return CODES.get(self.code, "unknown")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        """Compiler style: ``file:line:col: error CF104 unknown-target: message [pointer]``."""
        head = f"{self.location}: {self.severity} {self.code} {self.name}: {self.message}"
        if self.location.pointer:
            head += f" [{self.location.pointer}]"
        if self.hint:
            head += f"\n    hint: {self.hint}"
        for loc in self.related:
            head += f"\n    see: {loc}" + (f" [{loc.pointer}]" if loc.pointer else "")
        return head

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "pointer": loc.pointer,
            "related": [{"file": r.file, "line": r.line, "column": r.column, "pointer": r.pointer}
                        for r in self.related],
        }


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by location, as a compiler prints them; duplicates removed."""
    seen: set[Diagnostic] = set()
    unique = [d for d in diagnostics if not (d in seen or seen.add(d))]  # type: ignore[func-returns-value]
    return sorted(unique, key=lambda d: (d.location.sort_key(), d.code, d.message))


def did_you_mean(word: str, choices: Iterable[str], what: str = "") -> str | None:
    """A hint naming the closest choices, or listing the few there are."""
    options = sorted({c for c in choices if isinstance(c, str)})
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if options and len(options) <= 8:
        kind = f"{what} " if what else ""
        return f"known {kind}names: " + ", ".join(f"'{o}'" for o in options)
    return None


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_join(base: str, *tokens: str | int) -> str:
    out = base
    for token in tokens:
        text = str(token)
        if "~" in text or "/" in text:  # rare: escape per RFC 6901
            text = escape_pointer_token(text)
        out += "/" + text
    return out


class DiagnosticsHolder:
    """Splits ``diagnostics`` into errors and warnings, for DefinitionError and a validation result alike."""

    __slots__ = ()
    diagnostics: Sequence[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]
