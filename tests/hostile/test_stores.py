"""Hostile store situations, each with the code a caller gets: files that are not stores, damaged
stores, case ids outside the limit, guessed child ids, rows gone behind careflow's back.

Every refusal is a ``StoreError`` with a registered code and a hint, and never changes the file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.cases.store.cache import RowCache
from careflow.cases.store.codec import Row
from careflow.clock import ManualClock
from careflow.errors import CODES, CareflowError, StoreError
from tests.cases.relay import ANN, BOB, FOLLOWUP_C, RELAY_C, new_case, started

Make = Callable[[Path], Path]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[CaseStore]:
    """A store of the relay world, for each backend in turn."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url"}.get(request.param)
    url = request.getfixturevalue(fixture) if fixture else "memory:"
    with open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock) as store:
        yield store


def _careflow_db(path: Path) -> None:
    with open_store(f"sqlite:///{path}", processes=[RELAY_C]) as store:
        store.create(Case.open(RELAY_C, "k1", actor=ANN))


def _sql(*statements: str) -> Make:
    def make(tmp: Path) -> Path:
        path = tmp / "cases.db"
        _careflow_db(path)
        conn = sqlite3.connect(path)
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()
        return path
    return make


def _bytes(data: bytes) -> Make:
    def make(tmp: Path) -> Path:
        path = tmp / "cases.db"
        path.write_bytes(data)
        return path
    return make


def _foreign(tmp: Path) -> Path:
    path = tmp / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    return path


def _empty_sqlite(tmp: Path) -> Path:
    path = tmp / "empty.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")  # a valid database with a header and no table
    conn.commit()
    conn.close()
    return path


def _truncated(tmp: Path) -> Path:
    path = tmp / "cases.db"
    _careflow_db(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage_pages(tmp: Path) -> Path:
    path = tmp / "cases.db"
    _careflow_db(path)
    data = bytearray(path.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)
    path.write_bytes(bytes(data))
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.db"
    os.mkfifo(path)
    return path


OPENING: list[tuple[str, Make, bool, str]] = [
    ("zero-byte file, reading", _bytes(b""), False, "CF956"),
    ("missing file, reading", lambda tmp: tmp / "missing.db", False, "CF956"),
    ("valid SQLite file with no table, reading", _empty_sqlite, False, "CF956"),
    ("text file", _bytes(b"patient: ann\nstate: triage\n" * 10), False, "CF957"),
    ("text file, creating", _bytes(b"patient: ann\nstate: triage\n" * 10), True, "CF957"),
    ("file shorter than a SQLite header", _bytes(b"SQLite format 3\x00"), False, "CF957"),
    ("binary junk", _bytes(bytes(range(256)) * 8), True, "CF957"),
    ("a directory as the file", lambda tmp: tmp, False, "CF957"),
    ("a directory as the file, creating", lambda tmp: tmp, True, "CF957"),
    ("a FIFO (would hang a reader)", _fifo, False, "CF957"),
    ("a character device", lambda tmp: Path("/dev/null"), True, "CF957"),
    ("another program's SQLite database", _foreign, False, "CF957"),
    ("another program's SQLite database, creating", _foreign, True, "CF957"),
    ("truncated careflow database", _truncated, False, "CF958"),
    ("careflow database with garbage pages", _garbage_pages, False, "CF958"),
    ("careflow_schema rows deleted", _sql("DELETE FROM careflow_schema"), False, "CF958"),
    ("careflow_schema rows deleted, creating", _sql("DELETE FROM careflow_schema"), True, "CF958"),
    ("careflow_schema dropped", _sql("DROP TABLE careflow_schema"), False, "CF958"),
    ("careflow_cases dropped", _sql("DROP TABLE careflow_cases"), False, "CF958"),
    ("careflow_audit dropped", _sql("DROP TABLE careflow_audit"), True, "CF958"),
    ("schema of a newer careflow", _sql("INSERT INTO careflow_schema VALUES (42, 'future', 'x')"), False, "CF954"),
    ("directory to create in is missing", lambda tmp: tmp / "no" / "such" / "cases.db", True, "CF950"),
]


@pytest.mark.parametrize(("make", "create", "code"), [o[1:] for o in OPENING], ids=[o[0] for o in OPENING])
def test_a_store_that_cannot_be_opened_is_refused_unchanged(make: Make, create: bool, code: str,
                                                            tmp_path: Path) -> None:
    path = make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{path}", create=create, processes=[RELAY_C]).close()
    assert caught.value.code == code and code in CODES and caught.value.hint, str(caught.value)
    assert "Traceback" not in str(caught.value)
    if before is not None:
        assert path.read_bytes() == before  # refused before anything was written
    assert not path.with_name(path.name + "-wal").exists() or path.is_dir()


@pytest.mark.parametrize("url", ["mysql://db/cases", "sqlite://host/cases.db", "sqlite:///x.db?journal=off",
                                 "sqlite:///x.db?timeout=soon", "sqlite:///x.db?synchronous=OFF", "no-scheme"])
def test_bad_store_urls(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert caught.value.code == "CF950" and caught.value.hint


def test_only_an_explicit_create_initialises_a_file(tmp_path: Path) -> None:
    empty = tmp_path / "new.db"
    empty.write_bytes(b"")
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{empty}", create=False)
    assert caught.value.code == "CF956" and empty.read_bytes() == b""
    with open_store(f"sqlite:///{empty}", create=True, processes=[RELAY_C]) as store:
        store.create(Case.open(RELAY_C, "k1", actor=ANN))
    with open_store(f"sqlite:///{empty}", create=False, processes=[RELAY_C]) as store:
        assert store.get("k1").version == 1


# -- case ids: one limit on every store ---------------------------------------------------------

BAD_IDS: list[tuple[str, object]] = [
    ("empty", ""),
    ("NUL", "a\x00b"),
    ("newline", "a\nb"),
    ("carriage return", "a\rok"),
    ("tab", "a\tb"),
    ("ANSI escape", "\x1b[31mred"),
    ("DEL", "a\x7f"),
    ("C1 control", "a\x85b"),
    ("bidi override", "a\u202eb"),
    ("zero-width space", "a\u200bb"),
    ("line separator", "a\u2028b"),
    ("no-break space", "a\u00a0b"),
    ("lone surrogate", "a\ud800b"),
    ("leading space", " a"),
    ("trailing space", "a "),
    ("201 characters", "x" * 201),
    ("8 KB", "x" * 8192),
    ("1 MB", "x" * 1_000_000),
    ("201 two-byte characters", "é" * 201),
    ("child form without a parent", "k9:3"),
    ("a colon", "ward:17"),
    ("an int", 17),
    ("None", None),
    ("bytes", b"k1"),
]


@pytest.mark.parametrize("case_id", [b[1] for b in BAD_IDS], ids=[b[0] for b in BAD_IDS])
def test_a_case_id_outside_the_limit_is_refused_before_anything_is_written(case_id: object, store: CaseStore,
                                                                            clock: ManualClock) -> None:
    opened = Case.open(RELAY_C, "k1", actor=ANN, clock=clock)  # the id is put in afterwards: only the store checks
    case = Case.restore(RELAY_C, opened.snapshot._replace(case_id=case_id), opened.history,  # type: ignore[arg-type]
                        clock=clock)
    with pytest.raises(StoreError) as caught:
        store.create(case)
    assert caught.value.code == "CF955" and caught.value.hint
    assert "\x00" not in str(caught.value) and "\n" not in str(caught.value).split("\n    hint:")[0]
    assert store.query() == []  # nothing was written
    store.create(new_case(clock, "k2"))  # and the store (the PostgreSQL connection too) still works
    assert store.get("k2").version == 1


@pytest.mark.parametrize("case_id", ["a\x00b", "x" * 10_000, "", 5, "a\nb"])
def test_reads_with_a_bad_id_are_refused_the_same_way(case_id: object, store: CaseStore) -> None:
    for read in (store.get, store.load, store.history, store.snapshot, lambda c: list(store.verify_cases(c)),
                 lambda c: store.fire(c, "start", ANN)):
        with pytest.raises(StoreError) as caught:
            read(case_id)  # type: ignore[arg-type]
        assert caught.value.code == "CF955"


@pytest.mark.parametrize("case_id", ["k", "x" * 200, "é" * 200, "ward 17", "ÆØÅ-2026/03", "患者-1", "a\u0301"])
def test_ids_inside_the_limit_work_on_every_store(case_id: str, store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock, case_id))
    assert store.load(case_id).case_id == case_id and store.get(case_id).case_id == case_id


# -- child ids cannot be taken before the handoff --------------------------------------------------


def _to_handoff(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    for event in ("meet", "proceed"):
        store.fire("k1", event, BOB)


@pytest.mark.parametrize("guess", ["k1:7", "k1:8", "k1:1"])
def test_a_guessed_child_id_cannot_be_created_first(guess: str, store: CaseStore, clock: ManualClock) -> None:
    _to_handoff(store, clock)
    squatter = Case.open(FOLLOWUP_C, guess, actor=BOB, clock=clock)
    with pytest.raises(StoreError) as caught:
        store.create(squatter)
    assert caught.value.code == "CF955"
    fired = store.fire("k1", "hand_off", BOB)  # the handoff still opens its child
    assert fired.spawned and store.load(fired.spawned[0]).process_id == "followup"


def test_a_child_is_stored_after_its_parent_but_not_before(store: CaseStore, clock: ManualClock) -> None:
    _to_handoff(store, clock)
    parent = store.load("k1")
    result = parent.fire("hand_off", BOB)
    child = result.spawned[0]
    with pytest.raises(StoreError) as caught:
        store.create(child)  # the parent's spawned entry is not stored yet
    assert caught.value.code == "CF955"
    store.save(parent)
    assert store.create(child) == 1 and store.load(child.case_id).links[0].case_id == "k1"


def test_save_refuses_a_spawned_case_the_parent_did_not_spawn(store: CaseStore, clock: ManualClock) -> None:
    _to_handoff(store, clock)
    parent = store.load("k1")
    parent.fire("note", BOB, {"tags": "x"})
    fake = Case.open(FOLLOWUP_C, "k1:99", actor=BOB, clock=clock)
    with pytest.raises(StoreError) as caught:
        store.save(parent, spawned=[fake])
    assert caught.value.code == "CF955"
    assert store.get("k1").version == 4  # nothing was written


# -- rows gone behind careflow's back --------------------------------------------------------------


def _drop_audit_rows(path: Path, case_id: str, from_seq: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER careflow_audit_no_delete")
    conn.execute("DELETE FROM careflow_audit WHERE case_id = ? AND seq >= ?", (case_id, from_seq))
    conn.commit()
    conn.close()


def test_dropped_audit_rows_are_reported_not_a_traceback(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "cases.db"
    with open_store(f"sqlite:///{path}", processes=[RELAY_C, FOLLOWUP_C], clock=clock) as store:
        started(store, clock)
    _drop_audit_rows(path, "k1", 1)
    with open_store(f"sqlite:///{path}", create=False, processes=[RELAY_C, FOLLOWUP_C], clock=clock) as store:
        [check] = store.verify_cases()
        assert not check.ok and check.problem == "head-mismatch"
        with pytest.raises(CareflowError) as caught:
            store.load("k1")
        assert caught.value.code == "CF900"


def test_a_dropped_case_row_is_case_not_found(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "cases.db"
    with open_store(f"sqlite:///{path}", processes=[RELAY_C], clock=clock) as store:
        store.create(new_case(clock, "k1"))
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM careflow_cases")
    conn.commit()
    conn.close()
    with open_store(f"sqlite:///{path}", create=False, processes=[RELAY_C], clock=clock) as store:
        with pytest.raises(StoreError) as caught:
            store.load("k1")
        assert caught.value.code == "CF952"
        [check] = store.verify_cases()  # 'careflow audit verify' reports it: the log is still there
        assert (check.case_id, check.ok, check.problem, check.entries) == ("k1", False, "row-missing", 1)


def test_a_table_dropped_while_open_is_store_damaged(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "cases.db"
    with open_store(f"sqlite:///{path}", processes=[RELAY_C], clock=clock) as store:
        store.create(new_case(clock, "k1"))
        conn = sqlite3.connect(path)
        conn.execute("DROP TABLE careflow_cases")
        conn.commit()
        conn.close()
        with pytest.raises(StoreError) as caught:
            store.query()
        assert caught.value.code == "CF958" and "free space" not in str(caught.value)


# -- caches are bounded by bytes -------------------------------------------------------------------


def test_the_row_cache_is_bounded_by_bytes_not_by_count() -> None:
    cache = RowCache(max_bytes=4 * 1024 * 1024)
    for n in range(200):
        cache.put(Row(f"c{n}", "p", "1", 1, 0, "h", "x" * 100_000))  # 20 MB offered
    assert cache.bytes <= cache.max_bytes and 30 <= len(cache) <= 41
    cache.put(Row("huge", "p", "1", 1, 0, "h", "x" * 10_000_000))
    assert cache.get("huge") is None and cache.bytes <= cache.max_bytes
    assert cache.get("c199") is not None and cache.get("c0") is None  # least recently used went first
