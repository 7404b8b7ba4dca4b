"""Reading history files: JSON Lines, YAML or JSON documents, case JSON; one file, or every file in directories.

This is careflow's one history reader: replay, coverage, overlays, the pytest plugin and the command line
all read through it, so they accept the same files and report the same located errors
(``HistoryFileError``, code CF009, with a ``Diagnostic`` per problem: ``file:line``, JSON pointer, hint).

A history file is JSON Lines (one entry a line), a YAML/JSON mapping ``{process, version, case_id,
entries, expect}``, a bare YAML/JSON list of entries, or the case JSON ``Case.to_json`` writes; the
contract is ``history.schema.json``. Entries become the internal form of ``careflow.history.entries``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from careflow.history.jsonl import JsonLinesFile, binary_lines, read_entries, text_lines
from careflow.history.jsontext import Problems, parse_json, value_problem
from careflow.model.marks import SourceMap

CASE_FORMAT = "careflow.case/1"
ENVELOPE_KEYS = ("process", "version", "case_id", "entries", "expect")
#: The suffixes of history files looked for in directories.
HISTORY_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".yaml", ".yml")


#: A JSON or YAML document history larger than this is refused (CF006): it is read whole, JSON Lines are not.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def read_history(path: str | os.PathLike[str]) -> History:
    """A history file; ``HistoryFileError`` (located diagnostics) when it cannot be read or is malformed.

    JSON Lines are read line by line (the ``History`` holds the entries, not the file's text); a JSON or
    YAML document is read whole, up to ``MAX_DOCUMENT_BYTES``."""
    file = os.fspath(path)
    fmt = _FORMATS.get(Path(file).suffix.lower())
    try:
        if _json_lines(file, fmt):
            return _jsonl_file(file)
        size = os.stat(file).st_size
        if size > MAX_DOCUMENT_BYTES:
            raise HistoryFileError([Diagnostic(
                "CF006", f"the file is {size} bytes; a JSON or YAML history is at most {MAX_DOCUMENT_BYTES}",
                SourceLocation(file), "write long histories as JSON Lines (one entry a line), which have no limit")],
                file)
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise HistoryFileError([Diagnostic("CF009", f"cannot read the file: {exc.strerror or exc}",
                                           SourceLocation(file))], file) from None
    return loads_history(raw, file, fmt)


def open_history(path: str | os.PathLike[str]) -> History | JsonLinesFile:
    """What replay reads a file through: JSON Lines as a stream (``JsonLinesFile``, nothing kept), any
    other form as a whole ``History`` (``read_history``)."""
    file = os.fspath(path)
    try:
        lines = _json_lines(file, _FORMATS.get(Path(file).suffix.lower()))
    except OSError:
        lines = False  # read_history says why
    return JsonLinesFile(file) if lines else read_history(file)


def _json_lines(file: str, fmt: str | None) -> bool:
    """Whether ``file`` is JSON Lines: named so and not opening a list; or named ``.json``, too large for a
    document, and its first line is a mapping on its own."""
    if fmt not in ("jsonl", "json"):
        return False
    with open(file, "rb") as handle:
        head = handle.read(256).lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
        if fmt == "jsonl":
            return head != b"["
        if head != b"{" or os.fstat(handle.fileno()).st_size <= MAX_DOCUMENT_BYTES:
            return False
        handle.seek(0)
        first = next(binary_lines(handle), (1, None))[1]
    try:
        return first is not None and isinstance(parse_json(first.decode("utf-8-sig").strip(), file), dict)
    except UnicodeDecodeError:
        return False


def _jsonl_file(file: str) -> History:
    with open(file, "rb") as handle:
        return _collect(read_entries(binary_lines(handle), file, Problems(file)), file)


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
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise HistoryFileError([Diagnostic("CF009", f"not UTF-8: {exc.reason}",
                                               SourceLocation(file, line, column))], file) from None
    head = (text[:256].lstrip() or text.lstrip())[:1]  # not the whole text: it may be large
    if fmt is None:
        fmt = "json" if head in ("{", "[") else "yaml"
        if fmt == "yaml":
            return _yaml(text, file)
    elif fmt == "jsonl" and head == "[":
        fmt = "json"  # a JSON Lines entry is a mapping: text that opens a list is one JSON list, whatever its name
    if fmt == "json":
        value = parse_json(text.removeprefix("\ufeff"), file)
        if not isinstance(value, Diagnostic):
            return _document(value, file, None, text)
        if value.message != "not JSON: Extra data":
            raise HistoryFileError([value], file)
    return _collect(read_entries(text_lines(text), file, Problems(file)), file)


def _collect(found: Iterator[tuple[Entry, str, int]], file: str | None) -> History:
    entries: list[Entry] = []
    texts: list[str] = []
    lines: list[int | None] = []
    for entry, text, number in found:
        entries.append(entry)
        texts.append(text)
        lines.append(number)
    return History(entries, None, file=file, lines=lines, texts=texts)


def _yaml(text: str | bytes, file: str | None) -> History:
    from careflow.definitions.yamlsafe import read_yaml

    doc = read_yaml(text, file)
    if doc.fatal or any(d.is_error for d in doc.diagnostics):
        raise HistoryFileError(doc.diagnostics, file)
    found = value_problem(doc.value)  # YAML lets through what JSON histories refuse: .nan, "\0", "\ud800"
    if found is not None:
        raise HistoryFileError([Diagnostic("CF107", found[1], _locator(file, doc.marks)(found[0]))], file)
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
    problems = Problems(file)
    if not top_ok:
        problems.add_entry(schema_diagnostics(value, kind, locate, "")
                     or [Diagnostic("CF107", "this is not a history the schema describes", locate(""))])
    entries: list[Entry] = []
    lines: list[int | None] = []
    for index, obj in enumerate(items if isinstance(items, list) else ()):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            if problems.full:
                problems.count()  # past the cap: counted, not worded
                continue
            if marks is None and text is not None:
                marks = _marks(text, file)
                locate = _locator(file, marks)
            problems.add_entry(entry_diagnostics(obj, entry, index, _under(locate, f"{base}/{index}")))
        else:
            entries.append(entry)
        mark = marks.get(f"{base}/{index}") if marks else None
        lines.append(mark.line if mark is not None else None)
    if problems:
        raise problems.error()
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
__all__ = [
    "ABSENT",
    "ACTOR",
    "CASE_FORMAT",
    "CASE_ID",
    "CODE",
    "DATA",
    "DETAIL",
    "ENVELOPE_KEYS",
    "EPOCH",
    "EVENT",
    "HASH",
    "HISTORY_SUFFIXES",
    "KIND",
    "MAX_DOCUMENT_BYTES",
    "PREV_HASH",
    "PROCESS_ID",
    "PROCESS_VERSION",
    "REASON",
    "REF",
    "ROLES",
    "SEQ",
    "SOURCE",
    "TARGET",
    "TIME",
    "TRANSITION",
    "Entry",
    "History",
    "HistoryFileError",
    "JsonLinesFile",
    "Problem",
    "check_file",
    "from_document",
    "from_entries",
    "history_files",
    "loads_history",
    "normalise",
    "open_history",
    "read_history",
]
