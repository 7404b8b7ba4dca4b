"""Syntax errors in words an author understands: hints, and the runaway quote that caused them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from careflow.definitions.yaml_positions import parser_position


def syntax_hint(problem: str, context: str, char: str) -> str | None:
    if char == "\t" or "tab" in problem:
        return "use spaces, not tabs, to indent"
    if "mapping values are not allowed" in problem:
        return "quote a value that contains ': ' (note: \"Step 1: call\"), or fix the indentation"
    if "quoted scalar" in context and "end of stream" in problem:
        return "a quote is not closed"
    if "flow sequence" in context:
        return "a '[' is not closed with ']', or items need a ',' between them"
    if "flow mapping" in context:
        return "a '{' is not closed with '}', or entries need a ',' between them"
    if "escape" in problem:
        return "in double quotes write a backslash as '\\\\', or use single quotes"
    if "cannot start any token" in problem and char and char in "@`%":
        return f"quote a value that starts with '{char}'"
    if "expected key" in problem or "'-' indicator" in problem or "expected ':'" in problem:
        return "check the indentation: entries of one mapping or list must line up"
    if "document start" in problem:
        return "there is text after the end of the document; check brackets and indentation"
    return None


_KEY_LINE = re.compile(r"^\s*(- )?[A-Za-z_][\w-]*:(\s|$)")
_QUOTE_START = re.compile(r"""(?:^|[:,\[{-])\s*(["'])""")


def _closes(text: str, quote: str) -> bool:
    if quote == '"':
        return '"' in text.replace("\\\\", "").replace('\\"', "")
    return "'" in text.replace("''", "")


def unclosed_quote(line_at: Callable[[int], str], exc: yaml.MarkedYAMLError, error_line: int) -> tuple[int, int] | None:
    """(line, column) of a quote that opens a value and runs away, swallowing later "key:" lines."""
    context_mark: Any = exc.context_mark
    if "quoted scalar" in (exc.context or "") and "escape" not in (exc.problem or "") and context_mark is not None:
        return parser_position(context_mark)
    n = 0
    while n < error_line:
        text, after = line_at(n), n + 1
        if text.lstrip().startswith("#"):  # a comment line: its quotes open nothing
            n = after
            continue
        for m in _QUOTE_START.finditer(text):
            quote, start = m.group(1), m.end()
            if _closes(text[start:], quote):
                continue
            k = n + 1
            while k <= error_line:  # a quoted text may go on over lines: find where it closes
                line = line_at(k)
                if _KEY_LINE.match(line):
                    return n + 1, start
                if _closes(line, quote):
                    break
                k += 1
            after = k + 1
            break
        n = after
    return None
