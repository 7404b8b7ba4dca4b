"""A process as a ``transitions`` hierarchical state machine.

``to_machine(process)`` builds a ``transitions.extensions.HierarchicalMachine`` whose states are the
process's states (compound states become nested states entering their ``initial`` child) and whose
transitions are the process's transitions, in document order. State names are careflow's dotted
paths: the machine uses ``.`` as its nesting separator, because transitions' default ``_`` occurs in
careflow ids (``l0_s1``) and would split them.

What ``transitions`` decides on its own: which transitions an event may take from the current
state (the innermost declaring state first, then its ancestors; document order within one state),
which of them fires (the first whose conditions pass), how a compound state is entered, and the
state name afterwards. That is why the differential test can use it as an oracle for careflow's
engine. What it borrows from careflow rather than re-implementing: the compiled guard closures,
the role test, the event-data validators, registered Python guards, and the engine's own effect
code (``set``/``append``/``values``/``assign``, checklist ticks and the checklist exit check,
timers, handoff links), so an expression or a data rule means exactly one thing. See
``docs/interop.md`` for the mapping and its limits.

    model = CaseModel(careflow.load("psht"), clock=FixedClock(now))
    machine = to_machine(model.compiled.process, model)
    model.fire("record_consent", Actor("gp", {"referrer"}), {"consent_to_referral": True})
    model.state  # "referral"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from transitions.core import EventData, MachineError
from transitions.extensions import HierarchicalMachine
from transitions.extensions.nesting import NestedState

from careflow.clock import SYSTEM_CLOCK, Clock
from careflow.errors import CaseError, Refusal, refusal_error
from careflow.model.definition import ProcessDefinition, State
from careflow.runtime.changes import open_case
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, Plan, compile
from careflow.runtime.data import EMPTY
from careflow.runtime.effects import apply
from careflow.runtime.engine import authorize
from careflow.runtime.fields import Snapshot, snapshot_of
from careflow.runtime.refusals import python_guard_problem
from careflow.runtime.registry import Registry

SEPARATOR = "."


class DottedState(NestedState):
    """A nested state named by careflow's dotted path.

    A subclass rather than setting ``NestedState.separator`` globally: that attribute is shared by
    every hierarchical machine in the interpreter, including ones the application builds itself.
    """

    separator = SEPARATOR


class CareflowMachine(HierarchicalMachine):
    """A ``HierarchicalMachine`` whose states are named by careflow's dotted paths."""

    state_cls = DottedState


class CaseModel:
    """The model a careflow machine drives: what conditions read and callbacks change.

    ``state`` is set by ``transitions`` (a dotted path). ``snapshot`` is a careflow ``Snapshot``
    holding case data, case roles, ticked checklist items, timers and links; effects are computed
    by careflow's engine and committed only when ``transitions`` completes the transition, and its
    ``leaf`` follows the machine's state. ``actor``, ``event_data`` and ``now`` describe the
    attempt being made; ``fire`` sets them, or set them yourself before ``model.trigger(event)``.
    """

    state: str
    trigger: Callable[..., bool]  # added by transitions when the model is bound to a machine

    def __init__(self, process: ProcessDefinition | CompiledProcess, data: Mapping[str, Any] | None = None, *,
                 clock: Clock | None = None, registry: Registry | None = None, case_id: str = "machine",
                 actor: Actor = SYSTEM) -> None:
        self.compiled = process if isinstance(process, CompiledProcess) else compile(process, registry)
        self.clock = clock or SYSTEM_CLOCK
        opening = open_case(self.compiled, case_id, actor, data, self.clock.now())
        if opening.snapshot is None:
            assert opening.refusal is not None
            raise refusal_error(opening.refusal)
        self.snapshot: Snapshot = opening.snapshot
        self.actor: Actor = actor
        self.event_data: Mapping[str, Any] = EMPTY
        self._now: datetime | None = None
        # Between a transition's ``before`` and ``after`` callbacks: the snapshot it will commit.
        self._pending: Snapshot | None = None
        self._checked: Mapping[str, Any] = EMPTY  # event data as validated by the passing condition
        self._machine: Any = None  # set by to_machine

    @property
    def now(self) -> datetime:
        """The time guards see: the attempt's ``now`` if ``fire`` was given one, else the clock."""
        return self._now if self._now is not None else self.clock.now()

    @property
    def data(self) -> Mapping[str, Any]:
        return self.snapshot.data

    @property
    def roles(self) -> Mapping[str, str]:
        """Case-scoped role -> person id."""
        return self.snapshot.roles

    @property
    def leaf(self) -> str:
        return leaf_of(self.state)

    def fire(self, event: str, actor: Actor, data: Mapping[str, Any] | None = None,
             now: datetime | None = None) -> bool:
        """Try ``event`` as ``actor``: True when a transition fired, False when every candidate's
        conditions failed. ``MachineError`` when no transition handles ``event`` here (an unknown
        event included); a ``CaseError`` when the chosen transition's effects are refused (open
        checklist, a full array), as careflow does."""
        self.actor, self.event_data, self._now = actor, dict(data) if data else EMPTY, now
        if not self.knows(event):
            raise MachineError(f"Do not know event named '{event}'.")
        return self.trigger(event)

    def knows(self, event: str) -> bool:
        """Whether the bound machine has ``event`` at all (transitions raises AttributeError otherwise)."""
        return self._machine is not None and event in self._machine.events

    def __repr__(self) -> str:
        return f"<CaseModel {self.compiled.id} in {getattr(self, 'state', '?')}>"


def leaf_of(state_name: str) -> str:
    """The careflow leaf id of a machine state name (``level_1.l1_s2`` -> ``l1_s2``)."""
    return state_name.rsplit(SEPARATOR, 1)[-1]


def states_of(process: ProcessDefinition) -> list[dict[str, Any]]:
    """The process's states as ``transitions`` state dicts (children nested, ``initial`` named)."""

    def one(state: State) -> dict[str, Any]:
        out: dict[str, Any] = {"name": state.id}
        if state.children:
            out["children"] = [one(process.state(c)) for c in state.children]
            out["initial"] = state.initial or state.children[0]
        if state.final:
            out["final"] = True
        return out

    return [one(s) for s in process.top_level]


def to_machine(process: ProcessDefinition, model: CaseModel | None = None, *,
               registry: Registry | None = None) -> CareflowMachine:
    """A hierarchical ``transitions`` machine for ``process``, driving ``model``.

    ``model`` defaults to a fresh ``CaseModel`` (default data, system clock); it is available as
    ``machine.model``. A given model must have been built for the same process and registry.
    """
    if model is None:
        model = CaseModel(process, registry=registry)
    elif model.compiled.process is not process or model.compiled.registry is not registry:
        raise ValueError(f"the model was built for '{model.compiled.id}' with another definition or registry")
    compiled = model.compiled
    wiring = _Wiring(compiled)
    machine = CareflowMachine(model=model, states=states_of(process), initial=process.initial,
                              auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
                              name=f"{process.id}@{process.version}")
    paths = compiled.paths
    for t in process.transitions:  # document order: transitions tries a state's transitions in the order added
        shared = wiring.shared[t.id]
        for source in t.sources:
            machine.add_transition(t.event, paths[source], paths[t.target] if t.target is not None else None,
                                   conditions=[wiring.condition(shared)], before=[wiring.before(t.id)],
                                   after=[wiring.commit])
    model._machine = machine
    return machine


class _Wiring:
    """The callbacks a machine's transitions run, bound to one compiled process."""

    def __init__(self, compiled: CompiledProcess) -> None:
        self.compiled = compiled
        # Plans are compiled per (leaf, transition): the leaf fixes the exit set, ticks and deadlines.
        self.plans: dict[tuple[str, str], Plan] = {}
        self.shared: dict[str, Plan] = {}
        for leaf, events in compiled.table.items():
            for plans in events.values():
                for plan in plans:
                    self.plans[(leaf, plan.tid)] = plan
                    self.shared.setdefault(plan.tid, plan)

    def condition(self, plan: Plan) -> Callable[[EventData], bool]:
        """Roles, event data, required data, the guard expression and the Python guard: all must pass.

        The parts that do not depend on the leaf are the same in every leaf's plan, so one plan
        serves the transition wherever it is declared.
        """

        def passes(ev: EventData) -> bool:
            model = cast(CaseModel, ev.model)
            actor, snap = model.actor, model.snapshot
            if plan.roles is not None and plan.roles.isdisjoint(actor.roles) and authorize(plan, snap, actor) is None:
                return False
            checked: Mapping[str, Any] = EMPTY
            if model.event_data:
                try:
                    checked = {name: plan.fields[name](value) for name, value in model.event_data.items()}
                except (KeyError, CaseError):  # a field this transition does not take, or a wrong value
                    return False
            if any(checked.get(name) is None for name in plan.requires):
                return False
            if plan.when is not None and not plan.when(snap.data, checked, model.now):
                return False
            if plan.pyguard is not None and python_guard_problem(plan, snap, checked, actor) is not None:
                return False
            model._checked = checked
            return True

        return passes

    def before(self, tid: str) -> Callable[[EventData], None]:
        """Compute the transition's effects with the engine before the state changes.

        Here, not in ``after``: the engine may still refuse (a checklist left open, an array at its
        ``maxItems``, handoff data that does not fit), and raising now leaves the machine where it was,
        which is what careflow does (the event is refused; later candidates are not tried).
        """

        def compute(ev: EventData) -> None:
            model = cast(CaseModel, ev.model)
            snap = model.snapshot
            plan = self.plans[(snap.leaf, tid)]
            actor = model.actor
            applied = apply(self.compiled, plan, snap, actor, actor.role_list, model._checked, model.now, None,
                            "fired", None, snap.seq + 1)
            if isinstance(applied, Refusal):
                raise refusal_error(applied)
            model._pending = snapshot_of(applied[0])

        return compute

    @staticmethod
    def commit(ev: EventData) -> None:
        """Keep the computed effects; the leaf is the one ``transitions`` entered, not the engine's."""
        model = cast(CaseModel, ev.model)
        pending = model._pending
        model._pending = None
        if pending is not None:
            model.snapshot = pending._replace(leaf=model.leaf)


__all__ = ["SEPARATOR", "CareflowMachine", "CaseModel", "DottedState", "leaf_of", "states_of", "to_machine"]
