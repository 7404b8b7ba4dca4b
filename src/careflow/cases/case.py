"""``Case``: the one mutable holder of a case's snapshot and audit log, and the facade that raises.

Every change goes through the runtime (``open_case``, ``step``, ``assign``, ``tick``), which returns
records; the case stores what they hold, turns a refusal into its ``CaseError`` (``errors.refusal_error``),
seals the log lazily (see ``careflow.runtime.audit``), opens the cases a handoff spawns and runs
registered actions after a transition is committed.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from careflow.cases.children import open_child
from careflow.cases.results import CaseView, Explanation, FireResult
from careflow.clock import SYSTEM_CLOCK, Clock
from careflow.errors import ActionFailed, HistoryError, refusal_error
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import GENESIS, AuditEntry, RawEntry, VerifyResult, cook, seal_raw, store, verify_chain
from careflow.runtime.changes import action_detail, action_failed, assign, due_at, open_case, tick
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, Resolver, compile
from careflow.runtime.engine import decide
from careflow.runtime.fields import Link, RawSnapshot, Snapshot, snapshot_of
from careflow.runtime.registry import Registry
from careflow.runtime.reports import due_reports, parent_link, report_up
from careflow.runtime.snapshots import snapshot_json
from careflow.runtime.wording import worded

FORMAT = "careflow.case/1"
_PREFIX = secrets.token_hex(6)  # random per process: ids from different hosts do not collide
_COUNTER = itertools.count(1)
_new = tuple.__new__


class Case:
    """A case of a process. Open with ``Case.open``; change with ``fire``, ``assign_role``, ``tick``."""

    __slots__ = ("__weakref__", "_c", "_clock", "_head", "_log", "_parent", "_s", "_sealed")

    _c: CompiledProcess
    _s: RawSnapshot  # as the runtime hands it out (a plain tuple: see runtime.fields)
    _log: list[RawEntry]  # stored form (see audit.cook); sealed up to _sealed
    _sealed: int
    _head: str
    _clock: Clock
    _parent: Case | None

    @classmethod
    def _make(cls, compiled: CompiledProcess, snap: RawSnapshot, log: list[RawEntry], clock: Clock) -> Case:
        case = object.__new__(cls)
        case._c, case._s, case._log, case._sealed, case._head, case._clock = compiled, snap, log, 0, GENESIS, clock
        case._parent = None  # the Case whose handoff opened this one, when held in memory (for reports)
        return case

    @classmethod
    def open(cls, process: ProcessDefinition | CompiledProcess, case_id: str | None = None, *,
             actor: Actor = SYSTEM, data: Mapping[str, Any] | None = None, clock: Clock | None = None,
             registry: Registry | None = None, resolver: Resolver | None = None, reason: str | None = None,
             parent: Link | None = None) -> Case:
        """Open a case: ``data`` validated (``InvalidData`` names the field), defaults filled in.

        ``case_id`` defaults to a random per-host prefix plus a counter. ``resolver`` finds the
        processes handoffs name (default: ``careflow.definitions.loader.load``).
        """
        compiled = process if isinstance(process, CompiledProcess) else compile(process, registry, resolver)
        clock = clock or SYSTEM_CLOCK
        case_id = case_id if case_id is not None else f"{_PREFIX}-{next(_COUNTER)}"
        opening = open_case(compiled, case_id, actor, data, clock.now(), parent=parent, reason=reason)
        if opening.snapshot is None or opening.stored is None:
            assert opening.refusal is not None
            raise refusal_error(opening.refusal)
        return cls._make(compiled, opening.snapshot, [opening.stored], clock)

    @classmethod
    def restore(cls, compiled: CompiledProcess, snapshot: Snapshot, entries: Sequence[AuditEntry], *,
                clock: Clock | None = None) -> Case:
        """A case rebuilt from its state and its log (e.g. what ``history.replay`` returns). The caller
        vouches that ``snapshot`` is what ``entries`` lead to; sealed entries keep their hashes."""
        log = [store(e) for e in entries]
        case = cls._make(compiled, snapshot, log, clock or SYSTEM_CLOCK)
        sealed = 0
        while sealed < len(entries) and entries[sealed].hash is not None:
            sealed += 1
        if sealed:
            case._sealed, case._head = sealed, entries[sealed - 1].hash or GENESIS
        return case

    # -- reading -------------------------------------------------------------------------------------

    @property
    def case_id(self) -> str:
        return self.snapshot.case_id

    @property
    def leaf(self) -> str:
        """The current (leaf) state id."""
        return self.snapshot.leaf

    @property
    def process(self) -> ProcessDefinition:
        """The definition the case runs on."""
        return self._c.process

    @property
    def process_id(self) -> str:
        return self._c.id

    @property
    def process_version(self) -> str:
        return self._c.version

    @property
    def compiled(self) -> CompiledProcess:
        return self._c

    @property
    def snapshot(self) -> Snapshot:
        """The current immutable snapshot."""
        return snapshot_of(self._s)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def state(self) -> str:
        """The dotted path of the current state, e.g. ``level_1.l1_s1``."""
        return self._c.paths[self.snapshot.leaf]

    @property
    def data(self) -> Mapping[str, Any]:
        """A read-only view of the case data (arrays are tuples, objects read-only mappings)."""
        return MappingProxyType(self.snapshot.data)

    @property
    def roles(self) -> Mapping[str, str]:
        """Case-scoped role -> the person id holding it in this case."""
        return MappingProxyType(self.snapshot.roles)

    @property
    def links(self) -> tuple[Link, ...]:
        return self.snapshot.links

    @property
    def ticked(self) -> tuple[tuple[str, str], ...]:
        """Ticked checklist items of the active states, as sorted (state id, item id) pairs."""
        return self.snapshot.ticks

    @property
    def closed(self) -> bool:
        return self.snapshot.leaf in self._c.finals

    @property
    def due_at(self) -> datetime | None:
        """The earliest pending deadline, or None."""
        return due_at(self._s) if self.snapshot.timers else None

    @property
    def history(self) -> tuple[AuditEntry, ...]:
        """Every entry, sealed (hashes are computed here for entries not sealed yet)."""
        self._seal()
        return tuple(cook(e) for e in self._log)

    @property
    def head(self) -> str:
        """The hash of the newest entry: keep it elsewhere to detect a log cut short."""
        self._seal()
        return self._head

    def entries_since(self, seq: int) -> tuple[AuditEntry, ...]:
        """Sealed entries with ``seq`` greater than ``seq`` (what a store has not saved yet)."""
        return self.entries_between(seq + 1, len(self._log))

    def entries_between(self, start: int, stop: int) -> tuple[AuditEntry, ...]:
        """Sealed entries ``start`` (inclusive) to ``stop`` (exclusive), by position in the log."""
        self._seal()
        return tuple(cook(e) for e in self._log[start:stop])

    def verify_chain(self) -> VerifyResult:
        self._seal()
        return verify_chain([cook(e) for e in self._log])

    def rewind(self, snapshot: Snapshot) -> None:
        """Go back to ``snapshot``, an earlier state of this case: the log is cut after its ``seq``.
        A store does this when a save is refused (``ConcurrentUpdate``), so the case is as committed."""
        if snapshot.case_id != self.snapshot.case_id or snapshot.seq > self.snapshot.seq:
            raise ValueError(f"not an earlier snapshot of case '{self.snapshot.case_id}'")
        del self._log[snapshot.seq + 1:]
        self._s = snapshot
        if self._sealed > len(self._log):
            self._sealed = len(self._log)
            self._head = cook(self._log[-1]).hash or GENESIS

    def _seal(self) -> None:
        log, head = self._log, self._head
        for i in range(self._sealed, len(log)):
            log[i] = sealed = seal_raw(log[i], head)
            head = sealed[18]
        self._sealed, self._head = len(log), head

    def __repr__(self) -> str:
        return f"<Case {self.case_id} {self._c.id}@{self._c.version} in {self.state}>"

    # -- acting --------------------------------------------------------------------------------------

    def fire(self, event: str, actor: Actor, data: Mapping[str, Any] | None = None, reason: str | None = None
             ) -> FireResult:
        """Fire ``event`` as ``actor``. Refusals raise a ``CaseError`` subclass after logging a
        ``denied`` entry (state unchanged). Actions that fail raise ``ActionFailed`` (committed)."""
        snap, entries, refusal = decide(self._c, self._s, event, actor, data, self._clock.now(), reason)
        self._s = snap
        log = self._log
        start = len(log)
        if refusal is not None:
            log.append(entries[0])
            self._seal()
            raise refusal_error(refusal, cook(log[-1]))
        if len(entries) == 1 and not self._c.actions and not self._c.reports:
            log.append(entries[0])
            return _new(FireResult, (self, start, start + 1, ()))
        return self._commit(entries)

    def _commit(self, entries: Sequence[RawEntry]) -> FireResult:
        log = self._log
        start = len(log)
        log.extend(entries)
        now = self._clock.now()
        if self._c.reports and self._parent is not None:
            self._report(entries, self._parent, now)
        spawned = tuple(self._spawn(cook(e), now) for e in entries if e[3] == "spawned")
        result = FireResult(self, start, len(log), spawned)
        actions = self._c.actions
        if actions:
            for index, raw in enumerate(entries):
                entry = cook(raw)
                if entry.kind not in ("fired", "deadline"):
                    continue
                for name, fn in actions.get(entry.transition or "", ()):
                    try:
                        fn(CaseView.of(self), self.entries_between(start + index, start + index + 1)[0])
                    except Exception as exc:
                        failed = action_failed(self._c, self._s, (entry.seq, entry.event, entry.transition), name,
                                               action_detail(name, exc), self._clock.now())
                        self._s = failed.snapshot
                        log.extend(failed.stored)
                        raise ActionFailed(result, name, exc) from exc
        return result

    def _spawn(self, entry: AuditEntry, now: datetime) -> Case:
        child, opening = open_child(self._c, self.snapshot.case_id, entry, now)
        assert opening.snapshot is not None and opening.stored is not None
        case = Case._make(child, opening.snapshot, [opening.stored], self._clock)
        case._parent = self
        return case

    def _report(self, entries: Sequence[RawEntry], parent: Case, now: datetime) -> None:
        """Reports back to ``parent`` (``runtime.reports``): its event fired, this log's ``reported`` entry.
        Only a parent held in memory is reported to (one this case's handoff came from in this process);
        a store reports in the same transaction whatever it holds."""
        link = parent_link(self._s)
        if link is None or link.case_id != parent.case_id:
            return
        for report, cause in due_reports(self._c, entries, parent.process_id):
            done = report_up(self._c, self._s, report, cause, parent._c, parent._s, now)
            self._s = done.child
            self._log.append(done.child_entry)
            parent._s = done.parent
            if done.refusal is not None:
                parent._log.extend(done.parent_entries)
            else:
                parent._commit(done.parent_entries)

    def assign_role(self, role: str, person_id: str | None, *, actor: Actor, reason: str | None = None
                    ) -> AuditEntry:
        """Give case role ``role`` to ``person_id`` in this case (None takes it away): audited.
        ``InvalidData`` (nothing logged) for an unknown case role or an empty person id."""
        done = assign(self._c, self._s, role, person_id, actor, self._clock.now(), reason)
        if done.refusal is not None:
            raise refusal_error(done.refusal)
        self._s = done.snapshot
        self._log.extend(done.stored)
        return self.entries_between(len(self._log) - 1, len(self._log))[0]

    def tick(self, now: datetime | None = None) -> FireResult:
        """Fire the ``on_due``/``on_every`` events whose deadlines have passed (as ``system``); idempotent: a
        recurring deadline fires once for every occurrence passed since the last tick (``runtime.changes.tick``)."""
        done = tick(self._c, self._s, now if now is not None else self._clock.now())
        if done.refusal is not None:  # a ``now`` the boundary refuses: nothing changed, nothing logged
            raise refusal_error(done.refusal)
        self._s = done.snapshot
        if not done.stored:
            return FireResult(self, len(self._log), len(self._log))
        return self._commit(done.stored)

    # -- asking --------------------------------------------------------------------------------------

    def allowed(self, actor: Actor) -> list[str]:
        """Events ``actor`` may fire now, in document order.

        Rule for event data: nothing is supplied. An event whose required data is missing, or whose
        condition is false only because it reads event data (``event.x``), is listed — it is possible
        once the data is given. Conditions on case data alone are decided now.
        """
        out = []
        now = self._clock.now()
        for event in self._c.table[self.snapshot.leaf]:
            refusal = decide(self._c, self._s, event, actor, None, now)[2]
            if refusal is None or refusal.code == "missing-data" or (
                    refusal.code == "guard-failed" and refusal.needs_event):
                out.append(event)
        return out

    def explain(self, event: str, actor: Actor, data: Mapping[str, Any] | None = None, *, lang: str | None = None
                ) -> Explanation:
        """Would ``event`` by ``actor`` (with ``data``) succeed now, and if not, why not. Logs nothing.

        ``message`` says it as a case worker reads it, with the process's labels in ``lang`` (nn, nb or en
        sentences; default: the process's language)."""
        snap, _, refusal = decide(self._c, self._s, event, actor, data, self._clock.now())
        if refusal is not None:
            needs = refusal.fields if data is None and refusal.code == "missing-data" else ()
            message = worded(self._c, self.snapshot.leaf, event, refusal, actor, lang)
            return Explanation(event, False, list(refusal.reasons), refusal.code, needs, message=message)
        return Explanation(event, True, [], None, (), self._c.paths[snapshot_of(snap).leaf])

    # -- JSON ----------------------------------------------------------------------------------------

    def to_json(self, indent: int | None = None) -> str:
        """The case and its sealed log as JSON (``Case.from_json`` reads it back, verifying it)."""
        self._seal()
        body = {"format": FORMAT, **snapshot_json(self._c, self._s), "head": self._head,
                "history": [cook(e).to_json() for e in self._log]}
        return json.dumps(body, ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, process: ProcessDefinition | CompiledProcess, text: str | bytes, *,
                  clock: Clock | None = None, registry: Registry | None = None,
                  resolver: Resolver | None = None) -> Case:
        """Read a case back. Its log is replayed (``careflow.history.replay``: every entry re-decided by
        ``engine.step``, the hash chain verified) and must lead to the stored state; else ``HistoryError``."""
        from careflow.history.reader import HistoryFileError, from_document
        from careflow.history.replay import replay

        compiled = process if isinstance(process, CompiledProcess) else compile(process, registry, resolver)
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise HistoryError(f"unreadable case JSON: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            found = body.get("format") if isinstance(body, dict) else None
            raise HistoryError(f"not a careflow case (format {found!r})")
        if (body.get("process_id"), body.get("process_version")) != (compiled.id, compiled.version):
            raise HistoryError(f"the case runs on {body.get('process_id')}@{body.get('process_version')}, "
                               f"not {compiled.id}@{compiled.version}")
        try:
            history = from_document(body)
        except HistoryFileError as exc:
            raise HistoryError(f"unreadable case JSON: {exc.diagnostics[0].message}") from exc
        result = replay(compiled, history)
        if result.divergence is not None or result.snapshot is None:
            div = result.divergence
            raise HistoryError(div.reason if div else "the log does not replay", index=div.index if div else None)
        return cls.restore(compiled, result.snapshot, result.entries, clock=clock)


def overdue_cases(cases: Iterable[Case], now: datetime | None = None) -> list[Case]:
    """The cases with a pending deadline at or before ``now`` (default: each case's clock)."""
    out = []
    for case in cases:
        when = case.due_at
        if when is not None and when <= (now if now is not None else case.clock.now()):
            out.append(case)
    return out


__all__ = ["Case", "CaseView", "Explanation", "FireResult", "overdue_cases"]
