"""``careflow paths`` and ``careflow coverage``: generated covering histories, and what real cases used.

Imported only when one of them runs (``careflow.cli.commands``); the testing package, networkx and the
engine are imported inside the commands. Histories are read with ``careflow.history``, the reader
``careflow replay`` uses.
"""

from __future__ import annotations

import argparse
import json

from careflow.cli.console import HISTORY_NAMES, err, escape, out

COVERS = ("states", "transitions", "decisions")


def add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="a process id or file")
    p.add_argument("--cover", choices=COVERS, default="transitions",
                   help="what the histories must cover together (default: transitions); decisions = every "
                        "exit of every state where two or more events lead out")
    p.add_argument("--max-length", type=int, metavar="N",
                   help="at most N planned moves per history (helper steps such as ticking a checklist "
                        "are not counted)")
    p.add_argument("-o", "--output", metavar="DIR", help="write one JSON Lines history per file here")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the report's format")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything stays uncovered")


def run_paths(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import load
    from careflow.testing.paths import generate_paths

    if args.max_length is not None and args.max_length < 1:
        err("error: --max-length must be at least 1")
        return 2
    result = generate_paths(load(args.process), args.cover, max_length=args.max_length)
    written = []
    if args.output:
        try:
            written = result.write(args.output)
        except OSError as exc:
            err(f"error: cannot write to {escape(args.output)}: {exc.strerror or exc}")
            return 1
    if args.format == "json":
        out(json.dumps({
            "process": result.process.id, "cover": result.cover, "histories": len(result.paths),
            "items": len(result.items), "covered": len(result.covered), "percent": round(result.percent, 1),
            "by_tick": list(result.by_tick), "files": [str(w) for w in written],
            "uncovered": [{"item": u.item, "reason": u.reason} for u in result.uncovered],
        }, ensure_ascii=False, indent=2))
    else:
        out(result.report())
        if written:
            out(f"wrote {len(written)} histories to {escape(args.output)}")
    return 1 if args.strict and result.uncovered else 0


def add_coverage(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="a process id or file")
    p.add_argument("histories", nargs="+", metavar="HISTORY",
                   help=f"history files, or directories searched recursively for {HISTORY_NAMES}")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="exit 1 when transition coverage is below PERCENT")


def run_coverage(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import load
    from careflow.history import History, history_files, read_history
    from careflow.testing.coverage import history_coverage

    process = load(args.process)
    files = history_files(args.histories)
    if not files:
        err(f"error: no history files ({HISTORY_NAMES}) found")
        return 1
    histories: list[History] = []
    for path in files:
        history = read_history(path)
        named = history.process_id()
        if named not in (None, process.id):
            err(f"note: {escape(path)} is a case of '{escape(named)}', not '{process.id}': skipped")
            continue
        histories.append(history)
    report = history_coverage(process, histories)
    if args.format == "json":
        out(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        out(report.format())
    if args.fail_under is not None and report.transition_percent < args.fail_under:
        err(f"transition coverage {report.transition_percent:.1f} % is below {args.fail_under:g} %")
        return 1
    return 0
