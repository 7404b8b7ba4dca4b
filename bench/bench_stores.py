"""Store throughput: fires per second through ``CaseStore.fire`` (read, pure step, seal, commit).

    python bench/bench_stores.py [--quick] [--strict] [--pg URL]

Each fire reads the case row, runs ``engine.step``, seals the entry into the hash chain and commits
the new snapshot with its audit row. Rows:

- SQLite, many fires per transaction (``store.transaction()``), WAL + synchronous=NORMAL;
- SQLite, one transaction per fire;
- PostgreSQL, one transaction per fire on one connection;
- PostgreSQL, one transaction per fire from 4 worker processes (each with its own connection).

PostgreSQL rows need a server (``--pg``, default ``$CAREFLOW_BENCH_PG`` or 127.0.0.1:5432/test);
they run in a throw-away schema and are skipped when the server cannot be reached.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from typing import Any

from careflow.cases.case import Case
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor

PROCESS = """
careflow: 1
id: bench_store
version: "1.0"
title: Store benchmark
language: en
roles:
  worker: {label: Worker}
data:
  consent: {type: boolean, default: true, label: Consent}
initial: left
states:
  left: {label: Left}
  right: {label: Right}
  done: {final: true, label: Done}
transitions:
  - {event: flip, from: left, to: right, roles: [worker], when: consent}
  - {event: flip, from: right, to: left, roles: [worker]}
  - {event: finish, from: [left, right], to: done, roles: [worker]}
"""
ACTOR = Actor("ann", {"worker"})
CASES = 100


def _store(url: str, prefix: str = "c", create: bool = True) -> Any:
    from careflow.cases.store import open_store

    process = loads(PROCESS)
    store = open_store(url, processes=[process])
    if create:
        with store.transaction():
            for n in range(CASES):
                store.create(Case.open(process, f"{prefix}{n}", actor=ACTOR))
    return store


def per_fire(url: str, fires: int, prefix: str = "c") -> float:
    store = _store(url, prefix)
    start = time.perf_counter()
    for i in range(fires):
        store.fire(f"{prefix}{i % CASES}", "flip", ACTOR)
    elapsed = time.perf_counter() - start
    store.close()
    return fires / elapsed


def batched(url: str, fires: int, batch: int = 1000) -> float:
    store = _store(url)
    start = time.perf_counter()
    for first in range(0, fires, batch):
        with store.transaction():
            for i in range(first, min(first + batch, fires)):
                store.fire(f"c{i % CASES}", "flip", ACTOR)
    elapsed = time.perf_counter() - start
    store.close()
    return fires / elapsed


def _worker(url: str, prefix: str, fires: int, ready: Any, go: Any, out: Any) -> None:
    store = _store(url, prefix)
    ready.release()
    go.wait()
    start = time.perf_counter()
    for i in range(fires):
        store.fire(f"{prefix}{i % CASES}", "flip", ACTOR)
    out.put((start, time.perf_counter()))
    store.close()


def workers(url: str, fires: int, n: int = 4) -> float:
    """Wall-clock throughput of ``n`` processes, each on its own cases, started together."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, f"w{k}-", fires, ready, go, out)) for k in range(n)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    go.set()
    spans = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return n * fires / (max(e for _, e in spans) - min(s for s, _ in spans))


def pg_schema_url(base: str) -> tuple[str, str] | None:
    try:
        import psycopg

        psycopg.connect(base, connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL at {base} unreachable ({str(exc).strip().splitlines()[0]}): its rows are skipped")
        return None
    schema = f"careflow_bench_{secrets.token_hex(4)}"
    return f"{base}{'&' if '?' in base else '?'}schema={schema}", schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer fires (a smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure is below its target")
    parser.add_argument("--pg", default=os.environ.get("CAREFLOW_BENCH_PG",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("SQLite", "1000 fires per transaction", batched(f"sqlite:///{tmp}/a.db", int(40_000 * scale)),
                     20_000))
        rows.append(("SQLite", "1 transaction per fire", per_fire(f"sqlite:///{tmp}/b.db", int(10_000 * scale)),
                     2_000))
    pg = pg_schema_url(args.pg)
    if pg is not None:
        url, schema = pg
        try:
            rows.append(("PostgreSQL", "1 transaction per fire, 1 connection", per_fire(url, int(5_000 * scale)),
                         1_000))
            rows.append(("PostgreSQL", "1 transaction per fire, 4 processes", workers(url, int(2_500 * scale)),
                         3_000))
        finally:
            import psycopg

            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]
    print(f"{'store':11} {'mode':40} {'fires/s':>10} {'target':>8}")
    for store, mode, rate, target in rows:
        print(f"{store:11} {mode:40} {rate:>10,.0f} {target:>8,.0f}  {'ok' if rate >= target else 'BELOW'}")
    below = any(rate < target for *_, rate, target in rows)
    return 1 if below and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
