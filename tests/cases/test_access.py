"""The access log, on memory, SQLite and the real PostgreSQL: every read is recorded with who and why,
system reads are marked, the chain is tamper-evident, concurrent readers keep it valid, and hostile
reader input is refused before anything is read."""

from __future__ import annotations

import threading
from contextlib import closing
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.store import CaseStore, open_store
from careflow.cases.store.access import PURPOSE_LENGTH
from careflow.clock import ManualClock
from careflow.errors import CareflowError, InvalidReader
from careflow.runtime.compiled import Actor
from tests.cases.relay import ANN, BOB, FOLLOWUP_C, RELAY_C, started
from tests.cases.test_store import raw_sql

NURSE = Actor("nora", {"nurse", "employee"})


def _reads(store: CaseStore, case_id: str = "k1") -> list[tuple[str, tuple[str, ...], str, str, str]]:
    return [(e.actor, e.roles, e.purpose, e.action, e.origin) for e in store.access_log(case_id)]


def test_every_read_through_a_reader_is_recorded_with_who_and_why(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    head = store.get("k1").head
    assert _reads(store) == [("program", (), "not stated", "get", "program")]  # a read naming nobody
    reader = store.reader(NURSE, "  follow-up call ")
    reader.load("k1")
    reader.get("k1")
    reader.history("k1")
    reader.snapshot("k1")
    exported = reader.export("k1")
    assert [i.case_id for i in reader.query(state="work")] == ["k1"]
    assert exported == store.reader(NURSE, "x").load("k1").to_json(indent=2)
    who = ("nora", ("employee", "nurse"), "follow-up call")
    assert _reads(store)[1:7] == [(*who, action, "person") for action in
                                  ("load", "get", "history", "snapshot", "export", "query")]
    entries = store.access_log("k1")
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(e.time == clock.now() for e in entries)
    # reads never touch the case: its row, its chain and its log stay as they were
    assert store.get("k1").head == head and [c.ok for c in store.verify_cases()] == [True]
    assert [c.ok for c in store.verify_access()] == [True]


def test_plain_reads_record_the_programs_configured_identity(url: str, clock: ManualClock) -> None:
    service = Actor("intake-service", {"service"})
    with closing(open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock, identity=service,
                            purpose="intake queue")) as store:
        started(store, clock)
        store.load("k1")
        store.history("k1")
        store.overdue(clock.now() + timedelta(days=400))
        assert _reads(store) == [("intake-service", ("service",), "intake queue", a, "program")
                                 for a in ("load", "history", "overdue")]
    if url == "memory:":
        return  # a memory store lives and dies with its object
    with closing(open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock, log_reads=False)) as quiet:
        quiet.load("k1")
        assert len(quiet.access_log("k1")) == 3  # log_reads=False records nothing


def test_system_reads_are_marked(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    assert all(c.ok for c in store.verify_cases())
    store.system_reader("deadlines").overdue(clock.now() + timedelta(days=400))
    assert _reads(store) == [("system", ("system",), "verification", "verify", "system"),
                             ("system", ("system",), "deadlines", "overdue", "system")]
    assert store.access_log(actor="system", purpose="deadlines")[0].action == "overdue"


def test_queries_for_an_internal_control(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock, "k1")
    started(store, clock, "k2")
    store.reader(NURSE, "treatment").load("k1")
    clock.advance(hours=1)
    since = clock.now()
    store.reader(BOB, "curiosity").load("k2")
    store.reader(NURSE, "treatment").history("k2")
    assert [(e.case_id, e.actor) for e in store.access_log(purpose="treatment")] == [("k1", "nora"), ("k2", "nora")]
    assert [(e.case_id, e.action) for e in store.access_log(actor="bob")] == [("k2", "load")]
    assert [e.actor for e in store.access_log(since=since)] == ["bob", "nora"]
    assert [e.actor for e in store.access_log("k2", since=since, limit=1)] == ["bob"]
    assert store.access_log("nobody") == []
    with pytest.raises(CareflowError, match="UTC offset"):
        store.access_log(since=since.replace(tzinfo=None))
    with pytest.raises(CareflowError, match="limit"):
        store.access_log(limit=-1)


def test_reads_inside_a_transaction_are_recorded_committed_or_not(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock)
    with store.transaction():
        store.reader(NURSE, "batch").load("k1")
        store.fire("k1", "meet", BOB)
    with pytest.raises(RuntimeError), store.transaction():
        store.reader(NURSE, "rolled back").history("k1")
        raise RuntimeError("abandon the block")
    assert [(e.purpose, e.action) for e in store.access_log("k1")] == [("batch", "load"), ("rolled back", "history")]


def test_a_failed_read_records_nothing(store: CaseStore, clock: ManualClock) -> None:
    from careflow.errors import CaseNotFound

    with pytest.raises(CaseNotFound):
        store.reader(NURSE, "treatment").load("nope")
    assert store.access_log() == []


# -- hostile readers --------------------------------------------------------------------------------------

BAD_READERS: list[tuple[Any, Any, str]] = [
    (NURSE, "", "must not be empty"),
    (NURSE, " \t", "must not be empty"),
    (NURSE, "care\nerror CF000 forged", "line break"),
    (NURSE, "\x1b[2Jcare", "control character"),
    (NURSE, "nul\x00", "control character"),
    (NURSE, "\ud800", "invalid Unicode"),
    (NURSE, "p" * (PURPOSE_LENGTH + 1), f"longer than {PURPOSE_LENGTH}"),
    (NURSE, "p" * 10_000_000, f"longer than {PURPOSE_LENGTH}"),
    (NURSE, None, "must be text"),
    (NURSE, b"treatment", "must be text"),
    ("nora", "treatment", "must be an Actor"),
    (Actor("x" * 100_000), "treatment", "longer than 200"),
    (Actor("ann\nforged"), "treatment", "control character"),
    (Actor("ann", {f"r{i}" for i in range(100)}), "treatment", "roles"),
]


@pytest.mark.parametrize(("actor", "purpose", "message"), BAD_READERS)
def test_a_bad_reader_is_refused_before_anything_is_read(store: CaseStore, clock: ManualClock, actor: Any,
                                                         purpose: Any, message: str) -> None:
    started(store, clock)
    with pytest.raises(InvalidReader, match=message) as caught:
        store.reader(actor, purpose).load("k1")
    assert caught.value.code == "CF967" and caught.value.hint
    text = str(caught.value)
    assert len(text) < 1_000 and all(line.isprintable() for line in text.split("\n"))
    assert store.access_log("k1") == []


@settings(max_examples=150, deadline=None)
@given(purpose=st.text(max_size=600), actor_id=st.text(max_size=40))
def test_any_text_is_a_recorded_purpose_or_a_clear_refusal(purpose: str, actor_id: str) -> None:
    with closing(open_store("memory:", processes=[RELAY_C, FOLLOWUP_C])) as store:
        started(store, ManualClock())
        try:
            store.reader(Actor(actor_id), purpose).get("k1")
        except InvalidReader as exc:
            assert exc.code == "CF967" and store.access_log("k1") == []
            return
        entry = store.access_log("k1")[-1]
        assert (entry.actor, entry.purpose) == (actor_id, purpose.strip())
        assert [c.ok for c in store.verify_access()] == [True]


# -- tampering --------------------------------------------------------------------------------------------


def _unprotect(url: str) -> None:
    """Drop the append-only triggers, as whoever owns the tables can."""
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER careflow_access_no_update")
        raw_sql(url, "DROP TRIGGER careflow_access_no_delete")
    else:
        raw_sql(url, "DROP TRIGGER careflow_access_no_change ON careflow_access")


def _read_thrice(url: str, clock: ManualClock) -> CaseStore:
    store = open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
    started(store, clock, "k1")
    started(store, clock, "k2")
    for purpose in ("treatment", "follow-up", "billing"):
        store.reader(NURSE, purpose).load("k1")
    store.reader(NURSE, "treatment").load("k2")
    return store


def test_the_access_log_is_append_only(durable_url: str, clock: ManualClock) -> None:
    with closing(_read_thrice(durable_url, clock)):
        for sql in ("UPDATE careflow_access SET purpose = 'x'", "DELETE FROM careflow_access"):
            with pytest.raises(Exception, match="append-only"):
                raw_sql(durable_url, sql)


TAMPERING = [
    ("a purpose column edited", "UPDATE careflow_access SET purpose = 'treatment' WHERE case_id = 'k1' AND seq = 3",
     3, "column-mismatch"),
    ("an actor column edited", "UPDATE careflow_access SET actor = 'eve' WHERE case_id = 'k1' AND seq = 1",
     1, "column-mismatch"),
    ("the entry edited", "UPDATE careflow_access SET entry = replace(entry, 'billing', 'treatment') "
                         "WHERE case_id = 'k1' AND seq = 3", 3, "hash-mismatch"),
    ("an entry in the middle deleted", "DELETE FROM careflow_access WHERE case_id = 'k1' AND seq = 2", 3, "gap"),
    ("the first entry deleted", "DELETE FROM careflow_access WHERE case_id = 'k1' AND seq = 1", 2, "gap"),
    ("the last entry deleted", "DELETE FROM careflow_access WHERE case_id = 'k1' AND seq = 4", None,
     "head-mismatch"),
    ("every entry deleted", "DELETE FROM careflow_access WHERE case_id = 'k1'", None, "head-mismatch"),
]


@pytest.mark.parametrize(("sql", "seq", "problem"), [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_an_edited_or_deleted_access_row_is_found(durable_url: str, clock: ManualClock, sql: str, seq: int | None,
                                                  problem: str) -> None:
    with closing(_read_thrice(durable_url, clock)) as store:
        store.reader(NURSE, "audit").get("k1")  # seq 4 of k1
        _unprotect(durable_url)
        raw_sql(durable_url, sql)
        checks = {c.case_id: c for c in store.verify_access()}
        assert checks["k2"].ok
        assert (checks["k1"].ok, checks["k1"].seq, checks["k1"].problem) == (False, seq, problem)
        assert not next(iter(store.verify_access("k1"))).ok


def test_a_read_whose_access_head_was_deleted_is_refused(durable_url: str, clock: ManualClock) -> None:
    with closing(_read_thrice(durable_url, clock)):
        raw_sql(durable_url, "DELETE FROM careflow_access_heads WHERE case_id = 'k1'")
    with closing(open_store(durable_url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)) as store:
        with pytest.raises(CareflowError, match="holds entries past its head") as caught:
            store.reader(NURSE, "treatment").load("k1")
        assert caught.value.code == "CF958"
        store.reader(NURSE, "treatment").load("k2")  # the other cases read on
        assert [(c.case_id, c.problem) for c in store.verify_access() if not c.ok] == [("k1", "head-mismatch")]


# -- concurrency ------------------------------------------------------------------------------------------


def test_two_threads_reading_one_case_keep_its_chain_valid(url: str, clock: ManualClock) -> None:
    shared = open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
    started(shared, clock)
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=30)

    def read(name: str) -> None:
        own = shared if url == "memory:" else open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
        try:
            reader = own.reader(Actor(name, {"nurse"}), "ward round")
            start.wait()
            for _ in range(40):
                reader.get("k1")
                reader.load("k1")
        except BaseException as exc:
            errors.append(exc)
        finally:
            if own is not shared:
                own.close()

    threads = [threading.Thread(target=read, args=(name,)) for name in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert not errors, errors
        entries = shared.access_log("k1")
        assert len(entries) == 160 and [e.seq for e in entries] == list(range(1, 161))
        assert {e.actor for e in entries} == {"ann", "bob"}
        assert [c.ok for c in shared.verify_access()] == [True]
    finally:
        shared.close()


def test_the_access_log_is_beside_the_audit_log(durable_url: str, clock: ManualClock) -> None:
    with closing(_read_thrice(durable_url, clock)) as store:
        audit = raw_sql(durable_url, "SELECT count(*) FROM careflow_audit")
        assert raw_sql(durable_url, "SELECT count(*) FROM careflow_access") == [(4,)]
        store.reader(ANN, "treatment").history("k1")
        assert raw_sql(durable_url, "SELECT count(*) FROM careflow_audit") == audit
        assert raw_sql(durable_url, "SELECT seq FROM careflow_access_heads WHERE case_id = 'k1'") == [(4,)]


def test_a_store_of_schema_version_1_gains_the_access_log(tmp_path: Any, clock: ManualClock) -> None:
    import sqlite3

    from careflow.cases.store.migrations import SQLITE, VERSION_TABLE

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL)")
    for statement in SQLITE[0].statements:
        conn.execute(statement)
    conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (1, 'cases, append-only audit', 'then')")
    conn.close()
    url = f"sqlite:///{path}"
    with closing(open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)) as store:
        started(store, clock)
        store.reader(NURSE, "treatment").load("k1")
        assert _reads(store) == [("nora", ("employee", "nurse"), "treatment", "load", "person")]
    assert raw_sql(url, f"SELECT max(version) FROM {VERSION_TABLE}") == [(len(SQLITE),)]


def test_the_example_in_docs_records_md_runs(tmp_path: Any) -> None:
    import re
    import subprocess
    import sys

    from careflow.cases.case import Case
    from careflow.definitions.loader import load
    from tests.support import DOCS

    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "records.md").read_text("utf-8"), re.S)
    assert len(blocks) == 1
    psht = load("psht")
    with closing(open_store(f"sqlite:///{tmp_path}/cases.db", processes=[psht])) as store:
        store.create(Case.open(psht, "p-17", actor=NURSE))
    script = tmp_path / "records_example.py"
    script.write_text(blocks[0], "utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ann load ward round" in done.stdout
