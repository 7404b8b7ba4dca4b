"""Signed checkpoints of a store: every case's entry count and head hash, taken from its audit rows.

``checkpoint_store`` reads the store a batch at a time (``scan``), checks each log's chain on the way (a
checkpoint signs only logs that verify: signing a tampered log would make the tampering look attested),
and signs the heads with ``careflow.history.checkpoint``. ``store.verify_cases(checkpoint=…)`` compares a
store with one later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from careflow.cases.store.scan import AuditRecord, Batch
from careflow.cases.store.verify import verify_batches
from careflow.errors import StoreError
from careflow.history.checkpoint import Checkpoint, Head, sign_heads

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


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


__all__ = ["sign_store"]
