"""The input boundary's figures: the cost of ``Case.fire`` on the hot path, and memory after refused input.

    .venv/bin/python bench/bench_boundary.py fire      # microseconds of CPU per fire (best of 9 x 100,000)
    .venv/bin/python bench/bench_boundary.py memory    # RSS after 1,000 refused 1 MB event names

To compare with another tree, run it with ``PYTHONPATH=<that tree>/src``, alternating the two.
"""

from __future__ import annotations

import contextlib
import sys
import time
from datetime import UTC, datetime

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.clock import FixedClock
from careflow.definitions.loader import loads
from careflow.errors import CaseError
from careflow.runtime.compiled import Actor

TEXT = """careflow: 1
id: bench
version: "1"
title: Bench
language: en
roles: {worker: {label: Worker}}
initial: a
states:
  a: {label: A}
  b: {label: B}
  z: {label: Z, final: true}
transitions:
  - {event: go, from: a, to: b, roles: [worker], label: Go}
  - {event: back, from: b, to: a, roles: [worker], label: Back}
  - {event: end, from: b, to: z, roles: [worker], label: End}
"""
CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
WORKER = Actor("w", frozenset({"worker"}))


def fire() -> None:
    process = loads(TEXT)
    best = float("inf")
    for _ in range(9):
        case = Case.open(process, "c", clock=CLOCK)
        go = case.fire
        started = time.process_time()
        for _ in range(50_000):
            go("go", WORKER)
            go("back", WORKER)
        best = min(best, time.process_time() - started)
    print(f"Case.fire: {best / 100_000 * 1e6:.3f} us of CPU per fire (best of 9 x 100,000)")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def memory() -> None:
    process = loads(TEXT)
    case = Case.open(process, "c", clock=CLOCK)
    store = open_store("memory:", processes=[process], clock=CLOCK)
    store.create(Case.open(process, "s", clock=CLOCK))
    for name, refuse in (("Case", lambda event: case.fire(event, WORKER)),
                         ("memory store", lambda event: store.fire("s", event, WORKER))):
        start = _rss_mb()
        for i in range(1_000):
            with contextlib.suppress(CaseError):
                refuse(f"{i:07d}" + "x" * (1 << 20))  # a fresh 1 MB event name each time
            if i + 1 in (100, 1_000):
                print(f"{name}: RSS {start:.1f} MB -> {_rss_mb():.1f} MB after {i + 1:,} refused 1 MB event names")
    assert case.verify_chain() and len(case.history) == 1_001


if __name__ == "__main__":
    {"fire": fire, "memory": memory}[sys.argv[1] if len(sys.argv) > 1 else "fire"]()
