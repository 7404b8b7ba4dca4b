"""The ``careflow`` command. Thin: every subcommand calls the library; heavy imports happen inside them.

The subcommands are the table in ``careflow.cli.commands``; only the one being run is imported. Every
careflow error a subcommand lets through is printed by the one formatter (``console.format_error``).

Exit codes: 0 success, 1 the input has problems (invalid definition, divergence, …), 2 usage error
(bad arguments, an argument that is not UTF-8 text, ``--as system``), 70 an internal error (a bug: the
message says so; ``CAREFLOW_DEBUG=1`` shows its traceback), 130 interrupted.

Everything printed goes through ``careflow.cli.console`` (escaped: no value can fake a line or steer the
terminal), warnings too (a skipped ``CAREFLOW_PATH`` entry is ``warning CF980: …`` on standard error).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from careflow.cli.commands import COMMANDS, command
from careflow.cli.console import err, escape, format_error

EXIT_INTERNAL = 70  # EX_SOFTWARE


class Parser(argparse.ArgumentParser):
    """argparse, with its error messages escaped (they quote the arguments as typed)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {escape(message)}\n")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand listed; only ``selected`` gets its arguments (importing its module)."""
    parser = Parser(
        prog="careflow",
        description="YAML process definitions as validated state machines: validate, show, and more.",
        epilog="Diagnostic codes: CF0xx reading, CF1xx structure, CF2xx graph, CF301 labels, CF4xx guards.")
    from careflow import __version__

    parser.add_argument("--version", action="version", version=f"careflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.name == selected:
            cmd.add_arguments()(p)
    return parser


def _selected(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option (the top level has no option
    that takes a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _not_text(words: Sequence[str]) -> str | None:
    """The first argument that is not UTF-8 text (the shell passed bytes that decode to lone surrogates)."""
    for word in words:
        try:
            word.encode("utf-8")
        except UnicodeEncodeError:
            return word
    return None


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    code = getattr(category, "code", None)
    text = escape(message, keep_backslash=True)  # one line; careflow's own warnings quote values with repr
    err(f"warning {code}: {text}" if code else f"warning: {text}")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    bad = _not_text(words)
    if bad is not None:
        err(f"careflow: error: the argument '{escape(bad)}' is not UTF-8 text (careflow reads its arguments "
            "as UTF-8)")
        return 2
    parser = build_parser(_selected(words))
    args = parser.parse_args(words)
    cmd = command(args.command) if args.command else None
    if cmd is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _run(cmd.runner(), args)


def _run(runner: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return runner(args)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a last guard: a user never sees a traceback
        from careflow.errors import CareflowError

        if isinstance(exc, CareflowError):
            err(format_error(exc))
            return 1
        if isinstance(exc, OSError) and not os.environ.get("CAREFLOW_DEBUG"):  # the machine's, not ours
            where = f"{escape(exc.filename)}: " if exc.filename is not None else ""
            err(f"error: {where}{escape(exc.strerror or exc)}")
            return 1
        if os.environ.get("CAREFLOW_DEBUG"):
            raise
        err(f"careflow: internal error ({type(exc).__name__}): {escape(str(exc)[:500])}\n"
            "    this is a bug in careflow: please report it; CAREFLOW_DEBUG=1 shows the traceback")
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
