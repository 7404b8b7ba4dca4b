"""A value removed by retention is gone from the database itself: the raw bytes of the SQLite file (and its
WAL), and a ``pg_dump`` of the PostgreSQL schema; the store still verifies, replays, and matches a signed
checkpoint taken before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from careflow.cases.store import open_store
from careflow.cases.store.retention import RetentionApplied
from careflow.clock import ManualClock
from careflow.history.checkpoint import Checkpoint, generate_keys, load_private_key
from tests.cases.test_redact_storage import _pg_dump, _raw
from tests.cases.test_retention import CLOSED, KEPT, OFFICER, PHONE, SECRET, closed_case

OLD = CLOSED.replace(year=2025) + timedelta(days=1)  # ten years and a day after closing


def _fill(url: str, clock: ManualClock, keys: Path) -> Checkpoint:
    with open_store(url, processes=[KEPT], clock=clock) as s:
        closed_case(s, clock, "old", CLOSED)
        closed_case(s, clock, "young", CLOSED.replace(year=2016))  # nine years before OLD
        for _ in range(3):  # later writes of the snapshot: no stale copy may remain
            s.correct("young", "notes", SECRET + " (checked)", actor=OFFICER, reason="checked")
        generate_keys(keys / "k.pem", keys / "k.pub")
        return s.checkpoint(load_private_key(keys / "k.pem"))


def _apply(url: str, clock: ManualClock, before: Checkpoint) -> None:
    clock.set(OLD)
    with open_store(url, processes=[KEPT], clock=clock) as s:
        done = list(s.apply_retention())
        assert [(d.case_id, d.item.rule) for d in done if isinstance(d, RetentionApplied)] == [
            ("old", "P10Y"), ("old", "P2Y"), ("young", "P2Y")]
        assert all(c.ok for c in s.verify_cases(checkpoint=before))
        assert s.load("old").verify_chain() and s.load("young").data["notes"] == SECRET + " (checked)"


def test_sqlite_file_holds_no_value_removed_by_retention(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2015, 1, 5, tzinfo=UTC))
    path = tmp_path / "cases.db"
    url = f"sqlite:///{path}"
    before = _fill(url, clock, tmp_path)
    assert SECRET.encode() in _raw(path) and PHONE.encode() in _raw(path)
    _apply(url, clock, before)
    raw = _raw(path)
    assert PHONE.encode() not in raw  # every case's phone: two years after closing
    assert raw.count(SECRET.encode()) == raw.count((SECRET + " (checked)").encode())  # only the young case's notes


def test_pg_dump_holds_no_value_removed_by_retention(pg_url: str, tmp_path: Path) -> None:
    clock = ManualClock(datetime(2015, 1, 5, tzinfo=UTC))
    schema = pg_url.rsplit("schema=", 1)[1]
    before = _fill(pg_url, clock, tmp_path)
    assert PHONE.encode() in _pg_dump(schema)
    _apply(pg_url, clock, before)
    dump = _pg_dump(schema)
    assert PHONE.encode() not in dump and b"careflow_values" in dump
    assert dump.count(SECRET.encode()) == dump.count((SECRET + " (checked)").encode())


def test_a_run_stopped_early_still_scrubs_what_it_removed(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2015, 1, 5, tzinfo=UTC))
    path = tmp_path / "cases.db"
    url = f"sqlite:///{path}"
    _fill(url, clock, tmp_path)
    clock.set(OLD)
    with open_store(url, processes=[KEPT], clock=clock) as s:
        run = s.apply_retention()
        first = next(run)  # the old case's notes (P10Y)
        assert isinstance(first, RetentionApplied) and first.item.fields == ("notes",)
        run.close()  # the caller stops: the values removed so far are scrubbed
        raw = _raw(path)
        assert raw.count(SECRET.encode()) == raw.count((SECRET + " (checked)").encode())
        assert PHONE.encode() in raw  # not removed yet: the run stopped before the phones
