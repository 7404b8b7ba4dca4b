"""Hypothesis strategies for careflow processes: values, actors, event data and valid walks.

``walks(process)`` draws a list of ``Step(event, actor, data)`` that a freshly opened case (default
data, clock fixed at ``WALK_TIME``) accepts one after another. Each step is chosen among the events
``Case.allowed`` lists for some actor of the pool; its data is drawn from the declared types and
kept only if ``Case.explain`` says the event is then possible (guards included), so walks are valid
by construction and shrink towards shorter walks with earlier choices. Every choice goes through
hypothesis' ``draw``: no global random state, so failures replay and shrink.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import FixedClock
from careflow.definitions.builder import scope_fields
from careflow.model.datatypes import DataType
from careflow.model.definition import SYSTEM_ROLE, ProcessDefinition, Transition
from careflow.model.frozen import thaw
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, Plan, compile
from careflow.runtime.engine import authorize
from careflow.runtime.registry import Registry

WALK_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the clock of a walk's case (guards may read ``now``)
TRIES = 6  # data draws per chosen event before it is given up for this step
CLOSE_ODDS = 8  # an event that ends the case is among the choices in one step of this many (when others exist)
_TEXT = "abcdefghijklmnopqrstuvwxyzæøå ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SPAN = 20  # width of a number range with only one bound, or none


class Step(NamedTuple):
    """One fired event of a walk."""

    event: str
    actor: Actor
    data: dict[str, Any]


# -- values -------------------------------------------------------------------------------------------


def values(dtype: DataType, *, now: datetime = WALK_TIME, allow_null: bool = True) -> st.SearchStrategy[Any]:
    """JSON values that fit ``dtype`` (null too when it is nullable and ``allow_null``)."""
    base = _values(dtype, now)
    if dtype.nullable and allow_null:
        return st.none() | base
    return base


def _values(dtype: DataType, now: datetime) -> st.SearchStrategy[Any]:
    if dtype.enum is not None:
        return st.sampled_from([thaw(v) for v in dtype.enum if v is not None or dtype.nullable])
    kind = dtype.kind
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        lo, hi = _bounds(dtype.minimum, dtype.maximum)
        if kind == "integer":
            return st.integers(math.ceil(lo), math.floor(hi))
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if kind == "string":
        return _strings(dtype, now)
    if kind == "array":
        item = _values(dtype.items, now) if dtype.items is not None else st.text(_TEXT, max_size=8)
        least = dtype.min_items or 0
        most = dtype.max_items if dtype.max_items is not None else least + 4
        return st.lists(item, min_size=least, max_size=most, unique=dtype.unique_items)
    if kind == "object":
        props = dict(dtype.properties)
        required = {k: values(props[k], now=now) for k in dtype.required if k in props}
        optional = {k: values(v, now=now) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    raise ValueError(f"no strategy for data of type '{kind}'")


def _bounds(minimum: float | None, maximum: float | None) -> tuple[float, float]:
    # Small ranges near the declared bounds: guards compare against small thresholds far more often
    # than against huge numbers, and a narrow range makes those comparisons go both ways.
    if minimum is not None and maximum is not None:
        return minimum, maximum
    if minimum is not None:
        return minimum, minimum + _SPAN
    if maximum is not None:
        return maximum - _SPAN, maximum
    return -5, _SPAN - 5


def _strings(dtype: DataType, now: datetime) -> st.SearchStrategy[str]:
    if dtype.format == "date":
        # Two years back to one ahead of ``now``: both sides of guards such as days_since(x) >= 365.
        day = now.date()
        return st.dates(day - timedelta(days=730), day + timedelta(days=365)).map(date.isoformat)
    if dtype.format == "date-time":
        start = now.replace(tzinfo=None)
        return st.datetimes(start - timedelta(days=730), start + timedelta(days=365),
                            timezones=st.just(UTC)).map(datetime.isoformat)
    least = dtype.min_length or 0
    most = dtype.max_length if dtype.max_length is not None else least + 12
    return st.text(_TEXT, min_size=least, max_size=most)


# -- actors and event data ------------------------------------------------------------------------------


def actors(process: ProcessDefinition) -> st.SearchStrategy[Actor]:
    """Any actor: a few person ids, any subset of the process's global roles, sometimes ``system``
    or a role the process does not know. Mostly for attempts that ought to be refused."""
    roles = sorted(r.id for r in process.roles if r.scope != "case" and r.id != SYSTEM_ROLE)
    names = ["ann", "bo", "cai", *pool_ids(process)]
    anyone = st.builds(Actor, st.sampled_from(names), st.frozensets(st.sampled_from([*roles, "visitor"]), max_size=3))
    return st.one_of(anyone, st.just(SYSTEM), st.just(Actor(SYSTEM.id, frozenset())))


def pool(process: ProcessDefinition) -> list[Actor]:
    """The default actors of a walk: one per global role, one without roles, and ``system``."""
    roles = sorted(r.id for r in process.roles if r.scope != "case" and r.id != SYSTEM_ROLE)
    return [*(Actor(f"{role}-1", frozenset({role})) for role in roles), Actor("anyone", frozenset()), SYSTEM]


def pool_ids(process: ProcessDefinition) -> list[str]:
    return [a.id for a in pool(process) if a.id != SYSTEM.id]


def event_data(process: ProcessDefinition, transition: Transition | str, *, people: Sequence[str] = (),
               now: datetime = WALK_TIME) -> st.SearchStrategy[dict[str, Any]]:
    """Event data for ``transition`` (an object or its id): every ``requires`` field (never null),
    the other fields it takes sometimes. Fields that ``assign`` a case role hold one of ``people``
    (default: the walk pool's person ids), so the role goes to someone who can then use it."""
    t = transition if isinstance(transition, Transition) else _transition(process, transition)
    fields = scope_fields(process, t)
    persons = list(people) or pool_ids(process)
    assigned = {source for _, source in t.assign}

    def strategy(name: str, required: bool) -> st.SearchStrategy[Any]:
        if name in assigned:
            return st.sampled_from(persons)
        return values(fields[name], now=now, allow_null=not required)

    required = {name: strategy(name, True) for name in t.requires if name in fields}
    optional = {name: strategy(name, False) for name in fields if name not in required}
    return st.fixed_dictionaries(required, optional=optional)


def _transition(process: ProcessDefinition, tid: str) -> Transition:
    for t in process.transitions:
        if t.id == tid:
            return t
    raise KeyError(f"process '{process.id}' has no transition '{tid}'")


# -- walks --------------------------------------------------------------------------------------------


def walks(process: ProcessDefinition, max_steps: int = 30, *, actors: Sequence[Actor] | None = None,
          registry: Registry | None = None, now: datetime = WALK_TIME) -> st.SearchStrategy[list[Step]]:
    """Random valid walks from a freshly opened case (default data, clock fixed at ``now``).

    A walk stops at a final state, after ``max_steps`` steps, or when no allowed event could be
    given data that makes it possible. ``actors``: who may act (default ``pool(process)``); case
    roles are assigned to their ids.
    """
    compiled = compile(process, registry)
    chosen = list(actors) if actors is not None else pool(process)
    people = [a.id for a in chosen if a.id != SYSTEM.id] or ["anyone"]
    return _walk(compiled, max_steps, chosen, people, now)


@st.composite
def _walk(draw: st.DrawFn, compiled: CompiledProcess, max_steps: int, chosen: list[Actor], people: list[str],
          now: datetime) -> list[Step]:
    case = Case.open(compiled, "walk", clock=FixedClock(now))
    cache: dict[str, st.SearchStrategy[dict[str, Any]]] = {}  # transition id -> its event data strategy
    steps: list[Step] = []
    while len(steps) < max_steps and not case.closed:
        who: dict[str, list[Actor]] = {}
        for actor in chosen:
            for event in case.allowed(actor):
                who.setdefault(event, []).append(actor)
        # Events first, then actors: drawing (event, actor) pairs would favour events many roles may fire,
        # and in the bundled processes those are mostly the ways out (end early, close, withdraw consent).
        # Preferred events are tried first, the others only if none of those can be given valid data.
        events = [e for e in compiled.table[case.leaf] if e in who]
        closing: list[str] = []
        # Hypothesis favours 0 when drawing integers, so 0 is the common case: ending the case is kept among
        # the first choices only when the draw is the top value.
        if draw(st.integers(0, CLOSE_ODDS - 1)) != CLOSE_ODDS - 1:
            closing = [e for e in events if _closes(compiled, case.leaf, e)]
        staying: list[str] = []
        if draw(st.booleans()):  # internal events (ticks, notes) could fill a walk without getting anywhere
            staying = [e for e in events if e not in closing and _stays(compiled, case.leaf, e)]
        events = [e for e in events if e not in closing and e not in staying]
        step = None
        for group in (events, staying, closing):
            while group and step is None:
                event = group.pop(draw(st.integers(0, len(group) - 1)))
                candidates = who[event]
                while candidates and step is None:
                    actor = candidates.pop(draw(st.integers(0, len(candidates) - 1)))
                    step = _try(draw, case, event, actor, people, now, cache)
        if step is None:
            break
        case.fire(step.event, step.actor, step.data or None)
        steps.append(step)
    return steps


def _try(draw: st.DrawFn, case: Case, event: str, actor: Actor, people: list[str], now: datetime,
         cache: dict[str, st.SearchStrategy[dict[str, Any]]]) -> Step | None:
    """A step firing ``event`` as ``actor`` with drawn data that makes it possible, or None."""
    compiled: CompiledProcess = case.compiled
    plans = [p for p in compiled.table[case.leaf].get(event, ()) if _may_act(p, case, actor)]
    if not plans:
        return None
    for _ in range(TRIES):
        plan = plans[draw(st.integers(0, len(plans) - 1))] if len(plans) > 1 else plans[0]
        strategy = cache.get(plan.tid)
        if strategy is None:
            strategy = cache[plan.tid] = event_data(compiled.process, plan.transition, people=people, now=now)
        data = draw(strategy)
        if case.explain(event, actor, data or None).possible:
            return Step(event, actor, data)
    return None


def _closes(compiled: CompiledProcess, leaf: str, event: str) -> bool:
    """Whether every candidate for ``event`` here ends the case."""
    return all(p.target_leaf in compiled.finals for p in compiled.table[leaf][event])


def _stays(compiled: CompiledProcess, leaf: str, event: str) -> bool:
    """Whether every candidate for ``event`` here is internal."""
    return all(p.internal for p in compiled.table[leaf][event])


def _may_act(plan: Plan, case: Case, actor: Actor) -> bool:
    """The engine's role test for one candidate (so data is drawn for a transition the actor may take)."""
    if plan.roles is None or not plan.roles.isdisjoint(actor.roles):
        return True
    return authorize(plan, case.snapshot, actor) is not None


def run_walk(process: ProcessDefinition | CompiledProcess, steps: Sequence[Step], *, now: datetime = WALK_TIME,
           data: Mapping[str, Any] | None = None) -> Case:
    """A fresh case with ``steps`` fired (the case a walk was drawn on)."""
    case = Case.open(process, "walk", clock=FixedClock(now), data=data)
    for s in steps:
        case.fire(s.event, s.actor, s.data or None)
    return case


__all__ = ["CLOSE_ODDS", "TRIES", "WALK_TIME", "Step", "actors", "event_data", "pool", "pool_ids", "run_walk", "values",
           "walks"]
