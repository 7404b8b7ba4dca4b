"""The access log's half of every store: recording reads, listing and verifying them (one code path).

A backend supplies four primitives: the access heads of some cases, an append that writes a row only
where the case's head is still the one the row was sealed on (returning the cases it wrote), the rows
matching a filter, and the ids of every case with an access chain. Recording retries a case whose
head moved (another reader got there first) on its fresh head, so concurrent readers never fork a
chain. Inside ``transaction()`` reads are recorded when the block ends, committed or not: a rolled
back block still read what it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from careflow.cases.store import CaseCheck
from careflow.cases.store.access import AccessEntry, AccessRow, Reader, check_chain, entry_of, seal
from careflow.cases.store.ids import check_stored_id
from careflow.cases.store.units import StoreUnits
from careflow.clock import Clock
from careflow.errors import StoreError, StoreReadOnly, refusal_error
from careflow.runtime.boundary import time_problem
from careflow.runtime.texts import shown

#: Heads kept per store between reads (a bounded cache: a stale head costs one more read, never a fork).
HEADS_KEPT = 10_000
#: Attempts to append to a chain other readers keep moving (each lost race means another read got in).
_ATTEMPTS = 100
Head = tuple[int, str]


class AccessLog(StoreUnits):
    """``BaseStore``'s base: ``access_log``, ``verify_access`` and read recording."""

    clock: Clock
    identity: Reader

    def _init_access(self, identity: Reader, log_reads: bool) -> None:
        self.identity = identity
        self.logs_reads = log_reads
        self._heads: dict[str, Head] = {}
        self._pending_reads: list[tuple[Reader, str, tuple[str, ...], datetime]] = []

    # -- backend primitives ------------------------------------------------------------------------

    def _access_heads(self, case_ids: Sequence[str]) -> dict[str, Head]:
        raise NotImplementedError

    def _access_append(self, rows: Sequence[AccessRow]) -> set[str]:
        """Append each row whose case's head is still at ``row.seq - 1``; the case ids appended."""
        raise NotImplementedError

    def _access_rows(self, case_id: str | None, actor: str | None, purpose: str | None, since: datetime | None,
                     limit: int | None) -> list[AccessRow]:
        raise NotImplementedError

    def _access_ids(self) -> list[str]:
        raise NotImplementedError

    # -- API ----------------------------------------------------------------------------------------

    def access_log(self, case_id: str | None = None, *, actor: str | None = None, purpose: str | None = None,
                   since: datetime | None = None, limit: int | None = None) -> list[AccessEntry]:
        """The recorded reads of ``case_id`` (or of every case), oldest first, filtered by reader id,
        exact purpose and time (``since``: at or after). Listing the log is not itself a read of a case."""
        if case_id is not None:
            check_stored_id(case_id)
        refused = time_problem(since) if since is not None else None
        if refused is not None:
            raise refusal_error(refused)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise StoreError(f"the limit must be a whole number of at least 0, not "
                             f"{limit if type(limit) is int else shown(limit)}")
        if limit is not None:
            limit = min(limit, 2**62)  # more than any store holds, within every database's integer range
        with self._guard():
            rows = self._access_rows(case_id, actor, purpose, since, limit)
        return [entry_of(r) for r in rows]

    def verify_access(self, case_id: str | None = None) -> Iterator[CaseCheck]:
        """Recompute the access chain of one case or of every case; one ``CaseCheck`` each."""
        if case_id is not None:
            check_stored_id(case_id)
        with self._guard():
            ids = [case_id] if case_id is not None else self._access_ids()
        for one in ids:
            with self._guard():
                rows = self._access_rows(one, None, None, None, None)
                head = self._access_heads([one]).get(one)
            yield check_chain(one, rows, head)

    # -- recording ----------------------------------------------------------------------------------

    def _record(self, reader: Reader, action: str, case_ids: Iterable[str]) -> None:
        """Record that ``reader`` did ``action`` on each of ``case_ids`` (before the data is handed out)."""
        ids = tuple(dict.fromkeys(case_ids))
        if not ids or not self.logs_reads:
            return
        if self._tx:
            self._pending_reads.append((reader, action, ids, self.clock.now()))
            return
        self._append_reads(reader, action, ids, self.clock.now())

    def _block_ended(self) -> None:
        """After a ``transaction()`` block, committed or rolled back: record the reads it made."""
        pending, self._pending_reads = self._pending_reads, []
        for reader, action, ids, when in pending:
            self._append_reads(reader, action, ids, when)

    def _append_reads(self, reader: Reader, action: str, ids: Sequence[str], when: datetime) -> None:
        todo = list(ids)
        with self._guard():
            for _ in range(_ATTEMPTS):
                missing = [i for i in todo if i not in self._heads]
                if missing:
                    self._heads.update(self._access_heads(missing))
                rows = [seal(i, self._heads.get(i), when, reader, action) for i in todo]
                try:
                    done = self._access_append(rows)
                except StoreReadOnly:
                    self.logs_reads = False  # a standby or read-only session: nothing can be recorded here
                    return
                if len(self._heads) > HEADS_KEPT:
                    self._heads.clear()
                for row in rows:
                    if row.case_id in done:
                        self._heads[row.case_id] = (row.seq, row.hash)
                    else:
                        self._heads.pop(row.case_id, None)  # another reader moved it: read it afresh
                todo = [i for i in todo if i not in done]
                if not todo:
                    return
        raise StoreError(f"could not record a read of {len(todo)} case(s) after {_ATTEMPTS} attempts",
                         "other readers keep moving these access chains; retry the read")


__all__ = ["AccessLog"]
