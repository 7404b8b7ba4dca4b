"""``Case``: the one mutable holder of a case's snapshot and audit log.

Every change goes through ``careflow.runtime.engine`` (``open_case``, ``step``, ``assign``, ``tick``); the
case only stores what those return, seals the log lazily (see ``careflow.runtime.audit``), opens the cases
a handoff spawns and runs registered actions after a transition is committed.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from careflow.clock import SYSTEM_CLOCK, Clock
from careflow.errors import CareflowError
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import GENESIS, AuditEntry, RawEntry, VerifyResult, cook, seal_raw, verify
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, GuardFailed, MissingData, Resolver, compile
from careflow.runtime.data import CaseError
from careflow.runtime.engine import (
    CASE_ID,
    DATA,
    LEAF,
    LINKS,
    ROLES,
    TICKS,
    TIMERS,
    Link,
    RawSnapshot,
    _action_failed,
    _assign,
    _open,
    _step,
    _tick,
    due_at,
    public,
)
from careflow.runtime.registry import Registry
from careflow.runtime.snapshots import snapshot_json

FORMAT = "careflow.case/1"
_PREFIX = secrets.token_hex(6)  # random per process: ids from different hosts do not collide
_COUNTER = itertools.count(1)
_new = tuple.__new__


class HistoryError(CareflowError):
    """A stored case whose log fails verification or does not replay to its stored state."""

    code = "CF900"

    def __init__(self, message: str, result: VerifyResult | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.index = index if index is not None else (result.index if result is not None else None)


class ActionFailed(CareflowError):
    """An action raised after its transition was committed.

    The transition stands (state and entry are in the case) and an ``action_failed`` entry records
    the failure; ``result`` is the committed ``FireResult``, ``action`` the failing action's name and
    ``error`` its exception (also ``__cause__``). Later actions for the same entry do not run.
    """

    code = "CF901"

    def __init__(self, result: FireResult, action: str, error: BaseException) -> None:
        super().__init__(f"action '{action}' failed after the transition was committed: "
                         f"{type(error).__name__}: {error}")
        self.result, self.action, self.error = result, action, error


class FireResult(NamedTuple):
    """What ``fire``/``tick`` committed: ``entries`` (sealed on access), ``entry`` (the last one),
    ``spawned`` (cases opened by handoffs; the application decides where to keep them)."""

    case: Case
    start: int
    stop: int
    spawned: tuple[Case, ...] = ()

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        return self.case._sealed_range(self.start, self.stop)

    @property
    def entry(self) -> AuditEntry:
        return self.entries[-1]

    @property
    def state(self) -> str:
        return self.case.state


@attrs.frozen
class Explanation:
    """Whether ``event`` is possible for an actor now, and why (not).

    ``code`` is the refusal code when not possible; ``needs_data`` the event data still to be given
    (missing required fields, or fields a false guard reads) when no data was passed; ``target`` the
    dotted state it would lead to when possible.
    """

    event: str
    possible: bool
    reasons: list[str]
    code: str | None = None
    needs_data: tuple[str, ...] = ()
    target: str | None = None


class CaseView:
    """A read-only view of a case, handed to actions."""

    __slots__ = ("_case",)

    def __init__(self, case: Case) -> None:
        self._case = case

    case_id = property(lambda self: self._case.case_id)
    process_id = property(lambda self: self._case.process_id)
    process_version = property(lambda self: self._case.process_version)
    state = property(lambda self: self._case.state)
    leaf = property(lambda self: self._case.leaf)
    data = property(lambda self: self._case.data)
    roles = property(lambda self: self._case.roles)
    links = property(lambda self: self._case.links)


class Case:
    """A case of a process. Open with ``Case.open``; change with ``fire``, ``assign_role``, ``tick``."""

    __slots__ = ("__weakref__", "_c", "_clock", "_head", "_log", "_s", "_sealed")

    _c: CompiledProcess
    _s: RawSnapshot  # a Snapshot's fields as a plain tuple (see engine.Snapshot)
    _log: list[RawEntry]  # stored form (see audit.cook); sealed up to _sealed
    _sealed: int
    _head: str
    _clock: Clock

    @classmethod
    def _make(cls, compiled: CompiledProcess, snap: RawSnapshot, log: list[RawEntry], clock: Clock) -> Case:
        case = object.__new__(cls)
        case._c, case._s, case._log, case._sealed, case._head, case._clock = compiled, snap, log, 0, GENESIS, clock
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
        snap, entry = _open(compiled, case_id, actor, data, clock.now(), parent, reason)
        return cls._make(compiled, snap, [entry], clock)

    # -- reading -------------------------------------------------------------------------------------

    case_id = property(lambda self: self._s[CASE_ID], doc="The case's id.")
    leaf = property(lambda self: self._s[LEAF], doc="The current (leaf) state id.")
    process = property(lambda self: self._c.process, doc="The definition the case runs on.")
    process_id = property(lambda self: self._c.id)
    process_version = property(lambda self: self._c.version)
    compiled = property(lambda self: self._c)
    snapshot = property(lambda self: public(self._s), doc="The current immutable snapshot.")
    clock = property(lambda self: self._clock)

    @property
    def state(self) -> str:
        """The dotted path of the current state, e.g. ``level_1.l1_s1``."""
        return self._c.paths[self._s[LEAF]]

    @property
    def data(self) -> Mapping[str, Any]:
        """A read-only view of the case data (arrays are tuples, objects read-only mappings)."""
        return MappingProxyType(self._s[DATA])

    @property
    def roles(self) -> Mapping[str, str]:
        """Case-scoped role -> the person id holding it in this case."""
        return MappingProxyType(self._s[ROLES])

    @property
    def links(self) -> tuple[Link, ...]:
        return self._s[LINKS]  # type: ignore[no-any-return]

    @property
    def ticked(self) -> tuple[tuple[str, str], ...]:
        """Ticked checklist items of the active states, as sorted (state id, item id) pairs."""
        return self._s[TICKS]  # type: ignore[no-any-return]

    @property
    def closed(self) -> bool:
        return self._s[LEAF] in self._c.finals

    @property
    def due_at(self) -> datetime | None:
        """The earliest pending deadline, or None."""
        return due_at(self._s) if self._s[TIMERS] else None

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
        self._seal()
        return tuple(cook(e) for e in self._log[seq + 1:])

    def verify(self) -> VerifyResult:
        self._seal()
        return verify([cook(e) for e in self._log])

    def _seal(self) -> None:
        log, head = self._log, self._head
        for i in range(self._sealed, len(log)):
            log[i] = sealed = seal_raw(log[i], head)
            head = sealed[-1]
        self._sealed, self._head = len(log), head

    def _sealed_range(self, start: int, stop: int) -> tuple[AuditEntry, ...]:
        self._seal()
        return tuple(cook(e) for e in self._log[start:stop])

    def __repr__(self) -> str:
        return f"<Case {self.case_id} {self._c.id}@{self._c.version} in {self.state}>"

    # -- acting --------------------------------------------------------------------------------------

    def fire(self, event: str, actor: Actor, data: Mapping[str, Any] | None = None, reason: str | None = None
             ) -> FireResult:
        """Fire ``event`` as ``actor``. Refusals raise a ``CaseError`` subclass after logging a
        ``denied`` entry (state unchanged). Actions that fail raise ``ActionFailed`` (committed)."""
        try:
            snap, entries = _step(self._c, self._s, event, actor, data, self._clock.now(), reason)
        except CaseError as err:
            self._refused(err)
            raise
        self._s = snap
        log = self._log
        start = len(log)
        if len(entries) == 1 and not self._c.actions:
            log.append(entries[0])
            return _new(FireResult, (self, start, start + 1, ()))
        return self._commit(entries)

    def _refused(self, err: CaseError) -> None:
        if err.entry is not None and err.entry[2] == self._s[CASE_ID]:
            self._s = err.snapshot
            self._log.append(err.entry)
            self._seal()
            err.entry = cook(self._log[-1])

    def _commit(self, entries: Sequence[RawEntry]) -> FireResult:
        log = self._log
        start = len(log)
        log.extend(entries)
        spawned = tuple(self._spawn(cook(e)) for e in entries if e[3] == "spawned")
        result = FireResult(self, start, len(log), spawned)
        actions = self._c.actions
        if actions:
            for index, raw in enumerate(entries):
                entry = cook(raw)
                for name, fn in actions.get(entry.transition or "", ()) if entry.kind != "spawned" else ():
                    try:
                        fn(CaseView(self), self._sealed_range(start + index, start + index + 1)[0])
                    except Exception as exc:
                        self._s, failed = _action_failed(self._c, self._s, entry, name, exc, self._clock.now())
                        log.append(failed)
                        raise ActionFailed(result, name, exc) from exc
        return result

    def _spawn(self, entry: AuditEntry) -> Case:
        ref = entry.ref or {}
        plan = self._c.spawn_targets[ref["process_id"]]
        link = Link("parent", self._c.id, self._s[CASE_ID], entry.seq)
        return Case.open(plan.compiled(), ref["case_id"], actor=Actor(entry.actor, entry.roles),
                         data=entry.data, clock=self._clock, parent=link, reason=entry.reason)

    def assign_role(self, role: str, person_id: str | None, *, actor: Actor, reason: str | None = None
                    ) -> AuditEntry:
        """Give case role ``role`` to ``person_id`` in this case (None takes it away): audited."""
        self._s, entry = _assign(self._c, self._s, role, person_id, actor, self._clock.now(), reason)
        self._log.append(entry)
        return self._sealed_range(len(self._log) - 1, len(self._log))[0]

    def tick(self, now: datetime | None = None) -> FireResult:
        """Fire the ``on_due`` events whose deadlines have passed (as ``system``); idempotent."""
        snap, entries = _tick(self._c, self._s, now if now is not None else self._clock.now())
        self._s = snap
        if not entries:
            return FireResult(self, len(self._log), len(self._log))
        return self._commit(entries)

    # -- asking --------------------------------------------------------------------------------------

    def allowed(self, actor: Actor) -> list[str]:
        """Events ``actor`` may fire now, in document order.

        Rule for event data: nothing is supplied. An event whose required data is missing, or whose
        condition is false only because it reads event data (``event.x``), is listed — it is possible
        once the data is given. Conditions on case data alone are decided now.
        """
        out = []
        now = self._clock.now()
        for event in self._c.table[self._s[LEAF]]:
            try:
                _step(self._c, self._s, event, actor, None, now)
            except MissingData:
                out.append(event)
            except GuardFailed as err:
                if err.needs_event:
                    out.append(event)
            except CaseError:
                pass
            else:
                out.append(event)
        return out

    def explain(self, event: str, actor: Actor, data: Mapping[str, Any] | None = None) -> Explanation:
        """Would ``event`` by ``actor`` (with ``data``) succeed now, and if not, why not. Logs nothing."""
        try:
            snap, _ = _step(self._c, self._s, event, actor, data, self._clock.now())
        except CaseError as err:
            needs: tuple[str, ...] = ()
            if data is None and isinstance(err, MissingData):
                needs = err.fields
            return Explanation(event, False, list(err.reasons), err.reason_code, needs)
        return Explanation(event, True, [], None, (), self._c.paths[snap[LEAF]])

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
        result = replay(compiled, history, clock=clock)
        if result.divergence is not None:
            raise HistoryError(result.divergence.reason, index=result.divergence.index)
        case = result.case
        assert case is not None
        return case


def overdue(cases: Iterable[Case], now: datetime | None = None) -> list[Case]:
    """The cases with a pending deadline at or before ``now`` (default: each case's clock)."""
    out = []
    for case in cases:
        when = case.due_at
        if when is not None and when <= (now if now is not None else case.clock.now()):
            out.append(case)
    return out


__all__ = ["SYSTEM", "ActionFailed", "Actor", "Case", "CaseView", "Explanation", "FireResult", "HistoryError",
           "overdue"]
