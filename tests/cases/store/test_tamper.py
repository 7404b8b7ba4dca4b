"""The tamper suite: every edit an attacker with database access can make is reported by ``verify_cases``
for the right case, on SQLite (triggers dropped first) and the real PostgreSQL (as the schema owner).

docs/stores.md ("What is detected") names these tests; tests/test_docs.py checks that every test it names
exists. Edits a plain hash chain cannot see (a consistent rewrite, a cut tail with the case row fixed) are
shown here to pass without a checkpoint, and in test_checkpoint.py to be caught with one.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cases.store import CaseCheck, CaseStore, open_store
from careflow.clock import ManualClock
from careflow.errors import CaseNotFound
from tests.cases.relay import ANN, FOLLOWUP_C, RELAY_C, new_case, started
from tests.cases.store.attack import attack, case_row, forge, put_row
from tests.support import T0


@pytest.fixture
def world(durable_url: str, clock: ManualClock) -> Iterator[CaseStore]:
    """k1 and k2 at work (a deadline pending, 3 entries each, k1 with a note more); k3 only opened."""
    store = open_store(durable_url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
    started(store, clock, "k1")
    store.fire("k1", "note", ANN, {"tags": "x"})
    started(store, clock, "k2")
    store.create(new_case(clock, "k3"))
    yield store
    store.close()


def checks(store: CaseStore, replay: bool = True) -> dict[str, CaseCheck]:
    return {c.case_id: c for c in store.verify_cases(replay=replay)}


def codes(check: CaseCheck) -> set[tuple[str, str | None]]:
    return {(p.code, p.column) for p in check.problems}


def only_broken(store: CaseStore, case_id: str) -> CaseCheck:
    """The verdict on ``case_id``, after checking that every other case verifies."""
    found = checks(store)
    assert [c for c, check in found.items() if not check.ok] == [case_id], found
    return found[case_id]


def test_an_untouched_store_verifies(world: CaseStore) -> None:
    assert all(c.ok and not c.problems for c in checks(world).values())
    assert all(c.ok for c in checks(world, replay=False).values())


def test_a_deleted_case_row_is_reported(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "DELETE FROM careflow_cases WHERE case_id = 'k2'")
    check = only_broken(world, "k2")
    assert codes(check) == {("row-missing", None)} and check.entries == 3


def test_a_row_past_the_head_is_reported(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "INSERT INTO careflow_audit SELECT case_id, seq + 1, hash, prev_hash, kind, time, entry "
                        "FROM careflow_audit WHERE case_id = 'k2' AND seq = 2")
    check = only_broken(world, "k2")
    assert ("past-head", None) in codes(check) and any(p.seq == 3 for p in check.problems)


@pytest.mark.parametrize(("column", "value_sql"), [
    ("state", "'closed'"),
    ("closed", "NOT closed"),
    ("due_at", "NULL"),
])
def test_an_edited_case_column_is_reported(durable_url: str, world: CaseStore, column: str, value_sql: str) -> None:
    attack(durable_url, f"UPDATE careflow_cases SET {column} = {value_sql} WHERE case_id = 'k2'")
    for replay in (True, False):
        check = {c.case_id: c for c in world.verify_cases(replay=replay)}["k2"]
        assert ("row-differs", column) in codes(check), (replay, check)
    only_broken(world, "k2")


def test_an_edited_version_is_reported(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "UPDATE careflow_cases SET version = 99 WHERE case_id = 'k2'")
    assert ("row-differs", "version") in codes(only_broken(world, "k2"))


@pytest.mark.parametrize(("column", "value"), [("kind", "denied"), ("time", "2020-01-01T00:00:00+00:00")])
def test_an_edited_audit_column_is_reported(durable_url: str, world: CaseStore, column: str, value: str) -> None:
    attack(durable_url, f"UPDATE careflow_audit SET {column} = ? WHERE case_id = 'k2' AND seq = 1", value)
    check = only_broken(world, "k2")
    assert ("columns-changed", column) in codes(check) and check.seq == 1


def test_an_edited_entry_is_reported_at_its_seq(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "UPDATE careflow_audit SET entry = replace(entry, '\"ann\"', '\"eve\"') "
                        "WHERE case_id = 'k1' AND seq = 1")
    check = only_broken(world, "k1")
    assert ("content-changed", None) in codes(check) and check.seq == 1


def test_an_edited_snapshot_is_reported(durable_url: str, world: CaseStore) -> None:
    world.fire("k2", "note", ANN, {"tags": "y", "score": 3})
    attack(durable_url, "UPDATE careflow_cases SET snapshot = replace(snapshot, '\"score\":3', '\"score\":9') "
                        "WHERE case_id = 'k2'")
    check = only_broken(world, "k2")
    assert codes(check) == {("replay", None)} and "score" in check.message


def test_audit_rows_without_a_case_row_are_reported(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "INSERT INTO careflow_audit SELECT 'ghost', seq, hash, prev_hash, kind, time, entry "
                        "FROM careflow_audit WHERE case_id = 'k3'")
    check = only_broken(world, "ghost")
    assert ("row-missing", None) in codes(check) and check.entries == 1


def test_an_unloadable_process_is_a_problem_of_that_case_only(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "UPDATE careflow_cases SET process_id = 'no_such_process' WHERE case_id = 'k3'")
    check = only_broken(world, "k3")
    assert ("row-differs", "process_id") in codes(check)
    attack(durable_url, "UPDATE careflow_audit SET entry = replace(entry, '\"relay\"', '\"no_such_process\"') "
                        "WHERE case_id = 'k3'")
    attack(durable_url, "UPDATE careflow_cases SET process_id = 'no_such_process' WHERE case_id = 'k3'")
    assert ("process-unloadable", "process_id") in codes(only_broken(world, "k3"))


def test_invalid_utf8_in_an_entry_is_a_problem_of_that_case_only(durable_url: str, world: CaseStore) -> None:
    if not durable_url.startswith("sqlite"):  # PostgreSQL refuses such text: there a flipped byte is an edit
        import psycopg

        with pytest.raises(psycopg.errors.CharacterNotInRepertoire):
            attack(durable_url, "UPDATE careflow_audit SET entry = convert_from('\\xff'::bytea, 'UTF8')")
        return
    [(text,)] = attack(durable_url, "SELECT CAST(entry AS BLOB) FROM careflow_audit WHERE case_id = 'k1' AND seq = 1")
    flipped = bytes(text).replace(b'"ann"', b'"a\xffn"')
    attack(durable_url, "UPDATE careflow_audit SET entry = CAST(? AS TEXT) WHERE case_id = 'k1' AND seq = 1", flipped)
    check = only_broken(world, "k1")
    assert ("unreadable", "entry") in codes(check) and check.seq == 1


def test_one_bad_row_does_not_hide_an_edit_in_another_case(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "UPDATE careflow_cases SET process_id = 'no_such_process' WHERE case_id = 'k1'")
    attack(durable_url, "UPDATE careflow_audit SET entry = 'not json' WHERE case_id = 'k1' AND seq = 2")
    attack(durable_url, "UPDATE careflow_cases SET due_at = NULL WHERE case_id = 'k2'")
    attack(durable_url, "DELETE FROM careflow_cases WHERE case_id = 'k3'")
    found = checks(world)
    assert {c for c, check in found.items() if not check.ok} == {"k1", "k2", "k3"}
    assert ("unreadable", "entry") in codes(found["k1"]) and ("row-differs", "due_at") in codes(found["k2"])
    assert codes(found["k3"]) == {("row-missing", None)}


def test_every_problem_of_a_case_is_listed(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "UPDATE careflow_audit SET kind = 'denied' WHERE case_id = 'k2' AND seq = 0")
    attack(durable_url, "UPDATE careflow_cases SET state = 'closed', version = 0 WHERE case_id = 'k2'")
    check = only_broken(world, "k2")
    assert {("columns-changed", "kind"), ("row-differs", "state"), ("row-differs", "version")} <= codes(check)
    assert (check.problem, check.seq) == (check.problems[0].code, check.problems[0].seq)


def test_a_gap_in_seq_is_reported(durable_url: str, world: CaseStore) -> None:
    attack(durable_url, "DELETE FROM careflow_audit WHERE case_id = 'k1' AND seq = 1")
    check = only_broken(world, "k1")
    assert ("sequence-gap", "seq") in codes(check) and ("link-broken", "prev_hash") in codes(check)


def test_a_consistent_rewrite_passes_without_a_checkpoint(durable_url: str, world: CaseStore,
                                                          clock: ManualClock) -> None:
    """Not caught without a checkpoint, by design (docs/stores.md): the forged log is a valid log."""
    forge(durable_url, Case.open(RELAY_C, "k2", actor=ANN, data={"consent": False}, clock=clock))
    assert all(c.ok for c in checks(world).values())
    assert world.load("k2").state == "concern"


def test_a_cut_tail_with_the_case_row_fixed_passes_without_a_checkpoint(durable_url: str, world: CaseStore,
                                                                        clock: ManualClock) -> None:
    """Not caught without a checkpoint, by design: the row is put back as it was before the last fire."""
    before = case_row(durable_url, "k2")
    clock.advance(timedelta(hours=1))
    world.fire("k2", "note", ANN, {"tags": "z"})
    attack(durable_url, "DELETE FROM careflow_audit WHERE case_id = 'k2' AND seq = 3")
    put_row(durable_url, before)
    assert all(c.ok for c in checks(world).values())


def test_verifying_a_case_that_never_existed_is_case_not_found(world: CaseStore) -> None:
    with pytest.raises(CaseNotFound):
        list(world.verify_cases("nobody"))


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store like ``world``, built once: each example below edits a copy of it."""
    path = tmp_path_factory.mktemp("tamper") / "world.db"
    clock = ManualClock(T0)
    with open_store(f"sqlite:///{path}", processes=[RELAY_C, FOLLOWUP_C], clock=clock) as store:
        started(store, clock, "k1")
        store.fire("k1", "note", ANN, {"tags": "x"})
        started(store, clock, "k2")
        store.create(new_case(clock, "k3"))
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_byte_in_any_entry_is_reported_for_its_case(sqlite_world: Path, tmp_path: Path,
                                                                data: st.DataObject) -> None:
    path = tmp_path / f"copy-{secrets.token_hex(4)}.db"
    shutil.copyfile(sqlite_world, path)
    url = f"sqlite:///{path}"
    rows = attack(url, "SELECT case_id, seq, CAST(entry AS BLOB) FROM careflow_audit ORDER BY case_id, seq")
    case_id, seq, text = data.draw(st.sampled_from(rows))
    at = data.draw(st.integers(0, len(text) - 1))
    flipped = bytearray(text)
    flipped[at] ^= data.draw(st.integers(1, 255))
    attack(url, "UPDATE careflow_audit SET entry = CAST(? AS TEXT) WHERE case_id = ? AND seq = ?", bytes(flipped),
           case_id, seq)
    with open_store(url, create=False, processes=[RELAY_C, FOLLOWUP_C]) as store:
        found = {c.case_id: c for c in store.verify_cases()}
    assert {c for c, check in found.items() if not check.ok} == {case_id}
    assert any(p.seq == seq for p in found[case_id].problems)
