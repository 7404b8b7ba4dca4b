"""Case: opening, refusals logged without change, allowed/explain, case roles, handoffs, JSON, deadlines."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from careflow.cases.case import Case, overdue_cases
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.errors import (
    CareflowError,
    CaseClosed,
    CaseError,
    ChecklistOpen,
    EventNotAllowed,
    GuardFailed,
    HistoryError,
    InvalidData,
    InvalidValue,
    MissingData,
    RoleDenied,
)
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor
from tests.support import T0, process_text

RELAY = process_text("relay")

FOLLOWUP = process_text("followup")

ANN = Actor("ann", {"employee"})
LEO = Actor("leo", {"leader"})
BOB = Actor("bob")  # no global roles; will hold stafettholder in one case


_FOLLOWUP = loads(FOLLOWUP)


def resolve(process_id: str) -> ProcessDefinition:
    # One resolver object: compiled processes are cached by the identity of (process, registry, resolver).
    assert process_id == "followup"
    return _FOLLOWUP


@pytest.fixture(scope="module")
def relay() -> ProcessDefinition:
    return loads(RELAY, known_processes=["followup"])


@pytest.fixture(scope="module")
def followup() -> ProcessDefinition:
    return _FOLLOWUP


def new_case(relay: ProcessDefinition, followup: ProcessDefinition | None = None, case_id: str = "k1",
             clock: ManualClock | None = None, **data: Any) -> Case:
    return Case.open(relay, case_id, actor=ANN, data=data, clock=clock or ManualClock(T0), resolver=resolve)


def started(relay: ProcessDefinition, followup: ProcessDefinition | None = None, case_id: str = "k1",
            clock: ManualClock | None = None, holder: str = "bob") -> Case:
    case = new_case(relay, followup, case_id, clock, consent=True)
    case.fire("start", ANN, {"holder": holder})
    return case


def test_open_fills_defaults_and_reads(relay: ProcessDefinition) -> None:
    case = new_case(relay, plan={"goals": ["walk"]})
    assert (case.state, case.leaf, case.process_id, case.process_version) == ("concern", "concern", "relay", "2.1")
    assert dict(case.data) == {"consent": False, "plan": {"goals": ("walk",)}, "tags": (), "summary": None}
    with pytest.raises(TypeError):
        case.data["consent"] = True  # type: ignore[index]
    (opened,) = case.history
    assert (opened.kind, opened.seq, opened.target, opened.actor) == ("opened", 0, "concern", "ann")
    assert opened.prev_hash == "0" * 64 and opened.hash is not None


def test_open_refuses_unknown_and_mistyped_data(relay: ProcessDefinition) -> None:
    with pytest.raises(InvalidData, match=r"'consnet' is not a data field.*did you mean 'consent'"):
        new_case(relay, consnet=True)
    with pytest.raises(InvalidData, match="'consent'") as info:
        new_case(relay, consent="yes")
    assert info.value.field == "consent" and isinstance(info.value, CareflowError)
    with pytest.raises(InvalidData, match="'plan'"):
        new_case(relay, plan={"goals": "walk"})


def test_defaults_are_not_shared_between_cases(relay: ProcessDefinition) -> None:
    a = started(relay, case_id="a")
    b = started(relay, case_id="b")
    a.fire("open_log", BOB)
    assert a.ticked == (("w1", "log_opened"),) and b.ticked == ()
    assert a.data["tags"] == () and b.data["tags"] == ()


@pytest.mark.parametrize(("event", "actor", "data", "error", "code"), [
    ("proceed", ANN, None, EventNotAllowed, "event-not-allowed"),
    ("start", LEO, {"holder": "bob"}, RoleDenied, "role-denied"),
    ("start", ANN, {"holder": "bob"}, GuardFailed, "guard-failed"),
    ("record_consent", ANN, None, MissingData, "missing-data"),
    ("record_consent", ANN, {"consent": "yes"}, InvalidData, "invalid-data"),
    ("record_consent", ANN, {"consent": True, "extra": 1}, InvalidData, "invalid-data"),
])
def test_refusals_are_logged_and_change_nothing(relay: ProcessDefinition, event: str, actor: Actor,
                                                data: dict[str, Any] | None, error: type[CaseError], code: str
                                                ) -> None:
    case = new_case(relay)
    before = (case.state, dict(case.data), dict(case.roles))
    with pytest.raises(error) as info:
        case.fire(event, actor, data, reason="trying")
    assert isinstance(info.value, CaseError) and info.value.reason_code == code
    assert (case.state, dict(case.data), dict(case.roles)) == before
    denied = case.history[-1]
    assert (denied.kind, denied.code, denied.event, denied.actor, denied.reason) == (
        "denied", code, event, actor.id, "trying")
    assert info.value.entry == denied and case.verify_chain()


def test_checklist_and_closed_refusals(relay: ProcessDefinition, followup: ProcessDefinition) -> None:
    case = started(relay, followup)
    with pytest.raises(ChecklistOpen) as info:
        case.fire("proceed", BOB)
    assert info.value.items == ["log_opened", "met"]
    assert info.value.labels() == ["Relay log opened", "Met the family"]
    case.fire("open_log", BOB)
    explanation = case.explain("proceed", BOB)
    assert not explanation.possible and explanation.code == "checklist-open"
    assert explanation.reasons == ["checklist item not done: Met the family"]
    case.fire("meet", BOB)
    case.fire("proceed", BOB)
    case.fire("summarise", BOB, {"summary": "needs a coordinator"})
    case.fire("hand_off", BOB)
    with pytest.raises(CaseClosed):
        case.fire("summarise", BOB, {"summary": "again"})
    assert case.closed and case.allowed(BOB) == []


def test_allowed_and_explain(relay: ProcessDefinition) -> None:
    case = new_case(relay)
    # record_consent needs data (possible once given); start's guard is false on case data: not listed
    assert case.allowed(ANN) == ["record_consent"]
    assert case.allowed(LEO) == []
    why = case.explain("start", ANN, {"holder": "bob"})
    assert not why.possible and why.code == "guard-failed" and why.reasons == ["consent is false"]
    why = case.explain("start", LEO)
    assert why.code == "role-denied" and "employee" in why.reasons[0]
    why = case.explain("record_consent", ANN)
    assert why.code == "missing-data" and why.needs_data == ("consent",)
    why = case.explain("proceed", ANN)
    assert why.code == "event-not-allowed" and "record_consent, start" in why.reasons[1]
    case.fire("record_consent", ANN, {"consent": True})
    assert case.allowed(ANN) == ["record_consent", "start"]
    ok = case.explain("start", ANN, {"holder": "bob"})
    assert ok.possible and ok.target == "work.w1" and ok.reasons == []
    assert len(case.history) == 2  # explain and allowed log nothing


def test_case_roles_are_per_case(relay: ProcessDefinition) -> None:
    mine = started(relay, case_id="mine", holder="bob")
    other = started(relay, case_id="other", holder="carl")
    assert dict(mine.roles) == {"stafettholder": "bob"}
    mine.fire("open_log", BOB)
    with pytest.raises(RoleDenied) as info:
        other.fire("open_log", BOB)
    assert "held by 'carl'" in info.value.reasons[1]
    # a global role claim does not stand in for a case-scoped role
    with pytest.raises(RoleDenied):
        other.fire("open_log", Actor("bob", {"stafettholder"}))
    entry = other.assign_role("stafettholder", "bob", actor=LEO, reason="carl is on leave")
    assert (entry.kind, dict(entry.ref or {}), entry.actor) == (
        "assigned", {"role": "stafettholder", "person": "bob"}, "leo")
    other.fire("open_log", BOB)
    assert other.history[-1].roles == ("stafettholder",)  # recorded: acted as the case role
    with pytest.raises(InvalidData):
        other.assign_role("leader", "bob", actor=LEO)


def test_handoff_opens_a_linked_case(relay: ProcessDefinition, followup: ProcessDefinition) -> None:
    case = started(relay, followup)
    for event in ("open_log", "meet", "proceed"):
        case.fire(event, BOB)
    case.fire("summarise", BOB, {"summary": "long-term needs"})
    result = case.fire("hand_off", BOB, reason="needs coordinated services")
    (child,) = result.spawned
    fired, spawned = result.entries
    assert (fired.kind, spawned.kind) == ("fired", "spawned")
    assert dict(spawned.ref or {}) == {"case_id": child.case_id, "process_id": "followup",
                                       "process_version": "1.0"}
    assert child.process_id == "followup" and dict(child.data) == {"need": "long-term needs", "labels": ()}
    opened = child.history[0]
    assert dict(opened.ref or {}) == {"case_id": "k1", "process_id": "relay", "seq": spawned.seq,
                                      "carried": tuple(sorted(spawned.data))}
    assert [tuple(link) for link in case.links] == [("child", "followup", child.case_id, spawned.seq)]
    assert [tuple(link) for link in child.links] == [("parent", "relay", "k1", spawned.seq)]
    assert child.verify_chain() and case.verify_chain()


def test_json_round_trip_is_lossless(relay: ProcessDefinition, followup: ProcessDefinition, clock: ManualClock
                                     ) -> None:
    case = started(relay, followup, clock=clock)
    with pytest.raises(InvalidValue):
        case.fire("open_log", ANN, {"weird": {1, 2}})  # not JSON: refused at the boundary, logged described
    clock.advance(days=20)
    case.tick()
    case.fire("open_log", BOB, reason="ø æ å — unicode kept")
    text = case.to_json()
    back = Case.from_json(relay, text, clock=clock, resolver=resolve)
    assert back.history == case.history and back.head == case.head
    assert (back.state, dict(back.data), dict(back.roles), back.ticked, back.due_at) == (
        case.state, dict(case.data), dict(case.roles), case.ticked, case.due_at)
    assert back.to_json() == text
    back.fire("meet", BOB)  # a loaded case keeps working and chaining
    assert back.verify_chain() and back.history[-1].prev_hash == case.head


def test_from_json_refuses_tampering(relay: ProcessDefinition) -> None:
    case = started(relay)
    body = json.loads(case.to_json())
    body["history"][1]["actor"] = "mallory"
    with pytest.raises(HistoryError) as info:
        Case.from_json(relay, json.dumps(body), resolver=resolve)
    assert info.value.index == 1
    body = json.loads(case.to_json())
    body["leaf"], body["state"] = "w2", "work.w2"  # the state claims more than the log shows
    with pytest.raises(HistoryError, match="does not match"):
        Case.from_json(relay, json.dumps(body), resolver=resolve)
    body = json.loads(case.to_json())
    body["history"].pop()  # the 'assigned' entry that 'start' writes after its 'fired' entry
    with pytest.raises(HistoryError, match="also records a 'assigned' entry"):
        Case.from_json(relay, json.dumps(body), resolver=resolve)
    del body["history"][-1]  # the whole step cut off: the log replays, but not to the stored head
    with pytest.raises(HistoryError, match="head"):
        Case.from_json(relay, json.dumps(body), resolver=resolve)


def test_deadlines_with_manual_clock(relay: ProcessDefinition, clock: ManualClock) -> None:
    case = started(relay, clock=clock)
    quiet = new_case(relay, case_id="quiet", clock=clock)
    assert case.due_at == T0 + timedelta(days=14) and quiet.due_at is None
    assert case.tick().entries == ()
    clock.advance(days=14)
    assert overdue_cases([case, quiet]) == [case]
    result = case.tick()
    (entry,) = result.entries
    assert (entry.kind, entry.event, entry.actor, entry.roles) == ("deadline", "work_overdue", "system", ("system",))
    assert dict(entry.ref or {}) == {"state": "work", "due_at": (T0 + timedelta(days=14)).isoformat()}
    assert case.tick().entries == () and case.due_at is None  # fired once per entry into 'work'
    assert overdue_cases([case], T0) == []
