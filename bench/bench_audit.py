"""Audit trail throughput: ``audit verify`` in entries per second, and the time of a signed checkpoint.

    python bench/bench_audit.py [--cases N] [--replayed N] [--pg URL]

Builds a store of N cases (default 100,000; each opened and fired twice: 3 entries) on SQLite (and on
PostgreSQL with ``--pg``, in a throw-away schema), then measures:

- ``verify_cases(replay=False)`` over every case: rows read, entries parsed, columns compared, every hash
  recomputed, case rows checked against their stored snapshot;
- ``verify_cases(replay=True)`` over the first ``--replayed`` cases (default 10,000): the same plus a replay
  of every log through the step function;
- ``store.checkpoint(key)``: reads every audit row, checks each chain, signs the heads (Ed25519).
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from itertools import islice
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor, compile

PROCESS = """
careflow: 1
id: bench_audit
version: "1.0"
title: Audit benchmark
language: en
roles:
  worker: {label: Worker}
data:
  score: {type: number, default: 3, label: Score}
initial: left
states:
  left: {label: Left, due: P7D, on_due: late}
  right: {label: Right}
  done: {final: true, label: Done}
transitions:
  - {event: flip, from: left, to: right, roles: [worker], set: [score]}
  - {event: flip, from: right, to: left, roles: [worker]}
  - {event: late, from: left, to: done, roles: [system]}
"""
ACTOR = Actor("ann", {"worker"})


def build(url: str, cases: int) -> Any:
    compiled = compile(loads(PROCESS))
    store = open_store(url, processes=[compiled])
    began = time.perf_counter()
    for start in range(0, cases, 1000):
        with store.transaction():
            for i in range(start, min(cases, start + 1000)):
                case = Case.open(compiled, f"c{i:07d}", actor=ACTOR)
                case.fire("flip", ACTOR, {"score": i % 10})
                case.fire("flip", ACTOR)
                store.create(case)
    print(f"  built {cases} cases ({3 * cases} entries) in {time.perf_counter() - began:.1f} s")
    return store


def measure(name: str, store: Any, cases: int, replayed: int) -> None:
    began = time.perf_counter()
    checks = entries = 0
    for check in store.verify_cases(replay=False):
        assert check.ok, check
        checks += 1
        entries += check.entries
    seconds = time.perf_counter() - began
    print(f"{name}: verify --no-replay  {checks} cases, {entries} entries in {seconds:.2f} s: "
          f"{entries / seconds:,.0f} entries/s")
    began = time.perf_counter()
    entries = 0
    for check in islice(store.verify_cases(replay=True), replayed):
        assert check.ok, check
        entries += check.entries
    seconds = time.perf_counter() - began
    print(f"{name}: verify (replay)     {replayed} cases, {entries} entries in {seconds:.2f} s: "
          f"{entries / seconds:,.0f} entries/s")
    key = Ed25519PrivateKey.generate()
    began = time.perf_counter()
    checkpoint = store.checkpoint(key)
    seconds = time.perf_counter() - began
    print(f"{name}: checkpoint          {len(checkpoint.heads)} cases in {seconds:.2f} s")
    assert len(checkpoint.heads) == cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--replayed", type=int, default=10_000)
    parser.add_argument("--pg", default=None, help="also PostgreSQL at this URL (a throw-away schema)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = build(f"sqlite:///{os.path.join(tmp, 'audit.db')}", args.cases)
        measure("SQLite", store, args.cases, args.replayed)
        store.close()
    if args.pg:
        import psycopg

        schema = f"careflow_bench_{secrets.token_hex(4)}"
        sep = "&" if "?" in args.pg else "?"
        try:
            store = build(f"{args.pg}{sep}schema={schema}", args.cases)
            measure("PostgreSQL", store, args.cases, args.replayed)
            store.close()
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
