"""JSON text as a history file holds it: parsed strictly, every problem a located diagnostic, never a traceback.

``parse_json`` is ``json.loads`` with the limits a history file has, each reported at its line and column:

- nesting deeper than ``MAX_DEPTH`` (CF005), checked before parsing, so no ``RecursionError`` can happen;
- an integer of more than 4,300 digits, Python's own limit (CF006); ``NaN``, ``Infinity`` or a number too
  large for a float, such as ``1e999`` (CF107): JSON has no such numbers;
- a lone surrogate or a NUL in an escape (``"\\ud800"``, ``"\\u0000"``) (CF107): valid histories hold
  valid Unicode text only;
- a key given twice in one mapping (CF002): JSON readers disagree on which one counts.

``Problems`` collects diagnostics up to ``MAX_DIAGNOSTICS`` and counts the rest, so a file of a million bad
lines costs a hundred diagnostics, not a million.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from careflow.errors import Diagnostic, HistoryFileError, SourceLocation, pointer_join

#: Nesting deeper than this (mappings and lists) is refused; an entry's data is far shallower.
MAX_DEPTH = 100
#: Python's limit on the digits of an integer read from text (``sys.get_int_max_str_digits``).
MAX_INT_DIGITS = 4300
#: The diagnostics a file reports; the rest are counted in one more line.
MAX_DIAGNOSTICS = 100

_BIG_INT = re.compile(r"\d{" + str(MAX_INT_DIGITS + 1) + ",}")
_BAD_ESCAPE = re.compile(r"\\u(?:d[89a-f][0-9a-f]{2}|0000)", re.IGNORECASE)
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _Refused(ValueError):
    """A value the hooks refuse: ``code`` and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("CF107", f"the number {text[:40]} is too large for a float")
    return value


def _constant(name: str) -> Any:
    raise _Refused("CF107", f"{name} is not a JSON number")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused("CF002", f"the key {key[:80]!r} is given twice in one mapping")
            seen.add(key)
    return out


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_constant, object_pairs_hook=_unique)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__


def parse_json(text: str, file: str | None = None, line: int = 1) -> Any | Diagnostic:
    """``text`` parsed, or the first problem as a ``Diagnostic`` located in ``file`` (``text`` starts at ``line``).

    A JSON Lines line costs about one ``json.loads``: the C scanner is called directly.
    """
    # Parsed first: a case's JSON line holds many brackets but is a few levels deep, and measuring the
    # parsed containers is several times cheaper than scanning the text around its strings. Nesting past
    # what the C scanner takes raises RecursionError (bounded); either way the text is scanned only then,
    # to say where.
    try:
        value = _parse(text)
        deep = text.count("[") + text.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH
    except RecursionError:
        deep = True
    except json.JSONDecodeError as exc:
        return Diagnostic("CF001", f"not JSON: {exc.msg}", SourceLocation(file, line + exc.lineno - 1, exc.colno))
    except _Refused as exc:
        return Diagnostic(exc.code, str(exc), SourceLocation(file, line))
    except ValueError:  # int() past MAX_INT_DIGITS: find the number to say where it is
        found = _BIG_INT.search(text)
        at = _locate(text, found.start() if found else 0, file, line)
        return Diagnostic("CF006", f"a number of more than {MAX_INT_DIGITS} digits", at,
                          "numbers in a history are counts and amounts, a few digits long")
    if deep:
        at = _locate(text, _too_deep(text) or 0, file, line)
        return Diagnostic("CF005", f"nested more than {MAX_DEPTH} deep", at,
                          "a history entry's data is a few levels deep at most")
    if "\\u" in text and _BAD_ESCAPE.search(text):
        problem = _bad_text(value)
        if problem is not None:
            return Diagnostic("CF107", problem, SourceLocation(file, line), "text in a history is valid Unicode")
    return value


def _parse(text: str) -> Any:
    """``json.loads`` with the hooks: the C scanner called directly when ``text`` is one value and nothing
    else (a JSON Lines line, stripped), ``decode`` (and its error messages) otherwise."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        end = -1
    if end == len(text) or (end > 0 and not text[end:].strip(" \t\r\n")):
        return value
    return _DECODER.decode(text)  # not one value: parsed again for the error's message and place


def _depth(value: Any) -> int:
    """How deep the containers of a parsed value nest (stops counting past ``MAX_DEPTH``)."""
    if type(value) is not dict and type(value) is not list:
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                break
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return deepest


def _too_deep(text: str) -> int | None:
    """The offset of the first bracket past ``MAX_DEPTH`` outside strings, or None."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif char in "]}":
            depth -= 1
    return None


def _locate(text: str, offset: int, file: str | None, line: int) -> SourceLocation:
    before = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return SourceLocation(file, line + before, column)


def _bad_text(value: Any) -> str | None:
    found = value_problem(value)
    return found[1] if found is not None else None


def value_problem(value: Any) -> tuple[str, str] | None:
    """The first value in ``value`` a history may not hold, as (JSON pointer, message): text with a lone
    surrogate or a NUL, a number that is not finite. None when there is none. For values read by another
    parser (YAML), which lets these through."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        pointer, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return pointer, "text holds a NUL character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return pointer, "text holds a lone surrogate (an escape such as \\ud800 without its pair)"
        elif isinstance(item, float) and not math.isfinite(item):
            return pointer, f"{item} is not a number a history can hold"
        elif isinstance(item, dict):
            for key, inner in item.items():
                at = pointer_join(pointer, str(key))
                stack.extend([(at, key), (at, inner)])
        elif isinstance(item, list):
            stack.extend((pointer_join(pointer, str(i)), inner) for i, inner in enumerate(item))
    return None


class Problems:
    """The diagnostics of one file: the first ``MAX_DIAGNOSTICS`` kept, the rest counted.

    Two tiers, as a reader finds them: text that cannot be read (``add``: not JSON, too deep, not UTF-8…)
    and entries that do not fit the schema (``add_entry``). When the file has both, only the first tier is
    reported: an entry's shape means little while lines around it cannot be read.
    """

    __slots__ = ("entry_more", "entry_problems", "file", "kept", "more")

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.kept: list[Diagnostic] = []
        self.more = 0
        self.entry_problems: list[Diagnostic] = []
        self.entry_more = 0

    def __bool__(self) -> bool:
        return bool(self.kept) or bool(self.entry_problems)

    @property
    def full(self) -> bool:
        """Kept all the entry problems it will keep: further ones are counted (``count``), not worded."""
        return len(self.entry_problems) >= MAX_DIAGNOSTICS or bool(self.kept)

    def add(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            if len(self.kept) < MAX_DIAGNOSTICS:
                self.kept.append(diagnostic)
            else:
                self.more += 1

    def add_entry(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            if len(self.entry_problems) < MAX_DIAGNOSTICS:
                self.entry_problems.append(diagnostic)
            else:
                self.entry_more += 1

    def count(self) -> None:
        """One more entry problem, past the cap."""
        self.entry_more += 1

    def error(self) -> HistoryFileError:
        shown, more = (self.kept, self.more) if self.kept else (self.entry_problems, self.entry_more)
        shown = list(shown)
        if more:
            shown.append(Diagnostic("CF009", f"{more} more problem(s) not shown (the first "
                                             f"{MAX_DIAGNOSTICS} are)", SourceLocation(self.file)))
        return HistoryFileError(shown, self.file)


__all__ = ["MAX_DEPTH", "MAX_DIAGNOSTICS", "MAX_INT_DIGITS", "Problems", "parse_json", "value_problem"]
