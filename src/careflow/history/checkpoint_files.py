"""Signed checkpoints of history files: each hash-chained history's case id, entry count and last hash.

``checkpoint_histories`` signs the heads of every history under some paths; ``compare_histories`` says,
for each history now under them, whether it still extends the log the checkpoint signed — a dropped last
entry, a cut tail, a rewritten log — and which checkpointed histories are missing altogether.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from careflow.errors import HistoryError
from careflow.history.checkpoint import Checkpoint, Head, sign_heads, since
from careflow.history.entries import CASE_ID, HASH, History
from careflow.history.reader import history_files, read_history

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class Finding(NamedTuple):
    """What a checkpoint says about one history: ``problem`` (None: it extends the signed log)."""

    case_id: str
    file: str | None
    problem: str | None
    message: str = ""


def _case_id(history: History, file: str) -> str:
    first = history.entries[0][CASE_ID] if history.entries else None
    found = first if isinstance(first, str) else history.case_id
    return found if isinstance(found, str) else Path(file).name


def _hashes(history: History) -> list[str | None]:
    return [h if isinstance(h, str) else None for h in (e[HASH] for e in history.entries)]


def history_head(file: str | os.PathLike[str]) -> tuple[str, list[str | None]]:
    """The case id of a history file and the hash of each of its entries (None where it has none)."""
    name = os.fspath(file)
    history = read_history(name)
    return _case_id(history, name), _hashes(history)


def checkpoint_histories(paths: Iterable[str | os.PathLike[str]], key: Ed25519PrivateKey, *,
                         created: datetime) -> Checkpoint:
    """A checkpoint of every history file under ``paths``; ``HistoryError`` for one without a hash chain or
    two that are the same case."""
    given = [os.fspath(p) for p in paths]
    heads: dict[str, Head] = {}
    for file in history_files(given):
        case_id, hashes = history_head(file)
        if not hashes or hashes[-1] is None:
            raise HistoryError(f"{file} is not hash-chained: a checkpoint needs the hash of its last entry")
        if case_id in heads:
            raise HistoryError(f"{file}: case '{case_id}' is in two history files")
        heads[case_id] = Head(case_id, len(hashes), hashes[-1])
    return sign_heads(heads.values(), key, scope="history", source=", ".join(given), created=created)


def compare_history(file: str | os.PathLike[str], heads: Mapping[str, Head]) -> Finding:
    """Whether the history at ``file`` still extends what ``heads`` (a checkpoint's) say of its case."""
    name = os.fspath(file)
    case_id, hashes = history_head(name)
    head = heads.get(case_id)
    if head is None:
        return Finding(case_id, name, None, "not in the checkpoint (new since)")
    found = since(head, len(hashes), hashes[head.entries - 1] if 0 < head.entries <= len(hashes) else None)
    return Finding(case_id, name, *found) if found is not None else Finding(case_id, name, None)


def compare_histories(files: Iterable[str | os.PathLike[str]], checkpoint: Checkpoint) -> list[Finding]:
    """A ``Finding`` per history file, then one per checkpointed case no file holds (``checkpoint-deleted``)."""
    heads = checkpoint.by_case()
    findings = [compare_history(f, heads) for f in files]
    seen = {f.case_id for f in findings}
    findings += [Finding(h.case_id, None, "checkpoint-deleted", f"the checkpoint saw {h.entries} entries of case "
                         f"'{h.case_id}'; no history file holds it") for h in checkpoint.heads if h.case_id not in seen]
    return findings


__all__ = ["Finding", "checkpoint_histories", "compare_histories", "compare_history", "history_head"]
