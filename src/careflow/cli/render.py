"""``careflow render``: a process as SVG, PNG, PDF, DOT, Mermaid or Markdown, with optional overlays.

Importing this module registers the command; ``careflow.cli.main`` imports it through ``_PLUGIN_MODULES``,
so it stays outside the render package: ``careflow --help`` must not import the renderers.
Every failure a user can cause (unknown process, missing Graphviz, a malformed history) is printed
as one clear message with exit code 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from careflow.cli.main import LANGS, err, register

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
                       help="one case's history (JSON Lines or a JSON array): highlight where it is and its path")
    group.add_argument("--stats", metavar="HISTORY", nargs="+",
                       help="many cases' histories: arrows weighted by how many cases took them, "
                            "median time per state")


def run_render(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import load
    from careflow.errors import CareflowError
    from careflow.render import Overlay, read_history, render, render_bytes
    from careflow.render.output import format_for

    try:
        process = load(args.process)
        overlay = None
        if args.case:
            overlay = Overlay.from_case(read_history(args.case))
        elif args.stats:
            overlay = Overlay.from_cases(read_history(path) for path in args.stats)
        if args.output:
            render(process, args.output, args.format, lang=args.lang, direction=args.direction, overlay=overlay)
            return 0
        fmt = args.format or "dot"
        format_for("", fmt)
        data = render_bytes(process, fmt, lang=args.lang, direction=args.direction, overlay=overlay)
    except CareflowError as exc:
        err(_message(exc))
        return 1
    except OSError as exc:
        err(f"error: cannot write {args.output}: {exc.strerror or exc}")
        return 1
    if fmt in ("png", "pdf") and sys.stdout.isatty():
        err(f"error: refusing to write {fmt} to a terminal; use -o FILE")
        return 1
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


def _message(exc: BaseException) -> str:
    from careflow.errors import DefinitionError

    if isinstance(exc, DefinitionError):
        return exc.format()
    code = getattr(exc, "code", "")
    return f"error {code}: {exc}" if code else f"error: {exc}"


register("render", "draw a process as svg/png/pdf (Graphviz), dot, mermaid or markdown", add_render, run_render)
