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

import hashlib
import os
import sys
import types
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from careflow.history.reader import (
    ABSENT,
    CASE_ID,
    DATA,
    EPOCH,
    EVENT,
    HASH,
    KIND,
    PREV_HASH,
    REF,
    SEQ,
    SOURCE,
    TARGET,
    TIME,
    Entry,
    History,
    from_entries,
    read_history,
)
from careflow.history.report import Divergence, entry_json, final_checks, mismatch, refusal
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import GENESIS, canonical_bytes, cook
from careflow.runtime.compiled import Actor, CompiledProcess, Resolver, compile
from careflow.runtime.data import CaseError
from careflow.runtime.engine import Link, _assign, _open, _step, _tick, due_at

if TYPE_CHECKING:
    from careflow.cases.case import Case
    from careflow.clock import Clock
    from careflow.runtime.registry import Registry

_SNAP_SEQ = 7  # engine.SEQ: the snapshot's last seq


@attrs.frozen
class ReplayResult:
    """``ok``; ``divergence`` (the first one) when not; ``entries_checked``: entries that replayed
    cleanly; ``case``: the replayed ``Case`` when ok (built on first access)."""

    ok: bool
    entries_checked: int
    divergence: Divergence | None = None
    file: str | None = None
    _build: Any = attrs.field(default=None, repr=False, eq=False, alias="build")

    @property
    def case(self) -> Case | None:
        if not self.ok or self._build is None:
            return None
        case: Case = self._build()
        return case

    def __bool__(self) -> bool:
        return self.ok


def replay(process: ProcessDefinition | CompiledProcess | str | os.PathLike[str], history: Any, *,
           against: ProcessDefinition | CompiledProcess | str | os.PathLike[str] | None = None,
           clock: Clock | None = None, registry: Registry | None = None,
           resolver: Resolver | None = None, check_hashes: bool = True) -> ReplayResult:
    """Re-run ``history`` on ``process``; with ``against``, on that definition instead, comparing behaviour.

    ``history``: a ``History`` (``careflow.history.reader.read_history``), a file path, a ``Case``, or a sequence
    of entries (``AuditEntry`` or JSON mappings). A file that cannot be read raises ``HistoryFileError``;
    everything about the entries themselves is a ``Divergence`` in the result, never an exception.
    ``check_hashes=False`` skips the hash chain (behaviour only), e.g. when the log was verified on
    reading or is being checked against its own store's ``verify``.
    """
    compiled = _compiled(process, registry, resolver)
    target = compiled if against is None else _compiled(against, registry, resolver)
    hist = _history(history)
    return _run(target, hist, compiled, against is not None, clock, check_hashes)


def _compiled(process: Any, registry: Registry | None, resolver: Resolver | None) -> CompiledProcess:
    if isinstance(process, CompiledProcess):
        return process
    if not isinstance(process, ProcessDefinition):
        from careflow.definitions.loader import load

        process = load(process)
    return compile(process, registry, resolver)


def _history(history: Any) -> History:
    if isinstance(history, History):
        return history
    if isinstance(history, str | os.PathLike):
        return read_history(history)
    from careflow.cases.case import Case

    if isinstance(history, Case):
        return from_entries(history.history)
    return from_entries(history)


def _run(c: CompiledProcess, h: History, recorded_on: CompiledProcess, behaviour: bool,
         clock: Clock | None, check_hashes: bool = True) -> ReplayResult:
    entries, file = h.entries, h.file

    def fail(index: int, reason: str, code: str, actual: Any = None) -> ReplayResult:
        given = h.given_entry(index)
        expected = entry_json(given) if given is not None else {}
        got = entry_json(cook(actual)) if actual is not None else None
        div = Divergence(index, expected, got, reason, code, file, h.line(index))
        return ReplayResult(False, index, div, file)

    if h.problem is not None:
        index, problem = h.problem
        return fail(index, f"entry {index}: {problem.message}" + (f" ({problem.hint})" if problem.hint else ""),
                    "invalid-entry")
    n = len(entries)
    if n == 0:
        return fail(0, "the history has no entries", "empty")
    first = entries[0]
    recorded_id = h.process or (first[15] if first[15] is not ABSENT else None)
    if recorded_id is not None and recorded_id != recorded_on.id:
        return fail(0, f"the history is of process '{recorded_id}', not '{recorded_on.id}'", "wrong-process")
    if not behaviour and h.version is not None and h.version != c.version:
        return fail(0, f"the history was recorded on version '{h.version}' of '{c.id}', not '{c.version}' "
                       "(use --against to compare behaviour across versions)", "wrong-version")
    if first[KIND] != "opened":
        return fail(0, "entry 0: a history starts with an 'opened' entry (write 'kind: opened')", "no-opened")

    sealed = h.sealed and not behaviour and check_hashes
    texts = h.texts if sealed else None
    paths = c.paths
    actors: dict[str, tuple[tuple[str, ...], Actor]] = {}
    log: list[Entry] = []
    append = log.append
    pending: deque[Entry] = deque()
    head = GENESIS
    now: datetime = EPOCH
    snap: Any = None
    i = 0
    while i < n:
        e = entries[i]
        kind = e[3]
        try:
            if pending:
                p = pending.popleft()
                if p[KIND] == "spawned" and kind != "spawned" and not sealed:
                    append(p)  # a hand-written history may leave out the spawned entry of a handoff
                    continue
                if e[SEQ] is not ABSENT and e[SEQ] != p[SEQ]:
                    return fail(i, f"entry {i}: sequence gap: seq {e[SEQ]} where {p[SEQ]} follows", "sequence-gap")
            else:
                # structure first: the entry's place in the log
                seq = e[0]
                if seq is not ABSENT and seq != (snap[7] + 1 if snap is not None else 0):
                    return fail(i, f"entry {i}: sequence gap: seq {seq} where "
                                   f"{snap[7] + 1 if snap is not None else 0} follows", "sequence-gap")
                if e[1] is not ABSENT:
                    now = e[1]
                cached = actors.get(e[4])
                if cached is None or cached[0] != e[5]:
                    cached = actors[e[4]] = (e[5], Actor(e[4], frozenset(e[5])))
                actor = cached[1]
                data = e[9]
                reason = e[10]
                if reason is ABSENT:
                    reason = None
                # then semantics: the engine decides the entry again
                if kind == "fired" or (kind == "denied" and not _is_tick(e[13])):
                    try:
                        snap, produced = _step(c, snap, e[6], actor, dict(data) if data else None, now, reason)
                    except CaseError as err:
                        if kind == "fired":
                            return fail(i, f"entry {i}: " + refusal(err, e[6], paths[snap[1]], actor)[0],
                                        err.reason_code, err.entry)
                        snap, produced = err.snapshot, (err.entry,)
                    else:
                        if kind == "denied":
                            code = e[11] if e[11] is not ABSENT else "denied"
                            return fail(i, f"entry {i}: recorded as refused ({code}) but '{e[6]}' is now "
                                           f"allowed (goes to '{produced[0][TARGET]}')", "now-allowed", produced[0])
                else:
                    snap, produced, other = _other(c, h, i, e, snap, actor, now, reason)
                    if other is not None:
                        return fail(i, other[1], other[0], other[2])
                p = produced[0]
                if len(produced) > 1:
                    pending.extend(produced[1:])
            # compare: one tuple comparison when the entry is complete and agrees
            if p[:17] != e[:17]:
                found = mismatch(i, p, e, behaviour, sealed)
                if found is not None:
                    return fail(i, found[1], found[0], p)
            # then the hash chain
            if sealed:
                broken = _chain(i, e, head, texts[i] if texts is not None else None, p)
                if broken is not None:
                    return fail(i, broken[1], broken[0])
                head = e[18]
        except Exception as exc:
            return fail(i, f"entry {i}: cannot be replayed: {type(exc).__name__}: {exc}", "error")
        append(p)
        i += 1
    if pending:
        p = pending[0]
        if sealed or any(q[KIND] != "spawned" for q in pending):
            return fail(n, f"the history ends after entry {n - 1}, but the definition also records a "
                           f"'{p[KIND]}' entry (seq {p[SEQ]})", "missing-entry", p)
        log.extend(pending)
    last = final_checks(c, snap, h, head if sealed else None, behaviour)
    if last is not None:
        return fail(n, last[1], last[0])
    return ReplayResult(True, n, None, file, build=_builder(c, snap, log, entries, sealed, clock))


def _is_tick(ref: Any) -> bool:
    """A ``denied`` entry with a ``due_at`` ref is a deadline event the engine refused when it fell due."""
    return bool(ref) and any(k == "due_at" for k, _ in ref)


def _other(c: CompiledProcess, h: History, i: int, e: Entry, snap: Any, actor: Actor, now: datetime,
           reason: str | None) -> tuple[Any, tuple[Entry, ...], tuple[str, str, Any] | None]:
    """Every kind but fired/denied: (snapshot, produced entries, problem as (code, reason, actual))."""
    kind, ref = e[KIND], dict(e[REF]) if e[REF] is not ABSENT and e[REF] else {}
    data = dict(e[DATA]) if e[DATA] is not ABSENT and e[DATA] else None
    if kind == "deadline" or kind == "denied":
        snapped, produced = _tick(c, snap, now)
        if not produced:
            nxt = due_at(snap)
            return snap, (), ("no-deadline-due", f"entry {i}: recorded deadline '{e[EVENT]}' but no deadline is due "
                              f"at {now.isoformat()}" + (f" (next due {nxt.isoformat()})" if nxt else ""), None)
        return snapped, produced, None
    if kind == "opened":
        if snap is not None:
            return snap, (), ("unexpected-kind", f"entry {i}: an 'opened' entry can only come first", None)
        case_id = e[CASE_ID] if e[CASE_ID] is not ABSENT else (h.case_id or "case")
        parent = Link("parent", ref["process_id"], ref["case_id"], ref["seq"]) if "case_id" in ref else None
        try:
            snapped, one = _open(c, case_id, actor, data, now, parent, reason)
        except CaseError as err:
            return snap, (), (err.reason_code, f"entry {i}: the case cannot be opened: {err}", None)
        return snapped, (one,), None
    if kind == "assigned":
        try:
            snapped, one = _assign(c, snap, ref["role"], ref["person"], actor, now, reason)
        except CaseError as err:
            return snap, (), (err.reason_code, f"entry {i}: refused — {err}", None)
        return snapped, (one,), None
    if kind == "action_failed":
        # An action's failure changes nothing but seq; the engine cannot re-run the action itself.
        here, seq = c.paths[snap[1]], snap[_SNAP_SEQ] + 1
        made = (*(here if k in (SOURCE, TARGET) else seq if k == SEQ else now if k == TIME else snap[0]
                  if k == CASE_ID else None if v is ABSENT else v for k, v in enumerate(e[:17])), None, None)
        return (*snap[:_SNAP_SEQ], seq), (made,), None
    return snap, (), ("unexpected-kind", f"entry {i}: a '{kind}' entry where the definition records none "
                                         "(it follows the entry that causes it)", None)


def _chain(i: int, e: Entry, head: str, text: str | None, p: Entry) -> tuple[str, str] | None:
    recorded = e[HASH]
    if recorded is ABSENT or recorded is None:
        return "hash-missing", f"entry {i}: has no 'hash', though the history is hash-chained"
    prev = e[PREV_HASH]
    if prev is not ABSENT and prev != head:
        return "link-broken", (f"entry {i}: prev_hash does not point at the entry before it "
                               "(an entry removed, inserted or reordered?)")
    if text is not None and _line_hash_ok(text, recorded):
        return None
    try:
        content = canonical_bytes(e, head)
    except (TypeError, ValueError):
        # a partial entry with a hash: absent fields take the values the engine produced
        content = canonical_bytes(tuple(pv if ev is ABSENT else ev for pv, ev in zip(p, e, strict=True)), head)
    if hashlib.sha256(content).hexdigest() != recorded:
        return "hash-mismatch", f"entry {i}: hash does not match its content"
    return None


def _line_hash_ok(text: str, recorded: str) -> bool:
    """A JSON line in the canonical form (what ``dumps_jsonl`` writes) is hashed as read: remove its
    ``hash`` member and the rest is exactly the canonical bytes. Any other layout fails here and is
    re-encoded by the caller; a match cannot be wrong, as the canonical form has no top-level ``hash``."""
    needle = f',"hash":"{recorded}"'
    at = text.find(needle)
    if at < 0:
        return False
    return hashlib.sha256((text[:at] + text[at + len(needle):]).encode("utf-8")).hexdigest() == recorded


def _builder(c: CompiledProcess, snap: Any, log: list[Entry], entries: Sequence[Entry], sealed: bool,
             clock: Clock | None) -> Any:
    def build() -> Case:
        from careflow.cases.case import Case
        from careflow.clock import SYSTEM_CLOCK

        stored = list(log)
        case = Case._make(c, tuple(snap), stored, clock or SYSTEM_CLOCK)
        if sealed:  # the recorded hashes were verified against this content: keep them
            prev = GENESIS
            for index, (p, e) in enumerate(zip(stored, entries, strict=True)):
                stored[index] = (*p[:17], prev, e[HASH])
                prev = e[HASH]
            case._sealed, case._head = len(stored), prev
        return case
    return build


__all__ = ["Divergence", "ReplayResult", "replay"]


class _CallableModule(types.ModuleType):
    """``careflow.history.replay(process, history)`` must keep working after ``import careflow.history.replay``, which
    makes the package attribute this module: so the module itself calls ``replay``."""

    def __call__(self, process: ProcessDefinition | CompiledProcess, history: Any, **options: Any) -> ReplayResult:
        return replay(process, history, **options)


sys.modules[__name__].__class__ = _CallableModule
