"""Refusals as data: one builder per kind, and the one rule for which refusal a step reports.

The step tries an event's candidates in order; each that fails yields a ``Refusal``. ``prefer``
decides which one is told: the first that is not about roles (it is the more precise answer),
else the role refusal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from careflow.errors import Refusal
from careflow.runtime.compiled import Actor, CompiledProcess, Plan
from careflow.runtime.fields import S_DATA, S_LEAF, S_ROLES, RawSnapshot

ROLE_DENIED = "role-denied"


def prefer(current: Refusal | None, new: Refusal) -> Refusal:
    """The refusal to report after ``new``: the first non-role refusal wins over a role refusal."""
    if current is None or current.code == ROLE_DENIED:
        return new
    return current


def role_denied(plans: tuple[Plan, ...], snap: RawSnapshot, actor: Actor) -> Refusal:
    """Which roles would do, over every candidate for the event."""
    event = plans[0].event
    wanted = sorted({r for p in plans for r in p.transition.roles})
    reasons = [f"'{event}' needs one of the roles {', '.join(wanted)}; "
               f"'{actor.id}' has {', '.join(sorted(actor.roles)) or 'none'}"]
    for role in dict.fromkeys(r for p in plans for r in p.case_roles):
        holder = snap[S_ROLES].get(role)
        reasons.append(f"case role '{role}' is held by " + (f"'{holder}'" if holder else "nobody") + " in this case")
    return Refusal(ROLE_DENIED, f"'{actor.id}' may not fire '{event}' here", tuple(reasons), roles=tuple(wanted))


def no_transition(compiled: CompiledProcess, snap: RawSnapshot, event: str) -> Refusal:
    """No candidate at all: the case is closed, or the event has no transition from here."""
    here = compiled.paths[snap[S_LEAF]]
    if snap[S_LEAF] in compiled.finals:
        message = f"the case is closed (in '{here}')"
        return Refusal("case-closed", message, (message,))
    table = compiled.table[snap[S_LEAF]]
    possible = tuple(e for e, plans in table.items() if not all(system_only(p) for p in plans))
    reasons = [f"no transition for '{event}' from '{here}'",
               "events possible here: " + (", ".join(possible) if possible else "none")]
    way = route(compiled, snap[S_LEAF], event) if event in compiled.declared else None
    first = where = None
    if way is not None:
        first, where = way
        reasons.append(f"'{event}' is possible in '{compiled.paths[where]}'; first: '{first}'")
    return Refusal("event-not-allowed", f"'{event}' is not possible in '{here}'", tuple(reasons), possible=possible,
                   first=first, where=where)


def system_only(plan: Plan) -> bool:
    """Only the system may fire it (``roles: [system]``, e.g. a deadline event): never offered to people."""
    return plan.roles is not None and not plan.roles and not plan.case_roles


def route(compiled: CompiledProcess, leaf: str, event: str) -> tuple[str, str] | None:
    """The first event on a shortest way from ``leaf`` to a state where ``event`` applies, and that state
    (breadth first over the transitions people may fire, in table order; guards and roles not judged)."""
    seen, queue = {leaf}, deque([(leaf, "")])
    while queue:
        at, first = queue.popleft()
        for name, plans in compiled.table[at].items():
            for plan in plans:
                nxt = plan.target_leaf
                if system_only(plan) or plan.internal or nxt in seen:
                    continue
                if event in compiled.table[nxt]:
                    return first or name, nxt
                seen.add(nxt)
                queue.append((nxt, first or name))
    return None


def guard_failed(plan: Plan, snap: RawSnapshot, event_data: Mapping[str, Any], now: datetime) -> Refusal:
    reasons = plan.when.explain(snap[S_DATA], event_data, now) if plan.when is not None else []
    return Refusal("guard-failed", f"'{plan.event}' is not possible: its condition is false",
                   tuple(reasons or [f"the condition of '{plan.event}' is false"]), needs_event=plan.reads_event)


def python_guard_problem(plan: Plan, snap: RawSnapshot, event_data: Mapping[str, Any], actor: Actor) -> str | None:
    """None when the registered guard passes, else why not. A guard that raises counts as false: the
    contract for guards is "never an exception", and the exception is named in the reason."""
    try:
        guard = plan.pyguard
        if guard is not None and guard(MappingProxyType(snap[S_DATA]), MappingProxyType(event_data), actor) is True:
            return None
        return f"guard '{plan.pyguard_name}' is false"
    except Exception as exc:
        return f"guard '{plan.pyguard_name}' failed: {type(exc).__name__}: {exc}"


def python_guard_failed(plan: Plan, problem: str) -> Refusal:
    return Refusal("guard-failed", f"'{plan.event}' is not possible: {problem}", (problem,))


def missing_data(plan: Plan, names: tuple[str, ...]) -> Refusal:
    listed = ", ".join(f"'{n}'" for n in names)
    return Refusal("missing-data", f"'{plan.event}' needs event data {listed}",
                   tuple(f"missing event data: {n}" for n in names), fields=names)


def checklist_open(plan: Plan, ticks: tuple[tuple[str, str], ...]) -> Refusal | None:
    """The refusal when leaving would leave checklist items open (counting what this plan ticks)."""
    if not plan.exit_items or plan.skip_checklist:
        return None
    done = {*ticks, *plan.ticks}
    still_open = [(item, labels) for state, item, labels in plan.exit_items if (state, item) not in done]
    if not still_open:
        return None
    default = [labels[0][1] for _, labels in still_open]
    return Refusal("checklist-open", f"'{plan.event}' would leave open checklist items: {', '.join(default)}",
                   tuple(f"checklist item not done: {label}" for label in default),
                   items=tuple(item for item, _ in still_open), labels=tuple(labels for _, labels in still_open))


def invalid_data(message: str, field: str) -> Refusal:
    return Refusal("invalid-data", message, (message,), field=field)


__all__ = ["Refusal", "checklist_open", "guard_failed", "invalid_data", "missing_data", "no_transition", "prefer",
           "python_guard_failed", "python_guard_problem", "role_denied"]
