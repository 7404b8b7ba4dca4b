"""The cost of the access log per read: ``load`` and ``get`` with and without recording the read.

    python bench/bench_access.py [--reads N] [--pg URL]

Each row times N reads spread over 100 cases (each with a 5-entry log), through a named reader
(``store.reader(actor, purpose)``), once on a store opened with ``log_reads=False`` and once with the
access log on, in the same run. PostgreSQL rows need a server (``--pg``, default
``$CAREFLOW_BENCH_PG`` or 127.0.0.1:5432/test); they run in a throw-away schema and are skipped when
the server cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.definitions.loader import load
from careflow.runtime.compiled import Actor

NURSE = Actor("ann", {"nurse"})
CASES = 100


def _fill(url: str) -> None:
    psht = load("psht")
    with open_store(url, processes=[psht]) as store, store.transaction():
        for i in range(CASES):
            case = Case.open(psht, f"c{i}", actor=NURSE)
            case.fire("record_consent", NURSE, {"consent_to_referral": True})
            store.create(case)


def _rate(url: str, method: str, reads: int, log: bool) -> float:
    """Microseconds per read."""
    with open_store(url, processes=[load("psht")], log_reads=log, create=False) as store:
        reader = store.reader(NURSE, "benchmark")
        call: Callable[[str], Any] = getattr(reader, method)
        call("c0")  # warm: the process compiled, the connection and statements ready
        start = time.perf_counter()
        for i in range(reads):
            call(f"c{i % CASES}")
        return (time.perf_counter() - start) / reads * 1e6


def _rows(name: str, url: str, reads: int) -> None:
    _fill(url)
    for method in ("load", "get"):
        off = _rate(url, method, reads, False)
        on = _rate(url, method, reads, True)
        print(f"{name:11} {method:5} {off:9.0f} µs {on:9.0f} µs {on - off:+9.0f} µs "
              f"{1e6 / off:9,.0f}/s {1e6 / on:9,.0f}/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("CAREFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"{args.reads} reads per row, {CASES} cases; per read without and with the access log")
    print(f"{'store':11} {'read':5} {'no log':>12} {'logged':>12} {'cost':>12} {'no log':>11} {'logged':>11}")
    with tempfile.TemporaryDirectory() as folder:
        _rows("SQLite", f"sqlite:///{folder}/access.db", args.reads)
    try:
        import psycopg

        psycopg.connect(args.pg, connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL skipped: {str(exc).strip().splitlines()[0]}")
        return 0
    schema = f"careflow_bench_access_{secrets.token_hex(4)}"
    try:
        _rows("PostgreSQL", f"{args.pg}{'&' if '?' in args.pg else '?'}schema={schema}", args.reads)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
