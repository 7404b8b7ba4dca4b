"""Handoffs checked against the other process: a spawn's start state and carried data (CF215), a
child's reports against its parent (CF216), and lists of values from a declared set (uniqueItems)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careflow.definitions.handoffs import check_handoff, fits, reachable_leaves
from careflow.definitions.loader import load, loads, validate_text
from careflow.errors import DefinitionError
from careflow.model.datatypes import DataType
from careflow.model.values import value_problem
from careflow.runtime.compiled import compile

HEAD = 'careflow: 1\nid: demo\nversion: "1"\ntitle: Demo\nlanguage: en\ninitial: open\n'
DATA = "data:\n  note: {type: string, nullable: true}\n  flag: {type: boolean, default: false}\n"
STATES = ("states:\n  open: {label: Open}\n  later: {label: Later}\n  island: {label: Island}\n"
          "  done: {label: Done, final: true}\n")
MOVES = ("  - {event: finish, from: [open, later, island], to: done, label: Finish}\n"
         "  - {event: wait, from: open, to: later, label: Wait}\n")


def _codes(text: str) -> list[tuple[str, str]]:
    found = validate_text(HEAD + DATA + STATES + "transitions:\n" + MOVES + text, "demo.yaml")
    return [(d.code, d.message) for d in found.diagnostics if d.is_error or d.code in ("CF215", "CF216")]


def _spawn(spawn: str) -> str:
    return f"  - {{event: again, from: open, internal: true, label: Again, spawn: {spawn}}}\n"


def test_a_start_state_the_other_process_can_reach_is_fine() -> None:
    assert _codes(_spawn("{process: demo, start: later, data: [note]}")) == []


@pytest.mark.parametrize(("start", "words"), [
    ("latre", "not a state of 'demo'"),
    ("done", "a final state"),
    ("island", "cannot reach"),
])
def test_a_start_state_must_exist_not_be_final_and_be_reachable(start: str, words: str) -> None:
    found = _codes(_spawn(f"{{process: demo, start: {start}}}"))
    assert [c for c, _ in found] == ["CF215"] and words in found[0][1]


def test_carried_data_must_exist_there_with_a_type_that_fits() -> None:
    found = _codes(_spawn("{process: demo, data: {nope: note, flag: note}}"))
    assert sorted(c for c, _ in found) == ["CF215", "CF215"]
    messages = " | ".join(m for _, m in found)
    assert "carries 'nope', which is not a data field" in messages
    assert "carries 'note' (string or null) into 'flag' of 'demo' (boolean)" in messages


def test_a_report_is_checked_against_the_parent_that_spawns_it() -> None:
    found = _codes("  - {event: ping, from: later, internal: true, label: Ping,"
                   " report: {event: wiat}}\n" + _spawn("{process: demo}"))
    assert any(c == "CF216" and "has no such event" in m for c, m in found)


def test_a_report_needs_an_event_system_may_fire_and_data_it_takes() -> None:
    moves = ("  - {event: ping, from: later, internal: true, label: Ping, roles: [clerk], set: {flag: on}}\n"
             "  - {event: pong, from: later, internal: true, label: Pong, roles: [system], set: {flag: on}}\n"
             "  - {event: tell, from: open, internal: true, label: Tell, report: {event: ping}}\n"
             "  - {event: tell2, from: open, internal: true, label: Tell2, report: {event: pong, data: {on: note,"
             " off: flag}}}\n" + _spawn("{process: demo}"))
    text = HEAD + "roles:\n  clerk: {label: Clerk}\n" + DATA + STATES + "transitions:\n" + MOVES + moves
    found = [(d.code, d.message) for d in validate_text(text, "demo.yaml").diagnostics if d.code == "CF216"]
    messages = " | ".join(m for _, m in found)
    assert "'system' may not fire it" in messages
    assert "reports 'note' (string or null) as 'on'" in messages
    assert "reports 'off' with 'pong', which 'demo' does not take" in messages


def test_report_to_names_known_processes() -> None:
    found = _codes("  - {event: tell, from: open, internal: true, label: Tell, report: {event: finish,"
                   " to: [bti_childern]}}\n")
    assert found and found[0][0] == "CF204" and "bti_childern" in found[0][1]


def test_the_bundled_handoffs_fit() -> None:
    bti, ot = load("bti_children"), load("oppfolgingsteam")
    refer = next(t for t in bti.transitions if t.spawn is not None)
    assert check_handoff(bti, refer, ot) == []
    assert refer.spawn is not None and refer.spawn.start == "reported_to_ke"
    assert "reported_to_ke" in reachable_leaves(ot)


def test_compile_checks_a_handoff_against_the_resolver_s_process() -> None:
    child = loads(HEAD + STATES + "transitions:\n" + MOVES, "child.yaml")
    parent = loads(HEAD.replace("id: demo", "id: parent") + STATES + "transitions:\n" + MOVES
                   + "  - {event: go, from: open, internal: true, label: Go, spawn: {process: demo, start: done}}\n",
                   "parent.yaml", known_processes=["demo"])
    with pytest.raises(DefinitionError) as err:
        compile(parent, resolver=lambda _: child)
    assert "CF215" in str(err.value.diagnostics[0].code)


SET = DataType("array", items=DataType("string", enum=("school", "ppt", "nav")), unique_items=True)


@given(st.lists(st.sampled_from(["school", "ppt", "nav", "bup"]), max_size=5))
def test_a_list_from_a_declared_set_takes_each_declared_value_once(values: list[str]) -> None:
    problem = value_problem(SET, tuple(values))
    ok = all(v in ("school", "ppt", "nav") for v in values) and len(set(values)) == len(values)
    assert (problem is None) == ok
    if not ok:
        assert problem is not None and ("twice" in problem or "must be one of" in problem)


def test_fits_knows_enums_arrays_and_sets() -> None:
    assert fits(DataType("integer"), DataType("number"))
    assert not fits(DataType("number"), DataType("integer"))
    assert fits(DataType("string", enum=("a",)), DataType("string", enum=("a", "b")))
    assert not fits(DataType("string"), DataType("string", enum=("a",)))
    assert not fits(DataType("array", items=DataType("string")), SET)
    assert fits(SET, DataType("array", items=DataType("string")))


def test_an_adapting_file_that_renames_a_reported_field_keeps_the_report() -> None:
    variant = loads('careflow: 1\nextends: oppfolgingsteam\nid: ot_local\nversion: "1.0-local"\n'
                    "data:\n  coordinator_service: {rename: koordinator_tjeneste}\n", "ot_local.yaml")
    appoint = next(t for t in variant.transitions if t.event == "appoint_coordinator")
    assert appoint.report is not None
    assert ("coordinator_service", "koordinator_tjeneste") in appoint.report.data
