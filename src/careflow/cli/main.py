"""The ``careflow`` command. Thin: every subcommand calls the library; heavy imports happen inside them.

The subcommands are the table in ``careflow.cli.commands``; only the one being run is imported. Every
careflow error a subcommand lets through is printed by the one formatter (``console.format_error``).

Exit codes: 0 success, 1 the input has problems (invalid definition, divergence, …), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from careflow.cli.commands import COMMANDS, command
from careflow.cli.console import err, format_error


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand listed; only ``selected`` gets its arguments (importing its module)."""
    parser = argparse.ArgumentParser(
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


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_selected(words))
    args = parser.parse_args(words)
    cmd = command(args.command) if args.command else None
    if cmd is None:
        parser.print_help()
        return 2
    try:
        return cmd.runner()(args)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a last guard: a user never sees a traceback for our own error kinds
        from careflow.errors import CareflowError

        if isinstance(exc, CareflowError):
            err(format_error(exc))
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
