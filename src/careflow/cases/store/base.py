"""What every store shares: the read–step–commit cycle, versions, transactions, verification.

Backends supply a handful of primitives (read a row, apply changes inside an open transaction,
begin/commit/rollback, select rows); the semantics — which entries a commit writes, how versions are
checked, how a refusal is recorded, how a handoff's child case is created — live here once, so the
three stores cannot drift apart. The decisions themselves are ``engine.step``'s: a store never
interprets a transition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from careflow.cases.case import Case
from careflow.cases.children import open_child
from careflow.cases.store import CaseInfo, Fired, ProcessResolver
from careflow.cases.store.access import Reader, person, program, system
from careflow.cases.store.auditing import StoreAuditing
from careflow.cases.store.codec import (
    Change,
    Row,
    case_text,
    change,
    decode,
    seal_rows,
)
from careflow.cases.store.ids import check_case_id, check_stored_id, child_of, shown
from careflow.cases.store.reader import CaseReader
from careflow.cases.store.records import RecordsDuties
from careflow.cases.store.seal import Sealer
from careflow.cases.store.tamper import first_difference, past_head
from careflow.cases.store.values import with_values
from careflow.clock import SYSTEM_CLOCK, Clock
from careflow.errors import (
    CareflowError,
    CaseError,
    CaseNotFound,
    ConcurrentUpdate,
    InvalidCaseId,
    StoreError,
    TamperedCase,
    refusal_error,
)
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import AuditEntry, RawEntry, cook, seal_all
from careflow.runtime.boundary import time_problem
from careflow.runtime.changes import tick
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from careflow.runtime.engine import Step, step
from careflow.runtime.fields import Snapshot, snapshot_of
from careflow.runtime.records import RECORDS_ROLE
from careflow.runtime.reports import due_reports, parent_link, report_up

Run = Callable[[CompiledProcess, Snapshot, datetime], Step]




class BaseStore(StoreAuditing, RecordsDuties):
    """The shared half of every store (see the module docstring). Thread-safe: one lock per store."""

    def __init__(self, url: str, *, processes: Iterable[ProcessDefinition | CompiledProcess] = (),
                 resolver: ProcessResolver | None = None, clock: Clock | None = None,
                 identity: Actor | None = None, purpose: str | None = None, log_reads: bool = True,
                 seal_key: bytes | None = None, records_role: str = RECORDS_ROLE) -> None:
        self.url = url
        self.clock = clock or SYSTEM_CLOCK
        self.records_role = records_role  # the role that may redact (docs/records.md)
        self._resolver = resolver
        self._processes: dict[tuple[str, str], CompiledProcess] = {}
        for process in processes:
            self.register(process)
        super().__init__(Sealer(seal_key))
        self._init_access(program(identity, purpose), log_reads)

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
            from careflow.definitions.loader import load_id

            try:
                found = load_id(process_id)  # an id from a stored row: looked up by id, never read as a path
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
            self._admit(case.case_id)
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
        children = {link.case_id for link in case.snapshot.links if link.kind == "child"}
        for child in spawned:
            if child.case_id not in children:
                raise InvalidCaseId(shown(child.case_id), f"is not a case that '{case.case_id}' spawned",
                                    "pass only the cases its handoffs opened (FireResult.spawned)")
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
        check_stored_id(case_id)
        refused = time_problem(now) if now is not None else None
        if refused is not None:
            raise refusal_error(refused)
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
        if not made and refused is not None:  # refused by the boundary before anything was recorded
            return refusal_error(refused)
        if not made:
            return Fired(case_id, row.version, compiled.paths[new.leaf], (), (), attempt)
        reported: list[Change] = []
        if compiled.reports and refused is None:
            new, made, reported = self._reports(compiled, new, made, when)
        sealed, rows = seal_rows([cook(e) for e in made], row.head)
        changes = [change(compiled, new, sealed, row.version + 1, row.version, not self._tx, rows)]
        spawned = [self._child(compiled, case_id, e, when) for e in sealed if e.kind == "spawned"]
        self._write(changes + spawned + reported)
        if self._tx:
            self._snaps[case_id] = (compiled, new)
        if refused is not None:
            return refusal_error(refused, sealed[0])
        return Fired(case_id, row.version + 1, compiled.paths[new.leaf], tuple(sealed),
                     tuple(c.case_id for c in spawned), attempt)

    def _reports(self, compiled: CompiledProcess, snap: Snapshot, made: Sequence[RawEntry], when: datetime
                 ) -> tuple[Snapshot, tuple[RawEntry, ...], list[Change]]:
        """A step's reports back to the parent case (``runtime.reports``), in the same transaction: the
        child's snapshot and entries with its ``reported`` entries, and the parent's changes (its own
        handoffs and reports included)."""
        link = parent_link(snap)
        due = due_reports(compiled, made, link.process_id) if link is not None else []
        if link is None or not due:
            return snap, tuple(made), []
        row = self._row(link.case_id)
        parent = self.process(row.process_id, row.process_version)
        cached = self._snaps.get(link.case_id) if self._tx else None
        psnap: Snapshot = cached[1] if cached is not None else snapshot_of(decode(row))
        out, pmade, more = list(made), list[RawEntry](), list[Change]()
        for report, cause in due:
            done = report_up(compiled, snap, report, cause, parent, psnap, when)
            snap, psnap = snapshot_of(done.child), snapshot_of(done.parent)
            out.append(done.child_entry)
            entries = done.parent_entries
            if done.refusal is None and parent.reports:
                psnap, entries, deeper = self._reports(parent, psnap, entries, when)
                more += deeper
            pmade += entries
        sealed, rows = seal_rows([cook(e) for e in pmade], row.head)
        changes = [change(parent, psnap, sealed, row.version + 1, row.version, not self._tx, rows)]
        changes += [self._child(parent, link.case_id, e, when) for e in sealed if e.kind == "spawned"]
        if self._tx:
            self._snaps[link.case_id] = (parent, psnap)
        return snap, tuple(out), changes + more

    def _child(self, compiled: CompiledProcess, case_id: str, entry: AuditEntry, when: datetime) -> Change:
        """The case a ``spawned`` entry opens, created in the same transaction as its parent's step."""
        child, opening = open_child(compiled, case_id, entry, when)
        assert opening.snapshot is not None and opening.entry is not None
        check_stored_id(opening.snapshot[0])  # a child's id grows with each handoff: refused past the limit
        return change(self._known(child), opening.snapshot, seal_all([opening.entry]), 1, None)

    # -- reading ------------------------------------------------------------------------------------

    def reader(self, actor: Actor, purpose: str) -> CaseReader:
        """A view of this store whose every read is recorded as ``actor`` reading for ``purpose``.
        ``InvalidReader`` (CF965) when either is missing or outside the limits."""
        return CaseReader(self, person(actor, purpose))

    def system_reader(self, purpose: str) -> CaseReader:
        """A view whose reads are recorded as careflow's own (origin ``system``): the deadline runner."""
        return CaseReader(self, system(purpose))

    def get(self, case_id: str) -> CaseInfo:
        return self.read_info(case_id, self.identity)

    def read_info(self, case_id: str, reader: Reader) -> CaseInfo:
        """``get``, recorded as read by ``reader`` (``store.reader(actor, purpose).get`` calls this)."""
        check_stored_id(case_id)
        with self._guard():
            self._flush()
            found = self._select(case_id, None, None, None, None, 1)
            if not found:
                raise CaseNotFound(case_id)
            self._record(reader, "get", [case_id])
            return found[0]

    def snapshot(self, case_id: str) -> dict[str, Any]:
        """The stored snapshot JSON of a case (what ``Case.to_json`` writes besides the history)."""
        return self.read_snapshot(case_id, self.identity)

    def read_snapshot(self, case_id: str, reader: Reader) -> dict[str, Any]:
        check_stored_id(case_id)
        with self._guard():
            self._flush()
            found = dict(json.loads(self._row(case_id).snapshot))
            self._record(reader, "snapshot", [case_id])
            return found

    def query(self, *, process_id: str | None = None, state: str | None = None, due_before: datetime | None = None,
              closed: bool | None = None, limit: int | None = None) -> list[CaseInfo]:
        return self.read_query(self.identity, "query", process_id=process_id, state=state, due_before=due_before,
                               closed=closed, limit=limit)

    def read_query(self, reader: Reader, action: str, *, process_id: str | None = None, state: str | None = None,
                   due_before: datetime | None = None, closed: bool | None = None,
                   limit: int | None = None) -> list[CaseInfo]:
        """``query``, each case listed recorded as read by ``reader`` (``action``: query or overdue)."""
        with self._guard():
            self._flush()
            found = self._select(None, process_id, state, due_before, closed, limit)
            self._record(reader, action, [i.case_id for i in found])
            return found

    def overdue(self, at: datetime | None = None) -> list[CaseInfo]:
        """Open cases with a pending deadline at or before ``at`` (default: now), earliest first."""
        return self.read_query(self.identity, "overdue", due_before=at if at is not None else self.clock.now(),
                               closed=False)

    def _admit(self, case_id: str) -> None:
        """Refuse a new case's id outside the limit, or a child's id its parent's log does not name (so
        nobody can take a child's id before the handoff that opens it)."""
        family = child_of(case_id) if type(case_id) is str else None
        if family is None:
            check_case_id(case_id)
            return
        check_stored_id(case_id)
        parent, seq = family
        try:
            self._flush()
            named = [json.loads(r[3]).get("ref") or {} for r in self._history_rows(parent) if r[0] == seq]
        except (ValueError, AttributeError):
            named = []
        if not any(isinstance(ref, dict) and ref.get("case_id") == case_id for ref in named):
            raise InvalidCaseId(shown(case_id), f"has the form of a child of '{parent}', but that case's log "
                                                f"does not name it at seq {seq}",
                                "store the parent first (or save(parent, spawned=[child])); ids with ':' "
                                "are kept for the cases handoffs open")

    def _logged(self, case_id: str, check: bool = True) -> tuple[Row, list[tuple[int, str, str, str]]]:
        """The case row and its audit rows up to the row's ``seq``, read in one consistent view; with
        ``check``, the row's seal is checked and audit rows past its head refused (``TamperedCase``)."""
        with self._reading():
            row = self._row(case_id, check)
            rows = self._history_rows(case_id)
        beyond = past_head(row, rows) if check else None
        if beyond is not None:
            raise TamperedCase(case_id, *beyond)
        return row, with_values([r for r in rows if r[0] <= row.seq], self._value_rows(case_id))

    def _check(self, row: Row) -> None:
        """Refuse a row that does not carry its seal, naming its first inconsistent field (the slow path,
        taken only on a mismatch: the columns against the snapshot, then the log replayed)."""
        if not self.sealer.check(row):
            logged = with_values(self._history_rows(row.case_id), self._value_rows(row.case_id))
            raise TamperedCase(row.case_id, *first_difference(row, logged, self.process))

    def history(self, case_id: str) -> tuple[AuditEntry, ...]:
        return self.read_history(case_id, self.identity)

    def read_history(self, case_id: str, reader: Reader) -> tuple[AuditEntry, ...]:
        check_stored_id(case_id)
        with self._guard():
            self._flush()
            _, rows = self._logged(case_id, check=False)  # the log as stored: nothing acts on the row
            self._record(reader, "history", [case_id])
        return tuple(AuditEntry.from_json(json.loads(r[3])) for r in rows)

    def load(self, case_id: str) -> Case:
        return self.read_case(case_id, self.identity, "load")

    def read_case(self, case_id: str, reader: Reader, action: str) -> Case:
        """The case, verified and replayed, recorded as read by ``reader`` (``action``: load or export)."""
        check_stored_id(case_id)
        with self._guard():
            self._flush()
            row, rows = self._logged(case_id)
            case = Case.from_json(self.process(row.process_id, row.process_version), case_text(row, rows),
                                  clock=self.clock)
            self._record(reader, action, [case_id])
            self._remember(case, row.version)
            return case

    def export(self, case_id: str, indent: int | None = 2) -> str:
        """The case JSON (``Case.to_json``); ``careflow case import`` reads it back."""
        return self.read_case(case_id, self.identity, "export").to_json(indent=indent)

    def version(self, case: Case) -> int | None:
        """The stored version ``case`` was loaded or last saved at (None if this store does not know it)."""
        mark = self._track.get(case)
        return None if mark is None else mark[0]


__all__ = ["BaseStore"]
