"""The transitions adapter, and the differential test: careflow's engine against transitions as oracle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transitions.core import MachineError
from transitions.extensions.nesting import NestedState

from careflow.cases.case import Case
from careflow.clock import FixedClock
from careflow.definitions.loader import bundled_processes, load, loads
from careflow.errors import CareflowError, ChecklistOpen, InvalidData
from careflow.interop.transitions import SEPARATOR, CaseModel, leaf_of, states_of, to_machine
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import SYSTEM, Actor
from careflow.runtime.registry import Registry
from careflow.testing.strategies import WALK_TIME, Step, actors, event_data, pool, walks
from tests.support import DOCTOR, NURSE, load_process, process_text

PROCESSES: dict[str, ProcessDefinition] = {pid: load(pid) for pid in bundled_processes()}


def machine_for(process: ProcessDefinition, data: Mapping[str, Any] | None = None,
                registry: Registry | None = None) -> CaseModel:
    model = CaseModel(process, data, clock=FixedClock(WALK_TIME), registry=registry)
    to_machine(process, model, registry=registry)
    return model


# -- the differential test ----------------------------------------------------------------------------


JUNK: list[object] = [None, 0, -1, "x", "", True, [], {}, [1, "a"], 10**6]


@st.composite
def probes(draw: st.DrawFn, process: ProcessDefinition, here: list[str]) -> Step:
    """An attempt that is often refused: mostly an event with a transition from the current state
    (``here``), else any event or an unknown one; any actor; data for some transition of that event
    (sometimes with one value replaced by junk), or none. Half the actors come from the walk pool, so
    the right role is common and refusals for guards, data and checklists are too."""
    anywhere = [*process.event_ids, "no_such_event"]
    event = draw(st.sampled_from(here if here and draw(st.integers(0, 3)) != 3 else anywhere))
    actor = draw(st.sampled_from(pool(process)) if draw(st.booleans()) else actors(process))
    options = [t for t in process.transitions if t.event == event]
    data: dict[str, Any] = {}
    if options and draw(st.integers(0, 3)) != 0:
        data = draw(event_data(process, draw(st.sampled_from(options))))
        if data and draw(st.integers(0, 3)) == 0:
            data[draw(st.sampled_from(sorted(data)))] = draw(st.sampled_from(JUNK))
    return Step(event, actor, data)


def fire_both(case: Case, model: CaseModel, step: Step) -> bool:
    """Fire ``step`` on both sides; they must agree on accepting it, on the state and on the data."""
    try:
        case.fire(step.event, step.actor, step.data or None)
        engine_ok = True
    except CareflowError:
        engine_ok = False
    try:
        machine_ok = model.fire(step.event, step.actor, step.data or None)
    except (MachineError, CareflowError):
        machine_ok = False
    where = f"{step} from {model.state}"
    assert engine_ok == machine_ok, f"careflow {'accepted' if engine_ok else 'refused'} {where}"
    assert case.state == model.state, where
    assert dict(case.data) == dict(model.data), where
    assert dict(case.roles) == dict(model.roles), where
    assert case.ticked == model.snapshot.ticks, where
    return engine_ok


@pytest.mark.parametrize("pid", [*sorted(PROCESSES), "inline:nested", "inline:overlap"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_careflow_and_transitions_agree_on_every_bundled_process(pid: str, data: st.DataObject) -> None:
    process = PROCESSES[pid] if pid in PROCESSES else INLINE[pid]
    walk = data.draw(walks(process, 30))
    case = Case.open(process, "diff", clock=FixedClock(WALK_TIME))
    model = machine_for(process)
    assert case.state == model.state
    for index in range(len(walk) + 1):
        # Probes are drawn as the case goes, so most of them name an event that has a transition here
        # and are refused for a role, a guard, missing or wrong data, or an open checklist.
        if index == len(walk) or data.draw(st.integers(0, 2)) == 0:
            fire_both(case, model, data.draw(probes(process, list(case.compiled.table[case.leaf]))))
        if index < len(walk):
            fire_both(case, model, walk[index])


@pytest.mark.parametrize("pid", sorted(PROCESSES))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_machine_accepts_every_step_of_a_valid_walk(pid: str, data: st.DataObject) -> None:
    process = PROCESSES[pid]
    model = machine_for(process)
    for step in data.draw(walks(process, 30)):
        assert model.fire(step.event, step.actor, step.data or None), step


# -- the adapter on small processes -------------------------------------------------------------------

NESTED = process_text("nested")

# Several candidates for one event in one state, declared on the leaf and on its ancestors, a multi-source
# transition, a checklist with a skip_checklist way out, and a target inside its declaring state: what
# the bundled processes lack (none of them has two candidates for an event in the same state).


def nested() -> ProcessDefinition:
    return loads(NESTED)


def test_state_names_are_careflow_dotted_paths() -> None:
    process = nested()
    model = machine_for(process)
    machine = model._machine
    assert model.state == "l0_s1"
    assert set(machine.get_nested_state_names()) == {s.path for s in process.states}
    assert machine.state_cls.separator == SEPARATOR == "."
    assert NestedState.separator == "_"  # the global default of transitions is left alone
    assert leaf_of("level_1.l1_s2.l1_s2_a") == "l1_s2_a"
    assert states_of(process)[1]["initial"] == "l1_s1"


def test_compound_targets_enter_their_initial_child_and_case_roles_are_assigned() -> None:
    model = machine_for(nested())
    assert model.fire("start", NURSE, {"holder_id": "hanne"})
    assert model.state == "level_1.l1_s1"
    assert dict(model.roles) == {"holder": "hanne"}


def test_guards_and_roles_refuse_without_changing_anything() -> None:
    model = machine_for(nested())
    assert not model.fire("start", DOCTOR, {"holder_id": "hanne"})  # role
    assert not model.fire("start", NURSE)  # required data missing
    assert not model.fire("start", NURSE, {"holder_id": 7})  # wrong type
    assert model.fire("start", NURSE, {"holder_id": "hanne"})
    hanne = Actor("hanne")
    assert not model.fire("next", hanne)  # score unset: the guard is false
    assert model.fire("score", NURSE, {"score": 4})
    assert not model.fire("next", hanne)
    assert not model.fire("next", NURSE)  # holder is a case role: hanne holds it, nora does not
    assert model.fire("score", NURSE, {"score": 6}) and model.state == "level_1.l1_s1"
    assert model.fire("next", hanne)
    assert model.state == "level_1.l1_s2.l1_s2_a"


def test_internal_transitions_change_data_not_state() -> None:
    model = machine_for(nested())
    model.fire("start", NURSE, {"holder_id": "hanne"})
    exits: list[str] = []
    model._machine.get_state("level_1").on_exit.append(lambda ev: exits.append("level_1"))
    assert model.fire("note", NURSE, {"note": "a"}) and model.fire("flag", NURSE)
    assert model.state == "level_1.l1_s1" and not exits
    assert model.data["notes"] == ("a",) and model.data["flagged"] is True
    model.fire("note", NURSE, {"note": "b"})
    with pytest.raises(InvalidData):  # the engine's effect code refuses a third item (maxItems 2)
        model.fire("note", NURSE, {"note": "c"})
    assert model.data["notes"] == ("a", "b")


def test_innermost_declaration_first_then_ancestors() -> None:
    model = machine_for(nested())
    model.fire("start", NURSE, {"holder_id": "hanne"})
    model.fire("score", NURSE, {"score": 9})
    model.fire("next", Actor("hanne"))
    # close on l1_s2_a (declared innermost) wins when its guard passes ...
    assert model.fire("close", DOCTOR, {"back": True}) and model.state == "level_1.l1_s1"
    # ... and the one on level_1 applies inside it otherwise
    assert model.fire("close", DOCTOR) and model.state == "closed"


def test_unknown_impossible_and_final_events_raise_machine_error() -> None:
    model = machine_for(nested())
    with pytest.raises(MachineError):
        model.fire("no_such_event", NURSE)
    with pytest.raises(MachineError):
        model.fire("next", NURSE)  # no transition for it from l0_s1
    model.fire("start", NURSE, {"holder_id": "hanne"})
    model.fire("close", DOCTOR)
    with pytest.raises(MachineError):
        model.fire("close", DOCTOR)


def test_checklists_are_checked_before_the_state_changes() -> None:
    model = machine_for(PROCESSES["psht"])
    gp = Actor("gp", {"referrer"})
    model.fire("record_consent", gp, {"consent_to_referral": True})
    model.fire("submit_referral", gp, {"referrer_kind": "gp", "referral_channel": "dips"})
    accept = {"benefits_from_psht": True, "referral_complete": True, "needs_interdisciplinary_approach": True}
    with pytest.raises(ChecklistOpen):
        model.fire("accept_referral", NURSE, accept)
    assert model.state == "triage"
    model.fire("note_in_dips", NURSE)
    model.fire("note_in_profil", NURSE)
    assert model.snapshot.ticks == (("triage", "first_note_dips"), ("triage", "first_note_profil"))
    assert model.fire("accept_referral", NURSE, accept)
    assert model.state == "meet_patient" and not model.snapshot.ticks
    assert model.fire("meeting_overdue", SYSTEM)  # deadline events: an ordinary event for `system`
    assert not model.fire("meeting_overdue", Actor("impostor", {"system"}))


def test_python_guards_come_from_the_registry() -> None:
    text = NESTED.replace("{event: flag, from: level_1, internal: true,", "{event: flag, from: level_1, "
                          "internal: true, guard: may_flag,")
    process = loads(text)
    registry = Registry()
    allow = {"yes": False}

    @registry.guard("may_flag")
    def may_flag(case_data: Mapping[str, Any], event: Mapping[str, Any], actor: Actor) -> bool:
        return allow["yes"]

    model = machine_for(process, registry=registry)
    model.fire("start", NURSE, {"holder_id": "hanne"})
    assert not model.fire("flag", NURSE)
    allow["yes"] = True
    assert model.fire("flag", NURSE)


def test_models_start_from_given_data_and_belong_to_one_definition() -> None:
    process = nested()
    model = machine_for(process, {"score": 3})
    assert model.data["score"] == 3 and model.data["notes"] == ()
    with pytest.raises(ValueError, match="another definition"):
        to_machine(nested(), model)
    default = to_machine(process)
    assert isinstance(default.model, CaseModel) and default.model.state == "l0_s1"


INLINE = {"inline:nested": nested(), "inline:overlap": load_process("overlap")}
