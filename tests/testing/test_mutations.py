"""Mutation tests: broken copies of a generated history fail at the right entry, for the right reason.

Semantic mutations (a wrong event, a wrong role, a skipped step, a reordered pair) are re-sealed, so
the hash chain is intact and only the engine can tell: they stand for a forged log, or for a
hand-written history that never had hashes. Tampering is not re-sealed: the chain must catch it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from careflow.definitions.loader import load
from careflow.history.replay import replay
from careflow.runtime.audit import AuditEntry, seal_all
from careflow.testing import assert_replays, generate_paths

Records = list[dict[str, Any]]


@functools.cache
def _original() -> tuple[dict[str, Any], ...]:
    """The generated psht history that accepts the referral and reports to KE (exit c)."""
    result = generate_paths(load("psht"), "transitions")
    path = next(p for p in result.paths if "report_to_ke@transfer" in p.covers)
    return tuple(e.to_json() for e in path.case.history)


def original() -> Records:
    return [dict(e) for e in _original()]


def index_of(records: Records, event: str) -> int:
    return next(i for i, e in enumerate(records) if e["event"] == event and e["kind"] == "fired")


def reseal(records: Records) -> Records:
    """Renumber ``seq`` and recompute every hash: the chain is consistent again."""
    entries = [AuditEntry.from_json({**r, "seq": i, "prev_hash": None, "hash": None}) for i, r in enumerate(records)]
    return [e.to_json() for e in seal_all(entries)]


def wrong_event(records: Records) -> tuple[Records, int]:
    i = index_of(records, "accept_referral")
    records[i]["event"] = "map_goals"  # a real event of psht, but not one triage offers
    return reseal(records), i


def wrong_role(records: Records) -> tuple[Records, int]:
    i = index_of(records, "accept_referral")
    records[i]["roles"] = ["secretary"]  # secretaries may write notes, not accept referrals
    return reseal(records), i


def skipped_step(records: Records) -> tuple[Records, int]:
    i = index_of(records, "submit_referral")
    del records[i]  # the case never left 'referral'; the next entry happens in 'triage'
    return reseal(records), i


def reordered_pair(records: Records) -> tuple[Records, int]:
    i = index_of(records, "submit_referral")
    records[i], records[i + 1] = records[i + 1], records[i]
    records[i]["time"], records[i + 1]["time"] = records[i + 1]["time"], records[i]["time"]
    return reseal(records), i


def tampered_data(records: Records) -> tuple[Records, int]:
    i = index_of(records, "decide_further_follow_up")
    if "values" in records[i]:  # a committed entry: the value kept beside it is edited after the fact
        records[i]["values"]["needs_coordinator"]["value"] = False
    else:
        records[i]["data"] = {**records[i]["data"], "needs_coordinator": False}  # edited after the fact
    return records, i


def tampered_hash(records: Records) -> tuple[Records, int]:
    i = index_of(records, "plan_agreed")
    records[i]["hash"] = "f" * 64
    return records, i


def rehashed_entry(records: Records) -> tuple[Records, int]:
    """An edited entry whose own hash was recomputed: the next entry no longer points at it."""
    i = index_of(records, "risk_assessed")
    records[i]["data"] = {"risk_summary": "nothing to see"}
    entry = AuditEntry.from_json(records[i])
    records[i] = seal_all([entry], entry.prev_hash or "")[0].to_json()
    return records, i + 1


Mutation = Callable[[Records], tuple[Records, int]]
#: mutation -> (the divergence code, words its reason contains)
MUTATIONS: dict[str, tuple[Mutation, str, str]] = {
    "wrong-event": (wrong_event, "event-not-allowed", "'map_goals' is not possible in state 'triage'"),
    "wrong-role": (wrong_role, "role-denied", "'secretary' may not fire 'accept_referral'"),
    "skipped-step": (skipped_step, "event-not-allowed", "'note_in_dips' is not possible in state 'referral'"),
    "reordered-pair": (reordered_pair, "event-not-allowed", "'note_in_dips' is not possible in state 'referral'"),
    "tampered-data": (tampered_data, "hash-mismatch", "hash does not match"),
    "tampered-hash": (tampered_hash, "hash-mismatch", "hash does not match"),
    "rehashed-entry": (rehashed_entry, "link-broken", "does not point at the entry before it"),
}


def write(records: Records, path: Path) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_the_original_replays(tmp_path: Path) -> None:
    assert_replays("psht", write(original(), tmp_path / "original.jsonl"))
    assert_replays("psht", write(reseal(original()), tmp_path / "resealed.jsonl"))  # resealing changes nothing


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutation_fails_at_the_right_entry_for_the_right_reason(name: str, tmp_path: Path) -> None:
    mutate, code, words = MUTATIONS[name]
    records, index = mutate(original())
    file = write(records, tmp_path / f"{name}.jsonl")
    result = replay(load("psht"), file)
    assert not result.ok, name
    divergence = result.divergence
    assert divergence is not None
    assert (divergence.index, divergence.code) == (index, code), divergence.format()
    assert words in divergence.reason, divergence.format()
    with pytest.raises(AssertionError) as failure:
        assert_replays("psht", file)
    message = str(failure.value)
    assert f"does not replay on psht@1.0: entry {index} [{code}]" in message
    assert divergence.reason in message and "--- recorded" in message


def test_in_memory_entries_fail_the_same_way() -> None:
    records, index = wrong_role(original())
    with pytest.raises(AssertionError, match=rf"history does not replay on psht@1.0: entry {index} \[role-denied\]"):
        assert_replays("psht", records)
