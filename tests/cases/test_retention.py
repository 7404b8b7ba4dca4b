"""Retention on every store (memory, SQLite, PostgreSQL), with a manual clock: what is due is listed
and, applied, removed by a logged redaction by the system whose authority is the rule; the dry run
changes no case; a second run finds nothing; a case that fails is reported and the others go on; the
chain, replay and a signed checkpoint taken before all still verify."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.cases.store.retention import RetentionApplied, RetentionFailure, RetentionItem
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.errors import RedactionRefused, RoleDenied
from careflow.history.checkpoint import generate_keys, load_private_key
from careflow.runtime.compiled import SYSTEM, Actor, compile
from careflow.runtime.records import RECORDS_ROLE
from tests.support import process_text

KEPT = compile(loads(process_text("kept")))
NURSE = Actor("nina", {"nurse"})
OFFICER = Actor("rita", {RECORDS_ROLE})
SECRET = "Kari Nordmann, Storgata 1"
PHONE = "+47 99887766"
CLOSED = datetime(2015, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2015, 1, 5, 8, 0, tzinfo=UTC))


@pytest.fixture
def kept(url: str, clock: ManualClock) -> Iterator[CaseStore]:
    s = open_store(url, processes=[KEPT], clock=clock)
    yield s
    s.close()


def closed_case(store: CaseStore, clock: ManualClock, case_id: str, when: datetime) -> None:
    """A case of ``kept`` with notes and a phone number, closed at ``when``."""
    clock.set(max(clock.now(), when - timedelta(days=3)))
    store.create(Case.open(KEPT, case_id, actor=NURSE, clock=clock))
    store.fire(case_id, "note", NURSE, {"notes": SECRET, "phone": PHONE})
    clock.set(max(clock.now(), when))
    store.fire(case_id, "close", NURSE)


def items(found: Iterable[object]) -> list[RetentionItem]:
    out = list(found)
    assert all(isinstance(d, RetentionItem) for d in out), out
    return [d for d in out if isinstance(d, RetentionItem)]


def applied(found: Iterable[object]) -> list[RetentionApplied]:
    out = list(found)
    assert all(isinstance(d, RetentionApplied) for d in out), out
    return [d for d in out if isinstance(d, RetentionApplied)]


def state(store: CaseStore) -> dict[str, tuple[int, int]]:
    """Every case's version and number of entries."""
    return {i.case_id: (i.version, len(store.history(i.case_id))) for i in store.query()}


def test_a_case_closed_ten_years_and_a_day_ago_is_due_and_one_closed_nine_years_ago_is_not(
        kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    closed_case(kept, clock, "young", CLOSED + timedelta(days=366))
    kept.create(Case.open(KEPT, "open", actor=NURSE, clock=clock))  # never closed: never due
    clock.set(CLOSED.replace(year=2025) + timedelta(days=1))
    due = items(kept.retention_due())
    assert [(d.case_id, d.rule, d.field, d.fields) for d in due] == [
        ("old", "P10Y", None, ("notes",)), ("old", "P2Y", "phone", ("phone",)), ("young", "P2Y", "phone", ("phone",))]
    old = due[0]
    assert old.closed == CLOSED and old.due == CLOSED.replace(year=2025)
    assert old.values == ((0, "notes"), (1, "notes"))
    assert old.reason == "retention P10Y of process kept (closed 2015-03-01)"
    early = CLOSED.replace(year=2025) - timedelta(seconds=1)  # a second early: not yet
    assert [d.field for d in items(kept.retention_due(early)) if d.case_id == "old"] == ["phone"]


def test_applied_the_values_are_gone_and_the_case_still_verifies(kept: CaseStore, clock: ManualClock,
                                                                 tmp_path: Path) -> None:
    closed_case(kept, clock, "old", CLOSED)
    closed_case(kept, clock, "young", CLOSED.replace(year=2016))
    private, _ = tmp_path / "k.pem", tmp_path / "k.pub"
    generate_keys(private, tmp_path / "k.pub")
    before = kept.checkpoint(load_private_key(private))
    clock.set(CLOSED.replace(year=2025) + timedelta(days=1))
    done = applied(kept.apply_retention())
    assert [(d.case_id, d.item.rule) for d in done] == [("old", "P10Y"), ("old", "P2Y"), ("young", "P2Y")]
    assert SECRET not in kept.export("old") and PHONE not in kept.export("old") and PHONE not in kept.export("young")
    assert SECRET in kept.export("young")  # nine years after closing: its notes are kept
    entry = kept.history("old")[-2]
    assert (entry.kind, entry.actor, entry.roles, entry.reason) == (
        "redacted", "system", ("system",), "retention P10Y of process kept (closed 2015-03-01)")
    assert entry.to_json()["ref"]["retention"] == {"rule": "P10Y", "field": None, "closed": CLOSED.isoformat()}
    assert all(c.ok for c in kept.verify_cases())  # hash chain, commitments, replay
    assert all(c.ok for c in kept.verify_cases(checkpoint=before))  # the checkpoint taken before still verifies
    assert kept.load("old").data == {"notes": None, "phone": None}
    reads = [(a.actor, a.action, a.origin) for a in kept.access_log("old")]
    assert ("system", "retention", "system") in reads and ("system", "redact", "system") in reads


def test_the_dry_run_changes_no_case(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    before = state(kept)
    assert len(list(kept.retention_due())) == 2
    assert state(kept) == before  # no entry, no version
    assert SECRET in kept.export("old")
    assert "retention" in [a.action for a in kept.access_log("old", actor="system")]  # read as the system


def test_a_second_run_removes_nothing_new(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert len(list(kept.apply_retention())) == 2
    after = state(kept)
    assert list(kept.apply_retention()) == [] and list(kept.retention_due()) == []
    assert state(kept) == after


def test_a_field_rule_falls_due_before_the_process_rule(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    clock.set(CLOSED.replace(year=2017) + timedelta(days=1))  # the phone's P2Y has passed, not the case's P10Y
    (done,) = kept.apply_retention()
    assert isinstance(done, RetentionApplied) and done.item.field == "phone"
    case = kept.load("old")
    assert case.data == {"notes": SECRET, "phone": None}
    assert all(c.ok for c in kept.verify_cases())


def test_a_failing_case_is_reported_and_the_rest_go_on(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "a", CLOSED)
    closed_case(kept, clock, "b", CLOSED)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    nurse = list(kept.apply_retention(actor=NURSE))  # an actor given needs the records role
    assert all(isinstance(d, RetentionFailure) and d.code == RoleDenied.code for d in nurse)
    assert [d.case_id for d in nurse] == ["a", "a", "b", "b"]
    assert kept.history("a")[-1].kind == "denied"  # each refusal logged, as any redaction's
    done = list(kept.apply_retention(actor=OFFICER))
    assert [d.case_id for d in done if isinstance(d, RetentionApplied)] == ["a", "a", "b", "b"]
    assert kept.history("b")[-1].actor == "rita" and "retention" in kept.history("b")[-1].to_json()["ref"]
    assert all(c.ok for c in kept.verify_cases())


def test_retention_is_not_applied_ahead_of_time(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    with pytest.raises(RedactionRefused, match="ahead of time"):
        kept.apply_retention(clock.now() + timedelta(days=1))
    assert [d.case_id for d in kept.retention_due(datetime(2030, 1, 1, tzinfo=UTC))] == ["old", "old"]
    assert SECRET in kept.export("old")


def test_the_system_may_redact_only_what_a_rule_makes_due(kept: CaseStore, clock: ManualClock) -> None:
    from careflow.cases.store.base import BaseStore
    from careflow.cases.store.records import redact

    closed_case(kept, clock, "old", CLOSED)
    closed_case(kept, clock, "young", datetime(2024, 3, 1, tzinfo=UTC))
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(kept, BaseStore)
    rule = {"rule": "P10Y", "field": None, "closed": CLOSED.isoformat()}
    for case_id, fields, retention in (("young", ["notes"], {**rule, "closed": "2024-03-01T00:00:00+00:00"}),
                                       ("old", ["phone"], rule),  # the phone is under its own rule
                                       ("old", ["notes"], None)):  # no rule named
        with pytest.raises(RoleDenied):
            redact(kept, case_id, fields, None, SYSTEM, "just because", "system", None, retention=retention)
        assert kept.history(case_id)[-1].kind == "denied"
    with pytest.raises(RoleDenied):  # a person never redacts as the system
        redact(kept, "old", ["notes"], None, NURSE, "r", "system", None, retention=rule)
    entries = len(kept.history("young"))
    with pytest.raises(RedactionRefused, match="log shows"):  # a closing time the log does not show
        redact(kept, "young", ["notes"], None, SYSTEM, "r", "system", None, retention={**rule, "closed": "2000"})
    assert len(kept.history("young")) == entries
    assert SECRET in kept.export("old")
    assert all(c.ok for c in kept.verify_cases())  # the refusals replay as refusals


def test_redact_and_correct_record_their_read(kept: CaseStore, clock: ManualClock) -> None:
    closed_case(kept, clock, "old", CLOSED)
    kept.redact("old", ["phone"], actor=OFFICER, reason="asked by the patient")
    kept.correct("old", "notes", "Kari N.", actor=OFFICER, reason="wrong name\nsee ticket 4")
    reads = [(a.actor, a.roles, a.action, a.purpose, a.origin) for a in kept.access_log("old")]
    assert reads[-2:] == [("rita", (RECORDS_ROLE,), "redact", "asked by the patient", "person"),
                          ("rita", (RECORDS_ROLE,), "redact", "wrong name see ticket 4", "person")]
    with pytest.raises(RoleDenied):
        kept.redact("old", ["notes"], actor=NURSE, reason="curious")
    assert kept.access_log("old")[-1][3:8] == ("nina", ("nurse",), "curious", "redact", "person")
    assert all(c.ok for c in kept.verify_access())


def test_the_report_is_streamed(kept: CaseStore, clock: ManualClock) -> None:
    for n in range(3):
        closed_case(kept, clock, f"c{n}", CLOSED + timedelta(days=n))
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    found = kept.retention_due()
    assert iter(found) is found  # a generator: a batch of cases at a time
    assert json.dumps([d.case_id for d in found]) == json.dumps(["c0", "c0", "c1", "c1", "c2", "c2"])


@settings(max_examples=25, deadline=None)
@given(closings=st.lists(st.integers(0, 40 * 366), min_size=1, max_size=4), later=st.integers(0, 15 * 366))
def test_what_is_listed_is_exactly_what_is_due_and_applying_it_leaves_nothing(closings: list[int],
                                                                             later: int) -> None:
    """Whatever the closing times and the moment asked about: an item is listed iff closing + its rule is
    not after that moment; applied, everything listed is gone, nothing else is, and the store verifies."""
    from careflow.runtime.retention import due as due_at

    clock = ManualClock(datetime(1990, 1, 1, tzinfo=UTC))
    with open_store("memory:", processes=[KEPT], clock=clock) as s:
        for n, days in enumerate(sorted(closings)):
            closed_case(s, clock, f"c{n}", datetime(1990, 1, 5, 8, tzinfo=UTC) + timedelta(days=days))
        at = clock.now() + timedelta(days=later)
        clock.set(at)
        expected = {(f"c{n}", rule) for n, days in enumerate(sorted(closings)) for rule in ("P10Y", "P2Y")
                    if due_at(datetime(1990, 1, 5, 8, tzinfo=UTC) + timedelta(days=days),
                              KEPT.process.retention_of("notes" if rule == "P10Y" else "phone")  # type: ignore[arg-type]
                              ) <= at}
        assert {(d.case_id, d.rule) for d in items(s.retention_due(at))} == expected
        assert {(d.case_id, d.item.rule) for d in applied(s.apply_retention(at))} == expected
        assert list(s.retention_due(at)) == [] and all(c.ok for c in s.verify_cases())
        for n in range(len(closings)):
            data = s.load(f"c{n}").data
            assert (data["notes"] is None) == ((f"c{n}", "P10Y") in expected)
            assert (data["phone"] is None) == ((f"c{n}", "P2Y") in expected)


def test_replay_refuses_a_system_redaction_no_rule_allowed(clock: ManualClock) -> None:
    """A log whose system redaction was made under a rule the process does not have (here: the same id and
    version with ``retention: P1D``) does not replay: the redaction is decided again, and refused."""
    from careflow.errors import HistoryError

    lax = compile(loads(process_text("kept").replace("retention: P10Y", "retention: P1D")))
    with open_store("memory:", processes=[lax], clock=clock) as s:
        closed_case(s, clock, "k", CLOSED)
        clock.set(CLOSED + timedelta(days=2))
        assert [d.item.rule for d in applied(s.apply_retention())] == ["P1D"]
        text = s.export("k")
    with pytest.raises(HistoryError, match="may not redact"):
        Case.from_json(KEPT, text)
    assert Case.from_json(lax, text).data["notes"] is None
