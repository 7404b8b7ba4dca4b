"""Units of work every store shares: the backend primitives, the store lock, transaction() blocks.

A backend supplies the primitives (read a row, apply changes inside an open transaction, begin/commit/
rollback, select rows); this class turns them into units of work: one fire is one unit unless a
``transaction()`` block batches several, in which case writes are merged per case and sent at the end.
``BaseStore`` builds the read–step–commit cycle on top.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

from careflow.cases.case import Case
from careflow.cases.store import CaseInfo
from careflow.cases.store.codec import Change, EntryRow, Row, dumps, snapshot_json
from careflow.cases.store.ids import check_stored_id
from careflow.cases.store.scan import Batch
from careflow.cases.store.seal import Sealer
from careflow.cases.store.values import ValueRow
from careflow.errors import CareflowError, CaseExists, CaseNotFound, StoreError, TamperedCase
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.fields import Snapshot


class StoreUnits:
    """Backend primitives plus units of work and transactions. Thread-safe: one lock per store."""

    url: str

    def __init__(self, sealer: Sealer | None = None) -> None:
        self.sealer = sealer or Sealer()  # the store's seals: keyed or not (see careflow.cases.store.seal)
        self._lock = threading.RLock()
        self._tx = 0  # depth of transaction() blocks
        self._pending: dict[str, Change] = {}  # inside transaction(): writes not yet sent (merged per case)
        self._pending_entries: dict[str, list[EntryRow]] = {}
        self._pending_values: dict[str, list[ValueRow]] = {}
        self._cache: dict[str, Row] = {}  # inside transaction(): rows as this transaction left them
        # inside transaction(): decoded snapshots, so a batch neither decodes nor encodes per fire
        self._snaps: dict[str, tuple[CompiledProcess, Snapshot]] = {}
        # per case handed out: the stored version and the snapshot committed at it
        self._track: weakref.WeakKeyDictionary[Case, tuple[int, Snapshot]] = weakref.WeakKeyDictionary()
        self._track_pending: list[tuple[Case, tuple[int, Snapshot]]] = []
        self._scrub_due = False

    # -- backend primitives ------------------------------------------------------------------------

    def _read(self, case_id: str, lock: bool) -> Row | None:
        raise NotImplementedError

    def _apply(self, changes: Sequence[Change]) -> None:
        """Write ``changes`` inside the open transaction: ``CaseExists``/``ConcurrentUpdate`` on conflict."""
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _history_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        """(seq, hash, prev_hash, entry JSON) of every audit row of the case, by seq."""
        raise NotImplementedError

    def _value_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        """(seq, field, salt, value JSON) of every value kept beside the case's committed entries."""
        raise NotImplementedError

    def _remove_values(self, case_id: str, keys: Sequence[tuple[int, str]]) -> None:
        """Delete the kept values (and salts) at (seq, field) ``keys``, inside the open transaction."""
        raise NotImplementedError

    def _scrub(self) -> None:
        """After a redaction commits: make the deleted values unrecoverable from the database file."""

    def _select(self, case_id: str | None, process_id: str | None, state: str | None,
                due_before: datetime | None, closed: bool | None, limit: int | None) -> list[CaseInfo]:
        """Case rows matching every filter given (``state``: that dotted path or one below it)."""
        raise NotImplementedError

    def _case_ids(self) -> list[str]:
        raise NotImplementedError

    def _logged_ids(self) -> list[str]:
        """The ids of every case with audit rows (a case whose row was deleted still has them)."""
        raise NotImplementedError

    def _scan(self, after: str | None, only: str | None = None) -> Batch:
        """The next batch of case rows and audit rows for verification (``careflow.cases.store.scan``),
        read in one consistent view; ``only``: the rows of that one case id."""
        raise NotImplementedError

    def _unit_begin(self) -> None:
        """Before the read of a read–step–commit outside ``transaction()``."""

    def _unit_write(self, changes: Sequence[Change]) -> None:
        self._begin()
        self._apply(changes)
        self._commit()

    def _unit_end(self, ok: bool) -> None:
        """After a read–step–commit (``ok``: it did not raise): close what ``_unit_begin`` opened."""

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """A consistent view for several reads (a read transaction where the backend needs one)."""
        yield

    def _block_ended(self) -> None:
        """After the outermost ``transaction()`` block, committed or rolled back (the access log's hook)."""

    def _translate(self, exc: Exception) -> StoreError | None:
        """The ``StoreError`` a driver exception stands for (None: not a driver error)."""
        return None

    def close(self) -> None:
        """Release the connection."""

    # -- plumbing -----------------------------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """The store lock, with driver errors turned into ``StoreError`` (never a bare traceback)."""
        with self._lock:
            try:
                yield
            except CareflowError:
                raise
            except Exception as exc:
                mapped = self._translate(exc)
                if mapped is None:
                    raise
                raise mapped from exc

    @contextmanager
    def _unit(self) -> Iterator[None]:
        if self._tx:
            yield
            return
        self._unit_begin()
        ok = False
        try:
            yield
            ok = True
        finally:
            self._unit_end(ok)

    def _row(self, case_id: str, check: bool = True) -> Row:
        """The case row; read from the database (not from this transaction's own writes), its seal is
        checked first unless ``check`` is off (``TamperedCase``: see ``_check``)."""
        if self._tx:
            row = self._cache.get(case_id)
            if row is None:
                row = self._read(case_id, True)
                if row is not None and check:
                    self._check(row)
                    self._cache[case_id] = row  # checked when first read; later reads are this block's own
        else:
            row = self._read(case_id, False)
            if row is not None and check:
                self._check(row)
        if row is None:
            raise CaseNotFound(case_id)
        return row

    def _check(self, row: Row) -> None:
        """Raise ``TamperedCase`` unless ``row`` carries its seal (``BaseStore`` names the field)."""
        if not self.sealer.check(row):
            raise TamperedCase(row.case_id, "seal", "the row does not match its seal")

    def _sealed(self, changes: Sequence[Change]) -> list[Change]:
        """``changes`` with their seals, once their snapshot texts are final."""
        seal = self.sealer.seal
        return [ch._replace(seal=seal(ch.row())) for ch in changes]

    def _write(self, changes: Sequence[Change]) -> None:
        if not self._tx:
            self._unit_write(self._sealed(changes))
            return
        for ch in changes:  # write-back: one UPDATE per case at commit, however many fires it saw
            earlier = self._pending.get(ch.case_id)
            if ch.expected is None and (earlier is not None or self._read(ch.case_id, True) is not None):
                raise CaseExists(ch.case_id)
            if earlier is not None:
                ch = ch._replace(expected=earlier.expected)
            self._pending_entries.setdefault(ch.case_id, []).extend(ch.entries)  # a list: no copy per fire
            if ch.values:
                self._pending_values.setdefault(ch.case_id, []).extend(ch.values)
            self._pending[ch.case_id] = ch
            if ch.snapshot:  # written from a Case (save/create): any decoded snapshot kept for it is stale
                self._snaps.pop(ch.case_id, None)
            self._cache[ch.case_id] = ch.row()

    def _flush(self) -> None:
        if not (self._tx and self._pending):
            return
        changes = []
        for ch in self._pending.values():
            ch = ch._replace(entries=tuple(self._pending_entries[ch.case_id]),
                             values=tuple(self._pending_values.get(ch.case_id, ())))
            if not ch.snapshot:
                compiled, snap = self._snaps[ch.case_id]
                ch = ch._replace(snapshot=dumps(snapshot_json(compiled, snap)))
                self._cache[ch.case_id] = self._cache[ch.case_id]._replace(snapshot=ch.snapshot)
            changes.append(ch)
        self._apply(self._sealed(changes))
        self._pending.clear()
        self._pending_entries.clear()
        self._pending_values.clear()

    def _remember(self, case: Case, version: int) -> None:
        mark = (version, case.snapshot)
        if self._tx:
            self._track_pending.append((case, mark))
        else:
            self._track[case] = mark

    def transaction(self, lock: Iterable[str] = ()) -> Any:
        return self._transaction(lock)

    def _lock_ahead(self, case_ids: Iterable[str]) -> None:
        """Read (and where the backend locks rows, lock) ``case_ids`` in one order: sorted by id."""
        for case_id in sorted(set(case_ids)):
            if case_id not in self._cache:
                row = self._read(check_stored_id(case_id), True)
                if row is not None:
                    self._check(row)
                    self._cache[case_id] = row

    @contextmanager
    def _transaction(self, lock: Iterable[str]) -> Iterator[Self]:
        with self._guard():
            if self._tx:
                self._tx += 1
                try:
                    self._lock_ahead(lock)
                    yield self
                finally:
                    self._tx -= 1
                return
            self._begin()
            self._tx = 1
            self._scrub_due = False  # set by a redaction in the block: scrubbed once, after the commit
            try:
                self._lock_ahead(lock)
                yield self
                self._flush()
                self._commit()
            except BaseException:
                self._rollback()
                self._track_pending.clear()
                raise
            finally:
                self._tx = 0
                self._pending.clear()
                self._pending_entries.clear()
                self._pending_values.clear()
                self._cache.clear()
                self._snaps.clear()
                self._block_ended()
            for case, mark in self._track_pending:
                self._track[case] = mark
            self._track_pending.clear()
            if self._scrub_due:
                self._scrub()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
