"""What the ``careflow`` command prints: standard output, standard error, and the one error formatter.

Every subcommand reports a careflow error through ``format_error``, so a user sees one shape for all of
them: the located diagnostics of a file (a definition or a history), else ``error CODE: message``.

Nothing a case or a file holds can steer the terminal or fake an output line. ``escape`` writes one value
(an id, an event, a state, a reason) on one line: every character that is not printable (newlines, carriage
returns, ANSI escapes, other control and format characters, line separators, lone surrogates) and the
backslash become escapes, in the forms JSON also reads (``\\n``, ``\\u001b``…). ``out`` and ``err`` pass
whole lines through the same function, keeping only their line breaks; an error's later lines are indented,
so only a first line starts at the margin.
"""

from __future__ import annotations

import json
import sys
from typing import Any

LANGS = ("nn", "nb", "en", "sv")
#: The history files looked for in directories (``careflow.history.HISTORY_SUFFIXES``, spelled out here so
#: that parsing arguments imports no reader; a test keeps the two equal).
HISTORY_NAMES = "*.jsonl, *.json, *.yaml, *.yml"

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escaped_char(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the basic plane: a UTF-16 pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape(value: object, *, keep_backslash: bool = False) -> str:
    """``value`` as text on one line, safe for a terminal: what is not printable, and the backslash (unless
    ``keep_backslash``, for text that is already escaped, such as JSON), becomes an escape."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and (keep_backslash or "\\" not in text):
        return text
    return "".join(char if char.isprintable() and (keep_backslash or char != "\\") else _escaped_char(char)
                   for char in text)


def safe_lines(text: str) -> str:
    """``text`` with its line breaks kept and everything else that is not printable escaped (backslashes are
    kept: JSON output stays valid JSON)."""
    if text.isprintable():
        return text
    return "\n".join(escape(line, keep_backslash=True) for line in text.split("\n"))


def out(text: str = "") -> None:
    sys.stdout.write(safe_lines(text) + "\n")


def err(text: str) -> None:
    sys.stderr.write(safe_lines(text) + "\n")


def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON for output (keys sorted, text as it is; ``out`` escapes what is not printable)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=indent)


def indent_continuations(text: str) -> str:
    """A message's later lines indented (hints already are): a line break inside a value it quotes cannot
    start a line that looks like a new message."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(line if line.startswith(" ") else "    " + line for line in rest)])


def format_error(exc: BaseException) -> str:
    """``exc`` for a terminal: every located diagnostic it carries, one per line; else its code and message."""
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return "\n".join(indent_continuations(d.format()) for d in diagnostics)
    code = getattr(exc, "code", "")
    return indent_continuations(f"error {code}: {exc}" if code else f"error: {exc}")
