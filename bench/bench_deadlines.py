"""Deadlines on the hot path: ``Case.fire`` with and without timers, and ``Case.tick``, in one run for two
trees (before/after a change), alternating, so both see the same machine.

    .venv/bin/python bench/bench_deadlines.py --before /work/main/src          # both trees, 5 rounds
    .venv/bin/python bench/bench_deadlines.py --one                            # this tree only

Figures are microseconds of CPU per operation, the best of each round's runs; the table shows the median
of the rounds (and their min–max). The ``every`` rows run only where the format has ``every``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HEAD = """careflow: 1
id: bench
version: "1"
title: Bench
language: en
roles: {worker: {label: Worker}}
initial: a
states:
  a: {label: A}
  z: {label: Z, final: true}
"""
PLAIN = HEAD + """  b: {label: B}
transitions:
  - {event: go, from: a, to: b, roles: [worker], label: Go}
  - {event: back, from: b, to: a, roles: [worker], label: Back}
  - {event: end, from: b, to: z, roles: [worker], label: End}
"""
DUE = HEAD + """  b: {label: B, due: P14D, on_due: late}
transitions:
  - {event: go, from: a, to: b, roles: [worker], label: Go}
  - {event: back, from: b, to: a, roles: [worker], label: Back}
  - {event: late, from: b, internal: true, roles: [system], label: Late}
  - {event: end, from: b, to: z, roles: [worker], label: End}
"""
EVERY = DUE.replace("due: P14D, on_due: late", "every: P1M, on_every: late")
FIRES = 50_000  # go + back pairs per run
TICKS = 20_000


def measure() -> dict[str, float]:
    from careflow.cases.case import Case
    from careflow.clock import FixedClock
    from careflow.definitions.loader import loads
    from careflow.runtime.compiled import Actor

    worker = Actor("w", frozenset({"worker"}))
    start = datetime(2026, 1, 31, tzinfo=UTC)
    out: dict[str, float] = {}
    variants = {"plain": PLAIN, "due": DUE}
    try:
        loads(EVERY)
        variants["every"] = EVERY
    except Exception:  # the tree before `every` refuses it: its rows stay empty
        pass
    for name, text in variants.items():
        process = loads(text)
        best = float("inf")
        for _ in range(3):
            case = Case.open(process, "c", clock=FixedClock(start))
            go = case.fire
            t0 = time.process_time()
            for _ in range(FIRES):
                go("go", worker)
                go("back", worker)
            best = min(best, time.process_time() - t0)
        out[f"fire/{name}"] = best / (2 * FIRES) * 1e6
        if name == "plain":
            continue
        best = float("inf")
        for _ in range(3):
            case = Case.open(process, "c", clock=FixedClock(start))
            case.fire("go", worker)
            tick = case.tick
            when = start + timedelta(days=40)
            step = timedelta(days=31)
            t0 = time.process_time()
            for _ in range(TICKS):  # each tick finds one deadline passed (every), or none after the first (due)
                tick(when)
                when += step
            best = min(best, time.process_time() - t0)
        out[f"tick/{name}"] = best / TICKS * 1e6
    return out


def run_tree(src: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    done = subprocess.run([sys.executable, __file__, "--one", "--json"], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", metavar="SRC", help="the other tree's src/ (e.g. /work/main/src)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--one", action="store_true", help="measure this interpreter's careflow once")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.one:
        figures = measure()
        print(json.dumps(figures) if args.json else "\n".join(f"{k}: {v:.3f} us" for k, v in figures.items()))
        return
    here = str(Path(__file__).resolve().parent.parent / "src")
    trees = {"before": args.before, "after": here} if args.before else {"after": here}
    samples: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
    for _ in range(args.rounds):
        for tree, src in trees.items():
            for key, value in run_tree(src).items():
                samples[tree].setdefault(key, []).append(value)
    keys = sorted({k for s in samples.values() for k in s})
    print("| µs of CPU per operation | " + " | ".join(trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for key in keys:
        cells = []
        for tree in trees:
            vals: list[Any] = samples[tree].get(key, [])
            cells.append(f"{statistics.median(vals):.2f} ({min(vals):.2f}–{max(vals):.2f})" if vals else "—")
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
