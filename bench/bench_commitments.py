"""The cost of salted commitments per fire, and the time to redact many cases.

Run it with the careflow to measure first on the path; for before/after in one run, alternate two
checkouts (see docs/audit.md, "Cost"):

    for src in /path/to/before/src src; do PYTHONPATH=$src .venv/bin/python bench/bench_commitments.py fire; done
    .venv/bin/python bench/bench_commitments.py redact --cases 10000

``fire``: µs per ``Case.fire`` in memory with two data values, plus sealing (``case.head``) per entry;
µs per ``store.fire`` on SQLite, one transaction per fire, with and without data. ``redact``: SQLite,
N cases with one note each; every case redacted (one transaction each, then one batch in one
transaction), seconds in all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import careflow
from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.clock import FixedClock
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor, compile

PROCESS = """\
careflow: 1
id: notes
version: "1"
title: Notes
language: en
roles: {worker: {label: Worker}, records_officer: {label: Records officer}}
data:
  note: {type: string, nullable: true, label: Note}
  score: {type: number, nullable: true, label: Score}
initial: open
states:
  open: {label: Open}
  done: {final: true, label: Done}
transitions:
  - {event: write, from: open, internal: true, set: [note, score], roles: [worker]}
  - {event: touch, from: open, internal: true, roles: [worker]}
  - {event: finish, from: open, to: done, roles: [worker]}
"""
WORKER = Actor("w", {"worker"})
OFFICER = Actor("r", {"records_officer"})
DATA = {"note": "Per Hansen, 12 år, bekymring frå skulen", "score": 4}


def _median(samples: list[float]) -> str:
    return f"{statistics.median(samples):.2f} (min {min(samples):.2f}, max {max(samples):.2f})"


def fire(repeats: int, n: int) -> None:
    compiled = compile(loads(PROCESS))
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    mem, seal, sql_data, sql_plain = [], [], [], []
    for _ in range(repeats):
        case = Case.open(compiled, "c", actor=WORKER, clock=clock)
        t = time.perf_counter()
        for _ in range(n):
            case.fire("write", WORKER, DATA)
        mem.append((time.perf_counter() - t) / n * 1e6)
        t = time.perf_counter()
        case.head  # noqa: B018 - seals every entry
        seal.append((time.perf_counter() - t) / n * 1e6)
        with tempfile.TemporaryDirectory() as tmp, \
                open_store(f"sqlite:///{tmp}/b.db", processes=[compiled], clock=clock) as s:
            s.create(Case.open(compiled, "c", actor=WORKER, clock=clock))
            for data, out in ((DATA, sql_data), (None, sql_plain)):
                event = "write" if data else "touch"
                t = time.perf_counter()
                for _ in range(n // 4):
                    s.fire("c", event, WORKER, data)
                out.append((time.perf_counter() - t) / (n // 4) * 1e6)
    print(f"careflow from {Path(careflow.__file__).parent}")
    print(f"Case.fire in memory, 2 data values: {_median(mem)} µs/fire; sealing: {_median(seal)} µs/entry")
    print(f"SQLite store.fire, one transaction per fire, 2 data values: {_median(sql_data)} µs/fire "
          f"({1e6 / statistics.median(sql_data):.0f} fires/s)")
    print(f"SQLite store.fire, one transaction per fire, no data: {_median(sql_plain)} µs/fire "
          f"({1e6 / statistics.median(sql_plain):.0f} fires/s)")


def redact(cases: int) -> None:
    compiled = compile(loads(PROCESS))
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/r.db"
        with open_store(url, processes=[compiled], clock=clock) as s:
            with s.transaction():
                for i in range(cases):
                    s.create(Case.open(compiled, f"c{i}", actor=WORKER, clock=clock))
                    s.fire(f"c{i}", "write", WORKER, DATA)
            half = cases // 2
            t = time.perf_counter()
            for i in range(half):
                s.redact(f"c{i}", ["note"], actor=OFFICER, reason="retention period ended")
            each = time.perf_counter() - t
            t = time.perf_counter()
            with s.transaction():
                for i in range(half, cases):
                    s.redact(f"c{i}", ["note"], actor=OFFICER, reason="retention period ended")
            batch = time.perf_counter() - t
            size = Path(f"{tmp}/r.db").stat().st_size
            raw = Path(f"{tmp}/r.db").read_bytes()
            assert DATA["note"].encode() not in raw, "a redacted value is still in the file"  # type: ignore[union-attr]
    print(f"redact {half} cases one transaction each: {each:.2f} s ({each / half * 1e3:.2f} ms/case)")
    print(f"redact {cases - half} cases in one transaction: {batch:.2f} s "
          f"({batch / (cases - half) * 1e3:.2f} ms/case)")
    print(f"{cases} cases: about {each / half * cases:.1f} s one transaction each, "
          f"{batch / (cases - half) * cases:.1f} s in one transaction; file {size} bytes, no redacted value in it")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("fire", "redact"))
    ap.add_argument("--n", type=int, default=20_000, help="fires per sample (fire)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", type=int, default=10_000, help="cases to redact (redact)")
    args = ap.parse_args(argv)
    if args.what == "fire":
        fire(args.repeats, args.n)
    else:
        redact(args.cases)


if __name__ == "__main__":
    main(sys.argv[1:])

__all__: list[Any] = []
