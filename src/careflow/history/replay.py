"""Replay: re-run a recorded history through the engine and name the first entry it would not have produced.

There is no second copy of the step semantics here: every entry is re-decided by ``engine`` (``_open``,
``_step``, ``_assign``, ``_tick``) and what the engine produces is compared with what was recorded. A
recorded field the history does not give (``ABSENT``) is not compared; fields that are inputs of the
step (time, actor, event, data, reason) are passed in.

Per entry, checks run in this order, so a problem is reported at the entry that has it: structure
(the entry's shape, its ``seq``), then semantics (the engine's verdict, state, data, refusal), then
the hash chain when the history carries hashes (link to the entry before, then the entry's own hash).
With ``against=`` (another definition) replay compares behaviour only: kinds, states, events, data,
refusal codes; not versions, transition ids, refusal wording or hashes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from careflow.history.chain import chain_problem
from careflow.history.entries import COMMITS
from careflow.history.jsonl import JsonLinesFile
from careflow.history.reader import ABSENT, EPOCH, Entry, History, from_entries, open_history, read_history
from careflow.history.removed import Removed, as_recorded, is_records, replay_records, without
from careflow.history.report import Divergence, entry_json, final_checks, mismatch, refusal
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import GENESIS, AuditEntry, cook
from careflow.runtime.changes import action_failed, assign, due_at, open_case, tick
from careflow.runtime.compiled import Actor, CompiledProcess, Resolver, compile
from careflow.runtime.engine import decide
from careflow.runtime.fields import (
    E_ACTOR,
    E_CASE_ID,
    E_CODE,
    E_DATA,
    E_DETAIL,
    E_EVENT,
    E_HASH,
    E_KIND,
    E_PREV_HASH,
    E_PROCESS_ID,
    E_REASON,
    E_REF,
    E_ROLES,
    E_SEQ,
    E_TARGET,
    E_TIME,
    E_TRANSITION,
    Link,
    RawSnapshot,
    Snapshot,
    snapshot_of,
)
from careflow.runtime.reports import reported_again

if TYPE_CHECKING:
    from careflow.clock import Clock
    from careflow.runtime.registry import Registry

_CHAIN_CODES = frozenset({"hash-missing", "link-broken", "hash-mismatch"})
#: Entries a step writes after its first one; a hand-written (unsealed) history may leave them out.
_FOLLOWERS = frozenset({"spawned", "assigned"})


class HasHistory(Protocol):
    """Anything with a sealed log, e.g. a ``Case``."""

    @property
    def history(self) -> tuple[AuditEntry, ...]: ...


HistoryLike = History | str | os.PathLike[str] | HasHistory | Sequence[AuditEntry | Mapping[str, Any]]


@attrs.frozen
class ReplayResult:
    """``ok``; ``divergence`` (the first one) when not; ``entries_checked``: entries that replayed
    cleanly. When ok: ``snapshot``, the state the log leads to, and ``entries``, the log as replayed
    (sealed with the recorded hashes when they were checked); ``Case.restore`` builds a case from them."""

    ok: bool
    entries_checked: int
    divergence: Divergence | None = None
    file: str | None = None
    snapshot: Snapshot | None = None
    _log: Sequence[Entry] = attrs.field(default=(), repr=False, eq=False, alias="log")
    _hashes: Sequence[Entry] | None = attrs.field(default=None, repr=False, eq=False, alias="hashes")
    _again: Callable[[], ReplayResult] | None = attrs.field(default=None, repr=False, eq=False, alias="again")

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        # built on first use: most replays only want the verdict. A JSON Lines file was replayed as a
        # stream that kept nothing: it is read and replayed again, whole, to give its entries.
        if self._again is not None:
            return self._again().entries
        log = self._log if self._hashes is None else _sealed_log(self._log, self._hashes)
        return tuple(cook(e) for e in log)

    def __bool__(self) -> bool:
        return self.ok


def replay(process: ProcessDefinition | CompiledProcess | str | os.PathLike[str], history: HistoryLike, *,
           against: ProcessDefinition | CompiledProcess | str | os.PathLike[str] | None = None,
           clock: Clock | None = None, registry: Registry | None = None,
           resolver: Resolver | None = None, check_hashes: bool = True) -> ReplayResult:
    """Re-run ``history`` on ``process``; with ``against``, on that definition instead, comparing behaviour.

    ``history``: a ``History`` (``careflow.history.reader.read_history``), a file path, anything with a
    ``history`` of entries (a ``Case``), or a sequence of entries (``AuditEntry`` or JSON mappings). A
    file that cannot be read raises ``HistoryFileError``; everything about the entries themselves is a
    ``Divergence`` in the result, never an exception. ``check_hashes=False`` skips the hash chain
    (behaviour only), e.g. when the log was verified on reading or is being checked against its own
    store's ``verify``. ``clock`` is not needed (replay takes each entry's recorded time); it is accepted
    so callers can pass the clock of the case they will rebuild.
    """
    compiled = _compiled(process, registry, resolver)
    target = compiled if against is None else _compiled(against, registry, resolver)
    source = _history(history)
    if not isinstance(source, JsonLinesFile):
        return _run(target, source, compiled, against is not None, check_hashes)
    with source:
        result = _run(target, source, compiled, against is not None, check_hashes)
        if not result.ok:
            source.drain()  # a file with a line that cannot be read is unreadable, wherever that line is
    if result.ok:
        file = source.file
        result = attrs.evolve(result, again=lambda: _run(target, read_history(file), compiled, against is not None,
                                                         check_hashes))
    return result


def _compiled(process: Any, registry: Registry | None, resolver: Resolver | None) -> CompiledProcess:
    if isinstance(process, CompiledProcess):
        return process
    if not isinstance(process, ProcessDefinition):
        from careflow.definitions.loader import load

        process = load(process)
    return compile(process, registry, resolver)


def _history(history: HistoryLike) -> History | JsonLinesFile:
    if isinstance(history, History):
        return history
    if isinstance(history, str | os.PathLike):
        return open_history(history)
    if isinstance(history, Sequence):
        return from_entries(history)
    return from_entries(history.history)


def _run(c: CompiledProcess, h: History | JsonLinesFile, recorded_on: CompiledProcess, behaviour: bool,
         check_hashes: bool = True) -> ReplayResult:
    """The replay loop over a whole ``History`` or a ``JsonLinesFile`` stream (which keeps no log)."""
    fail = partial(_failed, h)
    problem = _start_problem(c, h, recorded_on, behaviour)
    if problem is not None:
        return fail(*problem)
    sealed = h.sealed and not behaviour and check_hashes
    items, log = _items(h, sealed)
    actors: dict[str, tuple[tuple[str, ...], Actor]] = {}
    pending: deque[Entry] = deque()
    now: datetime = EPOCH
    snap: Any = None  # the raw snapshot so far (None before 'opened')
    head, follows, i = GENESIS, 0, 0  # follows: the seq the next entry a step records must have
    seen = Removed()  # values removed from the entries so far (see careflow.history.removed)
    for e, text in items:
        kind = e[E_KIND]
        try:
            while pending:
                p = pending.popleft()
                if p[E_KIND] in _FOLLOWERS and kind != p[E_KIND] and not sealed:
                    log.append(p)  # a hand-written history may leave out what follows a step's first entry
                    continue
                if e[E_SEQ] is not ABSENT and e[E_SEQ] != p[E_SEQ]:
                    return fail(i, f"entry {i}: sequence gap: seq {e[E_SEQ]} where {p[E_SEQ]} follows",
                                "sequence-gap")
                break
            else:
                # structure first: the entry's place in the log
                if e[E_SEQ] is not ABSENT and e[E_SEQ] != follows:
                    return fail(i, f"entry {i}: sequence gap: seq {e[E_SEQ]} where {follows} follows", "sequence-gap")
                now = now if e[E_TIME] is ABSENT else e[E_TIME]
                cached = actors.get(e[E_ACTOR])
                if cached is None or cached[0] != e[E_ROLES]:
                    cached = actors[e[E_ACTOR]] = (e[E_ROLES], Actor(e[E_ACTOR], frozenset(e[E_ROLES])))
                reason = None if e[E_REASON] is ABSENT else e[E_REASON]
                # then semantics: the runtime decides the entry again
                snap, produced, other = _decide(c, h, i, e, snap, cached[1], now, reason, seen)
                if other is not None:
                    return fail(i, other[1], other[0], other[2])
                p, follows = produced[0], produced[-1][E_SEQ] + 1
                if len(produced) > 1:
                    pending.extend(produced[1:])
            # compare: one tuple comparison when the entry is complete and agrees; then the hash chain
            p = seen.settle(i, p, e)
            found = mismatch(i, p, e, behaviour, sealed) if p[:E_PREV_HASH] != e[:E_PREV_HASH] else None
            if found is None and sealed:
                found = chain_problem(i, e, head, text, p)
                head = e[E_HASH]
            if found is not None:
                return fail(i, found[1], found[0], p if found[0] not in _CHAIN_CODES else None)
        except Exception as exc:
            return fail(i, f"entry {i}: cannot be replayed: {type(exc).__name__}: {exc}", "error")
        log.append(p)
        i += 1
    if isinstance(h, JsonLinesFile) and h.late_hash is not None:
        return fail(0, f"entry 0: has no 'hash', though the history is hash-chained (entry {h.late_hash} has one)",
                    "hash-missing")
    return _finish(c, h, i, snap, log, pending, head if sealed else None, behaviour, seen)


def _items(h: History | JsonLinesFile, sealed: bool) -> tuple[Iterable[tuple[Entry, str | None]], Any]:
    """(entry, its JSON line or None) pairs to replay, and the list the replayed log goes to: for a stream,
    a ``deque(maxlen=0)``, which keeps nothing (a stream is replayed to a verdict only)."""
    if isinstance(h, JsonLinesFile):
        return h, deque(maxlen=0)
    return zip(h.entries, h.texts if sealed and h.texts is not None else repeat(None), strict=False), []


def _failed(h: History | JsonLinesFile, index: int, reason: str, code: str, actual: Any = None) -> ReplayResult:
    given = h.given_entry(index)
    expected = entry_json(given) if given is not None else {}
    got = entry_json(cook(actual)) if actual is not None else None
    div = Divergence(index, expected, got, reason, code, h.file, h.line(index))
    return ReplayResult(False, index, div, h.file)


def _finish(c: CompiledProcess, h: History | JsonLinesFile, n: int, snap: RawSnapshot, log: Any,
            pending: deque[Entry], head: str | None, behaviour: bool, seen: Removed) -> ReplayResult:
    """After the last entry: removed values no redaction names, what the definition still records, the
    stored state and head, ``expect``."""
    unlogged = seen.unlogged()
    if unlogged is not None:
        return _failed(h, unlogged[0], unlogged[1], "values-removed")
    if pending:
        p = pending[0]
        if head is not None or any(q[E_KIND] not in _FOLLOWERS for q in pending):
            return _failed(h, n, f"the history ends after entry {n - 1}, but the definition also records a "
                                 f"'{p[E_KIND]}' entry (seq {p[E_SEQ]})", "missing-entry", p)
        log.extend(pending)
    last = final_checks(c, snapshot_of(snap), h, head, behaviour) if isinstance(h, History) else None
    if last is not None:
        return _failed(h, n, last[1], last[0])
    return ReplayResult(True, n, None, h.file, snapshot_of(snap), log=log,
                        hashes=h.entries if head is not None and isinstance(h, History) else None)


def _start_problem(c: CompiledProcess, h: History | JsonLinesFile, recorded_on: CompiledProcess,
                   behaviour: bool) -> tuple[int, str, str] | None:
    """A problem with the history as a whole, found before any entry is replayed: (index, reason, code)."""
    if h.problem is not None:
        index, problem = h.problem
        return (index, f"entry {index}: {problem.message}" + (f" ({problem.hint})" if problem.hint else ""),
                "invalid-entry")
    first = h.first if isinstance(h, JsonLinesFile) else (h.entries[0] if h.entries else None)
    if first is None:
        return 0, "the history has no entries", "empty"
    recorded_id = h.process or (first[E_PROCESS_ID] if first[E_PROCESS_ID] is not ABSENT else None)
    if recorded_id is not None and recorded_id != recorded_on.id:
        return 0, f"the history is of process '{recorded_id}', not '{recorded_on.id}'", "wrong-process"
    if not behaviour and h.version is not None and h.version != c.version:
        return (0, f"the history was recorded on version '{h.version}' of '{c.id}', not '{c.version}' "
                   "(use --against to compare behaviour across versions)", "wrong-version")
    if first[E_KIND] != "opened":
        return 0, "entry 0: a history starts with an 'opened' entry (write 'kind: opened')", "no-opened"
    return None


def _decide(c: CompiledProcess, h: History | JsonLinesFile, i: int, e: Entry, snap: Any,
            actor: Actor, now: datetime, reason: str | None, seen: Removed
            ) -> tuple[Any, tuple[Entry, ...], tuple[str, str, Any] | None]:
    """Entry ``i`` decided again by the part of the runtime that records its kind."""
    if is_records(e):
        return replay_records(c, i, e, snap, actor, now, reason, seen)
    kind = e[E_KIND]
    if kind == "fired" or kind == "report" or (kind == "denied" and not _is_tick(e[E_REF])):
        return _step_again(c, i, e, snap, actor, now, reason, seen)
    return _other(c, h, i, e, snap, actor, now, reason, seen)


def _step_again(c: CompiledProcess, i: int, e: Entry, snap: RawSnapshot, actor: Actor, now: datetime,
                reason: str | None, seen: Removed) -> tuple[Any, tuple[Entry, ...], tuple[str, str, Any] | None]:
    """A ``fired`` or ``denied`` entry: (snapshot, produced entries, problem as (code, reason, actual))."""
    data, kind, ref = e[E_DATA], e[E_KIND], e[E_REF]
    seen.note(i, e)
    # a report (or its refusal) names the child case's entry that caused it: an input, like the time
    linked = dict(ref) if ref and ref is not ABSENT and any(k == "case_id" for k, _ in ref) else None
    new, produced, refused = decide(c, snap, e[E_EVENT], actor, dict(data) if data else None, now, reason,
                                    "report" if kind == "report" else "fired", linked)
    if seen.since is not None and (refused is not None or kind == "denied"
                                   or produced[0][E_TRANSITION] != e[E_TRANSITION]):
        return as_recorded(c, i, e, snap, actor, now, reason)  # values it may read were removed
    if refused is not None and kind != "denied":
        why = refusal(refused, e[E_EVENT], c.paths[snapshot_of(snap).leaf], actor)[0]
        return snap, produced, (refused.code, f"entry {i}: {why}", produced[0])
    if refused is None and e[E_KIND] == "denied":
        code = e[E_CODE] if e[E_CODE] is not ABSENT else "denied"
        return snap, produced, ("now-allowed", f"entry {i}: recorded as refused ({code}) but '{e[E_EVENT]}' is now "
                                f"allowed (goes to '{produced[0][E_TARGET]}')", produced[0])
    return new, produced, None


def _is_tick(ref: Any) -> bool:
    """A ``denied`` entry with a ``due_at`` ref is a deadline event the engine refused when it fell due."""
    return bool(ref) and any(k == "due_at" for k, _ in ref)


def _other(c: CompiledProcess, h: History | JsonLinesFile, i: int, e: Entry, snap: RawSnapshot | None, actor: Actor,
           now: datetime, reason: str | None, seen: Removed
           ) -> tuple[Any, tuple[Entry, ...], tuple[str, str, Any] | None]:
    """Every kind but fired/denied: (snapshot, produced entries, problem as (code, reason, actual))."""
    kind, ref = e[E_KIND], dict(e[E_REF]) if e[E_REF] is not ABSENT and e[E_REF] else {}
    gone = seen.note(i, e)
    if kind == "opened":
        if snap is not None:
            return snap, (), ("unexpected-kind", f"entry {i}: an 'opened' entry can only come first", None)
        case_id = e[E_CASE_ID] if e[E_CASE_ID] is not ABSENT else (h.case_id or "case")
        parent = Link("parent", ref["process_id"], ref["case_id"], ref["seq"]) if "case_id" in ref else None
        data = dict(e[E_DATA]) if e[E_DATA] is not ABSENT and e[E_DATA] else None
        carried = ref.get("carried", ())
        opening = open_case(c, case_id, actor, data, now, parent=parent, reason=reason, start=ref.get("start"),
                            carried=tuple(carried) if isinstance(carried, list | tuple) else ())
        if opening.refusal is not None or opening.stored is None:
            code, message = (opening.refusal.code, opening.refusal.message) if opening.refusal else ("error", "")
            return snap, (), (code, f"entry {i}: the case cannot be opened: {message}", None)
        return opening.snapshot, without((opening.stored,), gone), None
    assert snap is not None
    if kind == "deadline" or kind == "denied":
        done = tick(c, snap, now)
        if not done.stored:
            nxt = due_at(snap)
            return snap, (), ("no-deadline-due", f"entry {i}: recorded deadline '{e[E_EVENT]}' but no deadline is due "
                              f"at {now.isoformat()}" + (f" (next due {nxt.isoformat()})" if nxt else ""), None)
        return done.snapshot, done.stored, None
    if kind == "assigned":
        done = assign(c, snap, ref["role"], ref["person"], actor, now, reason)
        if done.refusal is not None:
            return snap, (), (done.refusal.code, f"entry {i}: refused — {done.refusal.message}", None)
        return done.snapshot, done.stored, None
    if kind == "reported":
        def given_text(k: int) -> Any:
            return None if e[k] is ABSENT else e[k]

        again = reported_again(c, snap, given_text(E_TRANSITION), reason, ref, given_text(E_CODE),
                               given_text(E_DETAIL), now)
        if isinstance(again, str):
            return snap, (), ("unexpected-kind", f"entry {i}: a 'reported' entry the definition cannot account "
                                                 f"for: {again}", None)
        return again[0], (again[1],), None
    if kind == "action_failed":
        # The runtime cannot re-run the action: the recorded failure is taken as given.
        def given(k: int) -> Any:
            return None if e[k] is ABSENT else e[k]

        after = (ref.get("seq", snapshot_of(snap).seq), given(E_EVENT), given(E_TRANSITION))
        done = action_failed(c, snap, after, str(ref.get("action", "")), given(E_DETAIL) or "", now)
        return done.snapshot, done.stored, None
    return snap, (), ("unexpected-kind", f"entry {i}: a '{kind}' entry where the definition records none "
                                         "(it follows the entry that causes it)", None)


def _sealed_log(log: Sequence[Entry], recorded: Sequence[Entry]) -> tuple[Entry, ...]:
    """The replayed entries with the recorded hashes, which were verified against this content."""
    out = []
    prev = GENESIS
    for p, e in zip(log, recorded, strict=True):
        out.append((*p[:E_PREV_HASH], prev, e[E_HASH], e[COMMITS] if len(e) > COMMITS else None))
        prev = e[E_HASH]
    return tuple(out)


__all__ = ["Divergence", "HasHistory", "HistoryLike", "ReplayResult", "replay"]
