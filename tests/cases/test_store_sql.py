"""The SQL both relational stores share (``careflow.cases.store.sql``) and the single row type.

The behaviour of whole stores is ``test_store.py``'s; here: the dialects' differences, and the write
batches (several cases in one commit) on every backend.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from careflow.cases.store import CaseInfo, CaseStore, open_store
from careflow.cases.store.codec import Change, EntryRow, Row, change
from careflow.cases.store.sql import Dialect, columns, info_from, insert_params, update_params
from careflow.cases.store.sqlite import DIALECT as SQLITE
from careflow.clock import ManualClock
from careflow.errors import CaseExists, ConcurrentUpdate
from tests.cases.relay import BOB, FOLLOWUP_C, RELAY_C, new_case, started
from tests.support import T0

INFO = CaseInfo("k1", "relay", "2.1", "work.w1", False, T0 + timedelta(days=1), 3, 5, "abc")
CHANGE = Change(INFO, '{"s":1}', (EntryRow("k1", 5, "abc", "prev", "fired", T0.isoformat(), "{}"),), 2)


def _postgres() -> Dialect:
    pytest.importorskip("psycopg")
    from careflow.cases.store.postgres import DIALECT

    return DIALECT


def test_change_is_built_from_case_info() -> None:
    assert CHANGE.case_id == "k1" and CHANGE.info is INFO
    assert CHANGE.row() == Row("k1", "relay", "2.1", 3, 5, "abc", '{"s":1}', INFO.state, INFO.closed, INFO.due_at)


def test_dialects_put_their_placeholders_and_locks_into_the_shared_statements() -> None:
    pg = _postgres()
    assert SQLITE.read == SQLITE.read_locked and "?" in SQLITE.read
    assert pg.read_locked == pg.read + " FOR UPDATE" and "?" not in pg.read and "%s" in pg.read
    assert pg.history.replace("%s", "?") == SQLITE.history


def test_conditions_per_dialect() -> None:
    where, args = SQLITE.condition("k1", "relay", "work", T0, False)
    assert where.startswith(" WHERE case_id = ? AND process_id = ? AND closed = ?")
    assert "substr(state, 1, ?) = ?" in where and "due_at IS NOT NULL AND due_at <= ?" in where
    assert args == ["k1", "relay", False, "work", 5, "work.", SQLITE.moment_in(T0)]
    where, args = _postgres().condition(None, None, "work", None, None)
    assert where == " WHERE (state = %s OR starts_with(state, %s))" and args == ["work", "work."]
    assert SQLITE.condition(None, None, None, None, None) == ("", [])


def test_times_are_kept_in_each_dialects_form_and_come_back_as_utc() -> None:
    micros = SQLITE.moment_in(T0)
    assert isinstance(micros, int) and SQLITE.moment_out(micros) == T0
    pg = _postgres()
    assert pg.moment_in(T0) is T0
    assert pg.moment_out(T0.astimezone(ZoneInfo("Europe/Oslo"))).utcoffset() == timedelta(0)


def test_parameters_and_row_mapping_round_trip() -> None:
    params = insert_params(CHANGE, SQLITE)
    assert INFO.due_at is not None
    assert params == ("k1", "relay", "2.1", "work.w1", False, SQLITE.moment_in(INFO.due_at), 3, 5, "abc", '{"s":1}', "")
    assert info_from(params[:9], SQLITE) == INFO
    assert update_params(CHANGE, SQLITE)[-2:] == ("k1", 2)
    assert insert_params(CHANGE._replace(info=INFO._replace(due_at=None)), SQLITE)[5] is None
    assert columns([(1, "a"), (2, "b")]) == [[1, 2], ["a", "b"]]


def test_a_batch_names_the_case_that_exists(store: CaseStore, clock: ManualClock) -> None:
    store.create(new_case(clock, "k2"))
    with pytest.raises(CaseExists) as caught, store.transaction():
        store.create(new_case(clock, "k1"))
        store.create(new_case(clock, "k2"))
        store.create(new_case(clock, "k3"))
    assert caught.value.case_id == "k2"
    assert [i.case_id for i in store.query()] == ["k2"]  # nothing of the batch was written


def test_a_batch_of_updates_and_creates_commits_together(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock, "k1")
    started(store, clock, "k2")
    with store.transaction():
        store.fire("k1", "meet", BOB)
        store.fire("k2", "note", BOB, {"tags": "x"})
        store.create(new_case(clock, "k3"))
    infos = {i.case_id: i for i in store.query()}
    assert (infos["k1"].state, infos["k1"].version) == ("work.w1", 3)
    assert (infos["k2"].state, infos["k2"].version) == ("work.w1", 3)
    assert store.snapshot("k2")["data"]["tags"] == ["x"]
    assert infos["k3"].version == 1 and len(store.history("k2")) == 4  # opened, start, assigned, note
    assert all(check.ok for check in store.verify_cases())


def test_a_stale_case_in_a_batch_refuses_the_whole_batch(store: CaseStore, clock: ManualClock) -> None:
    started(store, clock, "k1")
    started(store, clock, "k2")
    other = open_store(store.url, processes=[RELAY_C, FOLLOWUP_C], clock=clock) if store.url != "memory:" else store
    k1, k2 = store.load("k1"), store.load("k2")
    k1.fire("meet", BOB)
    k2.fire("note", BOB, {"tags": "mine"})
    other.fire("k2", "meet", BOB)  # k2 moves on behind our back
    with pytest.raises(ConcurrentUpdate) as caught, store.transaction():
        store.save(k1)
        store.save(k2)
    assert caught.value.case_id == "k2" and caught.value.actual == 3
    assert store.get("k1").version == 2 and len(store.history("k1")) == 3  # opened, start, assigned
    if other is not store:
        other.close()


def test_the_insert_itself_names_the_taken_case(durable_url: str, clock: ManualClock) -> None:
    # Below the transaction layer (which checks ids first): the statement's own error is recognised.
    store = open_store(durable_url, processes=[RELAY_C], clock=clock)
    try:
        store.create(new_case(clock, "k2"))
        batch = [change(RELAY_C, c.snapshot, c.history, 1, None)
                 for c in (new_case(clock, "k1"), new_case(clock, "k2"))]
        store._begin()  # type: ignore[attr-defined]
        with pytest.raises(CaseExists) as caught:
            store._apply(batch)  # type: ignore[attr-defined]
        store._rollback()  # type: ignore[attr-defined]
        assert caught.value.case_id == "k2" and [i.case_id for i in store.query()] == ["k2"]
    finally:
        store.close()
