"""``careflow render``: a process as SVG, PNG, PDF, DOT, Mermaid or Markdown, with optional overlays.

Imported only when the command runs (``careflow.cli.commands``); the renderers are imported inside
``run_render``. Overlays read histories with ``careflow.history``, the reader ``careflow replay`` uses:
JSON Lines, YAML or JSON files, and directories of them. Every failure a user can cause (unknown process,
missing Graphviz, a malformed history) is printed as one clear message with exit code 1, never as a
traceback.
"""

from __future__ import annotations

import argparse
import sys

from careflow.cli.console import HISTORY_NAMES, LANGS, err, escape

FORMAT_CHOICES = ("svg", "png", "pdf", "dot", "mermaid", "markdown")


def add_render(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="a process id or file")
    p.add_argument("-f", "--format", choices=FORMAT_CHOICES,
                   help="output format (default: from the -o suffix, else dot to stdout)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--lang", choices=LANGS, help="label language (default: the file's)")
    p.add_argument("--direction", choices=("LR", "TB"), default="LR",
                   help="steps left to right with levels as rows (LR), or top to bottom with levels as "
                        "columns like the BTI poster (TB)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--case", metavar="HISTORY",
                       help="one case's history (a file careflow replay reads): highlight where it is and its path")
    group.add_argument("--stats", metavar="FILE_OR_DIR", nargs="+",
                       help="many cases' histories (files, or directories searched recursively for "
                            f"{HISTORY_NAMES}): arrows weighted by how many cases took them, median time "
                            "per state")


def run_render(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import load
    from careflow.history import history_files, read_history
    from careflow.render import Overlay, render, render_bytes
    from careflow.render.output import format_for

    process = load(args.process)
    overlay = None
    if args.case:
        overlay = Overlay.from_case(read_history(args.case))
    elif args.stats:
        files = history_files(args.stats)
        if not files:
            err(f"error: no history files ({HISTORY_NAMES}) found")
            return 1
        overlay = Overlay.from_cases(map(read_history, files))
    if args.output:
        try:
            render(process, args.output, args.format, lang=args.lang, direction=args.direction, overlay=overlay)
        except OSError as exc:
            err(f"error: cannot write {escape(args.output)}: {exc.strerror or exc}")
            return 1
        return 0
    fmt = args.format or "dot"
    format_for("", fmt)
    data = render_bytes(process, fmt, lang=args.lang, direction=args.direction, overlay=overlay)
    if fmt in ("png", "pdf") and sys.stdout.isatty():
        err(f"error: refusing to write {fmt} to a terminal; use -o FILE")
        return 1
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0
