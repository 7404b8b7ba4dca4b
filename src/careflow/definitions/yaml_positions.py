"""Positions in a YAML file: of parser marks, of character indexes, and of characters inside a scalar.

Quoted, folded and multi-line scalars differ from their value; their marks keep the raw text
(``Mark.raw``) so that diagnostics inside a guard can point at the exact character.
"""

from __future__ import annotations

import re
from typing import Any

from careflow.model.marks import Mark

LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # the line breaks libyaml counts
_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}


def parser_position(mark: Any) -> tuple[int, int]:
    """A parser mark as a 1-based (line, column); events always carry marks."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def text_position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, counting line breaks as libyaml does."""
    lines = LINE_BREAK.split(text[:index])
    return len(lines), len(lines[-1]) + 1




def _scalar_positions(raw: str, style: str | None) -> list[tuple[int, int]]:
    """For each character of a scalar's value, its (line, column) in ``raw``, both 0-based.

    Follows YAML's folding (a line break between text becomes one space, empty lines become
    line breaks, indentation and trailing spaces go) and quoting ('' and backslash escapes).
    """
    out: list[tuple[int, int]] = []
    lines = raw.split("\n")
    joined = True  # the previous line ended in an escaped line break: no folding space
    blank_run = 0
    for ln, text in enumerate(lines):
        j = 1 if ln == 0 and style in ("'", '"') else (0 if ln == 0 else len(text) - len(text.lstrip(" \t")))
        body = text if ln == len(lines) - 1 else text.rstrip(" \t")
        if ln > 0:
            if j >= len(body) and ln < len(lines) - 1:  # an empty line: one line break
                blank_run += 1
                out.append((ln, 0))
                continue
            if not joined and blank_run == 0:
                out.append((ln, max(j - 1, 0)))  # the folding space, shown where the line's text begins
        joined, blank_run = False, 0
        while j < len(body):
            c = body[j]
            if style == '"' and c == "\\":
                if j + 1 >= len(body):  # an escaped line break joins the lines without a space
                    joined = True
                    break
                out.append((ln, j))
                j += _ESCAPE_LENGTH.get(body[j + 1], 2)
            elif style == "'" and c == "'":
                if body[j + 1: j + 2] != "'":
                    return out  # the closing quote
                out.append((ln, j))
                j += 2
            elif style == '"' and c == '"':
                return out
            else:
                out.append((ln, j))
                j += 1
    return out


def value_position(mark: Mark, offset: int) -> tuple[int, int]:
    """The 1-based file (line, column) of character ``offset`` of the value that ``mark`` marks."""
    if mark.raw is None:
        return mark.value_line, mark.value_column + offset + (1 if mark.style in ("'", '"') else 0)
    positions = _scalar_positions(mark.raw, mark.style)
    if not positions:
        return mark.value_line, mark.value_column
    ln, col = positions[min(offset, len(positions) - 1)]
    if offset >= len(positions):
        col += 1
    if ln == 0:
        return mark.value_line, mark.value_column + col
    return mark.value_line + ln, col + 1
