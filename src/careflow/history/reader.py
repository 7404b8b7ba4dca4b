"""Reading history files: JSON Lines, YAML or JSON documents, case JSON; one file, or every file in directories.

This is careflow's one history reader: replay, coverage, overlays, the pytest plugin and the command line
all read through it, so they accept the same files and report the same located errors
(``HistoryFileError``, code CF009, with a ``Diagnostic`` per problem: ``file:line``, JSON pointer, hint).

A history file is JSON Lines (one entry a line), a YAML/JSON mapping ``{process, version, case_id,
entries, expect}``, a bare YAML/JSON list of entries, or the case JSON ``Case.to_json`` writes; the
contract is ``history.schema.json``. Entries become the internal form of ``careflow.history.entries``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from careflow.definitions.schema_check import type_name
from careflow.errors import Diagnostic, HistoryFileError, SourceLocation
from careflow.history.check import entry_diagnostics, schema_diagnostics
from careflow.history.entries import (
    ABSENT,
    ACTOR,
    CASE_ID,
    CODE,
    DATA,
    DETAIL,
    EPOCH,
    EVENT,
    HASH,
    KIND,
    PREV_HASH,
    PROCESS_ID,
    PROCESS_VERSION,
    REASON,
    REF,
    ROLES,
    SEQ,
    SOURCE,
    TARGET,
    TIME,
    TRANSITION,
    Entry,
    History,
    Problem,
    from_entries,
    normalise,
)
from careflow.model.marks import SourceMap

CASE_FORMAT = "careflow.case/1"
ENVELOPE_KEYS = ("process", "version", "case_id", "entries", "expect")
#: The suffixes of history files looked for in directories.
HISTORY_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".yaml", ".yml")


def read_history(path: str | os.PathLike[str]) -> History:
    """A history file; ``HistoryFileError`` (located diagnostics) when it cannot be read or is malformed."""
    file = os.fspath(path)
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise HistoryFileError([Diagnostic("CF009", f"cannot read the file: {exc.strerror or exc}",
                                           SourceLocation(file))], file) from None
    suffix = Path(file).suffix.lower()
    fmt = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)
    return loads_history(raw, file, fmt)


def loads_history(text: str | bytes, file: str | None = None, fmt: str | None = None) -> History:
    """A history from text; ``fmt`` is ``jsonl``, ``json`` or ``yaml`` (None: guessed from the text)."""
    if fmt == "yaml":
        return _yaml(text, file)
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise HistoryFileError([Diagnostic("CF009", f"not UTF-8: {exc.reason}", SourceLocation(file, line))],
                                   file) from None
    head = (text[:256].lstrip() or text.lstrip())[:1]  # not the whole text: it may be large
    if fmt is None:
        fmt = "json" if head in ("{", "[") else "yaml"
        if fmt == "yaml":
            return _yaml(text, file)
    elif fmt == "jsonl" and head == "[":
        fmt = "json"  # a JSON Lines entry is a mapping: text that opens a list is one JSON list, whatever its name
    if fmt == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise HistoryFileError([Diagnostic("CF001", f"not JSON: {exc.msg}",
                                                   SourceLocation(file, exc.lineno, exc.colno))], file) from None
        else:
            return _document(value, file, None, text)
    return _jsonl(text, file)


def _jsonl(text: str, file: str | None) -> History:
    lines: list[int | None] = []
    texts: list[str] = []
    # split on "\n" only: a JSON string may hold U+2028 and friends, which str.splitlines would split on
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if line:
            lines.append(number)
            texts.append(line)
    # One json.loads over all lines is ~3x faster than one per line (per-call overhead, shared key
    # strings). A line holds no raw newline, so the array has exactly one element per line exactly when
    # every line is one JSON value; anything else is parsed again line by line to say where it fails.
    try:
        objs = json.loads("[" + ",".join(texts) + "]")
    except json.JSONDecodeError:
        objs = None
    if objs is None or len(objs) != len(texts):
        objs = _jsonl_slowly(texts, lines, file)
    entries: list[Entry] = []
    problems: list[Diagnostic] = []
    for index, obj in enumerate(objs):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            problems.extend(entry_diagnostics(obj, entry, index, _at_line(file, lines[index] or 0)))
        else:
            entries.append(entry)
    if problems:
        raise HistoryFileError(problems, file)
    return History(entries, None, file=file, lines=lines, texts=texts)


def _jsonl_slowly(texts: list[str], lines: list[int | None], file: str | None) -> list[Any]:
    problems = []
    objs = []
    for number, line in zip(lines, texts, strict=True):
        try:
            objs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic("CF001", f"not JSON: {exc.msg}", SourceLocation(file, number, exc.colno)))
    if problems:
        raise HistoryFileError(problems, file)
    return objs


def _yaml(text: str | bytes, file: str | None) -> History:
    from careflow.definitions.yamlsafe import read_yaml

    doc = read_yaml(text, file)
    if doc.fatal or any(d.is_error for d in doc.diagnostics):
        raise HistoryFileError(doc.diagnostics, file)
    return _document(doc.value, file, doc.marks, None)


def from_document(value: Any, file: str | None = None) -> History:
    """A history from a parsed JSON/YAML value (list, envelope or case); ``HistoryFileError`` if malformed."""
    return _document(value, file, None, None)


def _document(value: Any, file: str | None, marks: Mapping[str, Any] | None, text: str | None) -> History:
    """A parsed YAML/JSON document: a list of entries, an envelope, or a case."""
    meta: dict[str, Any] = {}
    items: Any
    if isinstance(value, list):
        items, base, kind = value, "", "entries"
    elif isinstance(value, dict) and "format" in value:
        items, base, kind = value.get("history"), "/history", "case"
        meta["stored"] = value
        meta["case_id"] = value.get("case_id") if isinstance(value.get("case_id"), str) else None
    elif isinstance(value, dict):
        items, base, kind = value.get("entries"), "/entries", "envelope"
        for key in ("process", "version", "case_id", "expect"):
            meta[key] = value.get(key)
    else:
        message = f"a history is a list of entries or a mapping with 'entries', not {type_name(value)}"
        raise HistoryFileError([Diagnostic("CF008", message, SourceLocation(file, 1, 1))], file)
    top_ok = _top_ok(value, kind)
    if marks is None and not top_ok and text is not None:
        marks = _marks(text, file)
    locate = _locator(file, marks)
    problems: list[Diagnostic] = [] if top_ok else schema_diagnostics(value, kind, locate, "")
    if not top_ok and not problems:
        problems = [Diagnostic("CF107", "this is not a history the schema describes", locate(""))]
    entries: list[Entry] = []
    lines: list[int | None] = []
    for index, obj in enumerate(items if isinstance(items, list) else ()):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            if marks is None and text is not None:
                marks = _marks(text, file)
                locate = _locator(file, marks)
            problems.extend(entry_diagnostics(obj, entry, index, _under(locate, f"{base}/{index}")))
        else:
            entries.append(entry)
        mark = marks.get(f"{base}/{index}") if marks else None
        lines.append(mark.line if mark is not None else None)
    if problems:
        raise HistoryFileError(problems, file)
    return History(entries, items, file=file, lines=lines, **meta)


def _top_ok(value: Any, kind: str) -> bool:
    if kind == "entries":
        return True
    if kind == "case":
        return value.get("format") == CASE_FORMAT and isinstance(value.get("history"), list)
    return (isinstance(value.get("entries"), list) and all(k in ENVELOPE_KEYS for k in value)
            and all((isinstance(value.get(k, ""), str) and value.get(k, "") != "") or k not in value
                    for k in ("process", "version", "case_id"))
            and _expect_ok(value.get("expect", {})))


def _expect_ok(expect: Any) -> bool:
    return (isinstance(expect, dict) and all(k in ("state", "data") for k in expect)
            and isinstance(expect.get("state", "x"), str) and expect.get("state", "x") != ""
            and isinstance(expect.get("data", {}), dict))


def _at_line(file: str | None, line: int) -> Callable[[str], SourceLocation]:
    return lambda pointer: SourceLocation(file, line, None, pointer)


def _under(locate: Callable[[str], SourceLocation], base: str) -> Callable[[str], SourceLocation]:
    return lambda pointer: locate(base + pointer)


def _marks(text: str, file: str | None) -> dict[str, Any] | None:
    """Positions for a JSON document that has problems (JSON is YAML, and our YAML reader keeps marks)."""
    from careflow.definitions.yamlsafe import read_yaml

    doc = read_yaml(text, file)
    return None if doc.fatal else doc.marks


def _locator(file: str | None, marks: Mapping[str, Any] | None) -> Callable[[str], SourceLocation]:
    def locate(pointer: str) -> SourceLocation:
        if not marks:
            return SourceLocation(file, None, None, pointer)
        return SourceMap(marks, file).locate(pointer)
    return locate


def check_file(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Every problem in a history file (empty when it reads cleanly)."""
    try:
        read_history(path)
    except HistoryFileError as exc:
        return exc.diagnostics
    return []


# -- many files -----------------------------------------------------------------------------------------


def history_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, and every history file (``HISTORY_SUFFIXES``) under the directories named, each
    directory's sorted. A named path that does not exist is kept: reading it reports it."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(f for f in path.rglob("*") if f.suffix.lower() in HISTORY_SUFFIXES and f.is_file()))
        else:
            found.append(path)
    return found


# The entry form is re-exported for replay.py and report.py, which import it from here; once they import
# careflow.history.entries, these names leave __all__ and the import list above.
__all__ = ["ABSENT", "ACTOR", "CASE_FORMAT", "CASE_ID", "CODE", "DATA", "DETAIL", "ENVELOPE_KEYS", "EPOCH", "EVENT",
           "HASH", "HISTORY_SUFFIXES", "KIND", "PREV_HASH", "PROCESS_ID", "PROCESS_VERSION", "REASON", "REF", "ROLES",
           "SEQ", "SOURCE", "TARGET", "TIME", "TRANSITION", "Entry", "History", "HistoryFileError", "Problem",
           "check_file", "from_document", "from_entries", "history_files", "loads_history",
           "normalise", "read_history"]
