"""The tamper suite (issue 12, item 1): a store never acts on a row changed behind careflow's back.

Each test edits the database the way an attacker with database access would (on SQLite after dropping
the triggers; on PostgreSQL as the application role docs/stores.md documents, where that role may make
the edit), then shows that ``fire``/``load``/``snapshot``/``export`` refuse with ``TamperedCase`` naming
the case and the first inconsistent field, and that nothing was written.
"""

from __future__ import annotations

import secrets

import pytest

from careflow.cases.store import CaseStore
from careflow.cases.store.codec import Row
from careflow.cases.store.seal import Sealer
from careflow.clock import ManualClock
from careflow.errors import GuardFailed, HistoryError, TamperedCase
from tests.cases.store.conftest import NURSE, SCORE_9, attack, opened, seeded, written
from tests.cases.test_store import raw_sql


def refused_everywhere(url: str, store: CaseStore, field: str) -> TamperedCase:
    """``fire``, ``tick``, ``load``, ``snapshot``, ``export`` and ``save`` all refuse; nothing is written."""
    before = written(url)
    with pytest.raises(TamperedCase) as caught:
        store.fire("t1", "urgent", NURSE)
    for act in (lambda: store.load("t1"), lambda: store.snapshot("t1"), lambda: store.export("t1"),
                lambda: store.tick("t1")):
        with pytest.raises(TamperedCase) as again:
            act()
        assert again.value.field == field
    assert written(url) == before  # no denied entry, version unchanged
    error = caught.value
    assert (error.case_id, error.field, error.code) == ("t1", field, "CF961")
    assert "t1" in str(error) and error.hint
    return error


def test_an_edited_score_is_refused_before_the_guard_runs(triage: tuple[str, CaseStore], clock: ManualClock) -> None:
    url, _ = triage
    attack(url, SCORE_9)
    fresh = opened(url, clock)  # another server, or the same one restarted: no cached row
    error = refused_everywhere(url, fresh, "data.score")
    assert "data.score: stored 9, the log gives 3" in str(error)
    fresh.close()


def test_a_postgres_app_role_edit_is_refused(pg_url: str, clock: ManualClock) -> None:
    """The documented application role may UPDATE careflow_cases; the seal makes that edit useless."""
    store = opened(pg_url, clock)
    seeded(store, clock)
    store.close()
    role = f"careflow_app_{secrets.token_hex(4)}"
    schema = pg_url.rsplit("schema=", 1)[1]
    for sql in [f"CREATE ROLE {role} NOLOGIN", f"GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT SELECT ON {schema}.careflow_schema, {schema}.careflow_settings TO {role}",
                f"GRANT SELECT, INSERT, UPDATE ON {schema}.careflow_cases TO {role}",
                f"GRANT SELECT, INSERT ON {schema}.careflow_audit, {schema}.careflow_values TO {role}",
                f"GRANT SELECT, INSERT ON {schema}.careflow_access TO {role}",
                f"GRANT SELECT, INSERT, UPDATE ON {schema}.careflow_access_heads TO {role}"]:
        raw_sql(pg_url, sql)
    try:
        raw_sql(pg_url, f"SET ROLE {role}; {SCORE_9}")
        app = opened(pg_url, clock)
        app._conn.execute(f"SET ROLE {role}")  # type: ignore[attr-defined]
        refused_everywhere(pg_url, app, "data.score")
        app.close()
    finally:
        raw_sql(pg_url, f"DROP OWNED BY {role}")
        raw_sql(pg_url, f"DROP ROLE {role}")


COLUMN_EDITS = {
    "state": "UPDATE careflow_cases SET state = 'urgent'",
    "closed": "UPDATE careflow_cases SET closed = NOT closed",
    "due_at": "UPDATE careflow_cases SET due_at = NULL",
    "version": "UPDATE careflow_cases SET version = version + 1",
    "seq": "UPDATE careflow_cases SET seq = seq - 1",
    # always a change: heads are random now (salted commitments), and may start with 'f' already
    "head": "UPDATE careflow_cases SET head = (CASE WHEN substr(head, 1, 1) = 'f' THEN '0' ELSE 'f' END) "
            "|| substr(head, 2)",
    "process_version": "UPDATE careflow_cases SET process_version = '0.9'",
    "process_id": "UPDATE careflow_cases SET process_id = 'relay'",
}


@pytest.mark.parametrize("field", sorted(COLUMN_EDITS))
def test_a_column_edit_is_refused_naming_the_column(field: str, triage: tuple[str, CaseStore],
                                                    clock: ManualClock) -> None:
    url, _ = triage
    attack(url, COLUMN_EDITS[field] + " WHERE case_id = 't1'")
    fresh = opened(url, clock)
    refused_everywhere(url, fresh, field)
    fresh.close()


def test_the_same_store_refuses_too_after_a_fresh_read(triage: tuple[str, CaseStore]) -> None:
    """The store that wrote the row last: load and snapshot always read afresh and refuse."""
    url, store = triage
    attack(url, COLUMN_EDITS["state"] + " WHERE case_id = 't1'")
    with pytest.raises(TamperedCase, match="state"):
        store.load("t1")
    with pytest.raises(TamperedCase, match="state"):
        store.snapshot("t1")


def test_rows_past_the_head_are_refused_not_a_concurrent_update(triage: tuple[str, CaseStore],
                                                                 clock: ManualClock) -> None:
    url, store = triage
    attack(url, "INSERT INTO careflow_audit (case_id, seq, hash, prev_hash, kind, time, entry) "
                "SELECT case_id, seq + 1, hash, prev_hash, kind, time, entry FROM careflow_audit "
                "WHERE case_id = 't1' AND seq = 2")
    before = written(url)
    with pytest.raises(TamperedCase, match="past the head") as caught:
        store.fire("t1", "see", NURSE)  # refused by the step: its denied entry would collide too
    assert caught.value.field == "audit"
    fresh = opened(url, clock)
    with pytest.raises(TamperedCase, match="past the head"):
        fresh.fire("t1", "finish", NURSE)
    with pytest.raises(TamperedCase, match="past the head"):
        fresh.load("t1")
    assert written(url) == before
    fresh.close()


def test_inside_a_transaction_a_row_is_checked_when_first_read(triage: tuple[str, CaseStore],
                                                               clock: ManualClock) -> None:
    url, store = triage
    seeded(store, clock, "t2")
    attack(url, SCORE_9)
    fresh = opened(url, clock)
    before = written(url, "t2")
    with pytest.raises(TamperedCase, match=r"data\.score"), fresh.transaction():
        fresh.fire("t2", "finish", NURSE)
        fresh.fire("t1", "urgent", NURSE)
    assert written(url, "t2") == before  # the whole block was rolled back
    with pytest.raises(TamperedCase), fresh.transaction(lock=["t1"]):
        pass
    fresh.close()


def test_a_keyed_store_catches_an_attacker_who_recomputes_the_digest(durable_url: str, clock: ManualClock) -> None:
    key = secrets.token_bytes(32)
    store = opened(durable_url, clock, key)
    seeded(store, clock)
    store.close()
    attack(durable_url, SCORE_9)
    forged = _forge(durable_url, Sealer())  # the unkeyed digest, recomputed over the edited row
    fresh = opened(durable_url, clock, key)
    error = refused_everywhere(durable_url, fresh, "data.score")
    assert "the log gives 3" in str(error)
    assert forged
    fresh.close()


def test_without_a_key_a_recomputed_digest_passes_the_seal_but_not_the_log(durable_url: str,
                                                                           clock: ManualClock) -> None:
    """What docs/stores.md says an unkeyed seal cannot catch: an attacker who knows the format. ``load``
    still refuses (it replays the log), and ``audit verify`` reports it; ``fire`` does not replay."""
    store = opened(durable_url, clock)
    seeded(store, clock)
    store.close()
    attack(durable_url, SCORE_9)
    _forge(durable_url, Sealer())
    fresh = opened(durable_url, clock)
    with pytest.raises(HistoryError):
        fresh.load("t1")
    assert not all(check.ok for check in fresh.verify_cases("t1"))
    fresh.fire("t1", "urgent", NURSE)  # acted on: the documented limit of a seal without a key
    fresh.close()


def test_a_guard_on_an_intact_row_still_refuses_normally(triage: tuple[str, CaseStore]) -> None:
    _, store = triage
    with pytest.raises(GuardFailed):
        store.fire("t1", "urgent", NURSE)


def _forge(url: str, sealer: Sealer) -> str:
    """Recompute the seal of case t1 as it now stands (what an attacker who knows the format does)."""
    from careflow.cases.store.sql import ROW_COLUMNS, row_from
    from careflow.cases.store.sqlite import DIALECT as SQLITE
    (found,) = raw_sql(url, f"SELECT {ROW_COLUMNS} FROM careflow_cases WHERE case_id = 't1'")
    if url.startswith("sqlite"):
        row = row_from(found, SQLITE)
    else:
        from careflow.cases.store.postgres import DIALECT as PG
        row = row_from(found, PG)
    seal = sealer.seal(row)
    raw_sql(url, "UPDATE careflow_cases SET seal = ? WHERE case_id = 't1'", seal)
    assert isinstance(row, Row)
    return seal


def test_rows_past_the_head_inside_a_transaction_name_their_case(triage: tuple[str, CaseStore],
                                                                 clock: ManualClock) -> None:
    url, store = triage
    seeded(store, clock, "t0")
    attack(url, "INSERT INTO careflow_audit (case_id, seq, hash, prev_hash, kind, time, entry) "
                "SELECT case_id, seq + 1, hash, prev_hash, kind, time, entry FROM careflow_audit "
                "WHERE case_id = 't1' AND seq = 2")
    before = written(url, "t0")
    with pytest.raises(TamperedCase, match="past the head") as caught, store.transaction():
        store.fire("t0", "finish", NURSE)
        store.fire("t1", "finish", NURSE)
    assert caught.value.case_id == "t1"
    assert written(url, "t0") == before
