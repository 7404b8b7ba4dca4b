"""The step returns a record: refusals as data, one refusal rule, the facades raising, and the fixes
that came with it (transition assigns write 'assigned', a refused save rolls the case back, ManualClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.errors import (
    CODES,
    CaseClosed,
    CaseError,
    ChecklistOpen,
    ConcurrentUpdate,
    EventNotAllowed,
    GuardFailed,
    InvalidData,
    MissingData,
    Refusal,
    RoleDenied,
    refusal_error,
)
from careflow.history.replay import replay
from careflow.runtime.changes import action_failed, assign, open_case, tick
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from careflow.runtime.engine import Step, step
from careflow.runtime.fields import Snapshot

T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)

DESK = """
careflow: 1
id: desk
version: "1.0"
title: Desk
language: en
roles:
  clerk: {label: Clerk}
  chief: {label: Chief}
  owner: {scope: case, label: Owner}
data:
  ready: {type: boolean, default: false, label: Ready}
  notes: {type: array, items: {type: string}, default: [], maxItems: 1, label: Notes}
initial: inbox
states:
  inbox: {label: Inbox, checklist: {read: {label: Letter read}}}
  work: {label: Work}
  done: {final: true, label: Done}
transitions:
  - {event: read, from: inbox, internal: true, tick: [read], roles: [clerk]}
  - {event: prepare, from: inbox, internal: true, set: {ready: ok}, requires: [ok], roles: [clerk],
     params: {ok: {type: boolean, label: OK}}}
  - {event: take, from: inbox, to: work, roles: [clerk], when: ready, assign: {owner: who}, requires: [who],
     params: {who: {type: string, label: Who}}}
  - {event: note, from: work, internal: true, append: {notes: text}, requires: [text], roles: [owner],
     params: {text: {type: string, label: Text}}}
  - {event: grade, from: work, to: done, roles: [owner, chief], when: "event.mark >= 3",
     params: {mark: {type: integer, label: Mark}}}
"""

CLERK = Actor("cleo", {"clerk"})
CHIEF = Actor("chad", {"chief"})
STRANGER = Actor("sam", {"visitor"})


@pytest.fixture(scope="module")
def desk() -> CompiledProcess:
    return compile(loads(DESK))


def opened(desk: CompiledProcess) -> Snapshot:
    snap = open_case(desk, "d1", CLERK, None, T0).snapshot
    assert snap is not None
    return snap


def must(done: Step) -> Snapshot:
    assert done.refusal is None, done.refusal
    return done.snapshot


def at_work(desk: CompiledProcess) -> Snapshot:
    snap = must(step(desk, opened(desk), "read", CLERK, None, T0))
    snap = must(step(desk, snap, "prepare", CLERK, {"ok": True}, T0))
    return must(step(desk, snap, "take", CLERK, {"who": "olga"}, T0))


def refused(desk: CompiledProcess, snap: Snapshot, event: str, actor: Actor, data: Any = None) -> Refusal:
    done = step(desk, snap, event, actor, data, T0)
    assert done.refusal is not None
    (entry,) = done.entries
    assert (entry.kind, entry.code, entry.event) == ("denied", done.refusal.code, event)
    assert done.snapshot.leaf == snap.leaf and done.snapshot.data == snap.data
    assert done.snapshot.seq == snap.seq + 1 and done.snapshot.roles == snap.roles
    return done.refusal


def test_step_returns_a_refusal_for_each_kind_without_raising(desk: CompiledProcess) -> None:
    snap = opened(desk)
    assert refused(desk, snap, "grade", CLERK).possible == ("read", "prepare", "take")
    assert refused(desk, snap, "take", STRANGER).roles == ("clerk",)
    guard = refused(desk, snap, "take", CLERK, {"who": "olga"})
    assert guard.code == "guard-failed" and guard.reasons == ("ready is false",) and not guard.needs_event
    ready = must(step(desk, snap, "prepare", CLERK, {"ok": True}, T0))
    checklist = refused(desk, ready, "take", CLERK, {"who": "olga"})
    assert (checklist.code, checklist.items) == ("checklist-open", ("read",))
    assert checklist.reasons == ("checklist item not done: Letter read",)
    read = must(step(desk, ready, "read", CLERK, None, T0))
    assert refused(desk, read, "take", CLERK).fields == ("who",)
    invalid = refused(desk, read, "take", CLERK, {"who": 7})
    assert (invalid.code, invalid.field) == ("invalid-data", "who")
    work = must(step(desk, read, "take", CLERK, {"who": "olga"}, T0))
    olga = Actor("olga")
    assert refused(desk, work, "grade", olga, {"mark": 1}).needs_event
    full = must(step(desk, work, "note", olga, {"text": "a"}, T0))
    assert refused(desk, full, "note", olga, {"text": "b"}).field == "notes"  # maxItems: found while applying
    done = must(step(desk, work, "grade", CHIEF, {"mark": 4}, T0))
    assert refused(desk, done, "grade", CHIEF, {"mark": 4}).code == "case-closed"


def test_one_rule_picks_the_refusal(desk: CompiledProcess) -> None:
    work = at_work(desk)
    # 'grade' has one candidate: a stranger fails on roles, the holder on the guard
    assert refused(desk, work, "grade", STRANGER, {"mark": 1}).code == "role-denied"
    assert refused(desk, work, "grade", Actor("olga"), {"mark": 1}).code == "guard-failed"


def test_open_assign_and_tick_return_records(desk: CompiledProcess) -> None:
    bad = open_case(desk, "d2", CLERK, {"colour": "red"}, T0)
    assert bad.snapshot is None and bad.refusal is not None and bad.refusal.field == "colour"
    snap = opened(desk)
    given = assign(desk, snap, "owner", "olga", CLERK, T0)
    assert given.refusal is None and given.snapshot.roles == {"owner": "olga"}
    assert [e.kind for e in given.entries] == ["assigned"]
    wrong = assign(desk, snap, "boss", "olga", CLERK, T0)
    assert wrong.refusal is not None and wrong.refusal.code == "invalid-data" and wrong.stored == ()
    assert wrong.snapshot is snap
    assert tick(desk, snap, T0 + timedelta(days=9)) == Step(snap, ())
    failed = action_failed(desk, snap, (0, None, None), "mail", "mail: OSError: down", T0)
    (entry,) = failed.entries
    assert (entry.kind, entry.code, entry.detail, failed.snapshot.seq) == (
        "action_failed", "action-failed", "mail: OSError: down", 1)


def test_facades_raise_the_matching_error_carrying_the_refusal(desk: CompiledProcess) -> None:
    expected = {"invalid-data": (InvalidData, "CF501"), "event-not-allowed": (EventNotAllowed, "CF502"),
                "role-denied": (RoleDenied, "CF503"), "guard-failed": (GuardFailed, "CF504"),
                "missing-data": (MissingData, "CF505"), "checklist-open": (ChecklistOpen, "CF506"),
                "case-closed": (CaseClosed, "CF507"), "refused": (CaseError, "CF500")}
    for reason, (cls, code) in expected.items():
        refusal = Refusal(reason, "no", ("because",))
        err = refusal_error(refusal)
        assert type(err) is cls and err.code == code and CODES[code] == reason
        assert err.refusal is refusal and err.reason_code == reason and err.reasons == ["because"]
    assert (CODES["CF900"], CODES["CF901"]) == ("history-error", "action-failed")
    case = Case.open(desk, "d3", actor=CLERK, clock=ManualClock(T0))
    with pytest.raises(GuardFailed) as info:
        case.fire("take", CLERK, {"who": "olga"})
    assert info.value.refusal.code == "guard-failed" and info.value.entry == case.history[-1]


def _copy(case: Case) -> Case:
    return Case.restore(case.compiled, case.snapshot, case.history, clock=case.clock)


def test_allowed_and_explain_agree_with_fire(desk: CompiledProcess) -> None:
    case = Case.open(desk, "d4", actor=CLERK, clock=ManualClock(T0))
    for event, actor, data in [("read", CLERK, None), ("prepare", CLERK, {"ok": True}),
                               ("take", CLERK, {"who": "olga"}), ("note", Actor("olga"), {"text": "x"})]:
        for who in (CLERK, CHIEF, STRANGER, Actor("olga")):
            allowed = case.allowed(who)
            for candidate in desk.table[case.leaf]:
                why = case.explain(candidate, who)
                trial = _copy(case)
                try:
                    result = trial.fire(candidate, who)
                except CaseError as err:
                    assert not why.possible and why.code == err.reason_code and why.reasons == err.reasons
                    assert (candidate in allowed) == (err.reason_code == "missing-data" or (
                        isinstance(err, GuardFailed) and err.needs_event))
                else:
                    assert why.possible and why.target == result.state and candidate in allowed
        case.fire(event, actor, data)


def test_transition_assign_writes_an_assigned_entry_that_replays(desk: CompiledProcess) -> None:
    case = Case.open(desk, "d5", actor=CLERK, clock=ManualClock(T0))
    case.fire("read", CLERK)
    case.fire("prepare", CLERK, {"ok": True})
    fired = case.fire("take", CLERK, {"who": "olga"})
    fired_entry, assigned = fired.entries
    assert (fired_entry.kind, assigned.kind, assigned.seq) == ("fired", "assigned", fired_entry.seq + 1)
    assert dict(assigned.ref or {}) == {"role": "owner", "person": "olga"}
    assert (assigned.actor, assigned.event, assigned.transition) == ("cleo", "take", fired_entry.transition)
    result = replay(desk, case.history)
    assert result.ok, result.divergence
    assert result.snapshot == case.snapshot and result.entries == case.history
    back = Case.restore(desk, result.snapshot, result.entries)
    assert back.head == case.head and back.verify_chain()
    cut = [e for e in case.history if e.kind != "assigned"]
    assert not replay(desk, cut).ok  # a sealed log may not leave it out


def test_concurrent_update_rolls_the_case_back_to_its_committed_state(desk: CompiledProcess) -> None:
    clock = ManualClock(T0)
    store = open_store("memory://", processes=[desk], clock=clock)
    store.create(Case.open(desk, "d6", actor=CLERK, clock=clock))
    mine, theirs = store.load("d6"), store.load("d6")
    theirs.fire("read", CLERK)
    store.save(theirs)
    committed = mine.snapshot
    mine.fire("prepare", CLERK, {"ok": True})
    with pytest.raises(ConcurrentUpdate):
        store.save(mine)
    assert mine.snapshot == committed and [e.kind for e in mine.history] == ["opened"] and mine.verify_chain()
    again = store.load("d6")  # the retry path: load, fire, save
    again.fire("prepare", CLERK, {"ok": True})
    assert store.save(again) == 3


def test_manual_clock_set_refuses_to_go_backwards() -> None:
    clock = ManualClock(T0)
    clock.set(T0 + timedelta(hours=1))
    assert clock.now() == T0 + timedelta(hours=1)
    clock.set(T0 + timedelta(hours=1))  # standing still is fine
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(T0)
    assert clock.now() == T0 + timedelta(hours=1)

