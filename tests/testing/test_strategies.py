"""careflow.testing.strategies: values fit their types, event data fits its transition, walks are valid."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import FixedClock
from careflow.definitions.builder import scope_fields
from careflow.definitions.loader import bundled_processes, load
from careflow.model.datatypes import DataType
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import SYSTEM, Actor, compile
from careflow.runtime.data import validator
from careflow.testing.strategies import WALK_TIME, Step, actors, event_data, pool, run_walk, values, walks
from tests.support import load_process

PROCESSES: dict[str, ProcessDefinition] = {pid: load(pid) for pid in bundled_processes()}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPES = [
    DataType("boolean"),
    DataType("boolean", nullable=True),
    DataType("integer", minimum=0, maximum=10),
    DataType("integer", minimum=3),
    DataType("integer"),
    DataType("number", minimum=-1.5, maximum=2.5),
    DataType("string", enum=("a", "b")),
    DataType("string", min_length=2, max_length=4),
    DataType("string", format="date"),
    DataType("string", format="date-time", nullable=True),
    DataType("array", max_items=4, items=DataType("array", min_items=1, max_items=5,
                                                   items=DataType("integer", minimum=0, maximum=10))),
    DataType("object", properties=(("goals", DataType("array", items=DataType("string"))),
                                   ("note", DataType("string", nullable=True))), required=("goals",)),
]


@pytest.mark.parametrize("dtype", TYPES, ids=lambda t: t.describe())
@SETTINGS
@given(data=st.data())
def test_values_fit_their_type(dtype: DataType, data: st.DataObject) -> None:
    validator(dtype, "x")(data.draw(values(dtype)))


@pytest.mark.parametrize("pid", sorted(PROCESSES))
@SETTINGS
@given(data=st.data())
def test_event_data_fits_the_transition_and_holds_what_it_requires(pid: str, data: st.DataObject) -> None:
    process = PROCESSES[pid]
    transition = data.draw(st.sampled_from(process.transitions))
    drawn = data.draw(event_data(process, transition.id, people=["ann"]))
    fields = scope_fields(process, transition)
    assert set(drawn) <= set(fields)
    for name, value in drawn.items():
        validator(fields[name], name)(value)
    for name in transition.requires:
        assert drawn[name] is not None
    for _, source in transition.assign:
        assert drawn.get(source, "ann") == "ann"


@pytest.mark.parametrize("pid", sorted(PROCESSES))
@SETTINGS
@given(data=st.data())
def test_walks_are_valid_and_stop_at_a_final_state_or_the_limit(pid: str, data: st.DataObject) -> None:
    process = PROCESSES[pid]
    walk = data.draw(walks(process, 25))
    assert len(walk) <= 25
    case = Case.open(process, "w", clock=FixedClock(WALK_TIME))
    for step in walk:
        assert isinstance(step, Step) and isinstance(step.actor, Actor) and isinstance(step.data, dict)
        assert not case.closed
        assert step.event in case.allowed(step.actor)
        case.fire(step.event, step.actor, step.data or None)  # raises if the step is not valid


def test_walks_reach_every_state_of_the_bundled_processes_often_enough() -> None:
    """Not every walk, but forty of them together, visit most states (walks do not get stuck)."""
    for pid, process in PROCESSES.items():
        seen = _visited(process)
        leaves = {s.path for s in process.leaves}
        assert len(seen & leaves) >= 0.6 * len(leaves), (pid, sorted(leaves - seen))


def _visited(process: ProcessDefinition) -> set[str]:
    seen: set[str] = set()

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(walks(process, 40))
    def visit(walk: list[Step]) -> None:
        seen.update(e.target or "" for e in run_walk(process, walk).history)

    visit()
    return seen


def test_walks_are_deterministic_under_hypothesis() -> None:
    def collect() -> list[list[Step]]:
        out: list[list[Step]] = []

        @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(walks(PROCESSES["bti_children"], 20))
        def run(walk: list[Step]) -> None:
            out.append(walk)

        run()
        return out

    assert collect() == collect()




@SETTINGS
@given(data=st.data())
def test_case_roles_go_to_actors_who_then_use_them(data: st.DataObject) -> None:
    process = load_process("case_role")
    team = [Actor("lea", {"leader"}), Actor("hal")]
    walk = data.draw(walks(process, 10, actors=team))
    assert {s.actor for s in walk} <= set(team)
    case = run_walk(process, walk)
    for step in walk[1:]:  # after the hand-over, only the holder may act: the walk gave the role to one of the team
        assert step.actor.id == case.roles["holder"]


@SETTINGS
@given(data=st.data())
def test_actors_draw_people_with_roles_of_the_process(data: st.DataObject) -> None:
    process = PROCESSES["psht"]
    actor = data.draw(actors(process))
    known = {r.id for r in process.roles} | {"system", "visitor"}
    assert isinstance(actor, Actor) and actor.roles <= known
    assert SYSTEM in pool(process)


def test_a_compiled_process_is_accepted_by_run_walk() -> None:
    compiled = compile(PROCESSES["psht"])
    step = Step("record_consent", Actor("gp", {"referrer"}), {"consent_to_referral": True})
    case = run_walk(compiled, [step])
    assert case.data["consent_to_referral"] is True


def test_values_refuse_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="no strategy"):
        values(DataType("tuple"))
