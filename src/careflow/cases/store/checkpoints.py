"""Signed checkpoints of a store: every case's entry count and head hash, taken from its audit rows.

``checkpoint_store`` reads the store a batch at a time (``scan``), checks each log's chain on the way (a
checkpoint signs only logs that verify: signing a tampered log would make the tampering look attested),
and signs the heads with ``careflow.history.checkpoint``. ``store.verify_cases(checkpoint=…)`` compares a
store with one later.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from careflow.cases.store.scan import AuditRecord, Batch
from careflow.cases.store.verify import verify_batches
from careflow.errors import StoreError
from careflow.history.checkpoint import Checkpoint, Head, sign_heads, write_checkpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from careflow.cases.store import CaseStore


def sign_store(batches: Iterable[Batch], key: Ed25519PrivateKey, *, source: str, created: datetime) -> Checkpoint:
    """The checkpoint of the cases in ``batches``; ``StoreError`` when a log does not verify (nothing signed)."""
    heads: list[Head] = []
    broken: list[str] = []

    def logged(batches: Iterable[Batch]) -> Iterable[Batch]:
        for batch in batches:
            last: dict[str, AuditRecord] = {}
            for row in batch.audit:
                last[row.case_id] = row
            heads.extend(Head(case_id, row.seq + 1, row.hash) for case_id, row in last.items()
                         if type(row.seq) is int and isinstance(row.hash, str))
            yield batch

    for check in verify_batches(logged(batches), None, False, {}):
        if not check.ok:
            broken.append(f"{check.case_id!r} ({check.problem})")
    if broken:
        more = f" and {len(broken) - 5} more" if len(broken) > 5 else ""
        raise StoreError(f"{len(broken)} case(s) do not verify, so no checkpoint was signed: "
                         f"{', '.join(broken[:5])}{more}",
                         "run 'careflow audit verify' and restore the broken cases first")
    return sign_heads(heads, key, scope="store", source=source, created=created)


def checkpoint_every(store: CaseStore, key: Ed25519PrivateKey, directory: str | os.PathLike[str],
                     every: timedelta, now: datetime | None = None) -> Path | None:
    """Write ``DIR/checkpoint-<UTC time>.json`` when the newest checkpoint there is ``every`` old or
    older (or there is none); the path written, or None when none was due. For a job run often, such
    as ``careflow due --fire`` from cron."""
    folder = Path(directory)
    when = now or datetime.now(UTC)
    newest = max((p.stat().st_mtime for p in folder.glob("checkpoint-*.json")), default=None)
    if newest is not None and when - datetime.fromtimestamp(newest, UTC) < every:
        return None
    target = folder / f"checkpoint-{when.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.json"
    write_checkpoint(store.checkpoint(key, created=when), target)
    return target


__all__ = ["checkpoint_every", "sign_store"]
