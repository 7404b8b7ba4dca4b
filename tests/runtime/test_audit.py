"""The audit log: hash chain, verification naming the first broken link, lazy sealing, JSON."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.errors import GuardFailed
from careflow.runtime.audit import FIELDS, GENESIS, AuditEntry, canonical, verify_chain
from careflow.runtime.compiled import Actor
from tests.support import load_process

PROCESS = load_process("log")
CLERK = Actor("kim", {"clerk"})


def sample_case() -> Case:
    clock = ManualClock(datetime(2026, 5, 4, 10, tzinfo=UTC))
    case = Case.open(PROCESS, "log-1", actor=CLERK, clock=clock, reason="new referral")
    with contextlib.suppress(GuardFailed):
        case.fire("go", CLERK)
    steps: list[tuple[str, dict[str, Any] | None]] = [
        ("approve", {"ok": True}), ("write", {"note": "første notat ✓"}), ("go", None),
        ("back", None), ("go", None), ("write", {"note": "x"}), ("end", None)]
    for event, data in steps:
        clock.advance(minutes=7)
        case.fire(event, CLERK, data, reason=f"because {event}")
    return case


ENTRIES = sample_case().history


def test_chain_links_every_entry() -> None:
    assert verify_chain(ENTRIES).ok and verify_chain(ENTRIES).count == len(ENTRIES) == 9
    assert ENTRIES[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(ENTRIES):
        assert after.prev_hash == before.hash and after.seq == before.seq + 1
    assert [e.kind for e in ENTRIES[:2]] == ["opened", "denied"]


def test_hash_is_sha256_of_canonical_json() -> None:
    entry = ENTRIES[3]
    body = canonical(entry).decode("utf-8")
    # the hash covers a salted commitment to each data value, never the value itself
    assert "første notat ✓" not in body and '"data":{"#commit":{"note":"' in body
    assert '": ' not in body and ', "' not in body
    assert json.loads(body) == {k: v for k, v in entry.to_json().items() if k not in ("hash", "values")}
    assert entry.to_json()["values"]["note"]["value"] == "første notat ✓"
    assert list(json.loads(body)) == sorted(json.loads(body))
    assert hashlib.sha256(canonical(entry)).hexdigest() == entry.hash


def test_entries_round_trip_through_json() -> None:
    text = json.dumps([e.to_json() for e in ENTRIES], ensure_ascii=False)
    back = [AuditEntry.from_json(obj) for obj in json.loads(text)]
    assert back == list(ENTRIES) and verify_chain(back).ok


def test_sealing_is_lazy_and_deterministic() -> None:
    case = sample_case()
    assert case._sealed == 2  # the denied attempt was sealed when raised; the fired ones not yet
    assert case.history[-1].hash is not None and case._sealed == len(case._log)
    fresh = Case.open(PROCESS, "log-2", actor=CLERK, clock=ManualClock())
    fired = fresh.fire("approve", CLERK, {"ok": True})
    assert fresh._sealed == 0  # nothing hashed on the hot path
    assert fired.entry.hash is not None and fresh._sealed == 2  # sealed when read
    head = fresh.head
    assert fresh.head == head and fresh.history[-1].commits == fired.entry.commits  # sealed once, kept
    twin = Case.open(PROCESS, "log-2", actor=CLERK, clock=ManualClock())
    twin.fire("approve", CLERK, {"ok": True})
    # same content, other salts: the hashes differ, and each chain verifies
    assert twin.head != fresh.head and twin.verify_chain() and fresh.verify_chain()


def test_removed_entry_is_a_broken_link() -> None:
    broken = list(ENTRIES[:3]) + list(ENTRIES[4:])
    result = verify_chain(broken)
    assert (result.ok, result.index, result.problem) == (False, 3, "link-broken")


def test_reordered_entries_are_caught() -> None:
    broken = [ENTRIES[0], ENTRIES[2], ENTRIES[1], *ENTRIES[3:]]
    assert verify_chain(broken).index == 1


def _other(value: Any, data: st.DataObject) -> Any:
    """A value different from ``value`` of a plausible kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + data.draw(st.integers(1, 5))
    if isinstance(value, datetime):
        return value + timedelta(microseconds=data.draw(st.integers(1, 10**9)))
    if isinstance(value, tuple):
        return (*value, data.draw(st.text(min_size=1, max_size=5)))
    if isinstance(value, str):
        return value + data.draw(st.text(min_size=1, max_size=3))
    if value is None:
        return data.draw(st.one_of(st.text(max_size=3), st.integers(), st.booleans()))
    # a mapping: change, add or drop a key
    items = dict(value)
    key = data.draw(st.text(min_size=1, max_size=4))
    if bool(items) and data.draw(st.booleans()):
        items.pop(next(iter(items)))
    else:
        items[key] = data.draw(st.one_of(st.integers(), st.text(max_size=3), st.booleans()))
    return items


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_tampering_with_any_field_of_any_entry_is_caught(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(ENTRIES) - 1), label="index")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    entries = list(ENTRIES)
    old = getattr(entries[index], field)
    new = _other(old, data)
    if new == old:
        return
    entries[index] = entries[index]._replace(**{field: new})
    result = verify_chain(entries)
    assert not result.ok
    assert result.index == index, (field, result)
