"""Handoffs that continue: a BTI level-3 case opens an oppfølgingsteam case that starts after consent,
and KE's decision comes back to the BTI case as an audited event, in memory and in every store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.history.replay import replay
from careflow.runtime.compiled import Actor, compile

BTI = compile(load("bti_children"))
OT = compile(load("oppfolgingsteam"))
KARI = Actor("kari", {"employee"})  # the kindergarten teacher with the concern
LEADER = Actor("liv", {"leader"})
KE = Actor("ke-suldal", {"ke"})

# (event, actor, data, reason) from the start to the referral to KE at level 3, step 5
TO_KE: list[tuple[str, Actor, dict[str, Any] | None, str | None]] = [
    ("define_concern", KARI, {"concern_description": "Jonas (5) is withdrawn and often tired; says little at home",
                              "concern_subject": "child"}, None),
    ("share_with_leader", KARI, None, "Discussed with Liv, the head of the kindergarten"),
    ("share_with_family", KARI, None, "Talked with Jonas's mother at pick-up"),
    ("report_child_welfare", LEADER, None, "Serious concern about care at home; reported to child welfare"),
    ("hold_first_meeting", KARI, {"stafettholder_id": "kari"}, "First meeting with child welfare and BUP"),
    ("record_consent_relay_log", KARI, {"consent_relay_log": True}, None),
    ("plan_measures", Actor("kari", {"partner_service"}), {"evaluation_date": "2026-05-04"}, None),
    ("hold_evaluation_meeting", KARI, None, None),
    ("conclude_discussion", KARI, {"childs_view_obtained": True}, "Jonas drew what a good day looks like"),
    ("prepare_ke_report", KARI, {"need_summary": "Long-term coordinated follow-up: BUP, child welfare, school start",
                                 "consent_to_ke_report": True, "wants_individual_plan": True},
     "The mother consents to the report to KE and wants an individual plan"),
    ("refer_to_ke", KARI, None, "No progress with the services as they are: refer to KE"),
]
APPOINT = {"coordinator_id": "siv", "coordinator_service": "childhood_and_education",
           "coordinator_kind": "child_coordinator"}


def _walk_case(clock: ManualClock) -> tuple[Case, Case]:
    bti = Case.open(BTI, "bti-jonas", clock=clock)
    child = None
    for event, actor, data, reason in TO_KE:
        done = bti.fire(event, actor, data, reason)
        child = done.spawned[0] if done.spawned else child
    assert child is not None
    return bti, child


def test_the_handoff_starts_after_consent_and_carries_what_the_bti_case_knows(clock: ManualClock) -> None:
    bti, ot = _walk_case(clock)
    assert ot.state == "reported_to_ke"  # not need_identified: consent and the report are not asked again
    assert ot.snapshot.data["consent_to_ke_report"] is True
    assert ot.snapshot.data["need_summary"].startswith("Long-term")
    opened = ot.history[0]
    assert opened.target == "reported_to_ke"
    assert opened.ref is not None and opened.ref["start"] == "reported_to_ke"
    assert set(opened.ref["carried"]) == {"need_summary", "consent_to_ke_report", "wants_individual_plan"}
    spawned = bti.history[-1]
    assert spawned.kind == "spawned" and spawned.ref is not None and spawned.ref["start"] == "reported_to_ke"
    assert opened.ref["seq"] == spawned.seq


def test_kes_decision_comes_back_to_the_bti_case_in_memory(clock: ManualClock) -> None:
    bti, ot = _walk_case(clock)
    ot.fire("start_assessment", KE)
    ot.fire("appoint_coordinator", KE, APPOINT, "Siv from the school health service is child coordinator")
    assert bti.snapshot.data["ke_decision"] == "coordinator_appointed"
    assert bti.snapshot.data["ke_coordinator_service"] == "childhood_and_education"
    assert bti.snapshot.data["ke_individual_plan"] is True
    back, reported = bti.history[-1], ot.history[-1]
    assert (back.kind, back.actor, back.event) == ("report", "system", "record_ke_decision")
    assert (reported.kind, reported.event, reported.code) == ("reported", "record_ke_decision", None)
    assert back.ref is not None and reported.ref is not None
    assert (back.ref["case_id"], back.ref["seq"]) == (ot.case_id, reported.seq)
    assert (reported.ref["case_id"], reported.ref["seq"]) == (bti.case_id, back.seq)
    assert back.reason == "Siv from the school health service is child coordinator"
    assert replay(BTI, bti).ok and replay(OT, ot).ok


@pytest.fixture
def handoff_store(url: str, clock: ManualClock) -> Iterator[CaseStore]:
    s = open_store(url, processes=[BTI, OT], clock=clock)
    yield s
    s.close()


def _walk_store(store: CaseStore, clock: ManualClock) -> str:
    store.create(Case.open(BTI, "bti-jonas", clock=clock))
    child = None
    for event, actor, data, reason in TO_KE:
        fired = store.fire("bti-jonas", event, actor, data, reason)
        child = fired.spawned[0] if fired.spawned else child
    assert child is not None
    return child


def test_kes_decision_comes_back_in_the_same_store_transaction(handoff_store: CaseStore, clock: ManualClock) -> None:
    child = _walk_store(handoff_store, clock)
    assert handoff_store.get(child).state == "reported_to_ke"
    handoff_store.fire(child, "start_assessment", KE)
    before = handoff_store.get("bti-jonas").version
    handoff_store.fire(child, "appoint_coordinator", KE, APPOINT, "Siv is child coordinator")
    assert handoff_store.get("bti-jonas").version == before + 1
    bti, ot = handoff_store.history("bti-jonas"), handoff_store.history(child)
    assert (bti[-1].kind, bti[-1].event, ot[-1].kind) == ("report", "record_ke_decision", "reported")
    assert bti[-1].ref is not None and ot[-1].ref is not None
    assert bti[-1].ref["seq"] == ot[-1].seq and ot[-1].ref["seq"] == bti[-1].seq
    assert handoff_store.snapshot("bti-jonas")["data"]["ke_coordinator_kind"] == "child_coordinator"
    assert all(check.ok for check in handoff_store.verify_cases())  # both logs replay from the store
    assert handoff_store.load("bti-jonas").snapshot.data["ke_decision"] == "coordinator_appointed"


def test_a_parent_that_refuses_the_report_logs_it_and_the_child_goes_on(handoff_store: CaseStore,
                                                                         clock: ManualClock) -> None:
    child = _walk_store(handoff_store, clock)
    # the BTI case moves on and closes before KE decides (the family moved; the BTI case is closed)
    handoff_store.fire("bti-jonas", "hold_evaluation_meeting", KARI)
    handoff_store.fire("bti-jonas", "conclude_discussion", KARI, {"childs_view_obtained": True})
    handoff_store.fire("bti-jonas", "close_with_reason", KARI, {"closing_reason": "The family moved away"})
    handoff_store.fire(child, "start_assessment", KE)
    handoff_store.fire(child, "decide_not_eligible", KE, {"not_eligible_reason": "Needs met by the new municipality"})
    assert handoff_store.get(child).state == "not_eligible"  # the child's step commits
    bti, ot = handoff_store.history("bti-jonas"), handoff_store.history(child)
    assert (bti[-1].kind, bti[-1].event, bti[-1].actor) == ("denied", "record_ke_not_eligible", "system")
    assert ot[-1].kind == "reported" and ot[-1].code == bti[-1].code
    assert bti[-1].ref is not None and bti[-1].ref["case_id"] == child
    assert handoff_store.get("bti-jonas").state == "closed"
    assert all(check.ok for check in handoff_store.verify_cases())


def test_in_memory_a_refused_report_is_logged_on_both_sides(clock: ManualClock) -> None:
    bti, ot = _walk_case(clock)
    bti.fire("hold_evaluation_meeting", KARI)
    bti.fire("conclude_discussion", KARI, {"childs_view_obtained": True})
    bti.fire("close_with_reason", KARI, {"closing_reason": "The family moved away"})
    ot.fire("start_assessment", KE)
    ot.fire("decide_not_eligible", KE, {"not_eligible_reason": "Needs met by the new municipality"})
    assert ot.state == "not_eligible" and bti.state == "closed"
    assert (bti.history[-1].kind, ot.history[-1].kind) == ("denied", "reported")
    assert ot.history[-1].code == bti.history[-1].code == "case-closed"
    assert replay(BTI, bti).ok and replay(OT, ot).ok


def test_a_case_opened_without_a_handoff_reports_nothing(clock: ManualClock) -> None:
    ot = Case.open(OT, "ot-alone", clock=clock, data={"need_summary": "x", "consent_to_ke_report": True})
    ot.fire("ask_for_consent", KE)
    ot.fire("report_to_ke", Actor("e", {"employee"}))
    ot.fire("start_assessment", KE)
    ot.fire("appoint_coordinator", KE, APPOINT)
    assert not {"reported", "report"} & {e.kind for e in ot.history}


@pytest.mark.parametrize(("change", "code"), [
    ({"data": {"coordinator_service": "health"}}, "data-differs"),
    ({"ref": {"case_id": "someone-else", "process_id": "bti_children", "seq": 20}}, "unexpected-kind"),
    ({"transition": "start_assessment@reported_to_ke"}, "unexpected-kind"),
])
def test_replay_rebuilds_the_reported_entry_from_the_childs_own_state(clock: ManualClock, change: dict[str, Any],
                                                                      code: str) -> None:
    _, ot = _walk_case(clock)
    ot.fire("start_assessment", KE)
    ot.fire("appoint_coordinator", KE, APPOINT)
    entries = [{k: v for k, v in e.to_json().items() if k not in ("hash", "prev_hash")} for e in ot.history]
    assert entries[-1]["kind"] == "reported"
    entries[-1].update(change)
    result = replay(OT, entries)
    assert not result.ok and result.divergence is not None
    assert result.divergence.index == len(entries) - 1
    assert result.divergence.code == code, result.divergence
