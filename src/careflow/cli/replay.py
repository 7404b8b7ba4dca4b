"""``careflow replay``: re-run recorded histories through a process definition and report divergences.

Imported only when the command runs (``careflow.cli.commands``); the reader and the replayer are imported
inside ``run_replay``. The summary says how many histories there were and what became of them:
``1 history: diverged``, ``3 histories: 2 replayed, 1 diverged``.

Exit codes: 0 every history replayed; 1 a history diverged or could not be read; 2 usage (bad
arguments, unknown process, a path that does not exist, no history files found).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from careflow.cli.console import HISTORY_NAMES, err, escape, format_error, out

PROGRESS_MIN = 200  # files: below this a progress bar is noise


def add_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", metavar="PROCESS", help="the process the histories were recorded on (id or file)")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR",
                   help=f"history files, or directories searched recursively for {HISTORY_NAMES}")
    p.add_argument("--against", metavar="NEW", help="replay on this definition instead (a new version): compare "
                                                    "behaviour only, not versions, transition ids or hashes")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML (one testcase per history) for CI")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems: no summary, no progress")
    p.add_argument("--checkpoint", metavar="FILE", help="also check the histories against this signed checkpoint "
                                                        "('careflow audit checkpoint --history')")
    p.add_argument("--public-key", metavar="PUB", help="the public key (PEM) the checkpoint was signed with")


def _files(paths: list[str]) -> list[str] | str:
    """Every history file under ``paths`` (sorted per directory), or the first path that does not exist."""
    from careflow.history import history_files

    missing = next((p for p in paths if not Path(p).exists()), None)
    return missing if missing is not None else [str(f) for f in history_files(paths)]


def run_replay(args: argparse.Namespace) -> int:
    import gc

    from careflow.definitions.loader import load
    from careflow.errors import CareflowError

    files = _files(args.paths)
    if isinstance(files, str):
        err(f"error: no such file or directory: {escape(files)}")
        return 2
    if not files:
        err(f"error: no history files ({HISTORY_NAMES}) found")
        return 2
    if args.checkpoint is not None and args.public_key is None:
        err("careflow: error: --checkpoint needs --public-key PUB (the public key of whoever signed it)")
        return 2
    try:
        checkpoint = _checkpoint(args)
    except CareflowError as exc:
        err(format_error(exc))
        return 1
    try:
        process = load(args.process)
        against = load(args.against) if args.against else None
        from careflow.runtime.compiled import compile

        compiled = compile(process)
        target = compile(against) if against is not None else None
    except CareflowError as exc:
        err(format_error(exc))
        return 2
    # Everything loaded so far lives for the whole run: keep it out of the collector's passes.
    gc.collect()
    gc.freeze()
    try:
        code = _run(args, files, compiled, target)
    finally:
        gc.unfreeze()
    if checkpoint is None:
        return code
    return max(code, _compare(args, files, checkpoint))


def _checkpoint(args: argparse.Namespace) -> Any:
    if args.checkpoint is None:
        return None
    from careflow.history.checkpoint import load_public_key, read_checkpoint

    return read_checkpoint(args.checkpoint, load_public_key(args.public_key))


def _compare(args: argparse.Namespace, files: list[str], checkpoint: Any) -> int:
    """Each history against the checkpoint: 1 when one was cut short, rewritten or is missing."""
    from careflow.errors import CareflowError
    from careflow.history.checkpoint_files import compare_history

    heads = checkpoint.by_case()
    seen: set[str] = set()
    problems = 0
    for file in files:
        try:
            finding = compare_history(file, heads)
        except CareflowError:
            continue  # unreadable: already reported by the replay
        seen.add(finding.case_id)
        if finding.problem is not None:
            problems += 1
            if args.format == "text":
                    out(escape(f"{file}: {finding.message} [{finding.problem}]"))
    for head in checkpoint.heads:
        if head.case_id not in seen:
            problems += 1
            if args.format == "text":
                out(escape(f"{args.checkpoint}: case '{head.case_id}' ({head.entries} entries at the checkpoint) "
                           "is in no history file given [checkpoint-deleted]"))
    if not args.quiet and args.format == "text":
        out(f"checkpoint of {checkpoint.created}: {len(checkpoint.heads)} case(s), {problems} problem(s)")
    return 1 if problems else 0


def _run(args: argparse.Namespace, files: list[str], compiled: Any, target: Any) -> int:
    from careflow.history import HistoryFileError, replay

    start = time.perf_counter()
    progress = _Progress(len(files)) if not args.quiet and len(files) > PROGRESS_MIN and sys.stderr.isatty() else None
    results: list[dict[str, Any]] = []
    replayed = diverged = unreadable = 0
    for index, file in enumerate(files):
        began = time.perf_counter()
        record: dict[str, Any] = {"file": file}
        try:
            result = replay(compiled, file, against=target)  # JSON Lines are streamed: memory stays flat
        except HistoryFileError as exc:
            unreadable += 1
            record.update(ok=False, unreadable=True, diagnostics=[d.to_json() for d in exc.diagnostics],
                          message=format_error(exc))
            if args.format == "text":
                out(format_error(exc))
        else:
            replayed += 1
            record.update(ok=result.ok, entries=result.entries_checked)
            if not result.ok and result.divergence is not None:
                diverged += 1
                div = result.divergence
                record.update(divergence=div.to_json(), message=div.format())
                if args.format == "text":
                    out(escape(f"{div.where}: {div.reason} [{div.code}]"))
        record["seconds"] = time.perf_counter() - began
        results.append(record)
        if progress is not None:
            progress.update(index + 1)
    if progress is not None:
        progress.done()
    seconds = time.perf_counter() - start
    if args.junit:
        try:
            write_junit(args.junit, results, compiled.id, seconds)
        except OSError as exc:
            err(f"error: cannot write {escape(args.junit)}: {exc.strerror or exc}")
            return 2
    if args.format == "json":
        out(json.dumps({"process": compiled.id, "histories": len(files), "replayed": replayed, "diverged": diverged,
                        "unreadable": unreadable, "seconds": round(seconds, 3),
                        "results": [{k: v for k, v in r.items() if k != "message"} for r in results]},
                       ensure_ascii=False, indent=2))
    elif not args.quiet:
        out(summary(replayed - diverged, diverged, unreadable, seconds))
    return 1 if diverged or unreadable else 0


def summary(clean: int, diverged: int, unreadable: int, seconds: float) -> str:
    """``1 history: diverged in 0.01 s``, ``3 histories: 2 replayed, 1 diverged in 0.04 s``: the outcomes
    that happened, counted when there is more than one history."""
    total = clean + diverged + unreadable
    outcomes = [(n, word) for n, word in ((clean, "replayed"), (diverged, "diverged"), (unreadable, "unreadable"))
                if n]
    said = ", ".join(word if total == 1 else f"{n} {word}" for n, word in outcomes)
    digits = 1 if seconds >= 1 else 2
    return f"{total} {'history' if total == 1 else 'histories'}: {said} in {seconds:.{digits}f} s"


class _Progress:
    """A plain progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int) -> None:
        self.total, self.last = total, 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < self.total:
            return
        self.last = now
        width = 30
        filled = width * done // self.total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()


def write_junit(path: str | os.PathLike[str], results: list[dict[str, Any]], process: str, seconds: float) -> None:
    """JUnit XML: one ``testcase`` per history; a divergence is a ``failure``, an unreadable file an ``error``."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in results if not r["ok"] and not r.get("unreadable"))
    errors = sum(1 for r in results if r.get("unreadable"))
    suites = ET.Element("testsuites", tests=str(len(results)), failures=str(failures), errors=str(errors),
                        time=f"{seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=f"careflow.history.replay.{process}", tests=str(len(results)),
                          failures=str(failures), errors=str(errors), skipped="0", time=f"{seconds:.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"careflow.history.replay.{process}", name=r["file"],
                             time=f"{r['seconds']:.4f}")
        if r.get("unreadable"):
            first = r["diagnostics"][0]["message"] if r["diagnostics"] else "unreadable"
            ET.SubElement(case, "error", message=first, type="unreadable").text = r["message"]
        elif not r["ok"]:
            div = r["divergence"]
            ET.SubElement(case, "failure", message=div["reason"], type=div["code"]).text = r["message"]
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)

