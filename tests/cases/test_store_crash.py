"""SIGKILL a writer at random moments during commits: every case is exactly at some committed state.

Each round starts a writer process (spawn context) that fires at a few cases — one transaction per
fire, or ten fires per ``transaction()`` — and counts in shared memory the fires whose commit
returned. The parent kills it with SIGKILL at a random moment, then checks, for SQLite and
PostgreSQL:

- every chain verifies and every log replays to its stored snapshot (the row and its entries were
  written together or not at all);
- no acknowledged fire is missing, and at most the one transaction in flight is there beyond them.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor
from tests.support import process_text

ROUNDS, CASES, BATCH = 6, 5, 10
PINGPONG = process_text("pingpong")
ACTOR = Actor("writer", {"worker"})


def writer(url: str, acked: Any, batched: bool, seed: int) -> None:
    process = loads(PINGPONG)
    rng = random.Random(seed)
    store = open_store(url, processes=[process])
    i = 0
    while True:
        if batched:
            with store.transaction():
                for _ in range(BATCH):
                    i += 1
                    store.fire(f"c{rng.randrange(CASES)}", "flip", ACTOR, {"tags": f"t{seed}-{i}"})
            acked.value += BATCH
        else:
            i += 1
            store.fire(f"c{rng.randrange(CASES)}", "flip", ACTOR, {"tags": f"t{seed}-{i}"})
            acked.value += 1


def crash_rounds(url: str) -> None:
    process = loads(PINGPONG)
    with closing(open_store(url, processes=[process])) as store:
        for n in range(CASES):
            store.create(Case.open(process, f"c{n}", actor=ACTOR))
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(7)
    total_acked = 0
    for round_ in range(ROUNDS):
        acked = ctx.Value("q", 0, lock=False)
        batched = round_ % 2 == 1
        child = ctx.Process(target=writer, args=(url, acked, batched, round_), daemon=True)
        child.start()
        deadline = time.monotonic() + 30
        while acked.value < 20 and time.monotonic() < deadline:  # let it get going: kill mid-stream
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        total_acked += acked.value
        with closing(open_store(url, processes=[process])) as store:
            checks = list(store.verify_cases())
            assert all(c.ok for c in checks), [c for c in checks if not c.ok]
            fired = sum(store.get(f"c{n}").seq for n in range(CASES))
            in_flight = BATCH if batched else 1
            assert total_acked <= fired <= total_acked + in_flight
            total_acked = fired  # the in-flight commit, if it landed, is committed for the next round
            for n in range(CASES):
                case = store.load(f"c{n}")
                assert len(case.data["tags"]) == case.snapshot.seq


def test_sqlite_survives_sigkill(tmp_path: Path) -> None:
    crash_rounds(f"sqlite:///{tmp_path}/crash.db")


def test_postgres_survives_sigkill(pg_url: str) -> None:
    if os.name != "posix":  # pragma: no cover
        pytest.skip("SIGKILL is POSIX")
    crash_rounds(pg_url)
