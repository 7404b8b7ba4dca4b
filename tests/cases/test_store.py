"""The case store suite: one set of tests, run against memory, SQLite and PostgreSQL.

PostgreSQL runs against the real server (``$CAREFLOW_TEST_PG``, default 127.0.0.1:5432/test), each
test in a schema of its own that is dropped afterwards. When the server cannot be reached the
PostgreSQL cases are skipped — or fail, when ``$CI`` is set: CI must not pass by skipping.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.cases.store.codec import seal_rows
from careflow.cases.store.migrations import POSTGRES, SQLITE, Migration, latest, pending
from careflow.cases.store.values import value_rows, with_values
from careflow.clock import ManualClock
from careflow.errors import (
    CaseExists,
    CaseNotFound,
    ConcurrentUpdate,
    EventNotAllowed,
    HistoryError,
    SchemaTooNew,
    StoreError,
)
from careflow.runtime.audit import GENESIS, AuditEntry, seal_all
from careflow.runtime.compiled import Actor
from careflow.runtime.snapshots import snapshot_from_json, snapshot_json
from tests.cases.relay import ANN, BOB, FOLLOWUP_C, RELAY_C, new_case, started
from tests.support import T0


def raw_sql(url: str, sql: str, *args: Any) -> list[Any]:
    """Run SQL behind careflow's back (as an attacker or an operator would)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()
    import psycopg

    from careflow.cases.store.postgres import parse_url

    conninfo, schema, _ = parse_url(url)
    with psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}") as pg:
        cur = pg.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []


# -- the suite ------------------------------------------------------------------------------------


def test_create_load_round_trip_is_exact(store: CaseStore, clock: ManualClock) -> None:
    case = new_case(clock, plan={"goals": ["walk", "talk"]}, score=2.5)
    case.fire("note", ANN, {"tags": "first"})
    assert store.create(case) == 1
    loaded = store.load("k1")
    # equal as JSON (entries are kept in their canonical, key-sorted form; the hashes cover exactly that)
    assert json.loads(loaded.to_json()) == json.loads(case.to_json())
    assert loaded.snapshot == case.snapshot
    assert store.history("k1") == case.history


def test_snapshot_codec_is_exact_and_matches_case_json(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    store.fire("k1", "meet", BOB)
    store.fire("k1", "note", BOB, {"tags": "x", "score": 1.5})
    case = store.load("k1")
    raw = tuple(case.snapshot)
    encoded = snapshot_json(RELAY_C, raw)
    assert snapshot_from_json(json.loads(json.dumps(encoded))) == case.snapshot
    body = json.loads(case.to_json())  # the store keeps the very keys Case.to_json writes
    assert {k: body[k] for k in encoded} == encoded
    assert store.snapshot("k1") == encoded


def test_rows_are_sealed_as_audit_seals(clock: ManualClock) -> None:
    case = new_case(clock, consent=True)
    case.fire("start", ANN, {"who": "bob"})
    case.fire("note", BOB, {"tags": "ø", "score": 0.1})
    raw = [e._replace(prev_hash=None, hash=None) for e in case.history]
    sealed, rows = seal_rows(raw, GENESIS)
    assert sealed == seal_all(raw) == list(case.history)
    # a row holds the entry's canonical text and hash; its values and salts are rows of their own
    kept = value_rows(sealed)
    assert {(v.seq, v.field) for v in kept} == {(e.seq, k) for e in sealed for k in e.data}
    full = with_values([(r.seq, r.hash, r.prev_hash, r.entry) for r in rows],
                       [(v.seq, v.field, v.salt, v.value) for v in kept])
    assert [AuditEntry.from_json(json.loads(r[3])) for r in full] == sealed
    assert [json.loads(r.entry) for r in rows] == [
        {k: v for k, v in e.to_json().items() if k != "values"} for e in sealed]
    assert "ø" not in "".join(r.entry for r in rows)  # the value of tags is kept beside the row


def test_fire_commits_state_entries_and_version(store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock, consent=True))
    clock.advance(minutes=5)
    fired = store.fire("k1", "start", ANN, {"who": "bob"}, "family agreed")
    assert (fired.state, fired.version, len(fired.entries)) == ("work.w1", 2, 2)
    entry, assigned = fired.entries  # 'start' gives the case role 'holder': an 'assigned' entry follows
    assert (entry.seq, entry.kind, entry.reason, entry.time) == (1, "fired", "family agreed", T0 + timedelta(minutes=5))
    assert (assigned.seq, assigned.kind) == (2, "assigned")
    assert dict(assigned.ref or {}) == {"role": "holder", "person": "bob"}
    info = store.get("k1")
    assert (info.state, info.version, info.seq, info.head, info.closed) == ("work.w1", 2, 2, assigned.hash, False)
    assert info.due_at == T0 + timedelta(minutes=5, days=14)
    assert store.history("k1")[-2:] == (entry, assigned)
    assert dict(store.load("k1").roles) == {"holder": "bob"}


def test_refusal_is_recorded_and_raised(store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock))
    with pytest.raises(EventNotAllowed) as caught:
        store.fire("k1", "proceed", ANN)
    entry = caught.value.entry
    assert entry is not None and entry.kind == "denied" and entry.hash is not None
    info = store.get("k1")
    assert (info.state, info.version, info.seq) == ("concern", 2, 1)
    assert [e.kind for e in store.history("k1")] == ["opened", "denied"]
    assert all(c.ok for c in store.verify_cases())


def test_stale_save_is_refused_and_writes_nothing(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    mine, theirs = store.load("k1"), store.load("k1")
    theirs.fire("note", ANN, {"tags": "theirs"})
    assert store.save(theirs) == 3
    mine.fire("note", ANN, {"tags": "mine"})
    before = (store.get("k1"), store.history("k1"))
    with pytest.raises(ConcurrentUpdate) as caught:
        store.save(mine)
    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert (store.get("k1"), store.history("k1")) == before
    assert store.load("k1").data["tags"] == ("theirs",)


def test_fire_retries_on_fresh_state(store: CaseStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    started(store, clock)
    # the store's private reads, on purpose: the test serves one stale row to force a retry
    stale = store._read("k1", False)  # type: ignore[attr-defined]
    store.fire("k1", "note", ANN, {"tags": "other"})  # a concurrent writer, after our read
    real = store._row  # type: ignore[attr-defined]
    served: list[int] = []

    def row_once_stale(case_id: str, check: bool = True) -> Any:
        if not served:
            served.append(1)
            return stale
        return real(case_id, check)

    monkeypatch.setattr(store, "_row", row_once_stale)
    getattr(store, "_rows", {}).clear()  # PostgreSQL's own row cache: this test is about reads, not the cache
    with pytest.raises(ConcurrentUpdate):
        store.fire("k1", "note", ANN, {"tags": "lost?"})
    assert store.get("k1").version == 3  # nothing written
    served.clear()
    fired = store.fire("k1", "note", ANN, {"tags": "mine"}, retries=2)
    assert (fired.attempts, fired.version) == (2, 4)
    assert store.load("k1").data["tags"] == ("other", "mine")


def test_a_second_writer_in_between_is_never_overwritten(url: str, store: CaseStore, clock: ManualClock) -> None:
    """Two store objects (two servers) take turns; neither needs retries, nothing is lost."""
    started(store, clock)
    other = open_store(url, processes=[RELAY_C], clock=clock) if url != "memory:" else store
    for i in range(3):
        assert store.fire("k1", "note", ANN, {"tags": f"a{i}"}).attempts == 1
        assert other.fire("k1", "note", ANN, {"tags": f"b{i}"}).attempts == 1
    assert store.load("k1").data["tags"] == ("a0", "b0", "a1", "b1", "a2", "b2")
    assert other.get("k1").version == 8
    if other is not store:
        other.close()


def test_transaction_is_all_or_nothing(store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock, "a", consent=True))
    with store.transaction():
        store.create(new_case(clock, "b"))
        for i in range(20):
            store.fire("a", "note", ANN, {"tags": f"t{i}"})
        store.fire("b", "note", ANN, {"tags": "b1"})
        assert store.get("a").version == 21  # reads inside see the transaction's own writes
    assert store.load("a").data["tags"] == tuple(f"t{i}" for i in range(20))
    before = (store.get("a"), store.history("a"))
    with pytest.raises(RuntimeError), store.transaction():
        store.create(new_case(clock, "c"))
        store.fire("a", "note", ANN, {"tags": "gone"})
        raise RuntimeError("abort")
    assert (store.get("a"), store.history("a")) == before
    with pytest.raises(CaseNotFound):
        store.get("c")
    assert all(c.ok for c in store.verify_cases())


def test_query_by_process_state_and_deadline(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock, "k1")
    clock.advance(days=1)
    started(store, clock, "k2")
    store.create(new_case(clock, "k3"))
    store.fire("k3", "stop", ANN)
    store.create(Case.open(FOLLOWUP_C, "f1", clock=clock))
    assert [i.case_id for i in store.query(process_id="relay")] == ["k1", "k2", "k3"]
    assert [i.case_id for i in store.query(state="work")] == ["k1", "k2"]  # dotted prefix
    assert [i.case_id for i in store.query(state="work.w1")] == ["k1", "k2"]
    assert store.query(state="wor") == []
    assert [i.case_id for i in store.query(closed=True)] == ["k3"]
    assert [i.case_id for i in store.overdue(T0 + timedelta(days=14, hours=1))] == ["k1"]
    assert [i.case_id for i in store.overdue(T0 + timedelta(days=30))] == ["k1", "k2"]
    assert len(store.query(limit=2)) == 2


def test_tick_fires_due_deadlines(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    assert store.tick("k1", T0 + timedelta(days=1)).entries == ()
    fired = store.tick("k1", T0 + timedelta(days=15))
    assert [(e.kind, e.event) for e in fired.entries] == [("deadline", "late")]
    assert store.get("k1").due_at is None
    assert store.overdue(T0 + timedelta(days=30)) == []
    assert all(c.ok for c in store.verify_cases())


def test_handoff_creates_the_child_in_the_same_commit(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    store.fire("k1", "note", BOB, {"tags": "needs help"})
    store.fire("k1", "meet", BOB)
    store.fire("k1", "proceed", BOB)
    fired = store.fire("k1", "hand_off", BOB)
    assert fired.state == "closed" and fired.spawned == ("k1:7",)  # seq 7: 'start' also wrote 'assigned'
    child = store.load("k1:7")
    assert (child.process_id, child.state, child.data["labels"]) == ("followup", "waiting", ("needs help",))
    assert child.links[0].case_id == "k1"
    assert all(c.ok for c in store.verify_cases())


def test_save_of_a_case_changed_in_memory(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    case = store.load("k1")
    case.assign_role("holder", "eva", actor=ANN, reason="bob is away")
    case.fire("meet", Actor("eva"))
    assert store.save(case) == 3
    assert store.save(case) == 3  # nothing new
    assert json.loads(store.load("k1").to_json()) == json.loads(case.to_json())
    with pytest.raises(StoreError, match="not loaded from or created in this store"):
        store.save(new_case(clock, "zz"))


def test_create_and_lookup_errors(store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock))
    with pytest.raises(CaseExists):
        store.create(new_case(clock))
    with pytest.raises(CaseNotFound):
        store.fire("nope", "start", ANN)
    with pytest.raises(CaseNotFound):
        store.load("nope")


def test_export_import_between_stores(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    store.fire("k1", "note", BOB, {"tags": "ü ✓"})
    text = store.export("k1")
    other = open_store("memory:", processes=[RELAY_C])
    other.create(Case.from_json(RELAY_C, text))
    assert other.export("k1") == text


def test_verify_names_the_first_broken_entry(url: str, store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    for i in range(3):
        store.fire("k1", "note", ANN, {"tags": f"t{i}"})
    store.create(new_case(clock, "k2"))
    # private rows and the memory store's tamper hook, on purpose: forging an entry is the point
    entry = json.loads(next(r[3] for r in store._history_rows("k1") if r[0] == 2))  # type: ignore[attr-defined]
    entry["actor"] = "mallory"
    forged = json.dumps(entry)
    if url == "memory:":
        store.tamper("k1", 2, forged)  # type: ignore[attr-defined]
    else:
        with pytest.raises(Exception, match="append-only"):
            raw_sql(url, "UPDATE careflow_audit SET entry = ? WHERE case_id = 'k1' AND seq = 2", forged)
        with pytest.raises(Exception, match="append-only"):
            raw_sql(url, "DELETE FROM careflow_audit WHERE case_id = 'k1'")
        # the attacker drops the trigger first
        sqlite = url.startswith("sqlite")
        raw_sql(url, "DROP TRIGGER " + ("careflow_audit_no_update" if sqlite else
                                        "careflow_audit_no_change ON careflow_audit"))
        raw_sql(url, "UPDATE careflow_audit SET entry = ? WHERE case_id = 'k1' AND seq = 2", forged)
    checks = {c.case_id: c for c in store.verify_cases()}
    assert checks["k2"].ok
    broken = checks["k1"]
    assert (broken.ok, broken.seq, broken.problem) == (False, 2, "content-changed")
    assert "seq 2" in broken.message
    assert next(iter(store.verify_cases("k1", replay=False))).seq == 2
    with pytest.raises(HistoryError):
        store.load("k1")


def test_verify_finds_a_log_cut_short(durable_url: str, clock: ManualClock) -> None:
    url = durable_url
    store = open_store(url, processes=[RELAY_C], clock=clock)
    started(store, clock)
    store.fire("k1", "note", ANN, {"tags": "x"})
    drop = ("DROP TRIGGER careflow_audit_no_delete" if url.startswith("sqlite")
            else "DROP TRIGGER careflow_audit_no_change ON careflow_audit")
    raw_sql(url, drop)
    raw_sql(url, "DELETE FROM careflow_audit WHERE case_id = 'k1' AND seq = 3")  # the last entry
    (check,) = store.verify_cases("k1")
    assert (check.ok, check.problem, check.seq) == (False, "head-mismatch", None)
    store.close()


# -- schema management and bad input --------------------------------------------------------------


def test_pending_migrations_and_newer_schema() -> None:
    steps = (Migration(1, "a", ()), Migration(2, "b", ()))
    assert [m.version for m in pending(0, steps, "db")] == [1, 2]
    assert [m.version for m in pending(1, steps, "db")] == [2]
    with pytest.raises(SchemaTooNew, match="upgrade careflow"):
        pending(3, steps, "db")


def test_sqlite_schema_is_versioned_and_reopens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    open_store(url).close()
    open_store(url).close()
    rows = raw_sql(url, "SELECT version FROM careflow_schema")
    assert rows == [(m.version,) for m in SQLITE]
    assert raw_sql(url, "PRAGMA journal_mode") == [("wal",)]


def _unchanged(path: Path, url: str, match: str, exc: type[Exception] = StoreError) -> None:
    before = path.read_bytes()
    with pytest.raises(exc, match=match) as caught:
        open_store(url)
    assert isinstance(caught.value, StoreError) and caught.value.hint
    assert path.read_bytes() == before


def test_sqlite_bad_files_are_refused_untouched(tmp_path: Path, clock: ManualClock) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    _unchanged(garbage, f"sqlite:///{garbage}", "not a SQLite database")
    good = tmp_path / "good.db"
    with closing(open_store(f"sqlite:///{good}", processes=[RELAY_C], clock=clock)) as s:
        for i in range(200):
            s.create(new_case(clock, f"k{i}", plan={"goals": ["x" * 200]}))
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _unchanged(truncated, f"sqlite:///{truncated}", "truncated")
    damaged = tmp_path / "damaged.db"
    data = bytearray(good.read_bytes())
    data[4096:8192] = os.urandom(4096)  # page 2 onwards: the tables' pages
    damaged.write_bytes(bytes(data))
    try:
        s = open_store(f"sqlite:///{damaged}", processes=[RELAY_C])
        with pytest.raises(StoreError):
            for check in s.verify_cases():
                assert check.ok
            s.load("k1")
            raise StoreError("no damage noticed")  # pragma: no cover
        s.close()
    except StoreError as exc:
        assert exc.hint
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE people (name TEXT)").connection.commit()
    _unchanged(foreign, f"sqlite:///{foreign}", "not a careflow one")


def test_sqlite_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    url = f"sqlite:///{path}"
    open_store(url).close()
    raw_sql(url, "INSERT INTO careflow_schema VALUES (99, 'from the future', 'x')")
    raw_sql(url, "PRAGMA wal_checkpoint(TRUNCATE)")
    _unchanged(path, url, "schema version 99", SchemaTooNew)


def test_bad_urls(tmp_path: Path) -> None:
    for url, match in [("mysql://x/y", "unknown store URL"), ("cases.db", "unknown store URL"),
                       ("sqlite://host/x.db", "bad SQLite URL"), ("sqlite:///", "bad SQLite URL"),
                       (f"sqlite:///{tmp_path}/no/such/dir/c.db", "does not exist"),
                       (f"sqlite:///{tmp_path}/c.db?bogus=1", "unknown SQLite URL option"),
                       (f"sqlite:///{tmp_path}", "is a directory")]:
        with pytest.raises(StoreError, match=match):
            open_store(url)
    with pytest.raises(StoreError, match="no careflow database"):
        open_store(f"sqlite:///{tmp_path}/missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as caught:
        open_store("postgresql://careflow:secret@127.0.0.1:1/nowhere")
    assert "secret" not in str(caught.value) and caught.value.hint


def test_postgres_newer_schema_is_refused(pg_url: str) -> None:
    open_store(pg_url).close()
    raw_sql(pg_url, "INSERT INTO careflow_schema VALUES (99, 'from the future', now())")
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        open_store(pg_url)
    assert raw_sql(pg_url, "SELECT count(*) FROM careflow_schema") == [(latest(POSTGRES) + 1,)]


def test_postgres_app_role_may_not_change_audit_rows(pg_url: str, clock: ManualClock) -> None:
    """The role setup in docs/stores.md: the application's role can append to the audit and the access log,
    not change them."""
    s = open_store(pg_url, processes=[RELAY_C], clock=clock)
    started(s, clock)
    s.close()
    role = f"careflow_app_{secrets.token_hex(4)}"
    schema = pg_url.rsplit("schema=", 1)[1]
    setup = [f"CREATE ROLE {role} NOLOGIN", f"GRANT USAGE ON SCHEMA {schema} TO {role}",
             f"GRANT SELECT ON {schema}.careflow_schema TO {role}",
             f"GRANT SELECT, INSERT, UPDATE ON {schema}.careflow_cases TO {role}",
             f"GRANT SELECT, INSERT ON {schema}.careflow_audit TO {role}",
             f"GRANT SELECT, INSERT ON {schema}.careflow_access TO {role}",
             f"GRANT SELECT, INSERT, UPDATE ON {schema}.careflow_access_heads TO {role}",
             f"GRANT SELECT, INSERT ON {schema}.careflow_values TO {role}"]
    for sql in setup:
        raw_sql(pg_url, sql)
    try:
        app = open_store(pg_url, processes=[RELAY_C], clock=clock)
        # the store's own connection, on purpose: the role must hold for the store's writes
        app._conn.execute(f"SET ROLE {role}")  # type: ignore[attr-defined]
        app.fire("k1", "meet", BOB)
        with pytest.raises(Exception, match="permission denied"):
            app._conn.execute("UPDATE careflow_audit SET kind = 'x'")  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="must be owner"):
            app._conn.execute("DROP TRIGGER careflow_audit_no_change ON careflow_audit")  # type: ignore[attr-defined]
        assert all(c.ok for c in app.verify_cases())
        with pytest.raises(Exception, match="permission denied"):
            app._conn.execute("DELETE FROM careflow_access")  # type: ignore[attr-defined]
        assert [c.ok for c in app.verify_access()] == [True]
        app.close()
    finally:
        raw_sql(pg_url, f"DROP OWNED BY {role}")
        raw_sql(pg_url, f"DROP ROLE {role}")
