"""Redaction on every store: values removed from the log and the snapshot, the chain and replay intact,
the redaction itself audited, and a redaction by someone without the records role refused and logged."""

from __future__ import annotations

import json

import pytest

from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from careflow.errors import CaseError, RedactionRefused, RoleDenied
from careflow.runtime.compiled import Actor
from careflow.runtime.records import RECORDS_ROLE
from tests.cases.relay import ANN, BOB, RELAY_C, started

OFFICER = Actor("rita", {RECORDS_ROLE})
SECRET = "Ola Nordmann, fnr 01017012345"


def noted(store: CaseStore, clock: ManualClock, case_id: str = "k1") -> None:
    started(store, clock, case_id)
    store.fire(case_id, "note", BOB, {"tags": SECRET, "score": 7})


def test_redact_removes_values_and_keeps_the_chain(store: CaseStore, clock: ManualClock) -> None:
    noted(store, clock)
    assert SECRET in store.export("k1")
    seq = store.history("k1")[-1].seq  # the note; the opening (seq 0) recorded tags as []
    done = store.redact("k1", ["tags"], actor=OFFICER, reason="asked by the family (GDPR art. 17)")
    assert done.values == ((0, "tags"), (seq, "tags")) and done.cleared == ("tags",)
    assert done.entry.kind == "redacted" and done.entry.reason == "asked by the family (GDPR art. 17)"
    assert done.entry.to_json()["ref"]["values"] == [[0, "tags"], [seq, "tags"]]  # seq and key, never the value
    text = store.export("k1")
    assert SECRET not in text and SECRET not in json.dumps(store.snapshot("k1"))
    assert store.snapshot("k1")["data"]["tags"] is None and store.snapshot("k1")["data"]["score"] == 7
    assert all(c.ok for c in store.verify_cases())  # hash chain, commitments and replay
    case = store.load("k1")
    assert case.verify_chain() and case.data["tags"] is None
    history = store.history("k1")
    assert [e.kind for e in history][-1] == "redacted"
    assert history[seq].commits is not None and "tags" not in history[seq].data and history[seq].data["score"] == 7
    store.fire("k1", "note", BOB, {"tags": "after"})  # the case goes on
    assert store.load("k1").data["tags"] == ("after",)


def test_redact_only_the_entries_named(store: CaseStore, clock: ManualClock) -> None:
    noted(store, clock)
    done = store.redact("k1", ["tags"], [0], actor=OFFICER, reason="wrong at opening")
    assert done.values == ((0, "tags"),) and done.cleared == ()  # the newest value came from seq 2
    assert store.snapshot("k1")["data"]["tags"] == [SECRET]
    assert all(c.ok for c in store.verify_cases())


def test_redaction_without_the_role_is_refused_and_logged(store: CaseStore, clock: ManualClock) -> None:
    noted(store, clock)
    with pytest.raises(RoleDenied) as caught:
        store.redact("k1", ["tags"], actor=ANN, reason="curious")
    assert caught.value.entry is not None and caught.value.entry.kind == "denied"
    last = store.history("k1")[-1]
    assert (last.kind, last.actor, last.event, last.code) == ("denied", "ann", "redact", "role-denied")
    assert SECRET in store.export("k1")  # nothing was removed
    assert all(c.ok for c in store.verify_cases())


def test_what_cannot_be_redacted_is_refused_before_anything_is_written(store: CaseStore,
                                                                        clock: ManualClock) -> None:
    noted(store, clock)
    before = len(store.history("k1"))
    for fields, seqs, reason in ((["nothing"], None, "r"), (["tags"], [1], "r"), (["tags"], None, " ")):
        with pytest.raises(RedactionRefused) as caught:
            store.redact("k1", fields, seqs, actor=OFFICER, reason=reason)
        assert caught.value.code == "CF975" and caught.value.hint
    assert len(store.history("k1")) == before


def test_the_records_role_is_the_stores_to_choose(url: str, clock: ManualClock) -> None:
    with open_store(url, processes=[RELAY_C], clock=clock, records_role="arkivar") as s:
        noted(s, clock)
        with pytest.raises(RoleDenied):
            s.redact("k1", ["tags"], actor=OFFICER, reason="r")
        s.redact("k1", ["tags"], actor=Actor("arne", {"arkivar"}), reason="r")
        assert all(c.ok for c in s.verify_cases())


def test_a_head_taken_before_a_redaction_still_verifies(store: CaseStore, clock: ManualClock) -> None:
    """What a signed checkpoint holds per case (head hash, entry count) still fits after a redaction:
    it appends an entry and changes none (docs/records.md, 'How an auditor checks a redacted case')."""
    noted(store, clock)
    before = store.history("k1")
    head, count = before[-1].hash, len(before)
    store.redact("k1", ["tags", "score"], actor=OFFICER, reason="retention period ended")
    after = store.history("k1")
    assert after[count - 1].hash == head and [e.hash for e in after[:count]] == [e.hash for e in before]
    assert len(after) == count + 1 and store.load("k1").verify_chain()


def test_correct_records_the_new_value_and_removes_the_old(store: CaseStore, clock: ManualClock) -> None:
    noted(store, clock)
    done = store.correct("k1", "score", 4.5, actor=OFFICER, reason="typo in the assessment")
    assert done.entry.kind == "corrected" and dict(done.entry.data) == {"score": 4.5}
    assert (done.entry.seq - 1, "score") in done.values  # the note's 7 is removed
    assert store.snapshot("k1")["data"]["score"] == 4.5
    exported = json.loads(store.export("k1"))
    assert all(e.get("values", {}).get("score", {}).get("value") != 7 for e in exported["history"])
    assert all(c.ok for c in store.verify_cases()) and store.load("k1").data["score"] == 4.5
    store.redact("k1", ["score"], actor=OFFICER, reason="and now erased")  # a corrected value can be redacted
    assert all(c.ok for c in store.verify_cases()) and store.load("k1").data["score"] is None


def test_a_correction_that_does_not_fit_is_refused_and_logged(store: CaseStore, clock: ManualClock) -> None:
    noted(store, clock)
    with pytest.raises(CaseError) as caught:
        store.correct("k1", "score", "seven", actor=OFFICER, reason="r")
    assert caught.value.reason_code == "invalid-data"
    with pytest.raises(RoleDenied):
        store.correct("k1", "score", 1, actor=ANN, reason="r")
    kinds = [(e.kind, e.event, e.code) for e in store.history("k1")[-2:]]
    assert kinds == [("denied", "correct", "invalid-data"), ("denied", "correct", "role-denied")]
    assert store.snapshot("k1")["data"]["score"] == 7 and all(c.ok for c in store.verify_cases())


def test_a_case_that_handed_off_still_replays_after_a_redaction(store: CaseStore, clock: ManualClock) -> None:
    """The handoff carried tags to the follow-up as 'labels': replay cannot recompute that data once
    tags are gone, so the recorded data stands; 'labels' is its own value, redacted on its own."""
    noted(store, clock)
    store.fire("k1", "meet", BOB)
    store.fire("k1", "proceed", BOB)
    child = store.fire("k1", "hand_off", BOB).spawned[0]
    store.redact("k1", ["tags"], actor=OFFICER, reason="r")
    assert all(c.ok for c in store.verify_cases()) and store.load("k1").verify_chain()
    assert SECRET in store.export("k1")  # still in the spawned entry's 'labels', and in the child case
    store.redact("k1", ["labels"], actor=OFFICER, reason="r")
    store.redact(child, ["labels"], actor=OFFICER, reason="r")
    assert SECRET not in store.export("k1") and SECRET not in store.export(child)
    assert all(c.ok for c in store.verify_cases()) and store.load("k1").verify_chain()


@pytest.mark.parametrize("actor, reason, code", [
    (OFFICER, "x" * 4001, "CF510"),  # a reason past the limit every call has
    (OFFICER, "bad\x00reason", "CF510"),
    (Actor("rita\x1b[31m", {RECORDS_ROLE}), "asked", "CF509"),
])
def test_hostile_input_to_a_redaction_is_refused_before_anything_is_recorded(
        store: CaseStore, clock: ManualClock, actor: Actor, reason: str, code: str) -> None:
    noted(store, clock)
    before = store.get("k1").version
    with pytest.raises(CaseError) as caught:
        store.redact("k1", ["tags"], actor=actor, reason=reason)
    assert caught.value.code == code and store.get("k1").version == before and SECRET in store.export("k1")
    with pytest.raises(CaseError):
        store.correct("k1", "score", 3, actor=actor, reason=reason)
    assert store.get("k1").version == before
