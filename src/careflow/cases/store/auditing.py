"""Verification and checkpoints of a whole store: every case checked against its log, batch by batch,
and signed checkpoints of every case's head. ``BaseStore`` inherits them; the checks themselves are
``careflow.cases.store.verify`` and ``careflow.cases.store.checkpoints``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from careflow.cases.store import CaseCheck
from careflow.cases.store.access import system
from careflow.cases.store.access_log import AccessLog
from careflow.cases.store.ids import check_stored_id
from careflow.cases.store.scan import Batch
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
        checked: list[str] = []
        try:
            for check in verify_batches(self._verify_batches(case_id), self.process, replay, heads, self.sealer):
                seen = True
                if check.entries:  # a case a checkpoint names but that is gone was not read
                    checked.append(check.case_id)
                yield check
        finally:
            self._record(VERIFIER, "verify", checked)  # careflow read these logs: system reads
        if case_id is not None and not seen:
            raise CaseNotFound(case_id)  # no case row, no audit row, and no checkpoint naming it

    def checkpoint(self, key: Ed25519PrivateKey, *, created: datetime | None = None) -> Checkpoint:
        from careflow.cases.store.checkpoints import sign_store

        source = str(getattr(self, "shown", self.url))  # PostgreSQL: the URL without its password
        signed = sign_store(self._verify_batches(None), key, source=source, created=created or self.clock.now())
        self._record(CHECKPOINTER, "checkpoint", [h.case_id for h in signed.heads])
        return signed

    def _verify_batches(self, case_id: str | None) -> Iterator[Batch]:
        after: str | None = None
        while True:
            with self._guard():
                self._flush()
                batch = self._scan(after, case_id)
            yield batch
            if batch.last is None or case_id is not None:
                return
            after = batch.last


__all__ = ["CHECKPOINTER", "VERIFIER", "StoreAuditing"]
