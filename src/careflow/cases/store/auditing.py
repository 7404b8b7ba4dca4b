"""Verification and checkpoints of a whole store: every case checked against its log, batch by batch,
and signed checkpoints of every case's head. ``BaseStore`` inherits them; the checks themselves are
``careflow.cases.store.verify`` and ``careflow.cases.store.checkpoints``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from careflow.cases.store import CaseCheck
from careflow.cases.store.access import Reader, system
from careflow.cases.store.access_log import AccessLog
from careflow.cases.store.ids import check_stored_id
from careflow.cases.store.scan import Batch
from careflow.cases.store.values import with_values
from careflow.cases.store.verify import verify_batches
from careflow.clock import Clock
from careflow.errors import CaseNotFound
from careflow.runtime.compiled import CompiledProcess

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from careflow.history.checkpoint import Checkpoint

VERIFIER = system("verification")
CHECKPOINTER = system("checkpoint")


class StoreAuditing(AccessLog):
    """``verify_cases`` and ``checkpoint`` over the backend's ``_scan`` (reads recorded as system reads)."""

    clock: Clock

    def process(self, process_id: str, version: str) -> CompiledProcess:
        raise NotImplementedError

    def verify_cases(self, case_id: str | None = None, *, replay: bool = True,
                     checkpoint: Checkpoint | None = None) -> Iterator[CaseCheck]:
        if case_id is not None:
            check_stored_id(case_id)
        heads = checkpoint.by_case() if checkpoint is not None else {}
        if case_id is not None:
            heads = {case_id: heads[case_id]} if case_id in heads else {}
        seen = False
        for check in verify_batches(self._verify_batches(case_id, VERIFIER, "verify"), self.process, replay, heads,
                                    self.sealer):
            seen = True
            yield check
        if case_id is not None and not seen:
            raise CaseNotFound(case_id)  # no case row, no audit row, and no checkpoint naming it

    def checkpoint(self, key: Ed25519PrivateKey, *, created: datetime | None = None) -> Checkpoint:
        from careflow.cases.store.checkpoints import sign_store

        source = str(getattr(self, "shown", self.url))  # PostgreSQL: the URL without its password
        return sign_store(self._verify_batches(None, CHECKPOINTER, "checkpoint"), key, source=source,
                          created=created or self.clock.now())

    def _verify_batches(self, case_id: str | None, reader: Reader, action: str) -> Iterator[Batch]:
        """The store, a batch of case ids at a time; each batch's cases recorded as read by ``reader`` (a
        system read) as it is read, so a caller that stops early has recorded exactly what it read."""
        after: str | None = None
        while True:
            with self._guard():
                self._flush()
                batch = self._with_values(self._scan(after, case_id))
                self._record(reader, action, sorted({r.case_id for r in batch.cases} | {
                    r.case_id for r in batch.audit if isinstance(r.case_id, str)}))
            yield batch
            if batch.last is None or case_id is not None:
                return
            after = batch.last

    def _with_values(self, batch: Batch) -> Batch:
        """``batch`` with the kept values of committed entries put back beside them (``careflow_values``),
        as a load reads them: verification checks each value against its commitment."""
        committed = sorted({r.case_id for r in batch.audit if isinstance(r.entry, str) and _COMMITTED in r.entry})
        if not committed:
            return batch
        texts: dict[tuple[str, int], str] = {}
        for one in committed:
            rows = [(r.seq, r.hash, r.prev_hash, r.entry) for r in batch.audit
                    if r.case_id == one and type(r.seq) is int and isinstance(r.entry, str)]
            for seq, _, _, text in with_values(rows, self._value_rows(one)):
                texts[(one, seq)] = text
        audit = [r._replace(entry=texts.get((r.case_id, r.seq), r.entry)) if r.case_id in committed else r
                 for r in batch.audit]
        return batch._replace(audit=audit)


_COMMITTED = '"#commit"'  # in the text of an entry whose data values are commitments (careflow.runtime.commitments)

__all__ = ["CHECKPOINTER", "VERIFIER", "StoreAuditing"]
