"""careflow's diagnostics as the protocol's: severity, code, message with its hint, and a range.

careflow locates a problem by its first character; the range here runs to the end of the word there,
so that the editor underlines the id or value in question. A problem located in another file (the base
of an ``extends``) is shown on the ``extends`` line, with the base location as related information.
Ranges are in code points; the server converts them to the client's units.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from lsprotocol import types

from careflow.errors import Diagnostic

SOURCE = "careflow"
_TOKEN = re.compile(r"[^\s,:\[\]{}#]+")
_EXTENDS = re.compile(r"^extends\s*:")
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def word_range(lines: Sequence[str], line: int, column: int) -> types.Range:
    """The range of the word starting at 0-based ``line``/``column`` (at least one character when there
    is one; the end of the line when the position lies past it)."""
    if line >= len(lines):
        line = max(len(lines) - 1, 0)
    text = lines[line].rstrip("\r\n") if lines else ""
    column = min(max(column, 0), len(text))
    m = _TOKEN.match(text, column)
    end = m.end() if m else min(column + 1, len(text))
    return types.Range(types.Position(line, column), types.Position(line, end))


def _extends_line(lines: Sequence[str]) -> int:
    return next((i for i, text in enumerate(lines) if _EXTENDS.match(text)), 0)


def to_protocol(diagnostic: Diagnostic, lines: Sequence[str], file: str | None) -> types.Diagnostic:
    """One careflow diagnostic for the document ``file`` whose ``lines`` are given."""
    loc = diagnostic.location
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    related: list[types.DiagnosticRelatedInformation] | None = None
    if loc.file is not None and file is not None and not _same_file(loc.file, file):
        here = _extends_line(lines)
        where = types.Range(types.Position(here, 0), types.Position(here, len(lines[here].rstrip()) if lines else 0))
        at = types.Position(max((loc.line or 1) - 1, 0), max((loc.column or 1) - 1, 0))
        related = [types.DiagnosticRelatedInformation(
            types.Location(Path(loc.file).resolve().as_uri(), types.Range(at, at)), "the line in the base process")]
        message = f"in the base process {Path(loc.file).name}:{loc.line or 1}: {message}"
    elif loc.line is None:
        where = word_range(lines, 0, 0)
    else:
        where = word_range(lines, loc.line - 1, (loc.column or 1) - 1)
    return types.Diagnostic(
        range=where,
        message=message,
        severity=_SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Information),
        code=diagnostic.code,
        source=SOURCE,
        related_information=related,
        data={"name": diagnostic.name, "pointer": loc.pointer, "hint": diagnostic.hint},
    )


def to_protocol_all(diagnostics: Iterable[Diagnostic], lines: Sequence[str], file: str | None
                    ) -> list[types.Diagnostic]:
    return [to_protocol(d, lines, file) for d in diagnostics]


def _same_file(a: str, b: str) -> bool:
    return a == b or Path(a).resolve() == Path(b).resolve()
