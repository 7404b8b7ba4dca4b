"""Signed checkpoints (``careflow.history.checkpoint``): keys, the file, its signature and digest; and
checkpoints of history files, which find what the chain cannot — a dropped last entry, a cut tail, a
rewritten file, a missing one."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careflow.cases.case import Case
from careflow.errors import CheckpointInvalid, HistoryError, KeyProblem
from careflow.history import dumps_jsonl, replay
from careflow.history.checkpoint import (
    Head,
    fingerprint,
    generate_keys,
    load_private_key,
    load_public_key,
    read_checkpoint,
    sign_heads,
    write_checkpoint,
)
from careflow.history.checkpoint_files import checkpoint_histories, compare_histories
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor
from tests.support import T0

ANN = Actor("ann", {"nurse"})
HEADS = [Head("b", 2, "f" * 64), Head("a", 1, "e" * 64)]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    generate_keys(private, public)
    return private, public


def test_keygen_makes_a_private_file_only_its_owner_reads_and_never_overwrites(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert fingerprint(load_private_key(private).public_key()) == fingerprint(load_public_key(public))
    before = private.read_bytes()
    with pytest.raises(KeyProblem, match="never overwritten"):
        generate_keys(private, private.with_name("other.pub"))
    assert private.read_bytes() == before and not private.with_name("other.pub").exists()
    with pytest.raises(KeyProblem):
        load_private_key(public)
    with pytest.raises(KeyProblem):
        load_public_key(private.with_name("missing.pub"))


def test_a_checkpoint_round_trips(keys: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint = sign_heads(HEADS, load_private_key(keys[0]), scope="history", source="x", created=T0)
    assert [h.case_id for h in checkpoint.heads] == ["a", "b"]
    write_checkpoint(checkpoint, tmp_path / "cp.json")
    assert read_checkpoint(tmp_path / "cp.json", load_public_key(keys[1])) == checkpoint


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(created="2030-01-01T00:00:00+00:00"), "signature"),
    (lambda d: d["cases"][0].__setitem__(1, 5), "digest"),
    (lambda d: d["cases"].pop(), "not a careflow checkpoint"),
    (lambda d: d.update(signature="AAAA"), "signature"),
    (lambda d: d.update(format="other"), "not a careflow checkpoint"),
])
def test_a_changed_checkpoint_is_rejected(keys: tuple[Path, Path], tmp_path: Path, edit: object,
                                          message: str) -> None:
    checkpoint = sign_heads(HEADS, load_private_key(keys[0]), scope="history", source="x", created=T0)
    write_checkpoint(checkpoint, tmp_path / "cp.json")
    document = json.loads((tmp_path / "cp.json").read_text())
    edit(document)  # type: ignore[operator]
    (tmp_path / "cp.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointInvalid, match=message):
        read_checkpoint(tmp_path / "cp.json", load_public_key(keys[1]))


def test_a_checkpoint_signed_by_another_key_is_rejected(keys: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint = sign_heads(HEADS, Ed25519PrivateKey.generate(), scope="history", source="x", created=T0)
    write_checkpoint(checkpoint, tmp_path / "cp.json")
    with pytest.raises(CheckpointInvalid, match="not by the public key given"):
        read_checkpoint(tmp_path / "cp.json", load_public_key(keys[1]))
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe")
    with pytest.raises(CheckpointInvalid, match="not JSON"):
        read_checkpoint(tmp_path / "bad.json", load_public_key(keys[1]))


# -- history files --------------------------------------------------------------------------------


def history(psht: ProcessDefinition, case_id: str, fires: int) -> str:
    case = Case.open(psht, case_id, actor=ANN)
    for _ in range(fires):
        case.fire("record_consent", ANN, {"consent_to_referral": True})
    return dumps_jsonl(case.history)


def test_a_dropped_last_entry_is_not_caught_without_a_checkpoint(psht: ProcessDefinition, tmp_path: Path) -> None:
    """By design: a shorter chain is still a valid chain (docs/history.md)."""
    lines = history(psht, "p1", 3).splitlines(keepends=True)
    (tmp_path / "p1.jsonl").write_text("".join(lines[:-1]))
    assert replay(psht, tmp_path / "p1.jsonl").ok


def test_a_dropped_last_entry_is_caught_with_a_checkpoint(psht: ProcessDefinition, keys: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "h"
    folder.mkdir()
    for case_id, fires in (("p1", 3), ("p2", 1), ("p3", 2)):
        (folder / f"{case_id}.jsonl").write_text(history(psht, case_id, fires))
    checkpoint = checkpoint_histories([folder], load_private_key(keys[0]), created=T0)
    assert [(h.case_id, h.entries) for h in checkpoint.heads] == [("p1", 4), ("p2", 2), ("p3", 3)]
    files = sorted(folder.iterdir())
    assert [f.problem for f in compare_histories(files, checkpoint)] == [None, None, None]
    lines = (folder / "p1.jsonl").read_text().splitlines(keepends=True)
    (folder / "p1.jsonl").write_text("".join(lines[:-1]))  # the last entry dropped
    (folder / "p2.jsonl").write_text(history(psht, "p2", 3))  # rewritten: longer, and different
    (folder / "p3.jsonl").unlink()  # gone
    found = {f.case_id: f.problem for f in compare_histories(sorted(folder.iterdir()), checkpoint)}
    assert found == {"p1": "checkpoint-truncated", "p2": "checkpoint-rewritten", "p3": "checkpoint-deleted"}


def test_only_hash_chained_histories_are_checkpointed(keys: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "h.yaml").write_text("process: psht\nentries:\n  - {kind: opened, actor: ann, roles: [nurse]}\n")
    with pytest.raises(HistoryError, match="not hash-chained"):
        checkpoint_histories([tmp_path / "h.yaml"], load_private_key(keys[0]), created=T0)
