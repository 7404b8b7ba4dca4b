"""JSON Lines histories read one line at a time, so memory stays bounded whatever the file's size.

JSON Lines means one entry per line: every non-empty line is one JSON mapping on its own, so an entry split
over two lines is an error at each of its lines. Lines are split on ``\\n`` only (``\\r\\n`` works); blank
lines are skipped; a UTF-8 byte order mark is allowed at the start of the file only. A line longer than
``MAX_LINE_BYTES`` is reported (CF006) and skipped without being held in memory.

``read_entries`` is the one place lines become entries: ``read_history`` collects them into a ``History``;
``JsonLinesFile`` hands them to replay one by one and keeps none. After the first problem no entry is
handed on, but the rest of the file is still read for its problems (``Problems`` keeps the first hundred
and counts the rest); they are raised together at the end as one ``HistoryFileError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any

from careflow.errors import Diagnostic, HistoryFileError, SourceLocation
from careflow.history.check import entry_diagnostics
from careflow.history.entries import ABSENT, HASH, Entry, Problem, normalise
from careflow.history.jsontext import Problems, parse_json

#: A line longer than this (in bytes, its newline not counted) is refused.
MAX_LINE_BYTES = 16 * 1024 * 1024
_JSON_SPACE = " \t\r\n"  # JSON's whitespace; str.strip() would also remove U+2028, U+0085 and friends
_READ = 1 << 20


def binary_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, the line) for each line of ``handle``; None for a line past ``MAX_LINE_BYTES``,
    which is read to its end in pieces and dropped."""
    number = 0
    readline = handle.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = readline(_READ)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
        else:
            yield number, raw


def text_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, the line) for each line of ``text``, split on ``\\n`` only: a JSON string may hold
    U+2028 and friends, which ``str.splitlines`` would split on."""
    return enumerate(text.split("\n"), 1)


def read_entries(lines: Iterable[tuple[int, bytes | str | None]], file: str | None,
                 problems: Problems) -> Iterator[tuple[Entry, str, int]]:
    """(entry, its line's text, line number) for each entry, while ``problems`` is empty; then the rest of
    the lines are only checked, and at the end ``HistoryFileError`` is raised if anything was wrong."""
    index = 0
    bad = False  # a problem was found: entries are checked, no longer handed on
    for number, raw in lines:
        if raw is None:
            bad = True
            problems.add([Diagnostic("CF006", f"the line is longer than {MAX_LINE_BYTES} bytes",
                                     SourceLocation(file, number), "JSON Lines hold one entry a line")])
            index += 1
            continue
        text = raw if isinstance(raw, str) else _decoded(raw, number, file, problems)
        if text is None:
            bad = True
            index += 1
            continue
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        text = text.strip(_JSON_SPACE)
        if not text:
            continue
        entry = _entry(text, index, number, file, problems)
        index += 1
        if entry is None:
            bad = True
        elif not bad:
            yield entry, text, number
    if problems:
        raise problems.error()


def _decoded(raw: bytes, number: int, file: str | None, problems: Problems) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add([Diagnostic("CF009", f"not UTF-8: {exc.reason}", SourceLocation(file, number, exc.start + 1),
                                 "save the file as UTF-8")])
        return None


def _entry(text: str, index: int, number: int, file: str | None, problems: Problems) -> Entry | None:
    """The entry on one line, or None after adding what is wrong with it to ``problems``."""
    obj = parse_json(text, file, number)
    if isinstance(obj, Diagnostic):
        problems.add([obj])
        return None
    try:
        entry = normalise(obj)
    except (RecursionError, ValueError, TypeError) as exc:  # normalise checks types; this is a last guard
        entry = Problem("", f"cannot be read: {type(exc).__name__}")
    if isinstance(entry, Problem):
        if problems.full:
            problems.count()  # past the cap: counted, not worded (the schema's wording is the slow part)
        else:
            problems.add_entry(entry_diagnostics(obj, entry, index, _at_line(file, number)))
        return None
    return entry


def _at_line(file: str | None, line: int) -> Any:
    return lambda pointer: SourceLocation(file, line, None, pointer)


class JsonLinesFile:
    """A JSON Lines history file, read as replay goes: iterating yields (entry, line text) and keeps nothing.

    It stands where replay takes a ``History`` (``file``, ``given_entry``, ``line``, the envelope fields,
    all None), but has no ``entries``: ``first`` is the first entry, read on opening. ``sealed`` is decided
    by the first entry (a hash-chained log hashes every entry); ``late_hash`` is the index of a later entry
    that has a hash when the first had none, where iteration stops. Use it as a context manager.
    """

    process = version = case_id = expect = stored = problem = None

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.file = os.fspath(path)
        try:
            self._handle: IO[bytes] = open(self.file, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise HistoryFileError([Diagnostic("CF009", f"cannot read the file: {exc.strerror or exc}",
                                               SourceLocation(self.file))], self.file) from None
        self.index, self.text, self.number = -1, "", 0
        self.late_hash: int | None = None
        self._rest = read_entries(binary_lines(self._handle), self.file, Problems(self.file))
        try:
            self._first = next(self._rest, None)
        except BaseException:
            self.close()
            raise
        self.first: Entry | None = self._first[0] if self._first is not None else None
        self.sealed = self.first is not None and self.first[HASH] is not ABSENT and self.first[HASH] is not None

    def __iter__(self) -> Iterator[tuple[Entry, str]]:
        if self._first is None:
            return
        items = self._rest
        entry, self.text, self.number = self._first
        self._first = None
        self.index = 0
        yield entry, self.text
        sealed = self.sealed
        for entry, self.text, self.number in items:
            self.index += 1
            if not sealed and entry[HASH] is not ABSENT and entry[HASH] is not None:
                self.late_hash = self.index
                return
            yield entry, self.text

    def given_entry(self, index: int) -> Any:
        return json.loads(self.text) if index == self.index else None

    def line(self, index: int) -> int | None:
        return self.number if index == self.index else None

    def drain(self) -> None:
        """Read the lines not read yet, for their problems: ``HistoryFileError`` if any line has one."""
        for _ in self._rest:
            pass

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JsonLinesFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


__all__ = ["MAX_LINE_BYTES", "JsonLinesFile", "binary_lines", "read_entries", "text_lines"]
