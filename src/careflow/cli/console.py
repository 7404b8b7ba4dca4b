"""What the ``careflow`` command prints: standard output, standard error, and the one error formatter.

Every subcommand reports a careflow error through ``format_error``, so a user sees one shape for all of
them: the located diagnostics of a file (a definition or a history), else ``error CODE: message``.
"""

from __future__ import annotations

import sys

LANGS = ("nn", "nb", "en", "sv")
#: The history files looked for in directories (``careflow.history.HISTORY_SUFFIXES``, spelled out here so
#: that parsing arguments imports no reader; a test keeps the two equal).
HISTORY_NAMES = "*.jsonl, *.json, *.yaml, *.yml"


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def format_error(exc: BaseException) -> str:
    """``exc`` for a terminal: every located diagnostic it carries, one per line; else its code and message."""
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return "\n".join(d.format() for d in diagnostics)
    code = getattr(exc, "code", "")
    return f"error {code}: {exc}" if code else f"error: {exc}"
