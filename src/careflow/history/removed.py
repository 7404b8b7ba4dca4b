"""Replay over removed values: which entries lost values, and the recorded outcome taken as given.

A committed entry whose value was redacted cannot always be decided again: the guard, role or required
data that decided it may read the value that is gone, and so may every later decision that reads the
case data it set. From the first entry with a removed value on, an entry that replays differently from
its record is taken as recorded: a ``fired`` entry's recorded transition is applied with the data left
(``runtime.records.take_recorded``: its guards, roles and required data are not checked again), a
``denied`` entry stands as it was. The hash chain and every kept value are still checked, and each
removed value must be named by a later ``redacted`` entry — else it was deleted behind careflow's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from careflow.history.entries import ABSENT, COMMITS, DATA, EVENT, KIND, REF, ROLES, SEQ, TRANSITION, Entry
from careflow.runtime import records
from careflow.runtime.commitments import removed
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.fields import S_DATA, S_SEQ, RawSnapshot

Outcome = tuple[Any, tuple[Entry, ...], tuple[str, str, Any] | None]


class Removed:
    """What replay has seen of removed values: those no redaction named yet, and since which entry."""

    __slots__ = ("pending", "since")

    def __init__(self) -> None:
        self.pending: dict[tuple[int, str], int] = {}  # (seq, key) -> index of the entry that lost it
        self.since: int | None = None

    def note(self, i: int, e: Entry) -> tuple[str, ...]:
        """Record the values entry ``i`` lost; they are returned (empty for most entries)."""
        commits = e[COMMITS] if len(e) > COMMITS else None
        if not commits:  # most entries: no values, or none committed (the hot path of replay)
            return ()
        gone = removed(commits) if type(commits) is tuple else ()
        for key in gone:
            self.pending[(e[SEQ], key)] = i
        if gone and self.since is None:
            self.since = i
        return gone

    def named(self, values: list[tuple[int, str]]) -> None:
        for pair in values:
            self.pending.pop(pair, None)

    def settle(self, i: int, p: Entry, e: Entry) -> Entry:
        """Once values were removed, data an entry derived from them (a handoff's carried data) cannot be
        recomputed: the recorded data stands (its kept values are checked against their commitments).
        Entry ``i`` may be one a step records after its first (``spawned``): its removed values count."""
        self.note(i, e)
        if self.since is None or e[DATA] is ABSENT or p[DATA] == e[DATA]:
            return p
        return (*p[:DATA], e[DATA], *p[DATA + 1:])

    def unlogged(self) -> tuple[int, str] | None:
        """The first removed value no ``redacted`` entry names: (entry index, message)."""
        if not self.pending:
            return None
        (seq, key), index = min(self.pending.items(), key=lambda item: item[1])
        return index, (f"entry {index}: the value of '{key}' (seq {seq}) was removed, but no 'redacted' entry "
                       "records its removal")


def is_records(e: Entry) -> bool:
    """A ``redacted`` or ``corrected`` entry, or the ``denied`` entry of a refused one."""
    ref = e[REF]
    return e[KIND] in _RECORDS or (e[KIND] == "denied" and bool(ref) and ref is not ABSENT
                                   and any(k == "records" for k, _ in ref))


_RECORDS = frozenset({"redacted", "corrected"})


def replay_records(c: CompiledProcess, i: int, e: Entry, snap: RawSnapshot, actor: Actor, now: datetime,
                   reason: str | None, seen: Removed) -> Outcome:
    """A redaction or correction (or a refused one) decided again by ``runtime.records``."""
    ref = dict(e[REF])
    try:
        values, cleared, role = records.redaction_of(ref)
    except ValueError as exc:
        return snap, (), ("invalid-entry", f"entry {i}: {exc}", None)
    gone = seen.note(i, e)
    if ref.get("records") == records.CORRECT_EVENT:
        given = dict(e[DATA]) if e[DATA] is not ABSENT and e[DATA] else {}
        if gone or len(given) != 1:  # the value given was removed since: the record stands
            if e[KIND] != "denied":
                seen.named(values)
            return _corrected_as_recorded(e, snap, gone)
        ((field, value),) = given.items()
        done = records.correct(c, snap, field, value, values, actor, now, reason, role)
    else:
        retention = ref.get("retention")
        done = records.redact(c, snap, values, cleared, actor, now, reason, role,
                              dict(retention) if isinstance(retention, Mapping) else None)
    if e[KIND] == "denied" and done.refusal is None:
        return snap, done.stored, ("now-allowed", f"entry {i}: recorded as refused ({e[KIND]}), but '{actor.id}' "
                                                  f"may do it now", done.stored[0])
    if e[KIND] != "denied":
        if done.refusal is not None:
            return snap, done.stored, (done.refusal.code, f"entry {i}: {done.refusal.message}", done.stored[0])
        seen.named(values)
    return done.snapshot, done.stored, None


def _corrected_as_recorded(e: Entry, snap: RawSnapshot, gone: tuple[str, ...]) -> Outcome:
    """A correction (or a refused one) whose value was removed since: taken as recorded; the corrected
    field is null until the redaction that removed it clears it anyway."""
    seq = snap[S_SEQ] + 1
    recorded = (*(None if v is ABSENT else v for v in e[:17]), None, None)
    if e[KIND] == "denied":
        return (*snap[:S_SEQ], seq), (recorded,), None
    data = {**snap[S_DATA], **dict.fromkeys(gone)}
    return (snap[0], snap[1], data, *snap[3:S_SEQ], seq), (recorded,), None


def as_recorded(c: CompiledProcess, i: int, e: Entry, snap: RawSnapshot, actor: Actor, now: datetime,
                reason: str | None) -> Outcome:
    """Entry ``i`` taken as recorded, because values its decision may read were removed."""
    if e[KIND] == "denied":
        seq = snap[S_SEQ] + 1
        recorded = (*(None if v is ABSENT else v for v in e[:17]), None, None)
        return (*snap[:S_SEQ], seq), (recorded,), None
    data = None if e[DATA] is ABSENT or not e[DATA] else dict(e[DATA])
    ref = None if e[REF] is ABSENT or e[REF] is None else dict(e[REF])
    done = records.take_recorded(c, snap, e[EVENT], e[TRANSITION], actor, tuple(e[ROLES]), data, now, reason, e[KIND],
                                 ref)
    if not isinstance(done, tuple):
        return snap, (), ("values-removed", f"entry {i}: cannot be replayed: values it needs were removed "
                                            f"({done.message})", None)
    return done[0], done[1], None


def without(produced: tuple[Entry, ...], gone: tuple[str, ...]) -> tuple[Entry, ...]:
    """``produced`` with the data keys ``gone`` left out of its first entry (an ``opened`` entry records
    every field; the removed ones are not in the record)."""
    if not gone or not produced:
        return produced
    first = produced[0]
    data = tuple((k, v) for k, v in first[DATA] or () if k not in gone) or None
    return ((*first[:DATA], data, *first[DATA + 1:]), *produced[1:])


__all__ = ["Removed", "as_recorded", "is_records", "replay_records", "without"]
