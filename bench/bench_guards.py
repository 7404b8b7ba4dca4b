"""Guard-heavy ``Case.fire``: microseconds of CPU per fire for guards with and without arithmetic.

    .venv/bin/python bench/bench_guards.py             # one line per guard: µs per fire (best of 7 x 20,000)

To compare with another tree in the same run, alternate it with ``PYTHONPATH=<that tree>/src``
(docs/benchmarks.md, "Guards"). Each guard is on an internal transition that changes nothing, so a
fire costs the guard plus the engine's fixed work.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from careflow.cases.case import Case
from careflow.clock import FixedClock
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor

GUARDS = {
    "boolean field": "consent",
    "compare a number": "score >= 3 and score < 9.5",
    "length of a list": "len(psfs) >= 2",
    "arithmetic on ints": "len(psfs) * 2 + 1 > 3",
    "arithmetic, decimal": "score * 2 + 1 > 3",
    "PSFS means": "len(psfs) >= 2 and mean(psfs[-1]) - mean(psfs[-2]) >= 1.5",  # >= 2 is false before
}
HEAD = """careflow: 1
id: bench_guards
version: "1"
title: Bench guards
language: en
roles: {worker: {label: Worker}}
data:
  consent: {type: boolean, default: true, label: Consent}
  score: {type: number, default: 3.6, label: Score}
  psfs: {type: array, items: {type: array, items: {type: integer}}, default: [[4, 4, 4, 3, 3], [6, 6, 6, 5, 5]],
         label: PSFS}
initial: a
states:
  a: {label: A}
  z: {label: Z, final: true}
transitions:
"""
CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
WORKER = Actor("w", frozenset({"worker"}))


def main() -> None:
    events = {f"g{i}": source for i, source in enumerate(GUARDS.values())}
    lines = [f"  - {{event: {e}, from: a, internal: true, roles: [worker], when: {source!r}, label: {e}}}"
             for e, source in events.items()]
    lines.append("  - {event: end, from: a, to: z, roles: [worker], label: End}")
    process = loads(HEAD + "\n".join(lines) + "\n")
    import careflow

    print(f"# careflow from {careflow.__file__}")
    for (name, _), event in zip(GUARDS.items(), events, strict=True):
        best = float("inf")
        for _ in range(7):
            case = Case.open(process, "c", clock=CLOCK)
            fire = case.fire
            started = time.process_time()
            for _ in range(20_000):
                fire(event, WORKER)
            best = min(best, time.process_time() - started)
        print(f"{name:20} {best / 20_000 * 1e6:6.2f} µs")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
