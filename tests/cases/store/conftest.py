"""The tamper suite's world: a triage process whose ``urgent`` event is guarded by ``score > 5``, a case
at score 3, and SQL run behind careflow's back the way an attacker with database access would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from tests.cases.test_store import raw_sql
from tests.support import load_process

TRIAGE: CompiledProcess = compile(load_process("triage_seal"))
NURSE = Actor("nina", {"nurse"})
KEY = b"k" * 32
SCORE_9 = ("UPDATE careflow_cases SET snapshot = replace(snapshot, '\"score\":3', '\"score\":9') "
           "WHERE case_id = 't1'")


def opened(url: str, clock: ManualClock, key: bytes | None = None) -> CaseStore:
    return open_store(url, processes=[TRIAGE], clock=clock, seal_key=key)


def seeded(store: CaseStore, clock: ManualClock, case_id: str = "t1") -> None:
    """A case at score 3, seen by the nurse: four entries, version 3."""
    store.create(Case.open(TRIAGE, case_id, actor=NURSE, clock=clock))
    store.fire(case_id, "assess", NURSE, {"score": 3})
    store.fire(case_id, "see", NURSE)


def attack(url: str, sql: str) -> None:
    """Run ``sql`` as an attacker would: on SQLite after dropping the audit triggers."""
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER IF EXISTS careflow_audit_no_update")
        raw_sql(url, "DROP TRIGGER IF EXISTS careflow_audit_no_delete")
    raw_sql(url, sql)


def written(url: str, case_id: str = "t1") -> tuple[Any, ...]:
    """Everything stored about a case (to show that nothing was written)."""
    return (raw_sql(url, "SELECT * FROM careflow_cases WHERE case_id = ?", case_id),
            raw_sql(url, "SELECT seq, hash FROM careflow_audit WHERE case_id = ? ORDER BY seq", case_id))


@pytest.fixture
def triage(durable_url: str, clock: ManualClock) -> Iterator[tuple[str, CaseStore]]:
    """A durable store (SQLite, then PostgreSQL) with case ``t1`` at score 3."""
    store = opened(durable_url, clock)
    seeded(store, clock)
    yield durable_url, store
    store.close()
