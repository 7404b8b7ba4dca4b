"""What a transition does once it is chosen (the general path): data, roles, ticks, checklist,
deadlines and handoff. Builds the new snapshot and its entries: ``fired``, one ``assigned`` per
case role the transition gives, then ``spawned`` for a handoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from careflow.clock import add_calendar
from careflow.errors import InvalidData, Refusal
from careflow.model.frozen import freeze
from careflow.runtime.audit import RawEntry, pairs
from careflow.runtime.compiled import Actor, CompiledProcess, DuePlan, Plan
from careflow.runtime.fields import (
    S_CASE_ID,
    S_DATA,
    S_LINKS,
    S_ROLES,
    S_TICKS,
    S_TIMERS,
    Link,
    RawSnapshot,
    Timer,
)
from careflow.runtime.recurrence import arm
from careflow.runtime.refusals import checklist_open, invalid_data


def raw_entry(*v: Any) -> RawEntry:
    """An entry in its stored form (see ``audit.cook``): a plain tuple in AuditEntry field order,
    ``data``/``ref`` as tuples of pairs (None when empty)."""
    return (*v[:9], pairs(v[9]), *v[10:13], None if v[13] is None else pairs(v[13]), *v[14:])


def due(now: datetime, d: Any) -> datetime:
    return add_calendar(now, d.years, d.months, d.days, d.seconds)


def start_timers(plan: tuple[DuePlan, ...], now: datetime) -> tuple[Timer, ...]:
    """The timers of the deadlines entering states starts at ``now``."""
    return tuple(Timer(state, due(now, duration), event) if rec is None else arm(state, rec, now)
                 for state, duration, event, rec in plan)


def apply(compiled: CompiledProcess, plan: Plan, snap: RawSnapshot, actor: Actor, roles: tuple[str, ...],
          event_data: Mapping[str, Any], now: datetime, reason: str | None, kind: str,
          ref: Mapping[str, Any] | None, seq: int) -> tuple[RawSnapshot, tuple[RawEntry, ...], None] | Refusal:
    """The new snapshot and its entries (a refusal-free raw step), or the refusal that stops the
    transition after all."""
    data = snap[S_DATA]
    computed: dict[str, Any] = {}
    if plan.computes:  # from the data as it was before the transition; recorded in the entry's ref
        done = _computed(plan, data, event_data, now)
        if type(done) is Refusal:
            return done
        assert isinstance(done, dict)
        computed = done
        ref = {**(ref or {}), "computed": freeze(computed)}
    if plan.sets or plan.appends or plan.values or plan.computes:  # tested here: most transitions change no data
        data = _new_data(plan, data, event_data)
        if type(data) is Refusal:
            return data
        assert isinstance(data, dict)
        if plan.computes:
            data.update(computed)
    held, given = _new_roles(plan, snap[S_ROLES], event_data) if plan.assigns else (snap[S_ROLES], ())
    ticks = tuple(sorted({*snap[S_TICKS], *plan.ticks})) if plan.ticks else snap[S_TICKS]
    blocked = checklist_open(plan, ticks)
    if blocked is not None:
        return blocked
    if plan.exited and ticks:
        ticks = tuple(t for t in ticks if t[0] not in plan.exited)
    timers = snap[S_TIMERS]
    if plan.touches_timers:
        timers = tuple(t for t in timers if t.state not in plan.exited) + start_timers(plan.entered_due, now)
    case_id = snap[S_CASE_ID]
    event = plan.event
    entries = [raw_entry(seq, now, case_id, kind, actor.id, roles, event, plan.source_path, plan.target_path,
                         event_data, reason, None, None, ref, plan.tid, compiled.id, compiled.version, None, None)]
    for role, person in given:
        seq += 1
        entries.append(raw_entry(seq, now, case_id, "assigned", actor.id, roles, event, plan.target_path,
                                 plan.target_path, None, reason, None, None, {"role": role, "person": person},
                                 plan.tid, compiled.id, compiled.version, None, None))
    links = snap[S_LINKS]
    if plan.spawn is not None:
        spawned = _spawn(compiled, plan, case_id, data, actor, roles, now, reason, seq + 1)
        if type(spawned) is Refusal:
            return spawned
        assert isinstance(spawned, tuple)
        seq += 1
        links = (*links, spawned[0])
        entries.append(spawned[1])
    return (case_id, plan.target_leaf, data, ticks, held, timers, links, seq), tuple(entries), None


def _new_data(plan: Plan, data: dict[str, Any], event_data: Mapping[str, Any]) -> dict[str, Any] | Refusal:
    data = dict(data)
    data.update(plan.values)
    for case_field, event_field in plan.sets:
        if event_field in event_data:
            data[case_field] = event_data[event_field]
    for case_field, event_field, max_items in plan.appends:
        if event_field in event_data:
            items = data.get(case_field) or ()
            if max_items is not None and len(items) >= max_items:
                return invalid_data(f"'{case_field}' already has {len(items)} item(s), the most it may hold",
                                    case_field)
            data[case_field] = (*items, event_data[event_field])
    return data


def _computed(plan: Plan, data: Mapping[str, Any], event_data: Mapping[str, Any], now: datetime
              ) -> dict[str, Any] | Refusal:
    """The computed ``set`` values, checked against their fields, or the refusal saying which one failed."""
    out: dict[str, Any] = {}
    for name, compute, check in plan.computes:
        try:
            out[name] = check(compute(data, event_data, now))
        except ValueError as err:
            return invalid_data(f"'{name}': {err}", name)
        except InvalidData as err:
            return err.refusal
    return out


def _new_roles(plan: Plan, held: dict[str, str], event_data: Mapping[str, Any]
               ) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """The case roles after the transition, and the (role, person) pairs it gave."""
    given = tuple((role, event_data[field]) for role, field in plan.assigns if field in event_data)
    if not given:
        return held, given
    held = dict(held)
    held.update(given)
    return held, given


def _spawn(compiled: CompiledProcess, plan: Plan, case_id: str, data: Mapping[str, Any], actor: Actor,
           roles: tuple[str, ...], now: datetime, reason: str | None, seq: int) -> tuple[Link, RawEntry] | Refusal:
    """The child link and the ``spawned`` entry of a handoff (the child is opened by the caller)."""
    spawn = plan.spawn
    assert spawn is not None
    child = spawn.compiled()
    carried: dict[str, Any] = {}
    for target, source in spawn.data:
        value = data.get(source)
        if value is not None:
            check = child.validators.get(target)
            if check is None:
                return invalid_data(f"handoff to '{child.id}': it has no data field '{target}'", target)
            try:
                carried[target] = check(value)
            except InvalidData as err:
                return err.refusal
    child_id = f"{case_id}:{seq}"
    ref = {"case_id": child_id, "process_id": child.id, "process_version": child.version}
    if spawn.start is not None:
        ref["start"] = spawn.start
    entry = raw_entry(seq, now, case_id, "spawned", actor.id, roles, plan.event, plan.target_path, plan.target_path,
                      carried, reason, None, None, ref,
                      plan.tid, compiled.id, compiled.version, None, None)
    return Link("child", child.id, child_id, seq), entry


__all__ = ["apply", "due", "raw_entry", "start_timers"]
