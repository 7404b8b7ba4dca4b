"""The pure step function and the compiled per-process tables it runs on.

``step`` is the one place that decides a transition: live cases, replay and the transitions
adapter all call it. It never mutates its inputs and does no I/O: the time comes in as ``now``.
A refusal is raised as a ``CaseError`` subclass carrying the ``denied`` entry and the snapshot
that records it (same state and data, ``seq`` one higher), so the caller can log it.

Candidate order for an event: transitions declared on the innermost active state first, then
document order; the first whose roles, event data and guards pass wins. Role failures and
guard failures are told apart; when every candidate fails, the first non-role failure is
reported (it is the more precise one), else the role failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from careflow.clock import add_calendar
from careflow.errors import did_you_mean
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE
from careflow.runtime.audit import AuditEntry, RawEntry, cook, pairs
from careflow.runtime.compiled import (
    SYSTEM,
    Actor,
    CaseClosed,
    ChecklistOpen,
    CompiledProcess,
    EventNotAllowed,
    GuardFailed,
    MissingData,
    Plan,
    RoleDenied,
    compile,
)
from careflow.runtime.data import EMPTY, CaseError, InvalidData, safe_json


class Timer(NamedTuple):
    """A pending deadline: ``state`` was entered and is due at ``due_at``; ``event`` is its ``on_due``."""

    state: str
    due_at: datetime
    event: str | None
    fired: bool = False


class Link(NamedTuple):
    """A link to another case: ``kind`` is ``parent`` or ``child``; ``seq`` is the parent's entry."""

    kind: str
    process_id: str
    case_id: str
    seq: int


class Snapshot(NamedTuple):
    """Everything about a case at one moment; never mutated (a step that changes ``data`` or ``roles``
    builds new dicts, and a case hands them out only as read-only views).

    Inside the engine and ``Case`` a snapshot travels as a plain tuple in this field order (fields are
    read by index): the garbage collector stops tracking plain tuples of atomic values, which keeps
    collections cheap with many open cases. The public functions take and return ``Snapshot``.
    """

    case_id: str
    leaf: str
    data: dict[str, Any]
    ticks: tuple[tuple[str, str], ...]  # sorted (state id, checklist item id) pairs
    roles: dict[str, str]  # case-scoped role -> person id
    timers: tuple[Timer, ...]
    links: tuple[Link, ...]
    seq: int  # seq of the last entry


RawSnapshot = tuple[Any, ...]
CASE_ID, LEAF, DATA, TICKS, ROLES, TIMERS, LINKS, SEQ = range(8)
_NO_ROLES: dict[str, str] = {}  # shared by every case without case roles; never written to
_new = tuple.__new__  # NamedTuple(...) goes through a Python __new__; this builds the tuple directly


def public(snap: RawSnapshot) -> Snapshot:
    return snap if type(snap) is Snapshot else _new(Snapshot, snap)


def _entry(*v: Any) -> RawEntry:
    # Entries are built in their stored form (see ``audit.cook``): a plain tuple in AuditEntry field
    # order, ``data``/``ref`` as tuples of pairs (None when empty). Public functions hand out AuditEntry.
    return (*v[:9], pairs(v[9]), *v[10:13], None if v[13] is None else pairs(v[13]), *v[14:])


# -- opening ------------------------------------------------------------------------------------------


def open_case(compiled: CompiledProcess, case_id: str, actor: Actor, data: Mapping[str, Any] | None,
              now: datetime, *, parent: Link | None = None, reason: str | None = None
              ) -> tuple[Snapshot, AuditEntry]:
    """The first snapshot and its ``opened`` entry: data validated, defaults filled in."""
    snap, entry = _open(compiled, case_id, actor, data, now, parent, reason)
    return public(snap), cook(entry)


def _open(compiled: CompiledProcess, case_id: str, actor: Actor, data: Mapping[str, Any] | None,
          now: datetime, parent: Link | None, reason: str | None) -> tuple[RawSnapshot, RawEntry]:
    values = dict(compiled.defaults)  # defaults are frozen values, so sharing them is safe
    if data:
        validators = compiled.validators
        for name, value in data.items():
            check = validators.get(name)
            if check is None:
                hint = did_you_mean(str(name), validators, "data")
                raise InvalidData(f"'{name}' is not a data field of process '{compiled.id}'"
                                  + (f"; {hint}" if hint else ""), str(name))
            values[name] = check(value)
    timers = tuple(Timer(s, _due(now, d), ev) for s, d, ev in compiled.initial_due) if compiled.initial_due else ()
    links: tuple[Link, ...] = ()
    ref = None
    if parent is not None:
        links = (parent,)
        ref = {"case_id": parent.case_id, "process_id": parent.process_id, "seq": parent.seq}
    return (case_id, compiled.initial_leaf, values, (), _NO_ROLES, timers, links, 0), (
        0, now, case_id, "opened", actor.id, actor.role_list, None, None, compiled.initial_path,
        pairs(values), reason, None, None, pairs(ref), None, compiled.id, compiled.version, None, None)


def _due(now: datetime, d: Any) -> datetime:
    return add_calendar(now, d.years, d.months, d.days, d.seconds)


# -- the step -----------------------------------------------------------------------------------------


def step(compiled: CompiledProcess, snap: Snapshot, event: str, actor: Actor,
         data: Mapping[str, Any] | None, now: datetime, reason: str | None = None, *,
         kind: str = "fired", ref: Mapping[str, Any] | None = None
         ) -> tuple[Snapshot, tuple[AuditEntry, ...]]:
    """Fire ``event``: the new snapshot and its entries (one, plus ``spawned`` ones), or raise a
    ``CaseError`` whose ``entry``/``snapshot`` record the refusal."""
    try:
        new, entries = _step(compiled, snap, event, actor, data, now, reason, kind, ref)
    except CaseError as err:
        err.entry, err.snapshot = cook(err.entry), public(err.snapshot)
        raise
    return public(new), tuple(cook(e) for e in entries)


def _step(compiled: CompiledProcess, snap: RawSnapshot, event: str, actor: Actor,
          data: Mapping[str, Any] | None, now: datetime, reason: str | None = None,
          kind: str = "fired", ref: Mapping[str, Any] | None = None
          ) -> tuple[RawSnapshot, tuple[RawEntry, ...]]:
    plans = compiled.table[snap[LEAF]].get(event)
    if plans is not None:
        failure: CaseError | None = None
        for plan in plans:
            # Roles first: the common case (a global role the actor has) costs one set test.
            case_role = None
            wanted = plan.roles
            if wanted is not None and wanted.isdisjoint(actor.roles):
                case_role = _case_role(plan, snap, actor)
                if case_role is None:
                    if failure is None:
                        failure = _role_denied(plans, snap, actor)
                    continue
            if data:
                try:
                    event_data = _event_data(compiled, plan, data)
                except CaseError as err:
                    if failure is None or isinstance(failure, RoleDenied):
                        failure = err
                    continue
            else:
                event_data = EMPTY
            missing = plan.requires and [r for r in plan.requires if event_data.get(r) is None]
            test = plan.test
            # A guard on case data alone is decided before missing event data is reported: it is the
            # more precise answer (and allowed() must not list an event whose guard is false anyway).
            if test is not None and not (missing and plan.reads_event):
                # The compiled closure itself, with Guard.__call__'s contract (true only if exactly
                # True, false on any exception) kept here: it saves a Python call per fire.
                try:
                    passed = test(snap[DATA], event_data, now) is True
                except Exception:
                    passed = False
                if not passed:
                    if failure is None or isinstance(failure, RoleDenied):
                        failure = _guard_failed(plan, snap, event_data, now)
                    continue
            if missing:
                # an open checklist is the answer whatever data comes (allowed() relies on this)
                blocked = _checklist_open(plan, snap[TICKS], event)
                if failure is None or isinstance(failure, RoleDenied):
                    failure = blocked or _missing(plan, tuple(missing))
                continue
            if plan.pyguard is not None:
                problem = _python_guard(plan, snap, event_data, actor)
                if problem is not None:
                    if failure is None or isinstance(failure, RoleDenied):
                        failure = GuardFailed(f"'{event}' is not possible: {problem}", [problem], False)
                    continue
            seq = snap[SEQ] + 1
            roles = actor.role_list if case_role is None else tuple(sorted({*actor.roles, case_role}))
            if plan.simple:
                # The hot path: a new leaf, nothing else changes. One snapshot, one entry (stored form).
                return (snap[0], plan.target_leaf, snap[2], snap[3], snap[4], snap[5], snap[6], seq), (
                    (seq, now, snap[0], kind, actor.id, roles, event, plan.source_path, plan.target_path,
                     tuple(event_data.items()) if event_data else None, reason, None, None,
                     None if ref is None else tuple(ref.items()), plan.tid, compiled.id, compiled.version,
                     None, None),)
            try:
                return _apply(compiled, plan, snap, event, actor, roles, event_data, now, reason, kind, ref, seq)
            except CaseError as err:
                failure = err
                break
        assert failure is not None
    elif snap[LEAF] in compiled.finals:
        failure = CaseClosed(f"the case is closed (in '{compiled.paths[snap[LEAF]]}')")
    else:
        failure = _not_allowed(compiled, snap, event)
    raise _deny(compiled, snap, event, actor, data, now, reason, ref, failure)


def _guard_failed(plan: Plan, snap: RawSnapshot, event_data: Mapping[str, Any], now: datetime) -> GuardFailed:
    reasons = plan.when.explain(snap[DATA], event_data, now) if plan.when is not None else []
    return GuardFailed(f"'{plan.event}' is not possible: its condition is false",
                       reasons or [f"the condition of '{plan.event}' is false"], plan.reads_event)


def _case_role(plan: Plan, snap: RawSnapshot, actor: Actor) -> str | None:
    """The case role (or ``system``) through which ``actor`` may fire ``plan``, else None."""
    held = snap[ROLES]
    for role in plan.case_roles:
        if held.get(role) == actor.id:
            return role
    if plan.system_ok and actor.id == SYSTEM_ACTOR and SYSTEM_ROLE in actor.roles:
        return SYSTEM_ROLE
    return None


def _event_data(compiled: CompiledProcess, plan: Plan, data: Mapping[str, Any]) -> Mapping[str, Any]:
    out: dict[str, Any] = {}
    fields = plan.fields
    for name, value in data.items():
        check = fields.get(name)
        if check is None:
            takes = ", ".join(f"'{f}'" for f in fields) or "no data"
            raise InvalidData(f"event '{plan.event}' does not take '{name}' (it takes {takes})", str(name))
        out[name] = check(value)
    return out


def _missing(plan: Plan, names: tuple[str, ...]) -> MissingData:
    listed = ", ".join(f"'{n}'" for n in names)
    err = MissingData(f"'{plan.event}' needs event data {listed}", [f"missing event data: {n}" for n in names])
    err.fields = names
    return err


def _python_guard(plan: Plan, snap: RawSnapshot, event_data: Mapping[str, Any], actor: Actor) -> str | None:
    """None when the registered guard passes, else why not. A guard that raises counts as false: the
    contract for guards is "never an exception", and the exception is named in the reason."""
    try:
        guard = plan.pyguard
        if guard is not None and guard(MappingProxyType(snap[DATA]), MappingProxyType(event_data), actor) is True:
            return None
        return f"guard '{plan.pyguard_name}' is false"
    except Exception as exc:
        return f"guard '{plan.pyguard_name}' failed: {type(exc).__name__}: {exc}"


def _checklist_open(plan: Plan, ticks: tuple[tuple[str, str], ...], event: str) -> ChecklistOpen | None:
    """The refusal when leaving would leave checklist items open (counting what this plan ticks)."""
    if not plan.exit_items or plan.skip_checklist:
        return None
    done = {*ticks, *plan.ticks}
    still_open = [label for state, item, label in plan.exit_items if (state, item) not in done]
    if not still_open:
        return None
    return ChecklistOpen(f"'{event}' would leave open checklist items: {', '.join(still_open)}",
                         [f"checklist item not done: {label}" for label in still_open], still_open)


def _apply(compiled: CompiledProcess, plan: Plan, snap: RawSnapshot, event: str, actor: Actor,
           roles: tuple[str, ...], event_data: Mapping[str, Any], now: datetime, reason: str | None,
           kind: str, ref: Mapping[str, Any] | None, seq: int) -> tuple[RawSnapshot, tuple[RawEntry, ...]]:
    """The general path: data, roles, ticks, checklist, deadlines, handoff."""
    data = snap[DATA]
    if plan.sets or plan.appends or plan.values:
        data = dict(data)
        data.update(plan.values)
        for case_field, event_field in plan.sets:
            if event_field in event_data:
                data[case_field] = event_data[event_field]
        for case_field, event_field, max_items in plan.appends:
            if event_field in event_data:
                items = data.get(case_field) or ()
                if max_items is not None and len(items) >= max_items:
                    raise InvalidData(f"'{case_field}' already has {len(items)} item(s), the most it may hold",
                                      case_field)
                data[case_field] = (*items, event_data[event_field])
    held = snap[ROLES]
    if plan.assigns:
        held = dict(held)
        for role, event_field in plan.assigns:
            if event_field in event_data:
                held[role] = event_data[event_field]
    ticks = tuple(sorted({*snap[TICKS], *plan.ticks})) if plan.ticks else snap[TICKS]
    blocked = _checklist_open(plan, ticks, event)
    if blocked is not None:
        raise blocked
    if plan.exited and ticks:
        ticks = tuple(t for t in ticks if t[0] not in plan.exited)
    timers = snap[TIMERS]
    if plan.touches_timers:
        timers = tuple(t for t in timers if t.state not in plan.exited) + tuple(
            Timer(state, _due(now, duration), on_due) for state, duration, on_due in plan.entered_due)
    links = snap[LINKS]
    entries = [_entry(seq, now, snap[CASE_ID], kind, actor.id, roles, event, plan.source_path, plan.target_path,
                      event_data, reason, None, None, ref, plan.tid, compiled.id, compiled.version, None, None)]
    spawn = plan.spawn
    if spawn is not None:
        child = spawn.compiled()
        carried: dict[str, Any] = {}
        for target, source in spawn.data:
            value = data.get(source)
            if value is not None:
                check = child.validators.get(target)
                if check is None:
                    raise InvalidData(f"handoff to '{child.id}': it has no data field '{target}'", target)
                carried[target] = check(value)
        child_id = f"{snap[CASE_ID]}:{seq + 1}"
        links = (*links, Link("child", child.id, child_id, seq + 1))
        entries.append(_entry(seq + 1, now, snap[CASE_ID], "spawned", actor.id, roles, event, plan.target_path,
                              plan.target_path, carried, reason, None, None,
                              {"case_id": child_id, "process_id": child.id, "process_version": child.version},
                              plan.tid, compiled.id, compiled.version, None, None))
        seq += 1
    return (snap[CASE_ID], plan.target_leaf, data, ticks, held, timers, links, seq), tuple(entries)


# -- refusals ----------------------------------------------------------------------------------------


def _role_denied(plans: tuple[Plan, ...], snap: RawSnapshot, actor: Actor) -> RoleDenied:
    """Which roles would do, over every candidate for the event."""
    event = plans[0].event
    wanted = sorted({r for p in plans for r in p.transition.roles})
    reasons = [f"'{event}' needs one of the roles {', '.join(wanted)}; "
               f"'{actor.id}' has {', '.join(sorted(actor.roles)) or 'none'}"]
    for role in dict.fromkeys(r for p in plans for r in p.case_roles):
        holder = snap[ROLES].get(role)
        reasons.append(f"case role '{role}' is held by " + (f"'{holder}'" if holder else "nobody") + " in this case")
    err = RoleDenied(f"'{actor.id}' may not fire '{event}' here", reasons)
    err.roles = tuple(wanted)
    return err


def _not_allowed(compiled: CompiledProcess, snap: RawSnapshot, event: str) -> EventNotAllowed:
    here = compiled.paths[snap[LEAF]]
    possible = list(compiled.table[snap[LEAF]])
    reasons = [f"no transition for '{event}' from '{here}'",
               "events possible here: " + (", ".join(possible) if possible else "none")]
    err = EventNotAllowed(f"'{event}' is not possible in '{here}'", reasons)
    err.possible = tuple(possible)
    return err


def _deny(compiled: CompiledProcess, snap: RawSnapshot, event: str, actor: Actor, data: Mapping[str, Any] | None,
          now: datetime, reason: str | None, ref: Mapping[str, Any] | None, failure: CaseError) -> CaseError:
    """Attach the ``denied`` entry and the snapshot that records it (state unchanged) to ``failure``."""
    seq = snap[SEQ] + 1
    here = compiled.paths[snap[LEAF]]
    logged = {str(k): safe_json(v) for k, v in data.items()} if data else None
    failure.entry = _entry(seq, now, snap[CASE_ID], "denied", actor.id, actor.role_list, event, here, here, logged,
                           reason, failure.reason_code, "; ".join(failure.reasons), ref, None, compiled.id,
                           compiled.version, None, None)
    failure.snapshot = (*snap[:SEQ], seq)
    return failure


# -- other changes: roles, deadlines, failed actions --------------------------------------------------


def assign(compiled: CompiledProcess, snap: Snapshot, role: str, person: str | None, actor: Actor,
           now: datetime, reason: str | None = None) -> tuple[Snapshot, AuditEntry]:
    """Give case role ``role`` to ``person`` (None takes it away): an ``assigned`` entry."""
    new, entry = _assign(compiled, snap, role, person, actor, now, reason)
    return public(new), cook(entry)


def _assign(compiled: CompiledProcess, snap: RawSnapshot, role: str, person: str | None, actor: Actor,
            now: datetime, reason: str | None = None) -> tuple[RawSnapshot, RawEntry]:
    if role not in compiled.case_roles:
        hint = did_you_mean(role, compiled.case_roles, "case role")
        raise InvalidData(f"'{role}' is not a case-scoped role of '{compiled.id}'" + (f"; {hint}" if hint else ""),
                          role)
    if person is not None and (type(person) is not str or not person):
        raise InvalidData(f"the holder of '{role}' must be a non-empty person id", role)
    held = {k: v for k, v in snap[ROLES].items() if k != role}
    if person is not None:
        held[role] = person
    seq = snap[SEQ] + 1
    here = compiled.paths[snap[LEAF]]
    entry = _entry(seq, now, snap[CASE_ID], "assigned", actor.id, actor.role_list, None, here, here, None, reason,
                   None, None, {"role": role, "person": person}, None, compiled.id,
                   compiled.version, None, None)
    return (*snap[:ROLES], held, *snap[ROLES + 1:SEQ], seq), entry


def due_at(snap: RawSnapshot) -> datetime | None:
    """The earliest deadline still pending: not yet fired (or without an ``on_due`` event)."""
    pending = [t.due_at for t in snap[TIMERS] if not t.fired]
    return min(pending) if pending else None


def tick(compiled: CompiledProcess, snap: Snapshot, now: datetime
         ) -> tuple[Snapshot, tuple[AuditEntry, ...]]:
    """Fire every ``on_due`` event whose deadline has passed, as actor ``system`` (kind ``deadline``).

    Each deadline fires once per entry into its state: the timer is marked fired before its event
    is tried, so a refused deadline event is logged (``denied``) and not retried.
    """
    new, entries = _tick(compiled, snap, now)
    return public(new), tuple(cook(e) for e in entries)


def _tick(compiled: CompiledProcess, snap: RawSnapshot, now: datetime) -> tuple[RawSnapshot, tuple[RawEntry, ...]]:
    entries: list[RawEntry] = []
    while True:
        due = [t for t in snap[TIMERS] if not t.fired and t.event is not None and t.due_at <= now]
        if not due:
            return snap, tuple(entries)
        timer = min(due, key=lambda t: t.due_at)
        fired = tuple(t._replace(fired=True) if t is timer else t for t in snap[TIMERS])
        snap = (*snap[:TIMERS], fired, *snap[TIMERS + 1:])
        ref = {"state": timer.state, "due_at": timer.due_at.isoformat()}
        try:
            snap, new = _step(compiled, snap, timer.event or "", SYSTEM, None, now, None, "deadline", ref)
        except CaseError as err:
            snap, new = err.snapshot, (err.entry,)  # raw: _step raised it
        entries.extend(new)


def _action_failed(compiled: CompiledProcess, snap: RawSnapshot, entry: AuditEntry | RawEntry, action: str,
                  exc: BaseException, now: datetime) -> tuple[RawSnapshot, RawEntry]:
    """An ``action_failed`` entry after ``entry`` (changes nothing but ``seq``)."""
    seq = snap[SEQ] + 1
    here = compiled.paths[snap[LEAF]]
    entry = cook(entry)
    failed = _entry(seq, now, snap[CASE_ID], "action_failed", SYSTEM.id, SYSTEM.role_list, entry.event, here,
                    here, None, None, "action-failed", f"{action}: {type(exc).__name__}: {exc}",
                    {"seq": entry.seq, "action": action}, entry.transition, compiled.id,
                    compiled.version, None, None)
    return (*snap[:SEQ], seq), failed


__all__ = ["SYSTEM", "Actor", "CaseClosed", "CaseError", "ChecklistOpen", "CompiledProcess", "EventNotAllowed",
           "GuardFailed", "InvalidData", "Link", "MissingData", "RoleDenied", "Snapshot", "Timer", "assign",
           "compile", "due_at", "open_case", "step", "tick"]
