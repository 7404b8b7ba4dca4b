"""Hostile PostgreSQL situations: missing or emptied schema tables, a read-only server, and blocks of
several cases taken in opposite orders (which deadlocked before rows were locked in id order)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import closing

import psycopg
import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.errors import CareflowError, StoreError
from tests.cases.relay import ANN, FOLLOWUP_C, RELAY_C

Damage = Callable[[psycopg.Connection[tuple[object, ...]]], None]


def _schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def _setup(url: str, ids: tuple[str, ...] = ("k1",)) -> None:
    with closing(open_store(url, processes=[RELAY_C])) as store:
        for case_id in ids:
            store.create(Case.open(RELAY_C, case_id, actor=ANN, data={"consent": True}))


def _exec(url: str, *statements: str) -> None:
    base, schema = url.rsplit("?schema=", 1) if "?schema=" in url else url.rsplit("&schema=", 1)
    with psycopg.connect(base, autocommit=True, options=f"-c search_path={schema}") as conn:
        for statement in statements:
            conn.execute(statement)


DAMAGE = [
    ("careflow_schema emptied", ("DELETE FROM careflow_schema",), True, "CF958"),
    ("careflow_schema dropped", ("DROP TABLE careflow_schema",), True, "CF958"),
    ("careflow_cases dropped", ("DROP TABLE careflow_cases",), False, "CF958"),
    ("careflow_audit dropped", ("DROP TABLE careflow_audit CASCADE",), False, "CF958"),
    ("schema of a newer careflow", ("INSERT INTO careflow_schema VALUES (42, 'future', now())",), False, "CF954"),
]


@pytest.mark.parametrize(("statements", "create", "code"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_a_damaged_schema_is_refused_unchanged(pg_url: str, statements: tuple[str, ...], create: bool,
                                               code: str) -> None:
    _setup(pg_url)
    _exec(pg_url, *statements)
    with pytest.raises(StoreError) as caught:
        open_store(pg_url, create=create)
    assert caught.value.code == code and caught.value.hint and "already exists" not in str(caught.value)


def test_an_empty_schema_is_not_initialised_by_a_reader(pg_url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(pg_url, create=False)
    assert caught.value.code == "CF956"
    _exec(pg_url.split("?")[0] + "?schema=public", "SELECT 1")  # the server is fine
    open_store(pg_url, create=True).close()
    open_store(pg_url, create=False).close()


def test_a_table_dropped_while_open_is_store_damaged(pg_url: str) -> None:
    _setup(pg_url)
    with closing(open_store(pg_url, create=False, processes=[RELAY_C])) as store:
        _exec(pg_url, "DROP TABLE careflow_cases")
        with pytest.raises(StoreError) as caught:
            store.get("k1")
        assert caught.value.code == "CF958"


def test_a_deleted_case_row_is_reported_by_verify(pg_url: str) -> None:
    _setup(pg_url, ("k1", "k2"))
    _exec(pg_url, "DELETE FROM careflow_cases WHERE case_id = 'k1'")
    with closing(open_store(pg_url, create=False, processes=[RELAY_C])) as store:
        checks = {c.case_id: (c.ok, c.problem) for c in store.verify_cases()}
        assert checks == {"k1": (False, "row-missing"), "k2": (True, None)}


def test_a_read_only_server_reads_and_refuses_writes(pg_url: str) -> None:
    _setup(pg_url)
    read_only = pg_url + "&options=-c%20default_transaction_read_only%3Don"
    with closing(open_store(read_only, create=False, processes=[RELAY_C])) as store:
        assert store.load("k1").state and [c.ok for c in store.verify_cases()] == [True]
        for write in (lambda: store.fire("k1", "start", ANN, {"who": "bob"}),
                      lambda: store.create(Case.open(RELAY_C, "k2", actor=ANN))):
            with pytest.raises(StoreError) as caught:
                write()
            assert caught.value.code == "CF959", str(caught.value)


def _opposite_orders(url: str, lock: bool) -> list[str]:
    """Two blocks take k1, k2 and k2, k1, each pausing between its fires; the outcome of each."""
    _setup(url, ("k1", "k2"))
    halfway = threading.Barrier(2, timeout=30)
    outcome: list[str] = []

    def block(order: tuple[str, str]) -> None:
        with closing(open_store(url, processes=[RELAY_C, FOLLOWUP_C])) as store:
            try:
                with store.transaction(lock=order if lock else ()):
                    store.fire(order[0], "note", ANN, {"tags": "x"})
                    if not lock:
                        halfway.wait()  # both hold their first case: the old lock order deadlocked here
                    store.fire(order[1], "note", ANN, {"tags": "y"})
                outcome.append("committed")
            except CareflowError as exc:
                outcome.append(exc.code)

    threads = [threading.Thread(target=block, args=(order,)) for order in (("k1", "k2"), ("k2", "k1"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcome)


def test_blocks_in_opposite_orders_do_not_deadlock(pg_url: str) -> None:
    outcome = _opposite_orders(pg_url, lock=False)
    assert outcome in (["committed", "committed"], ["CF951", "committed"]), outcome  # never a deadlock (CF950)


def test_blocks_that_name_their_cases_both_commit(pg_url: str) -> None:
    assert _opposite_orders(pg_url, lock=True) == ["committed", "committed"]


def test_out_of_order_after_changes_were_sent_is_a_lock_conflict(pg_url: str) -> None:
    _setup(pg_url, ("k1", "k2"))
    with closing(open_store(pg_url, processes=[RELAY_C])) as holder, \
            closing(open_store(pg_url, processes=[RELAY_C])) as store:
        with holder.transaction(lock=["k1"]), pytest.raises(StoreError) as caught, store.transaction():
            store.fire("k2", "note", ANN, {"tags": "x"})
            store.get("k2")  # a read inside the block sends its changes first
            store.fire("k1", "note", ANN, {"tags": "y"})  # k1 < k2, and holder has k1
        assert caught.value.code == "CF960" and caught.value.hint
        assert store.get("k2").version == 1  # nothing of the block was committed


def test_the_store_row_cache_stays_within_its_bytes(pg_url: str) -> None:
    _setup(pg_url, tuple(f"k{n}" for n in range(12)))
    store: CaseStore = open_store(pg_url, processes=[RELAY_C])
    with closing(store):
        cache = store._rows  # type: ignore[attr-defined]
        cache.max_bytes = 64 * 1024
        for n in range(12):
            store.fire(f"k{n}", "note", ANN, {"tags": "x" * 6000})
        assert cache.bytes <= cache.max_bytes and 0 < len(cache) < 12
