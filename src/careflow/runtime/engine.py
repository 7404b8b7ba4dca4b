"""The pure step function: ``step`` decides one event and returns a ``Step`` record.

``step`` is the one place that decides a transition: live cases, replay, the stores and the adapters
all call it. It never mutates its inputs, does no I/O (the time comes in as ``now``) and never raises
for an ordinary refusal: a refusal is ``Step.refusal``, and ``Step.snapshot`` then records the
``denied`` entry (same state and data, ``seq`` one higher). Only the facades (``Case.fire``,
``store.fire``) turn a refusal into an exception (``careflow.errors.refusal_error``).

The phases, per candidate for the event (transitions declared on the innermost active state
first, then document order): ``authorize`` (roles), ``check`` (event data, guards, required data),
then ``effects.apply``. The first candidate that passes wins; ``refusals.prefer`` decides which
refusal is told when none does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from careflow.errors import InvalidData, Refusal
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE
from careflow.runtime.audit import AuditEntry, RawEntry, cook
from careflow.runtime.boundary import Screened, screen
from careflow.runtime.compiled import Actor, CompiledProcess, Plan
from careflow.runtime.compiled import compile as compile  # the engine's entry point for callers that hold a definition
from careflow.runtime.data import EMPTY, safe_json
from careflow.runtime.effects import apply, raw_entry
from careflow.runtime.fields import (
    S_CASE_ID,
    S_DATA,
    S_LEAF,
    S_ROLES,
    S_SEQ,
    S_TICKS,
    RawSnapshot,
    Snapshot,
    snapshot_of,
)
from careflow.runtime.refusals import (
    checklist_open,
    guard_failed,
    missing_data,
    no_transition,
    prefer,
    python_guard_failed,
    python_guard_problem,
    role_denied,
)

_new = tuple.__new__


class Step(NamedTuple):
    """What a step produced: the new ``snapshot``, its entries, and the ``refusal`` when refused.

    ``stored`` holds the entries in their stored form (``audit.cook`` names them; ``entries`` does
    that for you). Refused: ``snapshot`` records the ``denied`` entry (state unchanged, ``seq`` + 1)
    and ``stored`` is that entry — except for a refused ``assign``, which records nothing.
    """

    snapshot: Snapshot
    stored: tuple[RawEntry, ...]
    refusal: Refusal | None = None

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        return tuple(cook(e) for e in self.stored)


#: A ``Step``'s fields as a plain tuple (raw snapshot, stored entries, refusal): what ``decide``
#: returns, as building a ``Step`` (a tuple subclass) costs more than the rest of a simple step.
RawStep = tuple[RawSnapshot, tuple[RawEntry, ...], Refusal | None]


def step(compiled: CompiledProcess, snap: RawSnapshot, event: str, actor: Actor, data: Mapping[str, Any] | None,
         now: datetime, reason: str | None = None, *, kind: str = "fired", ref: Mapping[str, Any] | None = None
         ) -> Step:
    """Fire ``event`` as ``actor`` with event ``data``: the ``Step`` (never raises for a refusal)."""
    raw, stored, refusal = decide(compiled, snap, event, actor, data, now, reason, kind, ref)
    return _new(Step, (snapshot_of(raw), stored, refusal))


def decide(compiled: CompiledProcess, snap: RawSnapshot, event: str, actor: Actor, data: Mapping[str, Any] | None,
           now: datetime, reason: str | None = None, kind: str = "fired", ref: Mapping[str, Any] | None = None
           ) -> RawStep:
    """``step`` for hot loops (``Case.fire``, replay): the same decision as a plain tuple.

    Inputs pass the boundary first (``boundary.screen``). A declared event from a known-good actor,
    without data or reason, under the default limits is good by construction: that costs a few tests.
    """
    plans = compiled.table[snap[S_LEAF]].get(event) if type(event) is str else None
    # ``compiled.good`` is None, an Actor's ``fault`` when good, unless the process tightened its limits
    if plans is None or data is not None or reason is not None or type(actor) is not Actor \
            or actor.fault is not compiled.good:
        screened = screen(compiled, event, actor, data, reason)
        if type(screened) is Screened:
            return deny_input(compiled, snap, now, ref, screened)
        data = screened  # type: ignore[assignment]  # the clean copy (or None)
        if plans is None:
            return deny(compiled, snap, event, actor, data, now, reason, ref, no_transition(compiled, snap, event))
    refusal: Refusal | None = None
    for plan in plans:
        case_role = None
        wanted = plan.roles
        if wanted is not None and wanted.isdisjoint(actor.roles):  # the common case costs one set test
            case_role = authorize(plan, snap, actor)
            if case_role is None:
                refusal = prefer(refusal, role_denied(plans, snap, actor))
                continue
        if data or plan.checked:
            checked = check(plan, snap, actor, data, now)
            if type(checked) is Refusal:
                refusal = prefer(refusal, checked)
                continue
            event_data: Any = checked
        else:  # only a guard on case data, if any: decided here, as ``check`` would, without a call
            event_data = EMPTY
            test = plan.test
            if test is not None and not passes(test, snap[S_DATA], EMPTY, now):
                refusal = prefer(refusal, guard_failed(plan, snap, EMPTY, now))
                continue
        seq = snap[S_SEQ] + 1
        roles = actor.role_list if case_role is None else tuple(sorted({*actor.roles, case_role}))
        if plan.simple:
            # The hot path: a new leaf, nothing else changes. One snapshot, one entry (stored form).
            return (snap[0], plan.target_leaf, snap[2], snap[3], snap[4], snap[5], snap[6], seq), (
                (seq, now, snap[0], kind, actor.id, roles, event, plan.source_path, plan.target_path,
                 tuple(event_data.items()) if event_data else None, reason, None, None,
                 None if ref is None else tuple(ref.items()), plan.tid, compiled.id, compiled.version,
                 None, None),), None
        applied = apply(compiled, plan, snap, actor, roles, event_data, now, reason, kind, ref, seq)
        if isinstance(applied, Refusal):
            return deny(compiled, snap, event, actor, data, now, reason, ref, applied)
        return applied
    assert refusal is not None
    return deny(compiled, snap, event, actor, data, now, reason, ref, refusal)


def passes(test: Callable[[Mapping[str, Any], Mapping[str, Any], Any], Any], data: Mapping[str, Any],
           event_data: Mapping[str, Any], now: datetime) -> bool:
    """A compiled guard closure with ``Guard.__call__``'s contract: true only if exactly True, false on
    any exception (the closure itself is called, which saves a Python call per fire)."""
    try:
        return test(data, event_data, now) is True
    except Exception:
        return False


def authorize(plan: Plan, snap: RawSnapshot, actor: Actor) -> str | None:
    """The case role (or ``system``) through which ``actor`` may fire ``plan``, else None.

    Called when the actor holds none of the plan's global roles (a plan without roles lets anyone).
    """
    held = snap[S_ROLES]
    for role in plan.case_roles:
        if held.get(role) == actor.id:
            return role
    if plan.system_ok and actor.id == SYSTEM_ACTOR and SYSTEM_ROLE in actor.roles:
        return SYSTEM_ROLE
    return None


def check(plan: Plan, snap: RawSnapshot, actor: Actor, data: Mapping[str, Any] | None, now: datetime
          ) -> Mapping[str, Any] | Refusal:
    """The validated event data, or why this candidate cannot fire: invalid data, a false guard,
    missing required data (or an open checklist, which is the answer whatever data comes)."""
    if data:
        try:
            event_data: Mapping[str, Any] = event_data_for(plan, data)
        except InvalidData as err:
            return err.refusal
    else:
        event_data = EMPTY
    missing = plan.requires and tuple(r for r in plan.requires if event_data.get(r) is None)
    test = plan.test
    # A guard on case data alone is decided before missing event data is reported: it is the more
    # precise answer (and allowed() must not list an event whose guard is false anyway).
    if test is not None and not (missing and plan.reads_event) and not passes(test, snap[S_DATA], event_data, now):
        return guard_failed(plan, snap, event_data, now)
    if missing:
        return checklist_open(plan, snap[S_TICKS]) or missing_data(plan, missing)
    if plan.pyguard is not None:
        problem = python_guard_problem(plan, snap, event_data, actor)
        if problem is not None:
            return python_guard_failed(plan, problem)
    return event_data


def event_data_for(plan: Plan, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` validated and frozen for ``plan``'s event, or ``InvalidData`` naming the field.

    The field named is the first wrong one in sorted order: a stored log may come back with its keys
    in another order, and replay must tell the same refusal."""
    out: dict[str, Any] = {}
    fields = plan.fields
    try:
        for name, value in data.items():
            out[name] = fields[name](value)
    except (KeyError, InvalidData):
        for name, value in sorted(data.items()):
            validate = fields.get(name)
            if validate is None:
                takes = ", ".join(f"'{f}'" for f in fields) or "no data"
                raise InvalidData(f"event '{plan.event}' does not take '{name}' (it takes {takes})", str(name)
                                  ) from None
            validate(value)
        raise  # pragma: no cover - the sorted pass finds what the first pass found
    return out


def deny(compiled: CompiledProcess, snap: RawSnapshot, event: str, actor: Actor, data: Mapping[str, Any] | None,
         now: datetime, reason: str | None, ref: Mapping[str, Any] | None, refusal: Refusal) -> RawStep:
    """The refused step: a ``denied`` entry and the snapshot that records it (state unchanged)."""
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    logged = {str(k): safe_json(v) for k, v in data.items()} if data else None
    entry = raw_entry(seq, now, snap[S_CASE_ID], "denied", actor.id, actor.role_list, event, here, here, logged,
                      reason, refusal.code, "; ".join(refusal.reasons), ref, None, compiled.id, compiled.version,
                      None, None)
    return (*snap[:S_SEQ], seq), (entry,), refusal


def deny_input(compiled: CompiledProcess, snap: RawSnapshot, now: datetime, ref: Mapping[str, Any] | None,
               screened: Screened) -> RawStep:
    """A fire the boundary refused: a ``denied`` entry of its safe recorded forms (state unchanged)."""
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    refusal = screened.refusal
    entry = raw_entry(seq, now, snap[S_CASE_ID], "denied", screened.actor_id, screened.roles, screened.event, here,
                      here, screened.data, screened.reason, refusal.code, refusal.message, ref, None, compiled.id,
                      compiled.version, None, None)
    return (*snap[:S_SEQ], seq), (entry,), refusal


__all__ = ["RawStep", "Step", "authorize", "check", "compile", "decide", "deny", "deny_input", "event_data_for",
           "passes", "step"]
