"""``careflow lsp``: its arguments and its runner, for the command table in ``careflow.cli.commands``.

pygls is an optional dependency (the extra ``lsp``): it is imported only when the server starts, and
when it is missing the command says how to install it instead of failing with a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

INSTALL_HINT = "the language server needs pygls: pip install 'careflow[lsp]'"
DEBOUNCE_MS = 30  # the quiet time after a change before checking: shorter than a pause between keystrokes


def add_lsp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true",
                        help="talk over stdin/stdout (the default and only transport; accepted for editors "
                             "that pass it)")
    parser.add_argument("--debounce-ms", type=int, default=DEBOUNCE_MS, metavar="MS",
                        help=f"wait this long after the last change before checking (default: {DEBOUNCE_MS})")


def pygls_available() -> bool:
    try:
        return importlib.util.find_spec("pygls") is not None and importlib.util.find_spec("lsprotocol") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken install
        return False


def run_lsp(args: argparse.Namespace) -> int:
    if not pygls_available():
        sys.stderr.write(f"careflow lsp: {INSTALL_HINT}\n")
        return 2
    if args.debounce_ms < 0:
        sys.stderr.write("careflow lsp: --debounce-ms must be 0 or more\n")
        return 2
    from careflow.lsp.server import serve

    serve(debounce=args.debounce_ms / 1000)
    return 0
