"""User walks through the bundled processes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import ChecklistOpen, EventNotAllowed, GuardFailed, RoleDenied
from careflow.runtime.compiled import Actor
from tests.support import DOCTOR, GP, NURSE

T0 = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)


def test_psht_referral_to_ke_spawns_a_follow_up_team_case() -> None:
    clock = ManualClock(T0)
    case = Case.open(load("psht"), "psht-1", actor=GP, clock=clock)
    referral = {"referrer_kind": "gp", "referral_channel": "dips", "referral_reason": "falls at home"}

    # 1 referral: refused without consent, logged, nothing changes
    with pytest.raises(GuardFailed):
        case.fire("submit_referral", GP, referral)
    assert case.state == "referral" and case.history[-1].code == "guard-failed"
    assert "submit_referral" not in case.allowed(GP)
    case.fire("record_consent", GP, {"consent_to_referral": True}, reason="patient agreed by phone")
    assert "submit_referral" in case.allowed(GP)
    case.fire("submit_referral", GP, referral)

    # 2 triage: both first notes before accepting
    assert case.state == "triage"
    accept = {"benefits_from_psht": True, "referral_complete": True, "needs_interdisciplinary_approach": True}
    with pytest.raises(ChecklistOpen):
        case.fire("accept_referral", NURSE, accept)
    case.fire("note_in_dips", NURSE)
    case.fire("note_in_profil", NURSE)
    case.fire("accept_referral", NURSE, accept)

    # 3 meeting the patient; 4 mapping; 5 risk; 6 summary; 7 plan; 8 measures; 9 transfer
    steps: list[tuple[str, dict[str, object] | None]] = [
        ("map_goals", {"patient_goals": "walk to the shop again"}), ("read_record", None),
        ("visit_patient", None), ("patient_met", None),
        ("involve_services", None), ("do_home_visit", None), ("mapping_done", None),
        ("risk_assessed", {"risk_summary": "falls; polypharmacy"}),
        ("summary_done", None),
        ("plan_agreed", {"plan_summary": "physio twice a week"}),
        ("decide_further_follow_up", {"needs_municipal_services": True, "needs_coordinator": True}),
        ("hold_handover_meeting", None), ("inform_services", None), ("write_discharge_summary", None),
        ("prepare_ke_report", {"need_summary": "long-term coordinated services", "consent_to_ke_report": True,
                               "wants_individual_plan": True, "psht_attends_first_meeting": True}),
    ]
    for event, data in steps:
        clock.advance(hours=20)
        case.fire(event, DOCTOR, data)
    visited = list(dict.fromkeys(e.target for e in case.history if e.kind == "fired"))
    assert visited == ["referral", "triage", "meet_patient", "mapping", "risk_assessment", "summary", "plan",
                       "measures", "transfer"]
    assert [case.process.state(s or "").step for s in visited] == [1, 2, 3, 4, 5, 6, 7, 8, 9]

    # exit (c): reported to the coordinating unit, which opens an oppfolgingsteam case
    result = case.fire("report_to_ke", DOCTOR, reason="needs a coordinator")
    assert case.state == "closed_reported_to_ke" and case.closed
    (team,) = result.spawned
    assert team.process_id == "oppfolgingsteam" and team.state == team.process.state(team.leaf).path
    assert team.data["person_goals"] == "walk to the shop again"
    assert team.data["need_summary"] == "long-term coordinated services" and team.data["consent_to_ke_report"]
    assert team.history[0].ref is not None and team.history[0].ref["case_id"] == "psht-1"
    assert case.links[0].case_id == team.case_id and case.verify_chain() and team.verify_chain()
    assert Case.from_json(case.process, case.to_json()).history == case.history


def test_bti_children_goes_up_to_level_3_and_back_down_to_level_1() -> None:
    clock = ManualClock(T0)
    employee = Actor("eli", {"employee"})
    leader = Actor("lea", {"leader"})
    holder = Actor("sam", {"partner_service"})  # becomes stafettholder at level 2
    guardian = Actor("gro", {"guardian"})
    case = Case.open(load("bti_children"), "bti-1", actor=employee, clock=clock)

    case.fire("define_concern", employee, {"concern_description": "often tired and sad", "concern_subject": "child"})
    with pytest.raises(EventNotAllowed):  # the family is told only after the leader
        case.fire("share_with_family", employee)
    case.fire("share_with_leader", employee)
    assert case.data["leader_informed"] is True
    case.fire("share_with_family", employee)
    assert case.state == "level_0.l0_s4" and case.due_at is not None  # the 14-day decision clock
    case.fire("record_consent_to_share", guardian, {"consent_share_with_services": True})
    case.fire("involve_other_service", leader)
    assert case.state == "level_2.l2_s1"

    case.fire("record_consent_relay_log", guardian, {"consent_relay_log": True})
    case.fire("hold_network_meeting", holder, {"stafettholder_id": "sam",
                                               "participating_services": ["school", "ppt"]})
    assert dict(case.roles) == {"stafettholder": "sam"}
    with pytest.raises(RoleDenied):  # the stafettholder role is this case's, held by sam
        case.fire("plan_measures", Actor("eli", {"employee"}), {"evaluation_date": "2026-10-15"})
    case.fire("plan_measures", holder, {"evaluation_date": "2026-10-15"})
    case.fire("hold_evaluation_meeting", holder)
    case.fire("conclude_discussion", holder, {"childs_view_obtained": True})
    case.fire("record_consent_external", guardian, {"consent_external_partners": True})
    case.fire("escalate_to_level_3", holder)
    assert case.state == "level_3.l3_s1"

    case.fire("hold_first_meeting", Actor("ken", {"ke"}), {"stafettholder_id": "sam"})
    case.fire("plan_measures", holder, {"evaluation_date": "2026-12-01"})
    case.fire("hold_evaluation_meeting", holder)
    case.fire("conclude_discussion", holder, {"childs_view_obtained": True})
    case.fire("step_down_to_level_1", leader, {"stafettholder_id": "tove"}, reason="fewer services needed")
    assert case.state == "level_1.l1_s1" and dict(case.roles) == {"stafettholder": "tove"}

    tove = Actor("tove")
    with pytest.raises(RoleDenied):
        case.fire("open_relay_log", holder)  # sam no longer holds the baton
    for event, data in [("open_relay_log", None), ("agree_shared_understanding", {"evaluation_date": "2027-02-01"}),
                        ("hold_evaluation_meeting", None), ("conclude_discussion", {"childs_view_obtained": True}),
                        ("close_goal_reached", None)]:
        clock.advance(days=3)
        case.fire(event, tove, data)
    assert case.state == "closed" and case.closed
    levels = [e.target.split(".")[0] for e in case.history if e.kind == "fired" and e.target]
    assert list(dict.fromkeys(levels)) == ["level_0", "level_2", "level_3", "level_1", "closed"]
    assert case.verify_chain() and Case.from_json(case.process, case.to_json()).head == case.head
