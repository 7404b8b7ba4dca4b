"""The pure step function and the compiled tables: candidates, compound states, data, checklists, deadlines."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from careflow.clock import ManualClock, add_calendar
from careflow.definitions.loader import loads
from careflow.errors import (
    CaseClosed,
    ChecklistOpen,
    EventNotAllowed,
    GuardFailed,
    InvalidData,
    MissingData,
    RoleDenied,
    refusal_error,
)
from careflow.runtime.audit import AuditEntry
from careflow.runtime.changes import open_case, tick
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from careflow.runtime.engine import step
from careflow.runtime.fields import Snapshot
from tests.support import process_text

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

FLOW = process_text("flow")

NURSE = Actor("nina", {"nurse"})
DOCTOR = Actor("dan", {"doctor"})


@pytest.fixture(scope="module")
def flow() -> CompiledProcess:
    return compile(loads(FLOW))


def opened(flow: CompiledProcess, **data: Any) -> Snapshot:
    opening = open_case(flow, "c1", NURSE, data, T0)
    assert opening.snapshot is not None, opening.refusal
    return opening.snapshot


def fire(flow: CompiledProcess, snap: Snapshot, event: str, actor: Actor = NURSE,
         data: Mapping[str, Any] | None = None, now: datetime = T0) -> tuple[Snapshot, tuple[AuditEntry, ...]]:
    """The step's (snapshot, entries); a refusal raised as its CaseError, as the facades do."""
    done = step(flow, snap, event, actor, data, now)
    if done.refusal is not None:
        raise refusal_error(done.refusal, done.entries[0])
    return done.snapshot, done.entries


def ticked(flow: CompiledProcess, snap: Snapshot, now: datetime) -> tuple[Snapshot, tuple[AuditEntry, ...]]:
    done = tick(flow, snap, now)
    return done.snapshot, done.entries


def test_step_is_pure_and_returns_one_entry(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, snap, "check_id")
    before = copy.deepcopy(tuple(snap))
    new, entries = fire(flow, snap, "start")
    assert tuple(snap) == before
    assert new.leaf == "l1_a" and new.seq == snap.seq + 1
    (entry,) = entries
    assert (entry.kind, entry.event, entry.source, entry.target) == ("fired", "start", "intake", "level_1.l1_a")
    assert entry.roles == ("nurse",) and entry.transition == "start@intake" and entry.hash is None


def test_compile_is_cached_by_identity() -> None:
    process = loads(FLOW)
    assert compile(process) is compile(process)
    assert compile(loads(FLOW)) is not compile(process)


def test_role_failure_and_guard_failure_are_told_apart(flow: CompiledProcess) -> None:
    snap = opened(flow)
    with pytest.raises(GuardFailed) as guard:
        fire(flow, snap, "start")  # the nurse's candidate: consent is false
    assert guard.value.reasons == ["consent is false"]
    with pytest.raises(RoleDenied) as role:
        fire(flow, snap, "start", Actor("eve", {"secretary"}))
    assert "nurse" in role.value.reasons[0] and "doctor" in role.value.reasons[0]
    new, _ = fire(flow, snap, "start", DOCTOR)  # the doctor's candidate wins, skipping the checklist
    assert new.leaf == "done"


def test_refusal_carries_denied_entry_and_unchanged_snapshot(flow: CompiledProcess) -> None:
    snap = opened(flow)
    done = step(flow, snap, "start", NURSE, None, T0)
    assert done.refusal is not None and done.refusal.code == "guard-failed"
    new, (entry,) = done.snapshot, done.entries
    assert new.leaf == snap.leaf and new.data == snap.data and new.seq == snap.seq + 1
    assert (entry.kind, entry.code, entry.source, entry.target) == ("denied", "guard-failed", "intake", "intake")


def test_event_not_allowed_lists_possible_events(flow: CompiledProcess) -> None:
    with pytest.raises(EventNotAllowed) as info:
        fire(flow, opened(flow), "deepen")
    assert set(info.value.possible) == {"check_id", "give_consent", "start"}
    assert "no transition for 'deepen' from 'intake'" in info.value.reasons[0]


def test_checklist_gates_leaving_and_names_labels(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    with pytest.raises(ChecklistOpen) as info:
        fire(flow, snap, "start")
    assert info.value.items == ["id_checked"] and info.value.labels() == ["Identity checked"]
    snap, _ = fire(flow, snap, "check_id")
    assert snap.ticks == (("intake", "id_checked"),)
    snap, _ = fire(flow, snap, "start")
    assert snap.ticks == ()  # ticks belong to an entry into the state


def test_compound_states_enter_initial_children_and_exit_from_any_child(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, fire(flow, snap, "check_id")[0], "start")
    snap, entries = fire(flow, snap, "deepen")
    assert snap.leaf == "l1_b1" and entries[0].target == "level_1.l1_b.l1_b1"
    inner, _ = fire(flow, snap, "next")  # the innermost declaring state wins over level_1's 'next'
    assert inner.leaf == "l1_b2"
    outer, _ = fire(flow, inner, "next")  # from l1_b2 only level_1's 'next' applies
    assert outer.leaf == "done"
    again, _ = fire(flow, inner, "restart")
    assert again.leaf == "l1_a"


def test_event_data_is_validated_and_required(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, fire(flow, snap, "check_id")[0], "start")
    with pytest.raises(MissingData) as missing:
        fire(flow, snap, "score")
    assert missing.value.fields == ("value",)
    with pytest.raises(InvalidData, match="does not take 'colour'"):
        fire(flow, snap, "score", data={"value": 3, "colour": "red"})
    with pytest.raises(InvalidData, match="'value'"):
        fire(flow, snap, "score", data={"value": "high"})
    with pytest.raises(InvalidData):
        fire(flow, snap, "score", data={"value": 11})  # the case field's maximum applies to the event field
    snap, entries = fire(flow, snap, "score", data={"value": 7})
    assert snap.data["score"] == 7 and dict(entries[0].data) == {"value": 7}


def test_append_respects_max_items(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, fire(flow, snap, "check_id")[0], "start")
    for text in ("a", "b"):
        snap, _ = fire(flow, snap, "note", data={"text": text})
    assert snap.data["notes"] == ("a", "b")
    with pytest.raises(InvalidData, match="most it may hold"):
        fire(flow, snap, "note", data={"text": "c"})


def test_guard_on_event_data(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    for event in ("check_id", "start", "deepen", "next"):
        snap, _ = fire(flow, snap, event)
    with pytest.raises(GuardFailed) as info:
        fire(flow, snap, "judged", data={"grade": 1})
    assert info.value.needs_event
    assert fire(flow, snap, "judged", data={"grade": 4})[0].leaf == "done"


def test_closed_case_refuses_everything(flow: CompiledProcess) -> None:
    snap, _ = fire(flow, opened(flow), "start", DOCTOR)
    with pytest.raises(CaseClosed):
        fire(flow, snap, "start", DOCTOR)


def test_deadlines_start_on_entry_and_fire_once(flow: CompiledProcess) -> None:
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, fire(flow, snap, "check_id")[0], "start")
    assert [(t.state, t.due_at) for t in snap.timers] == [("level_1", datetime(2026, 2, 5, 8, 0, tzinfo=UTC))]
    later = T0 + timedelta(hours=1)
    snap, _ = fire(flow, snap, "deepen", now=later)
    assert {t.state for t in snap.timers} == {"level_1", "l1_b1"}
    snap, entries = ticked(flow, snap, later + timedelta(hours=47))
    assert entries == ()
    snap, entries = ticked(flow, snap, later + timedelta(hours=48))
    assert [(e.kind, e.event, e.actor, e.target) for e in entries] == [
        ("deadline", "b1_overdue", "system", "level_1.l1_b.l1_b2")]
    assert {t.state for t in snap.timers} == {"level_1"}  # l1_b1 was exited
    snap, entries = ticked(flow, snap, T0 + timedelta(days=40))
    assert [(e.kind, e.event) for e in entries] == [("deadline", "level_overdue")]
    assert snap.leaf == "l1_b2" and snap.timers[0].fired
    assert tick(flow, snap, T0 + timedelta(days=80)).stored == ()  # once per entry into the state


def test_calendar_months_clamp_to_month_end() -> None:
    jan31 = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert add_calendar(jan31, months=1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_calendar(jan31, years=2, months=1) == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert add_calendar(jan31, months=11, days=1, seconds=3600) == datetime(2027, 1, 1, 13, tzinfo=UTC)


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock(T0)
    assert clock.advance(days=1) == T0 + timedelta(days=1)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))  # naive
