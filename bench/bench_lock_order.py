"""Multi-case PostgreSQL transactions from several processes: how many deadlock.

    python bench/bench_lock_order.py [--pg URL] [--workers 4] [--transactions 1200] [--cases 12]
                                     [--per 3] [--pause 0.002] [--declare]

Each worker process opens its own store (its own connection) and runs its share of the transactions:
every transaction fires ``flip`` on ``--per`` distinct cases picked at random, in random order, inside
one ``store.transaction()``, pausing ``--pause`` seconds between fires (the application's own work).
Rows are locked as a block first reads them; before careflow locked them in id order, two blocks
taking the same cases in opposite orders deadlocked and PostgreSQL aborted one.

With ``--declare`` each block names its cases up front (``store.transaction(lock=[...])``), which
locks them all in id order before the first fire, so no block has to restart.

Prints the committed and failed transactions by cause (deadlock, concurrent update, lock conflict,
other), then verifies every chain and replays every log. Runs in a throw-away schema. It uses only
the public store API, so it runs against an older tree too (``PYTHONPATH=old/src``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import sys
import time
from collections import Counter
from contextlib import closing

PROCESS = """
careflow: 1
id: bench_locks
version: "1.0"
title: Lock order benchmark
language: en
roles:
  worker: {label: Worker}
initial: left
states:
  left: {label: Left}
  right: {label: Right}
  done: {final: true, label: Done}
transitions:
  - {event: flip, from: left, to: right, roles: [worker]}
  - {event: flip, from: right, to: left, roles: [worker]}
  - {event: finish, from: [left, right], to: done, roles: [worker]}
"""


def cause(exc: BaseException) -> str:
    """What aborted a transaction, in words that mean the same on an old and a new tree."""
    chain = [type(exc).__name__, type(exc.__cause__).__name__ if exc.__cause__ is not None else ""]
    if "DeadlockDetected" in chain:
        return "deadlock"
    if "ConcurrentUpdate" in chain:
        return "concurrent-update"
    if "LockConflict" in chain or "LockNotAvailable" in chain:
        return "lock-conflict"
    return f"other ({chain[0]}: {str(exc).splitlines()[0][:80]})"


def worker(url: str, number: int, count: int, cases: int, per: int, pause: float, declare: bool) -> Counter[str]:
    from careflow.cases.store import open_store
    from careflow.definitions.loader import loads
    from careflow.errors import CareflowError
    from careflow.runtime.compiled import Actor

    actor = Actor(f"w{number}", {"worker"})
    rng = random.Random(number)
    outcome: Counter[str] = Counter()
    with closing(open_store(url, processes=[loads(PROCESS)])) as store:
        for _ in range(count):
            picks = rng.sample(range(cases), per)
            try:
                with store.transaction(lock=[f"c{n:03}" for n in picks]) if declare else store.transaction():
                    for n in picks:
                        store.fire(f"c{n:03}", "flip", actor)
                        time.sleep(pause)
                outcome["committed"] += 1
            except CareflowError as exc:
                outcome[cause(exc)] += 1
    return outcome


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=os.environ.get("CAREFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--transactions", type=int, default=1200, help="in all, shared among the workers")
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--per", type=int, default=3, help="cases fired per transaction")
    ap.add_argument("--pause", type=float, default=0.002, help="seconds between fires inside a transaction")
    ap.add_argument("--declare", action="store_true", help="name each block's cases in transaction(lock=...)")
    args = ap.parse_args(argv)

    import psycopg

    from careflow.cases.case import Case
    from careflow.cases.store import open_store
    from careflow.definitions.loader import loads
    from careflow.runtime.compiled import Actor

    schema = f"careflow_bench_locks_{secrets.token_hex(4)}"
    sep = "&" if "?" in args.pg else "?"
    url = f"{args.pg}{sep}schema={schema}"
    process = loads(PROCESS)
    try:
        with closing(open_store(url, processes=[process])) as store:
            for n in range(args.cases):
                store.create(Case.open(process, f"c{n:03}", actor=Actor("setup", {"worker"})))
        share = [args.transactions // args.workers + (1 if i < args.transactions % args.workers else 0)
                 for i in range(args.workers)]
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            results = pool.starmap(worker, [(url, i, share[i], args.cases, args.per, args.pause, args.declare)
                                            for i in range(args.workers)])
        elapsed = time.perf_counter() - started
        total: Counter[str] = sum(results, Counter())
        with closing(open_store(url, processes=[process])) as store:
            checks = list(store.verify_cases())
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    failed = sum(v for k, v in total.items() if k != "committed")
    declared = ", cases declared" if args.declare else ""
    print(f"{args.workers} processes, {args.transactions} transactions of {args.per} cases out of {args.cases}"
          f"{declared}, {elapsed:.1f} s")
    print(f"committed {total['committed']}, aborted {failed} ({100 * failed / args.transactions:.1f} %), "
          f"deadlocks {total['deadlock']}")
    for key, value in sorted(total.items()):
        if key != "committed":
            print(f"  {key}: {value}")
    broken = [c for c in checks if not c.ok]
    print(f"{len(checks)} case(s) verified and replayed, {len(broken)} broken")
    return 1 if total["deadlock"] or broken else 0


if __name__ == "__main__":
    sys.exit(main())
