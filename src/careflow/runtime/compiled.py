"""What ``engine.step`` runs on: actors and a process compiled into lookup tables.

``compile(process)`` does every per-process computation once — candidate order, target leaves,
exit and entry sets, checklist and deadline plans, event-data validators, compiled guards, bound
Python guards and actions — so a step is a few dict lookups and attribute reads. Results are cached
by the identity of the definition (definitions are frozen values, so identity is enough).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from careflow.errors import DefinitionError, Diagnostic
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE, ProcessDefinition, Recurrence, Report, Transition
from careflow.model.durations import Duration
from careflow.model.limits import Limits
from careflow.runtime.data import Validator, validator
from careflow.runtime.texts import actor_problem

if TYPE_CHECKING:
    from careflow.definitions.expressions import Computed, Guard
    from careflow.runtime.registry import Registry

Resolver = Callable[[str], ProcessDefinition]
#: A deadline a transition starts: (state, duration, event, None) for ``due``; (…, recurrence) for ``every``.
DuePlan = tuple[str, Duration, str | None, Recurrence | None]


# -- actors ----------------------------------------------------------------------------------------


def _roles(value: Any) -> frozenset[str]:
    if isinstance(value, str):  # Actor("ann", "nurse") would otherwise become roles {'n','u','r','s','e'}
        return frozenset((value,))
    return frozenset(value)


@attrs.frozen(slots=True)
class Actor:
    """Who acts: a person (or ``system``) id and their global roles."""

    id: str
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_roles)
    role_list: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)  # sorted, for entries
    #: Why the input boundary refuses this actor (under the default limits), judged once here; None if good.
    fault: str | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        fault = actor_problem(self.id, self.roles)
        object.__setattr__(self, "fault", fault)
        object.__setattr__(self, "role_list", tuple(sorted(self.roles)) if fault is None else ())


SYSTEM = Actor(SYSTEM_ACTOR, frozenset({SYSTEM_ROLE}))


# -- the compiled process ---------------------------------------------------------------------------


class SpawnPlan:
    """A handoff: the target definition is resolved at compile time, compiled on first use."""

    __slots__ = ("_compiled", "data", "definition", "registry", "resolver", "start")

    def __init__(self, definition: ProcessDefinition, data: tuple[tuple[str, str], ...],
                 registry: Registry | None, resolver: Resolver | None, start: str | None = None) -> None:
        self.definition, self.data, self.registry, self.resolver = definition, data, registry, resolver
        self.start = start  # the state the child starts in (None: its initial state)
        self._compiled: CompiledProcess | None = None

    def compiled(self) -> CompiledProcess:
        # Lazily, so processes that hand off to each other (A -> B -> A) do not recurse at compile time.
        if self._compiled is None:
            self._compiled = compile(self.definition, self.registry, self.resolver)
        return self._compiled


class Plan:
    """One candidate transition as seen from one leaf: everything ``step`` needs, precomputed."""

    __slots__ = ("appends", "assigns", "case_roles", "checked", "computes", "entered_due", "event", "exit_items",
                 "exited", "fields", "internal", "pyguard", "pyguard_name", "reads_event", "requires", "roles", "sets",
                 "simple",
                 "skip_checklist", "source_path", "spawn", "system_ok", "target_leaf", "target_path", "test",
                 "tick_states", "ticks", "tid", "touches_timers", "transition", "values", "when")

    def __init__(self) -> None:
        self.roles: frozenset[str] | None = None  # None: any actor; else the global roles that pass
        self.case_roles: tuple[str, ...] = ()
        self.system_ok = False
        self.when: Guard | None = None
        self.test: Callable[[Mapping[str, Any], Mapping[str, Any], Any], Any] | None = None
        self.reads_event = False
        self.pyguard: Callable[[Mapping[str, Any], Mapping[str, Any], Actor], Any] | None = None
        self.pyguard_name: str | None = None
        self.fields: dict[str, Validator] = {}
        self.requires: tuple[str, ...] = ()
        self.sets: tuple[tuple[str, str], ...] = ()
        self.computes: tuple[tuple[str, Computed, Validator], ...] = ()  # computed ``set`` values
        self.appends: tuple[tuple[str, str, int | None], ...] = ()
        self.values: tuple[tuple[str, Any], ...] = ()  # fixed values (frozen, so safe to share)
        self.assigns: tuple[tuple[str, str], ...] = ()
        self.ticks: frozenset[tuple[str, str]] = frozenset()
        self.exit_items: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()  # (state, item, labels)
        self.exited: frozenset[str] = frozenset()
        self.entered_due: tuple[DuePlan, ...] = ()
        self.touches_timers = False
        self.spawn: SpawnPlan | None = None
        self.skip_checklist = False
        self.simple = True
        self.checked = False  # requires event data or has a Python guard: ``engine.check`` runs even without data
        self.internal = False
        self.tick_states: tuple[str, ...] = ()
        self.transition: Transition
        self.tid = self.event = self.source_path = self.target_path = self.target_leaf = ""


@attrs.frozen(eq=False)
class CompiledProcess:
    """A process as tables. ``table[leaf][event]`` is the tuple of candidate plans."""

    process: ProcessDefinition
    id: str
    version: str
    table: dict[str, dict[str, tuple[Plan, ...]]]
    paths: dict[str, str]  # state id -> dotted path
    finals: frozenset[str]
    validators: dict[str, Validator]  # case data field -> validator
    defaults: dict[str, Any]  # case data field -> frozen default (None when unset)
    initial_leaf: str
    initial_path: str
    initial_due: tuple[DuePlan, ...]
    case_roles: frozenset[str]
    actions: dict[str, tuple[tuple[str, Callable[..., Any]], ...]]  # transition id -> (name, action)
    spawn_targets: dict[str, SpawnPlan]  # target process id -> handoff plan
    reports: dict[str, Report]  # transition id -> its report back to the parent case
    registry: Registry | None
    resolver: Resolver | None
    limits: Limits  # what cases accept from callers (``runtime.boundary``)
    #: What ``Actor.fault`` is for an actor the step may take without the boundary's full check: None, or
    #: (limits tightened below the defaults) a marker no actor has, so every actor is checked in full.
    good: object
    declared: frozenset[str]  # the events of the process: good names whatever the limits


_CACHE: dict[int, list[tuple[ProcessDefinition, Any, Any, CompiledProcess]]] = {}
_LOCK = threading.Lock()


def compile(process: ProcessDefinition, registry: Registry | None = None, resolver: Resolver | None = None
            ) -> CompiledProcess:
    """``process`` as tables (cached by the identity of process, registry and resolver).

    Raises ``DefinitionError`` for a guard expression that does not compile, a Python guard the
    registry lacks (CF205), or a handoff target that cannot be resolved (CF204).
    """
    for known, reg, res, compiled in _CACHE.get(id(process), ()):
        if known is process and reg is registry and res is resolver:
            return compiled
    compiled = _compile(process, registry, resolver)
    with _LOCK:
        # The definition is kept in the entry, so its id cannot be reused while the entry lives.
        _CACHE.setdefault(id(process), []).append((process, registry, resolver, compiled))
    return compiled


def _compile(process: ProcessDefinition, registry: Registry | None, resolver: Resolver | None) -> CompiledProcess:
    problems: list[Diagnostic] = []
    pyguards: dict[str, Callable[..., Any]] = {}
    actions: dict[str, tuple[tuple[str, Callable[..., Any]], ...]] = {}
    if registry is not None:
        pyguards, actions = registry.bind(process)
    else:
        problems += _unregistered(process)
    guards = _guards(process, problems)
    computed = _computed(process, problems)
    spawns = _spawns(process, registry, resolver, problems)
    if any(d.is_error for d in problems):
        raise DefinitionError(problems, process.path or process.id)
    case_roles = frozenset(r.id for r in process.roles if r.scope == "case")
    shared = _plans(process, guards, pyguards, spawns, case_roles)
    for index, computes in computed.items():
        shared[index].computes = computes
    paths = {s.id: s.path for s in process.states}
    initial_leaf = process.initial_leaf
    entered = (initial_leaf, *process.ancestors(initial_leaf))
    return CompiledProcess(
        process=process, id=process.id, version=process.version, table=_table(process, shared), paths=paths,
        finals=frozenset(s.id for s in process.states if s.final),
        validators={f.name: validator(f.type, f.name) for f in process.data},
        defaults={f.name: f.default if f.has_default else None for f in process.data},
        initial_leaf=initial_leaf, initial_path=paths[initial_leaf],
        initial_due=due_plan(process, reversed(entered)), case_roles=case_roles,
        actions=actions, spawn_targets={sp.definition.id: sp for sp in spawns.values()},
        reports={t.id: t.report for t in process.transitions if t.report is not None},
        registry=registry, resolver=resolver, limits=process.limits,
        good=object() if process.limits.tightened else None, declared=frozenset(process.event_ids))


def _guards(process: ProcessDefinition, problems: list[Diagnostic]) -> dict[int, Guard]:
    """Each transition's ``when``, compiled (by transition index); problems are added to ``problems``."""
    from careflow.definitions.expressions import compile_guard
    from careflow.definitions.loader import scope_for

    guards: dict[int, Guard] = {}
    for t in process.transitions:
        if t.when is not None:
            guard, diags = compile_guard(t.when.source, scope_for(process, t), pointer=t.when.pointer,
                                         mark=process.source_map.get(t.when.pointer), file=process.path)
            problems += diags
            if guard is not None:
                guards[t.index] = guard
    return guards


def _computed(process: ProcessDefinition, problems: list[Diagnostic]
              ) -> dict[int, tuple[tuple[str, Computed, Validator], ...]]:
    """Each transition's computed ``set`` values (field, compiled value, the field's check), by index."""
    from careflow.definitions.expressions import compile_value
    from careflow.definitions.loader import scope_for

    out: dict[int, tuple[tuple[str, Computed, Validator], ...]] = {}
    for t in process.transitions:
        computes = []
        for name, expression in t.compute:
            field = process.field(name)
            value, diags = compile_value(expression.source, scope_for(process, t), field.type,
                                         pointer=expression.pointer, mark=process.source_map.get(expression.pointer),
                                         file=process.path)
            problems += diags
            if value is not None:
                computes.append((name, value, validator(field.type, name)))
        if computes:
            out[t.index] = tuple(computes)
    return out


def _plans(process: ProcessDefinition, guards: Mapping[int, Guard], pyguards: Mapping[str, Callable[..., Any]],
           spawns: Mapping[int, Any], case_roles: frozenset[str]) -> dict[int, Plan]:
    """What every transition does, whatever leaf it fires from (by transition index)."""
    from careflow.definitions.builder import scope_fields

    deadline_events = process.deadline_events
    shared: dict[int, Plan] = {}
    for t in process.transitions:
        p = Plan()
        p.transition, p.tid, p.event, p.internal = t, t.id, t.event, t.internal
        if t.roles:
            p.roles = frozenset(r for r in t.roles if r not in case_roles and r != SYSTEM_ROLE)
            p.case_roles = tuple(r for r in t.roles if r in case_roles)
        p.system_ok = SYSTEM_ROLE in t.roles or t.event in deadline_events
        p.when = guards.get(t.index)
        # step calls the guard's closure directly (see engine.check): it saves a call per fire
        p.test = p.when.fn if p.when is not None else None
        p.reads_event = bool(p.when is not None and p.when.event_names)
        if t.guard is not None:
            p.pyguard, p.pyguard_name = pyguards[t.guard], t.guard
        p.fields = {name: validator(dtype, name, "event data") for name, dtype in scope_fields(process, t).items()}
        p.requires, p.sets, p.assigns, p.values = t.requires, t.set, t.assign, t.values
        p.appends = tuple((c, e, process.field(c).type.max_items) for c, e in t.append)
        p.skip_checklist, p.spawn = t.skip_checklist, spawns.get(t.index)
        shared[t.index] = p
    return shared


def _table(process: ProcessDefinition, shared: Mapping[int, Plan]) -> dict[str, dict[str, tuple[Plan, ...]]]:
    """leaf -> event -> its candidate plans, innermost declaring state first, then document order."""
    by_source: dict[str, list[Transition]] = {}
    for t in process.transitions:
        for source in t.sources:
            by_source.setdefault(source, []).append(t)
    table: dict[str, dict[str, tuple[Plan, ...]]] = {}
    for leaf in (s.id for s in process.leaves):
        chain = (leaf, *process.ancestors(leaf))
        seen: set[int] = set()
        events: dict[str, list[Plan]] = {}
        for source in chain:
            for t in sorted(by_source.get(source, ()), key=lambda t: t.index):
                if t.index not in seen:
                    seen.add(t.index)
                    events.setdefault(t.event, []).append(_for_leaf(process, shared[t.index], leaf, source, chain))
        table[leaf] = {e: tuple(ps) for e, ps in events.items()}
    return table


def _for_leaf(process: ProcessDefinition, shared: Plan, leaf: str, source: str, chain: tuple[str, ...]) -> Plan:
    """Copy ``shared`` and add what depends on the leaf: paths, exit and entry sets, ticks, checklists."""
    p = Plan()
    for name in Plan.__slots__:
        if hasattr(shared, name):
            setattr(p, name, getattr(shared, name))
    t = shared.transition
    p.source_path = process.state(leaf).path
    ticks = []
    for item in t.tick:  # an item of the innermost active state that declares it
        owner = next((s for s in chain if any(i.id == item for i in process.state(s).checklist)), None)
        if owner is not None:
            ticks.append((owner, item))
    p.ticks = frozenset(ticks)
    if t.target is None:
        p.target_leaf, p.target_path = leaf, p.source_path
        exited: tuple[str, ...] = ()
        entered: tuple[str, ...] = ()
    else:
        p.target_leaf = process.resolve_entry(t.target)
        p.target_path = process.state(p.target_leaf).path
        # External semantics (as SCXML): the domain is the nearest proper ancestor of the declaring
        # state that is also a proper ancestor of the target; everything below it is exited and entered.
        target_ancestors = process.ancestors(t.target)
        domain = next((a for a in process.ancestors(source) if a in target_ancestors), None)
        cut = chain.index(domain) if domain is not None else len(chain)
        exited = chain[:cut]
        down = (p.target_leaf, *process.ancestors(p.target_leaf))
        entered = down[:down.index(domain)] if domain is not None else down
    lang = process.language
    p.exited = frozenset(exited)
    p.exit_items = tuple((s, i.id, _labels(i.label, lang) or ((lang, i.id),))
                         for s in exited for i in process.state(s).checklist)
    p.entered_due = due_plan(process, reversed(entered))
    p.touches_timers = bool(p.entered_due) or any(process.state(s).due is not None
                                                  or process.state(s).every is not None for s in exited)
    p.simple = not (p.sets or p.computes or p.appends or p.values or p.assigns or p.ticks or p.exit_items
                    or p.touches_timers or p.spawn)
    p.checked = bool(p.requires) or p.pyguard is not None
    return p


def _labels(text: Any, lang: str) -> tuple[tuple[str, str], ...]:
    """A label's ``(language, text)`` pairs, the process's language first."""
    pairs = tuple(text.by_language)
    return tuple(sorted(pairs, key=lambda p: p[0] != lang))


def due_plan(process: ProcessDefinition, states: Any) -> tuple[DuePlan, ...]:
    """The deadlines entering ``states`` starts, outermost first: (state, duration, event, None) for
    ``due``, (state, period, event, recurrence) for ``every``."""
    out: list[DuePlan] = []
    for sid in states:
        state = process.state(sid)
        if state.due is not None:
            out.append((sid, state.due.duration, state.due.event, None))
        if state.every is not None:
            out.append((sid, state.every.period, state.every.event, state.every))
    return tuple(out)


def _unregistered(process: ProcessDefinition) -> list[Diagnostic]:
    from careflow.runtime.registry import missing_guards

    return missing_guards(process, ())


def _spawns(process: ProcessDefinition, registry: Registry | None, resolver: Resolver | None,
            problems: list[Diagnostic]) -> dict[int, SpawnPlan]:
    from careflow.definitions.handoffs import check_handoff
    from careflow.definitions.loader import load
    from careflow.errors import CareflowError, SourceLocation

    out: dict[int, SpawnPlan] = {}
    for t in process.transitions:
        if t.spawn is None:
            continue
        try:
            target = (resolver or load)(t.spawn.process)
        except CareflowError as exc:
            mark = process.source_map.locate(t.spawn.pointer or t.pointer)
            problems.append(Diagnostic("CF204", f"handoff target '{t.spawn.process}' of '{t.id}' cannot be "
                                       f"loaded: {exc}", SourceLocation(mark.file, mark.line, mark.column,
                                                                       mark.pointer)))
            continue
        problems += check_handoff(process, t, target)
        out[t.index] = SpawnPlan(target, t.spawn.data, registry, resolver, t.spawn.start)
    return out
