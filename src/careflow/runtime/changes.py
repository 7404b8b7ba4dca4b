"""The other changes a case goes through, each returning a record like ``step``: opening, a case
role given or taken, deadlines falling due, and an action that failed after its transition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from careflow.errors import InvalidData, Refusal, did_you_mean
from careflow.runtime.audit import AuditEntry, RawEntry, cook, pairs
from careflow.runtime.boundary import assign_problem, open_problem, time_problem
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, due_plan
from careflow.runtime.effects import raw_entry, start_timers
from careflow.runtime.engine import Step, decide
from careflow.runtime.fields import (
    S_CASE_ID,
    S_LEAF,
    S_ROLES,
    S_SEQ,
    S_TIMERS,
    Link,
    RawSnapshot,
    Snapshot,
    snapshot_of,
)
from careflow.runtime.recurrence import catch_up
from careflow.runtime.refusals import invalid_data

_NO_ROLES: dict[str, str] = {}  # shared by every case without case roles; never written to
_new = tuple.__new__


class Opening(NamedTuple):
    """An opened case: its first ``snapshot`` and ``opened`` entry, or (both None) the ``refusal``."""

    snapshot: Snapshot | None
    stored: RawEntry | None
    refusal: Refusal | None = None

    @property
    def entry(self) -> AuditEntry | None:
        return None if self.stored is None else cook(self.stored)


def open_case(compiled: CompiledProcess, case_id: str, actor: Actor, data: Mapping[str, Any] | None,
              now: datetime, *, parent: Link | None = None, reason: str | None = None, start: str | None = None,
              carried: tuple[str, ...] = ()) -> Opening:
    """The first snapshot and its ``opened`` entry: data validated, defaults filled in. Refused
    (the boundary's checks, undeclared or ill-typed data): nothing is recorded, as there is no case yet.

    A handoff's child names its ``parent``, may ``start`` in a later state than the initial one, and
    records which fields it ``carried`` from the parent (the opened entry's ``ref``)."""
    refused, data = open_problem(compiled, case_id, actor, data, reason)
    if refused is not None:
        return Opening(None, None, refused)
    entry = _entry_state(compiled, start)
    if isinstance(entry, Refusal):
        return Opening(None, None, entry)
    values = dict(compiled.defaults)  # defaults are frozen values, so sharing them is safe
    if data:
        validators = compiled.validators
        for name, value in data.items():
            if value is None and name in validators and values[name] is None:
                continue  # "not set": what the snapshot holds anyway (an opened entry records unset fields as null)
            validate = validators.get(name)
            if validate is None:
                hint = did_you_mean(str(name), validators, "data")
                return Opening(None, None, invalid_data(f"'{name}' is not a data field of process '{compiled.id}'"
                                                        + (f"; {hint}" if hint else ""), str(name)))
            try:
                values[name] = validate(value)
            except InvalidData as err:
                return Opening(None, None, err.refusal)
    leaf, path, plan = entry
    timers = start_timers(plan, now) if plan else ()
    links: tuple[Link, ...] = ()
    ref: dict[str, Any] | None = None
    if parent is not None:
        links = (parent,)
        ref = {"case_id": parent.case_id, "process_id": parent.process_id, "seq": parent.seq}
        if start is not None:
            ref["start"] = start
        if carried:
            ref["carried"] = carried
    snap = _new(Snapshot, (case_id, leaf, values, (), _NO_ROLES, timers, links, 0))
    return Opening(snap, (0, now, case_id, "opened", actor.id, actor.role_list, None, None, path,
                          pairs(values), reason, None, None, pairs(ref), None, compiled.id, compiled.version, None,
                          None))


def _entry_state(compiled: CompiledProcess, start: str | None) -> tuple[str, str, Any] | Refusal:
    """(leaf, path, deadline plan) of a case opened in ``start`` (None: the initial state)."""
    if start is None:
        return compiled.initial_leaf, compiled.initial_path, compiled.initial_due
    process = compiled.process
    if type(start) is not str or not process.has_state(start) or process.state(start).final:
        return invalid_data(f"a case of '{compiled.id}' cannot start in {start!r}: not a state it can work in",
                            "start")
    leaf = process.resolve_entry(start)
    entered = reversed((leaf, *process.ancestors(leaf)))
    plan = due_plan(process, entered)
    return leaf, compiled.paths[leaf], plan


def assign(compiled: CompiledProcess, snap: RawSnapshot, role: str, person: str | None, actor: Actor,
           now: datetime, reason: str | None = None) -> Step:
    """Give case role ``role`` to ``person`` (None takes it away): an ``assigned`` entry. Refused (no
    such case role, no valid person id): the snapshot unchanged, nothing recorded."""
    refused = assign_problem(compiled, role, person, actor, reason)
    if refused is not None:
        return Step(snapshot_of(snap), (), refused)
    if role not in compiled.case_roles:
        hint = did_you_mean(role, compiled.case_roles, "case role")
        return Step(snapshot_of(snap), (), invalid_data(f"'{role}' is not a case-scoped role of '{compiled.id}'"
                                           + (f"; {hint}" if hint else ""), role))
    if person is not None and (type(person) is not str or not person):
        return Step(snapshot_of(snap), (), invalid_data(f"the holder of '{role}' must be a non-empty person id", role))
    held = {k: v for k, v in snap[S_ROLES].items() if k != role}
    if person is not None:
        held[role] = person
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    entry = raw_entry(seq, now, snap[S_CASE_ID], "assigned", actor.id, actor.role_list, None, here, here, None,
                      reason, None, None, {"role": role, "person": person}, None, compiled.id, compiled.version,
                      None, None)
    return Step(_new(Snapshot, (*snap[:S_ROLES], held, *snap[S_ROLES + 1:S_SEQ], seq)), (entry,))


def due_at(snap: RawSnapshot) -> datetime | None:
    """The earliest deadline still pending: not yet fired (or without an ``on_due`` event); for a recurring
    deadline, its next occurrence."""
    pending = [t.due_at for t in snap[S_TIMERS] if not t.fired]
    return min(pending) if pending else None


def tick(compiled: CompiledProcess, snap: RawSnapshot, now: datetime) -> Step:
    """Fire every ``on_due`` event whose deadline has passed, as actor ``system`` (kind ``deadline``).

    Each ``due`` fires once per entry into its state: the timer is marked fired before its event
    is tried, so a refused deadline event is logged (``denied``) and not retried. An ``every`` fires
    once per tick that finds occurrences passed, standing for all of them: its ref names the latest
    (``occurrence``, ``due_at``) and how many before it passed unfired (``missed``), and the timer is
    re-armed at the next occurrence first (``runtime.recurrence``). The record's
    ``refusal`` is None: refusals are entries here, as nobody asked for the event — except for a ``now``
    that is not a datetime with an offset (``boundary.time_problem``): nothing changes, nothing is recorded.
    """
    refused = time_problem(now)
    if refused is not None:
        return Step(snapshot_of(snap), (), refused)
    entries: list[RawEntry] = []
    raw: RawSnapshot = snap
    while True:
        ripe = [t for t in raw[S_TIMERS] if not t.fired and t.event is not None and t.due_at <= now]
        if not ripe:
            return Step(snapshot_of(raw), tuple(entries))
        timer = min(ripe, key=lambda t: t.due_at)
        rec = compiled.process.state(timer.state).every if timer.anchor is not None else None
        ref: dict[str, Any]
        if rec is None:
            new = timer._replace(fired=True)
            ref = {"state": timer.state, "due_at": timer.due_at.isoformat()}
        else:
            new, k, when = catch_up(timer, rec, now)
            ref = {"state": timer.state, "due_at": when.isoformat(), "occurrence": k,
                   "missed": k - timer.occurrence - 1}
        fired = tuple(new if t is timer else t for t in raw[S_TIMERS])
        raw = (*raw[:S_TIMERS], fired, *raw[S_TIMERS + 1:])
        raw, made, _ = decide(compiled, raw, timer.event or "", SYSTEM, None, now, None, "deadline", ref)
        entries.extend(made)


def action_failed(compiled: CompiledProcess, snap: RawSnapshot, after: tuple[int, str | None, str | None], action: str,
                  detail: str, now: datetime) -> Step:
    """An ``action_failed`` entry for ``action``, run after the entry ``after`` = (seq, event, transition
    id); it changes nothing but ``seq``. ``detail`` says what went wrong (see ``action_detail``)."""
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    after_seq, event, transition = after
    failed = raw_entry(seq, now, snap[S_CASE_ID], "action_failed", SYSTEM.id, SYSTEM.role_list, event, here,
                       here, None, None, "action-failed", detail, {"seq": after_seq, "action": action},
                       transition, compiled.id, compiled.version, None, None)
    return Step(_new(Snapshot, (*snap[:S_SEQ], seq)), (failed,))


def action_detail(action: str, exc: BaseException) -> str:
    return f"{action}: {type(exc).__name__}: {exc}"


__all__ = ["Opening", "action_detail", "action_failed", "assign", "due_at", "open_case", "tick"]
