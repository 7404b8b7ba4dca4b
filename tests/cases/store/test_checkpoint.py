"""Signed checkpoints of a store (SQLite and the real PostgreSQL): what a plain hash chain cannot see —
a whole-chain rewrite, a cut tail with the case row fixed, a deleted case, replaced entries — is found
against a checkpoint taken before; and what a checkpoint cannot prove (edits after it) is shown too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careflow.cases.case import Case
from careflow.cases.store import CaseCheck, CaseStore, open_store
from careflow.clock import ManualClock
from careflow.errors import StoreError
from careflow.history.checkpoint import Checkpoint, load_public_key, read_checkpoint, write_checkpoint
from tests.cases.relay import ANN, FOLLOWUP_C, RELAY_C, new_case, started
from tests.cases.store.attack import attack, case_row, forge, put_row


@pytest.fixture
def world(durable_url: str, clock: ManualClock) -> Iterator[CaseStore]:
    store = open_store(durable_url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
    started(store, clock, "k1")
    started(store, clock, "k2")
    store.create(new_case(clock, "k3"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def broken(store: CaseStore, checkpoint: Checkpoint, case_id: str | None = None) -> dict[str, CaseCheck]:
    return {c.case_id: c for c in store.verify_cases(case_id, checkpoint=checkpoint) if not c.ok}


def test_an_intact_store_passes_its_checkpoint(world: CaseStore, key: Ed25519PrivateKey, tmp_path: Path,
                                               clock: ManualClock) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    checkpoint = world.checkpoint(key)
    assert [(h.case_id, h.entries) for h in checkpoint.heads] == [("k1", 3), ("k2", 3), ("k3", 1)]
    assert all(h.head == world.get(h.case_id).head for h in checkpoint.heads)
    write_checkpoint(checkpoint, tmp_path / "cp.json")
    (tmp_path / "k.pub").write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert read_checkpoint(tmp_path / "cp.json", load_public_key(tmp_path / "k.pub")) == checkpoint
    clock.advance(timedelta(hours=1))
    world.fire("k1", "note", ANN, {"tags": "later"})  # appended since: still extends the signed log
    world.create(new_case(clock, "k4"))  # new since: not covered, not a problem
    assert broken(world, checkpoint) == {}


def test_a_whole_chain_rewrite_is_caught_with_a_checkpoint(durable_url: str, world: CaseStore,
                                                           key: Ed25519PrivateKey, clock: ManualClock) -> None:
    checkpoint = world.checkpoint(key)
    clock.advance(timedelta(minutes=5))
    forge(durable_url, Case.open(RELAY_C, "k2", actor=ANN, data={"consent": True}, clock=clock))
    assert all(c.ok for c in world.verify_cases())  # a valid log: the chain alone cannot tell
    found = broken(world, checkpoint)
    assert list(found) == ["k2"] and found["k2"].problem == "checkpoint-truncated"
    forge(durable_url, started_elsewhere(clock))  # as long as the original, all of it different
    found = broken(world, checkpoint)
    assert list(found) == ["k2"] and found["k2"].problem == "checkpoint-rewritten" and found["k2"].seq == 2


def started_elsewhere(clock: ManualClock) -> Case:
    case = Case.open(RELAY_C, "k2", actor=ANN, data={"consent": True}, clock=clock)
    case.fire("note", ANN, {"tags": "a"})
    case.fire("note", ANN, {"tags": "b"})
    return case


def test_replaced_entries_are_caught_with_a_checkpoint(durable_url: str, world: CaseStore, key: Ed25519PrivateKey,
                                                       clock: ManualClock) -> None:
    checkpoint = world.checkpoint(key)
    case = Case.open(RELAY_C, "k2", actor=ANN, data={"consent": True}, clock=clock)  # the same opening data
    case.fire("note", ANN, {"tags": "instead"})
    case.fire("note", ANN, {"tags": "of start"})
    forge(durable_url, case)
    assert next(iter(world.verify_cases("k2"))).ok
    found = broken(world, checkpoint, "k2")
    assert list(found) == ["k2"] and found["k2"].problem == "checkpoint-rewritten"


def test_a_cut_tail_is_caught_with_a_checkpoint(durable_url: str, world: CaseStore, key: Ed25519PrivateKey,
                                                clock: ManualClock) -> None:
    before = case_row(durable_url, "k1")
    clock.advance(timedelta(hours=1))
    world.fire("k1", "note", ANN, {"tags": "z"})
    checkpoint = world.checkpoint(key)
    attack(durable_url, "DELETE FROM careflow_audit WHERE case_id = 'k1' AND seq = 3")
    put_row(durable_url, before)
    assert all(c.ok for c in world.verify_cases())
    found = broken(world, checkpoint)
    assert list(found) == ["k1"] and found["k1"].problem == "checkpoint-truncated"


def test_a_deleted_case_is_caught_with_a_checkpoint(durable_url: str, world: CaseStore,
                                                    key: Ed25519PrivateKey) -> None:
    checkpoint = world.checkpoint(key)
    attack(durable_url, "DELETE FROM careflow_audit WHERE case_id = 'k3'")
    attack(durable_url, "DELETE FROM careflow_cases WHERE case_id = 'k3'")
    assert all(c.ok for c in world.verify_cases())  # nothing of it is left to check
    found = broken(world, checkpoint)
    assert list(found) == ["k3"] and found["k3"].problem == "checkpoint-deleted"
    assert list(broken(world, checkpoint, "k3")) == ["k3"]


def test_a_cut_of_entries_made_after_the_checkpoint_is_not_caught(durable_url: str, world: CaseStore,
                                                                  key: Ed25519PrivateKey, clock: ManualClock) -> None:
    """What a checkpoint cannot prove: changes made after it (docs/stores.md)."""
    checkpoint = world.checkpoint(key)
    before = case_row(durable_url, "k1")
    clock.advance(timedelta(hours=1))
    world.fire("k1", "note", ANN, {"tags": "after"})
    attack(durable_url, "DELETE FROM careflow_audit WHERE case_id = 'k1' AND seq = 3")
    put_row(durable_url, before)
    assert broken(world, checkpoint) == {}


def test_a_store_that_does_not_verify_is_not_signed(durable_url: str, world: CaseStore,
                                                    key: Ed25519PrivateKey) -> None:
    attack(durable_url, "UPDATE careflow_audit SET kind = 'denied' WHERE case_id = 'k2' AND seq = 1")
    with pytest.raises(StoreError, match="do not verify"):
        world.checkpoint(key)
