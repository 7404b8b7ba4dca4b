"""What a case worker reads when something is refused: ``Case.explain(..., lang=)``'s ``message``, one
test per refusal type, in nynorsk and English, on the bundled processes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import ChecklistOpen
from careflow.runtime.compiled import Actor
from tests.support import GP, NURSE

T0 = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)
EMPLOYEE = Actor("eli", {"employee"})
GUARDIAN = Actor("gro", {"guardian"})
ACCEPT = {"benefits_from_psht": True, "referral_complete": True, "needs_interdisciplinary_approach": True}


def children_case() -> Case:
    return Case.open(load("bti_children"), "bti-1", actor=EMPLOYEE, clock=ManualClock(T0))


def at_triage() -> Case:
    case = Case.open(load("psht"), "psht-1", actor=GP, clock=ManualClock(T0))
    case.fire("record_consent", GP, {"consent_to_referral": True})
    case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    return case


def words(case: Case, event: str, actor: Actor, data: Mapping[str, object] | None = None) -> dict[str, str | None]:
    return {lang: case.explain(event, actor, data, lang=lang).message for lang in ("nn", "en")}


def test_event_not_allowed_says_where_it_is_possible_and_what_comes_first() -> None:
    case = children_case()
    case.fire("define_concern", EMPLOYEE, {"concern_description": "trøytt og lei seg i timane"})
    said = words(case, "share_with_family", EMPLOYEE)
    assert said["nn"] == (
        "«Uroa er delt med barnet/føresette/den gravide» er ikkje mogleg enno: det kjem i steg 3, «Del uroa med "
        "barnet/ungdommen, føresette eller den gravide». Først: del uroa med leiaren din (steg 2). Mogleg her: "
        "«Uroa er delt med leiaren», «Mistanke om vald eller seksuelle overgrep – direkte til barnevernet».")
    assert said["en"] == (
        "“Concern shared with the child/guardians/pregnant woman” is not possible yet: it comes at step 3, "
        "“Share the concern with the child/young person, guardians or the pregnant woman”. First: share the "
        "concern with your leader (step 2). Possible here: “Concern shared with the leader”, “Suspected violence "
        "or sexual abuse – straight to child welfare”.")
    explained = case.explain("share_with_family", EMPLOYEE)
    assert explained.code == "event-not-allowed" and "decision_overdue" not in explained.reasons[1]


def test_system_only_deadline_events_are_never_offered() -> None:
    case = children_case()
    case.fire("define_concern", EMPLOYEE, {"concern_description": "fråvær"})
    case.fire("share_with_leader", EMPLOYEE)
    case.fire("share_with_family", EMPLOYEE)  # l0_s4, where the 14-day decision deadline runs
    refused = case.explain("close_case", EMPLOYEE)
    assert refused.code == "event-not-allowed" and "decision_overdue" not in (refused.message or "")
    assert "decision_overdue" not in case.allowed(EMPLOYEE)
    assert words(case, "decision_overdue", EMPLOYEE) == {
        "nn": "Berre systemet (ein frist) kan gjere «Fristen på 14 dagar for avgjerd er passert»; du har «Tilsett».",
        "en": "Only the system (a deadline) can do “14-day decision deadline passed”; you have “Employee”."}


def test_role_denied_names_the_roles_by_their_labels() -> None:
    case = children_case()
    case.fire("define_concern", EMPLOYEE, {"concern_description": "fråvær"})
    assert words(case, "share_with_leader", GUARDIAN) == {
        "nn": "Berre «Tilsett» eller «Næraste leiar» kan gjere «Uroa er delt med leiaren»; du har «Føresett».",
        "en": "Only “Employee” or “Nearest leader” can do “Concern shared with the leader”; you have “Guardian”."}


def test_guard_failed_names_the_data_by_its_label() -> None:
    case = children_case()
    case.fire("define_concern", EMPLOYEE, {"concern_description": "fråvær"})
    case.fire("share_with_leader", EMPLOYEE)
    case.fire("share_with_family", EMPLOYEE)
    assert words(case, "involve_other_service", EMPLOYEE) == {
        "nn": "«Treng ei anna teneste (nivå 2)» er ikkje mogleg no: «Samtykke til å dela med annan teneste»: nei.",
        "en": "“Needs another service (level 2)” is not possible now: “Consent to share with another service”: no."}


def test_missing_data_names_the_fields_by_their_labels() -> None:
    assert words(children_case(), "define_concern", EMPLOYEE) == {
        "nn": "«Uroa er definert» treng: «Skildring av uroa».",
        "en": "“Concern defined” needs: “Description of the concern”."}


def test_invalid_data_names_the_field() -> None:
    said = words(children_case(), "define_concern", EMPLOYEE, {"concern_description": 5})
    assert said["nn"] == ("Opplysningane til «Uroa er definert» vart ikkje godtekne: «Skildring av uroa»: event data "
                          "'concern_description' must be text, not 5.")
    assert said["en"] is not None and said["en"].startswith(
        "The data for “Concern defined” was not accepted: “Description of the concern”: ")


def test_checklist_open_lists_the_items_in_the_language_asked_for() -> None:
    case = at_triage()
    assert words(case, "accept_referral", NURSE, ACCEPT) == {
        "nn": "«Ta imot tilvisinga» ville la desse punkta i «Tverrfagleg vurdering av tilvising» (steg 2) stå opne: "
              "«Første notat i DIPS», «Første notat i Profil».",
        "en": "“Accept the referral” would leave these items at “Interdisciplinary triage of the referral” (step 2) "
              "open: “First note in DIPS”, “First note in Profil”."}
    with pytest.raises(ChecklistOpen) as refused:
        case.fire("accept_referral", NURSE, ACCEPT)
    assert refused.value.items == ["first_note_dips", "first_note_profil"]
    assert refused.value.labels("nn") == ["Første notat i DIPS", "Første notat i Profil"]
    assert refused.value.labels() == refused.value.labels("nb") == ["Første notat i DIPS", "Første notat i Profil"]
    assert refused.value.labels("en") == ["First note in DIPS", "First note in Profil"]


def test_case_closed() -> None:
    case = at_triage()
    case.fire("note_in_dips", NURSE)
    case.fire("note_in_profil", NURSE)
    case.fire("decline_referral", NURSE, {"decline_reason": "no need for an interdisciplinary team"})
    assert words(case, "accept_referral", NURSE, ACCEPT) == {
        "nn": "Saka er avslutta («Tilvisinga er avslått»): ingenting meir kan gjerast i ho.",
        "en": "The case is closed (“Referral declined”): nothing more can be done in it."}


def test_the_default_language_is_the_process_language_and_others_read_english_sentences() -> None:
    case = children_case()
    assert case.explain("define_concern", EMPLOYEE).message == words(case, "define_concern", EMPLOYEE)["nn"]
    # a language without sentences here: English sentences, labels as the process has them (else its language)
    swedish = case.explain("define_concern", EMPLOYEE, lang="sv").message
    assert swedish == "“Uroa er definert” needs: “Skildring av uroa”."
