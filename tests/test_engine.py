"""The pure step function and the compiled tables: candidates, compound states, data, checklists, deadlines."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from careflow.clock import ManualClock, add_calendar
from careflow.definitions.loader import loads
from careflow.errors import refusal_error
from careflow.runtime.changes import open_case, tick
from careflow.runtime.compiled import (
    Actor,
    CaseClosed,
    ChecklistOpen,
    EventNotAllowed,
    GuardFailed,
    MissingData,
    RoleDenied,
    compile,
)
from careflow.runtime.data import InvalidData
from careflow.runtime.engine import step

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

FLOW = """
careflow: 1
id: flow
version: "1.0"
title: Flow
language: en
roles:
  nurse: {label: Nurse}
  doctor: {label: Doctor}
data:
  consent: {type: boolean, default: false, label: Consent}
  score: {type: integer, nullable: true, minimum: 0, maximum: 10, label: Score}
  notes: {type: array, items: {type: string}, default: [], maxItems: 2, label: Notes}
initial: intake
states:
  intake: {label: Intake, checklist: {id_checked: {label: Identity checked}}}
  level_1:
    label: Level 1
    initial: l1_a
    due: P1M
    on_due: level_overdue
    states:
      l1_a: {label: L1 A}
      l1_b:
        label: L1 B
        initial: l1_b1
        states:
          l1_b1: {label: L1 B1, due: PT48H, on_due: b1_overdue}
          l1_b2: {label: L1 B2}
  done: {final: true, label: Done}
transitions:
  - {event: check_id, from: intake, internal: true, tick: [id_checked]}
  - {event: give_consent, from: intake, internal: true, set: [consent], requires: [consent]}
  - {event: start, from: intake, to: level_1, roles: [nurse], when: consent}
  - {event: start, from: intake, to: done, roles: [doctor], skip_checklist: true}
  - {event: score, from: level_1, internal: true, set: {score: value}, requires: [value]}
  - {event: note, from: level_1, internal: true, append: {notes: text}, requires: [text]}
  - {event: deepen, from: l1_a, to: l1_b}
  - {event: next, from: l1_b1, to: l1_b2}
  - {event: next, from: level_1, to: done, when: consent}
  - {event: restart, from: level_1, to: l1_a}
  - {event: judged, from: l1_b2, to: done, when: "event.grade >= 3", params: {grade: {type: integer, label: G}}}
  - {event: level_overdue, from: level_1, internal: true, roles: [system]}
  - {event: b1_overdue, from: l1_b1, to: l1_b2}
"""

NURSE = Actor("nina", {"nurse"})
DOCTOR = Actor("dan", {"doctor"})


@pytest.fixture(scope="module")
def flow():  # type: ignore[no-untyped-def]
    return compile(loads(FLOW))


def opened(flow, **data):  # type: ignore[no-untyped-def]
    return open_case(flow, "c1", NURSE, data, T0).snapshot


def fire(flow, snap, event, actor=NURSE, data=None, now=T0):  # type: ignore[no-untyped-def]
    """The step's (snapshot, entries); a refusal raised as its CaseError, as the facades do."""
    done = step(flow, snap, event, actor, data, now)
    if done.refusal is not None:
        raise refusal_error(done.refusal, done.entries[0])
    return done.snapshot, done.entries


def ticked(flow, snap, now):  # type: ignore[no-untyped-def]
    done = tick(flow, snap, now)
    return done.snapshot, done.entries


def test_step_is_pure_and_returns_one_entry(flow) -> None:  # type: ignore[no-untyped-def]
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


def test_role_failure_and_guard_failure_are_told_apart(flow) -> None:  # type: ignore[no-untyped-def]
    snap = opened(flow)
    with pytest.raises(GuardFailed) as guard:
        fire(flow, snap, "start")  # the nurse's candidate: consent is false
    assert guard.value.reasons == ["consent is false"]
    with pytest.raises(RoleDenied) as role:
        fire(flow, snap, "start", Actor("eve", {"secretary"}))
    assert "nurse" in role.value.reasons[0] and "doctor" in role.value.reasons[0]
    new, _ = fire(flow, snap, "start", DOCTOR)  # the doctor's candidate wins, skipping the checklist
    assert new.leaf == "done"


def test_refusal_carries_denied_entry_and_unchanged_snapshot(flow) -> None:  # type: ignore[no-untyped-def]
    snap = opened(flow)
    done = step(flow, snap, "start", NURSE, None, T0)
    assert done.refusal is not None and done.refusal.code == "guard-failed"
    new, (entry,) = done.snapshot, done.entries
    assert new.leaf == snap.leaf and new.data == snap.data and new.seq == snap.seq + 1
    assert (entry.kind, entry.code, entry.source, entry.target) == ("denied", "guard-failed", "intake", "intake")


def test_event_not_allowed_lists_possible_events(flow) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EventNotAllowed) as info:
        fire(flow, opened(flow), "deepen")
    assert set(info.value.possible) == {"check_id", "give_consent", "start"}
    assert "no transition for 'deepen' from 'intake'" in info.value.reasons[0]


def test_checklist_gates_leaving_and_names_labels(flow) -> None:  # type: ignore[no-untyped-def]
    snap = opened(flow, consent=True)
    with pytest.raises(ChecklistOpen) as info:
        fire(flow, snap, "start")
    assert info.value.items == ["Identity checked"]
    snap, _ = fire(flow, snap, "check_id")
    assert snap.ticks == (("intake", "id_checked"),)
    snap, _ = fire(flow, snap, "start")
    assert snap.ticks == ()  # ticks belong to an entry into the state


def test_compound_states_enter_initial_children_and_exit_from_any_child(flow) -> None:  # type: ignore[no-untyped-def]
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


def test_event_data_is_validated_and_required(flow) -> None:  # type: ignore[no-untyped-def]
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


def test_append_respects_max_items(flow) -> None:  # type: ignore[no-untyped-def]
    snap = opened(flow, consent=True)
    snap, _ = fire(flow, fire(flow, snap, "check_id")[0], "start")
    for text in ("a", "b"):
        snap, _ = fire(flow, snap, "note", data={"text": text})
    assert snap.data["notes"] == ("a", "b")
    with pytest.raises(InvalidData, match="most it may hold"):
        fire(flow, snap, "note", data={"text": "c"})


def test_guard_on_event_data(flow) -> None:  # type: ignore[no-untyped-def]
    snap = opened(flow, consent=True)
    for event in ("check_id", "start", "deepen", "next"):
        snap, _ = fire(flow, snap, event)
    with pytest.raises(GuardFailed) as info:
        fire(flow, snap, "judged", data={"grade": 1})
    assert info.value.needs_event
    assert fire(flow, snap, "judged", data={"grade": 4})[0].leaf == "done"


def test_closed_case_refuses_everything(flow) -> None:  # type: ignore[no-untyped-def]
    snap, _ = fire(flow, opened(flow), "start", DOCTOR)
    with pytest.raises(CaseClosed):
        fire(flow, snap, "start", DOCTOR)


def test_deadlines_start_on_entry_and_fire_once(flow) -> None:  # type: ignore[no-untyped-def]
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
