"""What every store shares: the read–step–commit cycle, versions, transactions, verification.

Backends supply a handful of primitives (read a row, apply changes inside an open transaction,
begin/commit/rollback, select rows); the semantics — which entries a commit writes, how versions are
checked, how a refusal is recorded, how a handoff's child case is created — live here once, so the
three stores cannot drift apart. The decisions themselves are ``engine.step``'s: a store never
interprets a transition.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

from careflow.cases.case import Case
from careflow.cases.children import open_child
from careflow.cases.store import CaseCheck, CaseInfo, Fired, ProcessResolver
from careflow.cases.store.codec import (
    Change,
    EntryRow,
    Row,
    case_text,
    change,
    decode,
    dumps,
    seal_rows,
    snapshot_json,
)
from careflow.cases.store.verify import check_case
from careflow.clock import SYSTEM_CLOCK, Clock
from careflow.errors import (
    CareflowError,
    CaseError,
    CaseExists,
    CaseNotFound,
    ConcurrentUpdate,
    StoreError,
    refusal_error,
)
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import AuditEntry, cook, seal_all
from careflow.runtime.changes import tick
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from careflow.runtime.engine import Step, step
from careflow.runtime.fields import Snapshot, snapshot_of

Run = Callable[[CompiledProcess, Snapshot, datetime], Step]


class BaseStore:
    """The shared half of every store (see the module docstring). Thread-safe: one lock per store."""

    url: str

    def __init__(self, url: str, *, processes: Iterable[ProcessDefinition | CompiledProcess] = (),
                 resolver: ProcessResolver | None = None, clock: Clock | None = None) -> None:
        self.url = url
        self.clock = clock or SYSTEM_CLOCK
        self._resolver = resolver
        self._processes: dict[tuple[str, str], CompiledProcess] = {}
        for process in processes:
            self.register(process)
        self._lock = threading.RLock()
        self._tx = 0  # depth of transaction() blocks
        self._pending: dict[str, Change] = {}  # inside transaction(): writes not yet sent (merged per case)
        self._pending_entries: dict[str, list[EntryRow]] = {}
        self._cache: dict[str, Row] = {}  # inside transaction(): rows as this transaction left them
        # inside transaction(): decoded snapshots, so a batch neither decodes nor encodes per fire
        self._snaps: dict[str, tuple[CompiledProcess, Snapshot]] = {}
        # per case handed out: the stored version and the snapshot committed at it
        self._track: weakref.WeakKeyDictionary[Case, tuple[int, Snapshot]] = weakref.WeakKeyDictionary()
        self._track_pending: list[tuple[Case, tuple[int, Snapshot]]] = []

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

    def _select(self, case_id: str | None, process_id: str | None, state: str | None,
                due_before: datetime | None, closed: bool | None, limit: int | None) -> list[CaseInfo]:
        """Case rows matching every filter given (``state``: that dotted path or one below it)."""
        raise NotImplementedError

    def _case_ids(self) -> list[str]:
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

    def _row(self, case_id: str) -> Row:
        if self._tx:
            row = self._cache.get(case_id)
            if row is None:
                row = self._read(case_id, True)
                if row is not None:
                    self._cache[case_id] = row
        else:
            row = self._read(case_id, False)
        if row is None:
            raise CaseNotFound(case_id)
        return row

    def _write(self, changes: Sequence[Change]) -> None:
        if not self._tx:
            self._unit_write(changes)
            return
        for ch in changes:  # write-back: one UPDATE per case at commit, however many fires it saw
            earlier = self._pending.get(ch.case_id)
            if ch.expected is None and (earlier is not None or self._read(ch.case_id, True) is not None):
                raise CaseExists(ch.case_id)
            if earlier is not None:
                ch = ch._replace(expected=earlier.expected)
            self._pending_entries.setdefault(ch.case_id, []).extend(ch.entries)  # a list: no copy per fire
            self._pending[ch.case_id] = ch
            if ch.snapshot:  # written from a Case (save/create): any decoded snapshot kept for it is stale
                self._snaps.pop(ch.case_id, None)
            self._cache[ch.case_id] = ch.row()

    def _flush(self) -> None:
        if not (self._tx and self._pending):
            return
        changes = []
        for ch in self._pending.values():
            ch = ch._replace(entries=tuple(self._pending_entries[ch.case_id]))
            if not ch.snapshot:
                compiled, snap = self._snaps[ch.case_id]
                ch = ch._replace(snapshot=dumps(snapshot_json(compiled, snap)))
                self._cache[ch.case_id] = self._cache[ch.case_id]._replace(snapshot=ch.snapshot)
            changes.append(ch)
        self._apply(changes)
        self._pending.clear()
        self._pending_entries.clear()

    def _remember(self, case: Case, version: int) -> None:
        mark = (version, case.snapshot)
        if self._tx:
            self._track_pending.append((case, mark))
        else:
            self._track[case] = mark

    def transaction(self) -> Any:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[BaseStore]:
        with self._guard():
            if self._tx:
                self._tx += 1
                try:
                    yield self
                finally:
                    self._tx -= 1
                return
            self._begin()
            self._tx = 1
            try:
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
                self._cache.clear()
                self._snaps.clear()
            for case, mark in self._track_pending:
                self._track[case] = mark
            self._track_pending.clear()

    def __enter__(self) -> BaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processes ----------------------------------------------------------------------------------

    def register(self, process: ProcessDefinition | CompiledProcess) -> CompiledProcess:
        """Make ``process`` known to the store (its cases can then be loaded without the resolver)."""
        compiled = process if isinstance(process, CompiledProcess) else compile(process)
        self._processes[(compiled.id, compiled.version)] = compiled
        return compiled

    def _known(self, compiled: CompiledProcess) -> CompiledProcess:
        # A process registered explicitly wins over the case's own compilation (it may carry the
        # registry and resolver the application wants every later step to use).
        return self._processes.setdefault((compiled.id, compiled.version), compiled)

    def process(self, process_id: str, version: str) -> CompiledProcess:
        key = (process_id, version)
        compiled = self._processes.get(key)
        if compiled is not None:
            return compiled
        if self._resolver is not None:
            found = self._resolver(process_id, version)
        else:
            from careflow.definitions.loader import load

            try:
                found = load(process_id)
            except CareflowError as exc:
                raise StoreError(f"cases of process '{process_id}' are stored, but the process cannot be "
                                 f"loaded: {exc}", "put its file on CAREFLOW_PATH") from exc
        compiled = self.register(found)
        if (compiled.id, compiled.version) != key:
            raise StoreError(f"cases run on {process_id}@{version}, but the process found is "
                             f"{compiled.id}@{compiled.version}",
                             "keep every version that has cases on CAREFLOW_PATH, or pass processes=/resolver=")
        return compiled

    # -- writing ------------------------------------------------------------------------------------

    def create(self, case: Case) -> int:
        with self._guard(), self._unit():
            compiled = self._known(case.compiled)
            self._write([change(compiled, case.snapshot, case.history, 1, None)])
        self._remember(case, 1)
        return 1

    def save(self, case: Case, spawned: Sequence[Case] = ()) -> int:
        mark = self._track.get(case)
        for pending, pending_mark in self._track_pending:
            if pending is case:
                mark = pending_mark
        if mark is None:
            raise StoreError(f"case '{case.case_id}' was not loaded from or created in this store",
                             "use store.load(case_id) or store.create(case) first")
        version, committed = mark
        with self._guard(), self._unit():
            row = self._row(case.case_id)
            if row.version != version:
                case.rewind(committed)  # back to what is committed: load again, fire again, save
                raise ConcurrentUpdate(case.case_id, version, row.version)
            entries = case.entries_since(committed.seq)
            if not entries and not spawned:
                return version
            changes = [change(case.compiled, case.snapshot, entries, version + 1, version)] if entries else []
            changes += [change(self._known(c.compiled), c.snapshot, c.history, 1, None) for c in spawned]
            self._write(changes)
        if entries:
            self._remember(case, version + 1)
        for child in spawned:
            self._remember(child, 1)
        return version + 1 if entries else version

    def fire(self, case_id: str, event: str, actor: Actor, data: Mapping[str, Any] | None = None,
             reason: str | None = None, *, now: datetime | None = None, retries: int = 0) -> Fired:
        def run(compiled: CompiledProcess, snap: Snapshot, when: datetime) -> Step:
            return step(compiled, snap, event, actor, data, when, reason)

        return self._cycle(case_id, run, now, retries)

    def tick(self, case_id: str, now: datetime | None = None, *, retries: int = 0) -> Fired:
        def run(compiled: CompiledProcess, snap: Snapshot, when: datetime) -> Step:
            return tick(compiled, snap, when)

        return self._cycle(case_id, run, now, retries)

    def _cycle(self, case_id: str, run: Run, now: datetime | None, retries: int) -> Fired:
        """Read, step, commit; on ``ConcurrentUpdate`` read again and re-decide, ``retries`` times."""
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._guard(), self._unit():
                    result = self._once(case_id, run, now, attempt)
            except ConcurrentUpdate as exc:
                if exc.cached and not self._tx:
                    attempt -= 1  # decided on a cached row that was stale: read afresh; not a retry
                    continue
                if attempt > retries or self._tx:
                    raise
                continue
            if isinstance(result, CaseError):
                raise result  # the refusal is committed (a 'denied' entry); now the caller hears of it
            return result

    def _step_row(self, case_id: str) -> Row:
        """The row a read–step–commit starts from (a backend may serve it from a cache: the version
        check on commit catches a stale one, raising ``ConcurrentUpdate`` with ``cached`` set)."""
        return self._row(case_id)

    def _once(self, case_id: str, run: Run, now: datetime | None, attempt: int) -> Fired | CaseError:
        row = self._step_row(case_id)
        compiled = self.process(row.process_id, row.process_version)
        cached = self._snaps.get(case_id) if self._tx else None
        snap = cached[1] if cached is not None else snapshot_of(decode(row))
        when = now if now is not None else self.clock.now()
        new, made, refused = run(compiled, snap, when)
        if not made:
            return Fired(case_id, row.version, compiled.paths[new.leaf], (), (), attempt)
        sealed, rows = seal_rows([cook(e) for e in made], row.head)
        changes = [change(compiled, new, sealed, row.version + 1, row.version, not self._tx, rows)]
        spawned = [self._child(compiled, case_id, e, when) for e in sealed if e.kind == "spawned"]
        self._write(changes + spawned)
        if self._tx:
            self._snaps[case_id] = (compiled, new)
        if refused is not None:
            return refusal_error(refused, sealed[0])
        return Fired(case_id, row.version + 1, compiled.paths[new.leaf], tuple(sealed),
                     tuple(c.case_id for c in spawned), attempt)

    def _child(self, compiled: CompiledProcess, case_id: str, entry: AuditEntry, when: datetime) -> Change:
        """The case a ``spawned`` entry opens, created in the same transaction as its parent's step."""
        child, opening = open_child(compiled, case_id, entry, when)
        assert opening.snapshot is not None and opening.entry is not None
        return change(self._known(child), opening.snapshot, seal_all([opening.entry]), 1, None)

    # -- reading ------------------------------------------------------------------------------------

    def get(self, case_id: str) -> CaseInfo:
        with self._guard():
            self._flush()
            found = self._select(case_id, None, None, None, None, 1)
            if not found:
                raise CaseNotFound(case_id)
            return found[0]

    def snapshot(self, case_id: str) -> dict[str, Any]:
        """The stored snapshot JSON of a case (what ``Case.to_json`` writes besides the history)."""
        with self._guard():
            self._flush()
            return dict(json.loads(self._row(case_id).snapshot))

    def query(self, *, process_id: str | None = None, state: str | None = None, due_before: datetime | None = None,
              closed: bool | None = None, limit: int | None = None) -> list[CaseInfo]:
        with self._guard():
            self._flush()
            return self._select(None, process_id, state, due_before, closed, limit)

    def overdue(self, at: datetime | None = None) -> list[CaseInfo]:
        """Open cases with a pending deadline at or before ``at`` (default: now), earliest first."""
        return self.query(due_before=at if at is not None else self.clock.now(), closed=False)

    def _logged(self, case_id: str) -> tuple[Row, list[tuple[int, str, str, str]]]:
        """The case row and its audit rows up to the row's ``seq``, read in one consistent view."""
        with self._reading():
            row = self._row(case_id)
            return row, [r for r in self._history_rows(case_id) if r[0] <= row.seq]

    def history(self, case_id: str) -> tuple[AuditEntry, ...]:
        with self._guard():
            self._flush()
            _, rows = self._logged(case_id)
        return tuple(AuditEntry.from_json(json.loads(r[3])) for r in rows)

    def load(self, case_id: str) -> Case:
        with self._guard():
            self._flush()
            row, rows = self._logged(case_id)
            case = Case.from_json(self.process(row.process_id, row.process_version), case_text(row, rows),
                                  clock=self.clock)
            self._remember(case, row.version)
            return case

    def export(self, case_id: str, indent: int | None = 2) -> str:
        """The case JSON (``Case.to_json``); ``careflow case import`` reads it back."""
        return self.load(case_id).to_json(indent=indent)

    def version(self, case: Case) -> int | None:
        """The stored version ``case`` was loaded or last saved at (None if this store does not know it)."""
        mark = self._track.get(case)
        return None if mark is None else mark[0]

    # -- verification -------------------------------------------------------------------------------

    def verify_cases(self, case_id: str | None = None, *, replay: bool = True) -> Iterator[CaseCheck]:
        with self._guard():
            self._flush()
            ids = [case_id] if case_id is not None else self._case_ids()
        for one in ids:
            with self._guard():
                row, rows = self._logged(one)
                process = partial(self.process, row.process_id, row.process_version) if replay else None
                yield check_case(row, rows, process)


__all__ = ["BaseStore"]
