"""``make demo``: a tour of careflow over the bundled processes.

Run with ``python -m careflow.cli.demo``. Each section uses only the public library API.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from careflow.cli.main import main as cli

if TYPE_CHECKING:
    from careflow.cases.store import CaseStore
    from careflow.clock import ManualClock

_REFERRAL = {"referrer_kind": "gp", "referral_channel": "dips", "referral_reason": "falls at home"}

_BROKEN = """\
careflow: 1
id: broken_example
version: 1.0
title: {nb: Eksempel, en: Example}
language: nb
initial: referal
states:
  referral: {step: 1, label: Henvisning}
  triage: {step: 2, due: 7 days, label: Vurdering}
  closed: {final: true, label: Avsluttet}
transitions:
  - {event: accept, from: referral, to: tirage, when: "consent_to_referal", roles: [referer]}
  - {event: close, from: triage, to: closed}
"""


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


def main() -> int:
    from careflow.definitions.loader import bundled_processes, find_process, validate_text

    heading("1. The bundled processes (careflow list)")
    cli(["list", "--lang", "en"])

    heading("2. Every bundled process passes strict validation (careflow validate --strict)")
    t0 = time.perf_counter()
    paths = [str(find_process(pid)) for pid in bundled_processes()]
    status = cli(["validate", "--strict", *paths])
    print(f"({(time.perf_counter() - t0) * 1000:.0f} ms for {len(paths)} processes)")

    heading("3. PSHT, the nine steps, in nynorsk (careflow show psht --lang nn)")
    cli(["show", "psht", "--lang", "nn"])

    heading("4. What an author sees for a broken file: every problem, located, with a hint")
    result = validate_text(_BROKEN, "kommune/broken_example.yaml")
    for diagnostic in result.diagnostics:
        print(diagnostic.format())
    out = Path("out/demo")
    out.mkdir(parents=True, exist_ok=True)
    db = out / "careflow.db"
    for stale in out.glob("careflow.db*"):
        stale.unlink()
    url = f"sqlite:///{db}"
    heading(f"5. Cases in the SQLite store ({url}): PSHT to exit (c) with a handoff, BTI up to level 3 and down")
    status |= run_cases(url)
    heading("6. The store from the command line: case list, show, history, due, audit verify, audit access")
    cli(["case", "list", "--store", url, "--as", "dag:doctor", "--purpose", "ward round"])
    cli(["case", "show", "psht-2026-001", "--store", url, "--as", "dag:doctor", "--purpose", "assessment"])
    cli(["case", "history", "bti-2026-007", "--store", url, "--as", "siri:secretary", "--purpose", "complaint 17"])
    cli(["due", "--store", url, "--at", "2026-12-31"])
    status |= cli(["audit", "verify", "--store", url])
    cli(["audit", "access", "psht-2026-001", "--store", url])
    status |= cli(["audit", "access", "--store", url, "--verify"])
    heading("7. Handbook diagrams, in nynorsk and English (careflow render)")
    for pid in ("bti_children", "psht"):
        for lang in ("nn", "en"):
            fmt = "svg" if shutil.which("dot") else "mermaid"
            target = out / f"{pid}.{lang}.{'svg' if fmt == 'svg' else 'mmd'}"
            cli(["render", pid, "-f", fmt, "--lang", lang, "-o", str(target)])
            print(f"wrote {target}")
    return status


def run_cases(url: str) -> int:
    from careflow import Actor, CareflowError, ManualClock
    from careflow.cases.store import open_store

    clock = ManualClock(datetime(2026, 9, 7, 8, 30, tzinfo=UTC))
    store = open_store(url, clock=clock)

    def fire(case_id: str, event: str, actor: Actor, data: Mapping[str, object] | None = None,
             reason: str | None = None) -> None:
        clock.advance(hours=6)
        try:
            done = store.fire(case_id, event, actor, data, reason)
        except CareflowError as exc:
            print(f"  REFUSED  {event:28} by {actor.id:8} {exc}")
            for why in store.load(case_id).explain(event, actor, data).reasons:
                print(f"           why: {why}")
            return
        print(f"  {done.entries[0].kind:8} {event:28} by {actor.id:8} -> {done.state}")
        for child in done.spawned:
            print(f"  spawned  {store.get(child).process_id} case {child} (stored in the same transaction)")

    _psht_to_exit_c(store, clock, fire)
    _bti_up_and_down(store, clock, fire)
    _psht_waiting(store, clock, fire)
    return 0


Fire = Callable[..., None]  # fire(case_id, event, actor, data=None, reason=None), printing what happened


def _psht_to_exit_c(store: CaseStore, clock: ManualClock, fire: Fire) -> None:
    from careflow import Actor, Case, load

    gp, nurse, doctor = Actor("dr-gran", {"referrer"}), Actor("nora", {"nurse"}), Actor("dag", {"doctor"})
    store.create(Case.open(load("psht"), "psht-2026-001", actor=gp, clock=clock))
    print("PSHT: referral without consent, consent, nine steps, exit (c) to the coordinating unit (KE)")
    referral = dict(_REFERRAL)
    fire("psht-2026-001", "submit_referral", gp, referral)  # no consent yet: refused, and the refusal is logged
    fire("psht-2026-001", "record_consent", gp, {"consent_to_referral": True}, reason="the patient agreed by phone")
    fire("psht-2026-001", "submit_referral", gp, referral)
    accept = {"benefits_from_psht": True, "referral_complete": True, "needs_interdisciplinary_approach": True}
    fire("psht-2026-001", "accept_referral", nurse, accept)  # first notes not written: the checklist refuses
    psht: list[tuple[str, Mapping[str, object] | None]] = [
        ("note_in_dips", None), ("note_in_profil", None), ("accept_referral", accept),
        ("map_goals", {"patient_goals": "walk to the shop again"}), ("read_record", None), ("visit_patient", None),
        ("patient_met", None), ("involve_services", None), ("do_home_visit", None), ("mapping_done", None),
        ("risk_assessed", {"risk_summary": "falls; polypharmacy"}), ("summary_done", None),
        ("plan_agreed", {"plan_summary": "physiotherapy twice a week"}),
        ("decide_further_follow_up", {"needs_municipal_services": True, "needs_coordinator": True}),
        ("hold_handover_meeting", None), ("inform_services", None), ("write_discharge_summary", None),
        ("prepare_ke_report", {"need_summary": "long-term coordinated services", "consent_to_ke_report": True,
                               "wants_individual_plan": True, "psht_attends_first_meeting": True}),
        ("report_to_ke", None),
    ]
    for event, data in psht:
        fire("psht-2026-001", event, nurse if event.startswith("note") else doctor, data)



def _bti_up_and_down(store: CaseStore, clock: ManualClock, fire: Fire) -> None:
    from careflow import Actor, Case, load

    print("\nBTI for children: level 0, up to level 2 and 3, back down to level 1, closed")
    employee, leader, guardian = Actor("eli", {"employee"}), Actor("lea", {"leader"}), Actor("gro", {"guardian"})
    holder, ke, tove = Actor("sam", {"partner_service"}), Actor("ken", {"ke"}), Actor("tove")
    store.create(Case.open(load("bti_children"), "bti-2026-007", actor=employee, clock=clock))
    bti: list[tuple[str, Actor, Mapping[str, object] | None]] = [
        ("define_concern", employee, {"concern_description": "often tired and sad", "concern_subject": "child"}),
        ("share_with_family", employee, None),  # refused: the leader is told first
        ("share_with_leader", employee, None), ("share_with_family", employee, None),
        ("record_consent_to_share", guardian, {"consent_share_with_services": True}),
        ("involve_other_service", leader, None),
        ("record_consent_relay_log", guardian, {"consent_relay_log": True}),
        ("hold_network_meeting", holder, {"stafettholder_id": "sam"}),
        ("plan_measures", holder, {"evaluation_date": "2026-10-15"}), ("hold_evaluation_meeting", holder, None),
        ("conclude_discussion", holder, {"childs_view_obtained": True}),
        ("record_consent_external", guardian, {"consent_external_partners": True}),
        ("escalate_to_level_3", holder, None),
        ("hold_first_meeting", ke, {"stafettholder_id": "sam"}),
        ("plan_measures", holder, {"evaluation_date": "2026-12-01"}), ("hold_evaluation_meeting", holder, None),
        ("conclude_discussion", holder, {"childs_view_obtained": True}),
        ("step_down_to_level_1", leader, {"stafettholder_id": "tove"}),
        ("open_relay_log", holder, None),  # refused: sam no longer holds the baton
        ("open_relay_log", tove, None), ("agree_shared_understanding", tove, {"evaluation_date": "2027-02-01"}),
        ("hold_evaluation_meeting", tove, None), ("conclude_discussion", tove, {"childs_view_obtained": True}),
        ("close_goal_reached", tove, None),
    ]
    for event, actor, data in bti:
        fire("bti-2026-007", event, actor, data)

    print("\nBTI for children: a concern left undecided past the 14-day deadline")
    store.create(Case.open(load("bti_children"), "bti-2026-008", actor=employee, clock=clock))
    fire("bti-2026-008", "define_concern", employee,
         {"concern_description": "absent often", "concern_subject": "child"})
    clock.advance(days=15)
    done = store.tick("bti-2026-008")
    print(f"  deadline fired by the clock: {[e.event for e in done.entries]}; "
          f"decision_overdue = {store.load('bti-2026-008').data['decision_overdue']}")



def _psht_waiting(store: CaseStore, clock: ManualClock, fire: Fire) -> None:
    from careflow import Actor, Case, load

    gp = Actor("dr-gran", {"referrer"})
    print("\nPSHT: a second referral, waiting for triage (due within 3 days)")
    store.create(Case.open(load("psht"), "psht-2026-002", actor=gp, clock=clock))
    fire("psht-2026-002", "record_consent", gp, {"consent_to_referral": True})
    fire("psht-2026-002", "submit_referral", gp, dict(_REFERRAL))


if __name__ == "__main__":
    sys.exit(main())
