"""Several processes firing at the same cases: no update is lost, every chain stays intact.

4 worker processes (spawn context, like separate servers) × 500 fires on 20 shared cases, for SQLite
and PostgreSQL. Every fire appends its unique tag to the case data and carries it as the reason, so:

- every successful fire is in exactly one audit log, once, and no failed one is in any;
- each case's data holds exactly the tags of its log, in log order (no write overwrote another);
- every chain verifies and every log replays to the stored state.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from contextlib import closing
from pathlib import Path

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.definitions.loader import loads
from careflow.errors import ConcurrentUpdate
from careflow.runtime.compiled import Actor
from tests.support import process_text

WORKERS, FIRES, CASES = 4, 500, 20

PINGPONG = process_text("pingpong")


def worker(url: str, number: int, seed: int) -> tuple[list[tuple[str, str]], int]:
    """Fire FIRES times at random cases; return the (case, tag) of each success and the retries used."""
    process = loads(PINGPONG)
    actor = Actor(f"w{number}", {"worker"})
    rng = random.Random(seed)
    done: list[tuple[str, str]] = []
    retried = 0
    with closing(open_store(url, processes=[process])) as store:
        for i in range(FIRES):
            case_id, tag = f"c{rng.randrange(CASES)}", f"w{number}-{i}"
            try:
                fired = store.fire(case_id, "flip", actor, {"tags": tag}, tag, retries=50)
            except ConcurrentUpdate:
                continue  # gave up: must then be in no log
            retried += fired.attempts - 1
            done.append((case_id, tag))
    return done, retried


def run(url: str) -> None:
    process = loads(PINGPONG)
    with closing(open_store(url, processes=[process])) as store:
        for n in range(CASES):
            store.create(Case.open(process, f"c{n}", actor=Actor("setup", {"worker"})))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(worker, [(url, n, 1000 + n) for n in range(WORKERS)])
    succeeded = [pair for done, _ in results for pair in done]
    assert len(succeeded) >= WORKERS * FIRES * 0.95
    with closing(open_store(url, processes=[process])) as store:
        logged: Counter[tuple[str, str]] = Counter()
        for n in range(CASES):
            case_id = f"c{n}"
            history = store.history(case_id)
            tags = [e.reason for e in history if e.kind == "fired"]
            assert all(e.kind in ("opened", "fired") for e in history)
            logged.update((case_id, t) for t in tags if t is not None)
            case = store.load(case_id)  # verifies the chain and replays the log
            assert list(case.data["tags"]) == tags
            assert case.state == ("left" if len(tags) % 2 == 0 else "right")
            assert store.get(case_id).version == len(history)
        assert set(logged.values()) == {1}
        assert set(logged) == set(succeeded)
        assert all(check.ok for check in store.verify_cases())


def test_sqlite_no_lost_update(tmp_path: Path) -> None:
    run(f"sqlite:///{tmp_path}/concurrent.db")


def test_postgres_no_lost_update(pg_url: str) -> None:
    run(pg_url)
