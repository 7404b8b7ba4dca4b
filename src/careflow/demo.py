"""``make demo``: a tour of careflow over the bundled processes.

Run with ``python -m careflow.demo``. Each section uses only the public library API.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from careflow.cli import main as cli

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
    from careflow.loader import bundled, find, validate_text

    heading("1. The bundled processes (careflow list)")
    cli(["list", "--lang", "en"])

    heading("2. Every bundled process passes strict validation (careflow validate --strict)")
    t0 = time.perf_counter()
    paths = [str(find(pid)) for pid in bundled()]
    status = cli(["validate", "--strict", *paths])
    print(f"({(time.perf_counter() - t0) * 1000:.0f} ms for {len(paths)} processes)")

    heading("3. PSHT, the nine steps, in nynorsk (careflow show psht --lang nn)")
    cli(["show", "psht", "--lang", "nn"])

    heading("4. What an author sees for a broken file: every problem, located, with a hint")
    result = validate_text(_BROKEN, "kommune/broken_example.yaml")
    for diagnostic in result.diagnostics:
        print(diagnostic.format())
    heading("5. A PSHT case from referral to exit (c), which hands off to an oppfølgingsteam case")
    psht_walk()
    heading("6. Handbook diagrams, in nynorsk and English (careflow render)")
    out = Path("out/demo")
    out.mkdir(parents=True, exist_ok=True)
    for pid in ("bti_children", "psht"):
        for lang in ("nn", "en"):
            fmt = "svg" if shutil.which("dot") else "mermaid"
            target = out / f"{pid}.{lang}.{'svg' if fmt == 'svg' else 'mmd'}"
            cli(["render", pid, "-f", fmt, "--lang", lang, "-o", str(target)])
            print(f"wrote {target}")
    return status


def psht_walk() -> None:
    from careflow import Actor, CareflowError, Case, ManualClock, load

    clock = ManualClock(datetime(2026, 9, 7, 8, 30, tzinfo=UTC))
    gp, nurse, doctor = Actor("dr-gran", {"referrer"}), Actor("nora", {"nurse"}), Actor("dag", {"doctor"})
    case = Case.open(load("psht"), "psht-2026-001", actor=gp, clock=clock)
    referral = {"referrer_kind": "gp", "referral_channel": "dips", "referral_reason": "falls at home"}

    def fire(event: str, actor: Actor, data: Mapping[str, object] | None = None, reason: str | None = None) -> None:
        clock.advance(hours=6)
        try:
            result = case.fire(event, actor, data, reason=reason)
        except CareflowError as exc:
            print(f"  REFUSED  {event:28} by {actor.id:8} {exc}")
            for why in case.explain(event, actor, data).reasons:
                print(f"           why: {why}")
            return
        print(f"  {result.entries[0].kind:8} {event:28} by {actor.id:8} -> {case.state}")
        for child in result.spawned:
            print(f"  spawned  {child.process_id} case {child.case_id} in state {child.state}")

    fire("submit_referral", gp, referral)  # no consent yet: refused, and the refusal is logged
    fire("record_consent", gp, {"consent_to_referral": True}, reason="the patient agreed by phone")
    fire("submit_referral", gp, referral)
    accept = {"benefits_from_psht": True, "referral_complete": True, "needs_interdisciplinary_approach": True}
    fire("accept_referral", nurse, accept)  # the first notes are not written: the checklist refuses
    walk: list[tuple[str, Mapping[str, object] | None]] = [
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
    for event, data in walk:
        fire(event, nurse if event.startswith("note") else doctor, data)
    check = case.verify()
    chain = "intact" if check else check.message
    print(f"\n  {len(case.history)} audit entries; hash chain: {chain}; head {case.head[:16]}…")
    print("  the last three entries:")
    for entry in case.history[-3:]:
        print(f"    #{entry.seq} {entry.time:%Y-%m-%d %H:%M} {entry.kind:8} {entry.event or '':22} "
              f"{entry.source or ''} -> {entry.target or ''}  {entry.hash[:12] if entry.hash else ''}")


if __name__ == "__main__":
    sys.exit(main())
