"""Semantic checks (careflow.definitions.checks) and the execution graph (careflow.definitions.graph).

Processes are built directly as model objects by ``build``, with a synthetic source map that puts
every element on its own line, so locations and "the one at line N" messages can be asserted.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.definitions.checks import check, check_registry
from careflow.definitions.graph import leaf_graph, reachable, to_graph
from careflow.definitions.loader import validate_text
from careflow.errors import Diagnostic
from careflow.model.definition import (
    ChecklistItem,
    Deadline,
    Event,
    Expression,
    ProcessDefinition,
    Role,
    Spawn,
    State,
    Transition,
)
from careflow.model.durations import Duration
from careflow.model.marks import Mark, SourceMap
from careflow.model.text import Text
from tests.support import process_text

# -- building processes ---------------------------------------------------------------------------


class _Marks:
    """Hands out one line per pointer, in the order elements are built."""

    def __init__(self) -> None:
        self.marks: dict[str, Mark] = {}

    def add(self, pointer: str) -> str:
        line = len(self.marks) + 1
        self.marks[pointer] = Mark("p.yaml", line, 3, line, 8)
        return pointer


def _text(label: Any, default: str, langs: tuple[str, ...]) -> Text:
    if label is None:  # default: labelled in every promised language
        return Text.of({lang: default for lang in langs})
    return Text.of({langs[0]: label} if isinstance(label, str) else label)


def build(
    states: dict[str, dict[str, Any]],
    transitions: list[dict[str, Any]],
    *,
    initial: str | None = None,
    roles: dict[str, Any] | None = None,
    events: dict[str, Any] | None = None,
    languages: tuple[str, ...] = ("en",),
    title: Any = None,
) -> ProcessDefinition:
    marks = _Marks()
    marks.add("/title")
    built: list[State] = []

    def add_states(specs: dict[str, dict[str, Any]], parent: str | None, base: str, path: str) -> None:
        for sid, spec in specs.items():
            pointer = marks.add(f"{base}/{sid}")
            if spec.get("label") != {}:  # {}: no label key in the "file" at all
                marks.add(pointer + "/label")
            children = spec.get("states", {})
            due = None
            if "on_due" in spec:
                week = Duration.parse("P7D")
                assert week is not None
                due = Deadline(week, spec["on_due"], marks.add(pointer + "/due"))
                marks.add(pointer + "/on_due")
            checklist = tuple(
                ChecklistItem(i, _text(lab, i, languages), marks.add(f"{pointer}/checklist/{i}"))
                for i, lab in spec.get("checklist", {}).items()
            )
            built.append(State(
                sid, path + sid, parent, tuple(children), spec.get("initial", next(iter(children), None)),
                spec.get("final", False), None, _text(spec.get("label"), sid, languages), due=due,
                checklist=checklist, pointer=pointer,
            ))
            add_states(children, sid, pointer + "/states", f"{path}{sid}.")

    add_states(states, None, "/states", "")
    ts = []
    for i, spec in enumerate(transitions):
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        pointer = marks.add(f"/transitions/{i}")
        for key in ("from", "guard", "spawn", "label"):
            if key in spec:
                marks.add(f"{pointer}/{key}")
        ts.append(Transition(
            i, spec.get("id", f"{spec['event']}@{sources[0]}"), spec["event"], tuple(sources),
            spec.get("to"), tuple(spec.get("roles", ())),
            Expression(spec["when"]) if "when" in spec else None, spec.get("guard"),
            assign=tuple(spec.get("assign", {}).items()),
            spawn=Spawn(spec["spawn"], pointer=pointer + "/spawn") if "spawn" in spec else None,
            label=_text(spec["label"], "", languages) if "label" in spec else Text(),
            pointer=pointer,
        ))
    role_objs = tuple(Role(r, _text(lab, r, languages), pointer=marks.add(f"/roles/{r}"))
                      for r, lab in (roles or {}).items())
    if events is None:  # default: every event labelled in every language
        events = {t.event: None for t in ts}
    event_objs = tuple(Event(e, _text(lab, e, languages), pointer=marks.add(f"/events/{e}"))
                       for e, lab in events.items())
    return ProcessDefinition(
        "p", "1.0", _text(title, "P", languages), languages[0], languages,
        initial or next(iter(states)), tuple(built), tuple(ts), role_objs, events=event_objs,
        source_map=SourceMap(marks.marks, "p.yaml"),
    )


def codes(diags: list[Diagnostic]) -> list[str]:
    return sorted(d.code for d in diags)


def only(diags: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diags if d.code == code]


def clean() -> ProcessDefinition:
    """Compound states, a handled deadline, roles, a spawn and two languages: no diagnostics."""
    return build(
        {
            "intake": {"checklist": {"consent": None}},
            "level_1": {"on_due": "overdue", "states": {"assess": {}, "plan": {}}},
            "closed": {"final": True},
        },
        [
            {"event": "accept", "from": "intake", "to": "level_1", "roles": ["nurse"]},
            {"event": "next", "from": "assess", "to": "plan", "assign": {"holder": "who"}},
            {"event": "next", "from": "plan", "to": "assess", "when": "x"},
            {"event": "next", "from": "plan", "to": "closed", "guard": "g"},
            {"event": "overdue", "from": "level_1", "to": "closed", "roles": ["system"]},
            {"event": "note", "from": "level_1", "label": {"en": "Note", "nb": "Notat"}},
            {"event": "refer", "from": "plan", "to": "closed", "spawn": "followup"},
        ],
        roles={"nurse": None, "holder": None},
        events={e: {"en": e, "nb": e} for e in ("accept", "next", "overdue", "refer")},
        languages=("en", "nb"),
    )


def flat(*edges: tuple[str, str], finals: tuple[str, ...] = ("end",), **kw: Any) -> ProcessDefinition:
    """A flat process from (source, target) pairs; the first source is initial."""
    names = dict.fromkeys(s for e in edges for s in e)
    names.update(dict.fromkeys(finals))
    states = {n: {"final": n in finals} for n in names}
    return build(states, [{"event": f"go_{a}_{b}", "from": a, "to": b} for a, b in edges], **kw)


# -- the graph ------------------------------------------------------------------------------------


def test_graph_expands_compound_sources_and_targets() -> None:
    p = build(
        {"a": {}, "outer": {"states": {"mid": {"states": {"x": {}, "y": {}}}, "z": {}}},
         "end": {"final": True}},
        [
            {"event": "go", "from": "a", "to": "outer"},          # enters outer -> mid -> x
            {"event": "quit", "from": "outer", "to": "end"},       # from x, y and z
            {"event": "both", "from": ["mid", "x"], "to": "z"},    # x once, not twice
            {"event": "note", "from": "a"},                        # internal: no edge
        ],
    )
    g = to_graph(p)
    assert list(g.nodes) == ["a", "outer", "mid", "x", "y", "z", "end"]
    assert g.nodes["mid"] == {"compound": True, "final": False, "step": None, "parent": "outer"}
    assert sorted((u, v, k) for u, v, k in g.edges(keys=True)) == [
        ("a", "x", 0), ("x", "end", 1), ("x", "z", 2), ("y", "end", 1), ("y", "z", 2), ("z", "end", 1),
    ]
    assert g.edges["a", "x", 0] == {"event": "go", "id": "go@a", "source": "a"}
    assert set(leaf_graph(p).nodes) == {"a", "x", "y", "z", "end"}
    assert reachable(g, ["end"], reverse=True) == {"a", "x", "y", "z", "end"}


def test_final_leaf_inside_compound_gets_no_edges() -> None:
    p = build(
        {"a": {}, "lvl": {"states": {"b": {}, "done": {"final": True}}}, "end": {"final": True}},
        [{"event": "go", "from": "a", "to": "lvl"}, {"event": "fin", "from": "b", "to": "done"},
         {"event": "cancel", "from": "lvl", "to": "end"}],
    )
    assert not list(to_graph(p).successors("done"))
    assert check(p) == []  # a compound source covering a final leaf is not CF116


def test_networkx_is_not_imported_by_careflow() -> None:
    code = "import sys, careflow; assert 'networkx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- a clean process ------------------------------------------------------------------------------


def test_clean_process_has_no_diagnostics() -> None:
    assert check(clean(), known_processes={"followup"}) == []
    assert check_registry(clean(), {"g"}) == []


# -- CF116 bad-final ------------------------------------------------------------------------------


def test_final_state_with_outgoing_transition() -> None:
    p = flat(("a", "end"), ("end", "a"))
    (d,) = only(check(p), "CF116")
    assert d.severity == "error" and "final state 'end'" in d.message
    assert d.location.pointer == "/transitions/1/from"


# -- CF201 unreachable-state ----------------------------------------------------------------------


def test_unreachable_leaf() -> None:
    p = flat(("a", "end"), ("orphan", "end"))
    (d,) = only(check(p), "CF201")
    assert d.severity == "warning" and "'orphan'" in d.message
    assert d.location.pointer == "/states/orphan" and d.location.line is not None


def test_unreachable_compound_is_reported_once() -> None:
    p = build(
        {"a": {}, "lvl": {"states": {"b": {}, "c": {}}}, "end": {"final": True}},
        [{"event": "go", "from": "a", "to": "end"}, {"event": "go", "from": "lvl", "to": "end"}],
    )
    assert [d.message for d in only(check(p), "CF201")] == [
        "compound state 'lvl' cannot be reached from the initial state 'a'"]


def test_compound_with_one_reachable_leaf_reports_only_the_other() -> None:
    p = build(
        {"a": {}, "lvl": {"states": {"b": {}, "c": {}}}, "end": {"final": True}},
        [{"event": "go", "from": "a", "to": "lvl"}, {"event": "fin", "from": "lvl", "to": "end"}],
    )
    assert [d.location.pointer.rsplit("/", 1)[1] for d in only(check(p), "CF201")] == ["c"]


# -- CF202 no-way-out, CF206 no-final-state -------------------------------------------------------


def test_trap_loop_names_what_it_can_reach() -> None:
    p = flat(("a", "b"), ("b", "c"), ("c", "b"), ("a", "end"))
    found = only(check(p), "CF202")
    assert [d.location.pointer for d in found] == ["/states/b", "/states/c"]
    assert found[0].message == "a case in state 'b' can never reach a final state"
    assert found[0].hint is not None and "can only reach 'c'" in found[0].hint


def test_dead_end() -> None:
    (d,) = only(check(flat(("a", "stuck"), ("a", "end"))), "CF202")
    assert "'stuck'" in d.message and d.hint is not None and "no transition leaves it" in d.hint


def test_unreachable_trap_is_only_cf201() -> None:
    assert codes(check(flat(("a", "end"), ("x", "y")))) == ["CF201", "CF201"]


def test_no_final_state_is_said_once() -> None:
    diags = check(flat(("a", "b"), ("b", "a"), finals=()))
    assert codes(diags) == ["CF206"]
    assert diags[0].severity == "error"


# -- CF203 nondeterministic -----------------------------------------------------------------------


def test_two_unguarded_transitions_same_event() -> None:
    p = build({"a": {}, "b": {}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "b"}, {"event": "go", "from": "a", "to": "end"},
               {"event": "fin", "from": "b", "to": "end"}])
    (d,) = only(check(p), "CF203")
    first_line = p.source_map.locate("/transitions/0").line
    assert d.message == ("state 'a' has two unguarded transitions for event 'go': "
                         f"this one and the one at line {first_line}")
    assert d.location.pointer == "/transitions/1"
    assert d.hint == "add a `when` guard to tell them apart, or use different events"


def test_inner_transition_overrides_ancestor_without_ambiguity() -> None:
    # the engine tries the innermost declaring state first, as statecharts do
    p = build({"lvl": {"states": {"a": {}, "b": {}}}, "end": {"final": True}},
              [{"event": "go", "from": "lvl", "to": "end"}, {"event": "go", "from": "a", "to": "b"}])
    assert only(check(p), "CF203") == []


def test_same_state_listed_twice_in_from_lists_is_ambiguous() -> None:
    p = build({"a": {}, "b": {}, "end": {"final": True}},
              [{"event": "go", "from": ["a", "b"], "to": "end"}, {"event": "go", "from": "a", "to": "b"},
               {"event": "fin", "from": "b", "to": "end"}])
    (d,) = only(check(p), "CF203")
    assert "state 'a'" in d.message


def test_compound_conflict_reported_once_per_pair() -> None:
    p = build({"lvl": {"states": {"a": {}, "b": {}}}, "end": {"final": True}},
              [{"event": "go", "from": "lvl", "to": "end"}, {"event": "go", "from": "lvl", "to": "end"},
               {"event": "go", "from": "lvl", "to": "end"}, {"event": "n", "from": "a", "to": "b"}])
    found = only(check(p), "CF203")
    assert [d.location.pointer for d in found] == ["/transitions/1", "/transitions/2", "/transitions/2"]
    assert all("state 'lvl'" in d.message for d in found)


@pytest.mark.parametrize("extra", [{"when": "x"}, {"guard": "g"}, {"event": "other"}, {"from": "b"}])
def test_guarded_or_distinct_transitions_are_deterministic(extra: dict[str, Any]) -> None:
    second = {"event": "go", "from": "a", "to": "end", **extra}
    p = build({"a": {}, "b": {}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "b"}, second, {"event": "fin", "from": "b", "to": "end"}])
    assert only(check(p), "CF203") == []


# -- CF204 unknown-process ------------------------------------------------------------------------


def test_unknown_spawned_process() -> None:
    p = build({"a": {}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "end", "spawn": "folowup"}])
    (d,) = only(check(p, known_processes={"followup", "other"}), "CF204")
    assert d.hint == "did you mean 'followup'?" and d.location.pointer == "/transitions/0/spawn"
    assert only(check(p), "CF204") == []                                  # not asked
    assert only(check(p, known_processes={"folowup"}), "CF204") == []


def test_process_may_spawn_itself() -> None:
    p = build({"a": {}, "end": {"final": True}}, [{"event": "go", "from": "a", "to": "end", "spawn": "p"}])
    assert check(p, known_processes=()) == []


# -- CF205 unregistered-guard ---------------------------------------------------------------------


def test_unregistered_guard() -> None:
    (d,) = check_registry(clean(), {"g2", "other"})
    assert d.code == "CF205" and d.severity == "error" and d.location.pointer == "/transitions/3/guard"
    assert d.hint == "did you mean 'g2'?"
    assert check_registry(clean(), {"g"}) == []


# -- CF207 unused-role ----------------------------------------------------------------------------


def test_unused_role() -> None:
    p = build({"a": {}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "end", "roles": ["used"], "assign": {"held": "who"}}],
              roles={"used": None, "held": None, "idle": None})
    (d,) = only(check(p), "CF207")
    assert d.severity == "warning" and d.location.pointer == "/roles/idle"


# -- CF208 deadline-event-unhandled ---------------------------------------------------------------


def _deadline(handlers: list[dict[str, Any]]) -> list[Diagnostic]:
    p = build({"a": {"on_due": "late"}, "lvl": {"on_due": "late", "states": {"b": {}, "c": {}}},
               "x": {}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "lvl"}, {"event": "n", "from": "b", "to": "c"},
               {"event": "fin", "from": "c", "to": "end"}, *handlers])
    return only(check(p), "CF208")


def test_deadline_unhandled() -> None:
    found = _deadline([{"event": "late", "from": "x", "to": "end"}])  # handled elsewhere only
    assert [d.location.pointer for d in found] == ["/states/a/on_due", "/states/lvl/on_due"]
    assert found[0].message == "deadline event 'late' of state 'a' has no transition to handle it"
    assert found[1].message.endswith("when the case is in 'b', 'c'")


def test_deadline_event_used_nowhere_is_left_to_the_loaders_cf114() -> None:
    assert _deadline([]) == []


def test_deadline_handled_in_only_some_leaves() -> None:
    (d,) = _deadline([{"event": "late", "from": ["a", "b"], "to": "end"}])
    assert "'lvl'" in d.message and d.message.endswith("when the case is in 'c'")


def test_deadline_handler_the_system_cannot_fire() -> None:
    (d,) = _deadline([{"event": "late", "from": "lvl", "to": "end", "roles": ["nurse"]},
                      {"event": "late", "from": "b", "to": "end", "when": "x"},
                      {"event": "late", "from": "a", "to": "end"}])
    assert d.message == ("deadline event 'late' of state 'lvl' is only handled by transitions "
                         "the `system` actor may not fire when the case is in 'c'")
    assert d.hint is not None and "'system'" in d.hint


@pytest.mark.parametrize("roles", [[], ["system"], ["nurse", "system"]])
def test_deadline_handled(roles: list[str]) -> None:
    assert _deadline([{"event": "late", "from": ["a", "lvl"], "to": "end", "roles": roles}]) == []


# -- CF301 missing-label --------------------------------------------------------------------------


def test_missing_state_label_per_language() -> None:
    p = build({"l0_s1": {"label": {"nb": "Start"}}, "end": {"final": True}},
              [{"event": "go", "from": "l0_s1", "to": "end"}], languages=("nb", "en", "sv"),
              events={"go": {"nb": "Gå", "en": "Go", "sv": "Gå"}})
    found = only(check(p), "CF301")
    assert [d.message for d in found] == ["state 'l0_s1' has no label in 'en'",
                                          "state 'l0_s1' has no label in 'sv'"]
    assert found[0].hint == "add en: … to its label"
    assert found[0].severity == "warning" and found[0].location.pointer == "/states/l0_s1/label"


def test_missing_title_role_and_checklist_labels() -> None:
    p = build({"a": {"checklist": {"item": {"nb": "x"}}}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "end", "roles": ["r"], "label": {"en": "Go"}}],
              roles={"r": {"nb": "R"}}, title={"nb": "T"})
    assert [d.message for d in only(check(p), "CF301")] == [
        "the title has no label in 'en'", "checklist item 'item' of state 'a' has no label in 'en'",
        "role 'r' has no label in 'en'"]


def test_state_without_any_label_points_at_the_state() -> None:
    p = build({"a": {"label": {}}, "end": {"final": True}},
              [{"event": "go", "from": "a", "to": "end", "label": "Go"}])
    (d,) = only(check(p), "CF301")
    assert d.location.pointer == "/states/a"


def test_event_labels() -> None:
    states = {"a": {}, "end": {"final": True}}
    two = [{"event": "go", "from": "a", "to": "end"}, {"event": "go", "from": "a", "when": "x"}]
    (d,) = only(check(build(states, two, events={})), "CF301")
    assert d.message == "event 'go' has no label in 'en'" and d.location.pointer == "/transitions/0"
    # the events: entry labels every transition for it
    assert only(check(build(states, two, events={"go": {"en": "Go"}})), "CF301") == []
    # own labels on every transition also do ...
    labelled = [{**t, "label": {"en": "Go"}} for t in two]
    assert only(check(build(states, labelled, events={})), "CF301") == []
    # ... but not on only some: the other would be shown without a label
    (d,) = only(check(build(states, [labelled[0], two[1]], events={"go": {"nb": "Gå"}})), "CF301")
    assert d.location.pointer == "/events/go" and d.hint is not None and "transition(s) at line" in d.hint


# -- properties -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=16))
def test_reachability_matches_a_naive_closure(pairs: list[tuple[int, int]]) -> None:
    edges = [(f"s{a}", f"s{b}") for a, b in pairs] + [("s0", "s0")]
    p = flat(*edges, finals=("s7",), initial="s0")
    reach = {"s0"}
    for _ in range(8):
        reach |= {b for a, b in edges if a in reach and a != "s7"}
    expected = {s.id for s in p.states} - reach
    assert {d.location.pointer.rsplit("/", 1)[1] for d in only(check(p), "CF201")} == expected


# -- through the loader: YAML in, line:col out ---------------------------------------------------

_HEAD = 'careflow: 1\nid: demo\nversion: "1.0"\nlanguage: nb\nlanguages: [nb, en]\n'

_CLEAN_YAML = process_text("demo")

_BROKEN_YAML = _HEAD + """\
title: {nb: Demo}
roles:
  nurse: {label: {nb: Sykepleier, en: Nurse}}
  idle: {label: {nb: Ledig, en: Idle}}
initial: a
states:
  a: {label: {nb: A, en: A}, due: P7D, on_due: late}
  b: {label: B}
  trap: {label: {nb: Felle, en: Trap}}
  orphan: {label: {nb: Foreldreløs, en: Orphan}}
  end: {final: true, label: {nb: Slutt, en: End}}
transitions:
  - {event: go, from: a, to: b, roles: [nurse]}
  - {event: go, from: a, to: trap}
  - {event: late, from: b, to: end, roles: [nurse], label: {nb: Sen, en: Late}}
  - {event: fin, from: b, to: end, spawn: {process: folowup}, label: {nb: Slutt, en: End}}
  - {event: loop, from: [trap, orphan], internal: true, label: {nb: Løkke, en: Loop}}
"""


def test_clean_yaml_has_no_diagnostics() -> None:
    result = validate_text(_CLEAN_YAML, "clean.yaml", known_processes={"followup"})
    assert result.diagnostics == ()
    assert result.definition is not None and check_registry(result.definition, {"done", "not_done"}) == []


def test_broken_yaml_locations() -> None:
    result = validate_text(_BROKEN_YAML, "broken.yaml", known_processes={"followup"})
    assert [(d.code, d.location.line, d.location.column, d.severity) for d in result.diagnostics] == [
        ("CF301", 6, 1, "warning"),   # title: no en
        ("CF207", 9, 3, "warning"),   # idle
        ("CF208", 12, 48, "error"),   # on_due: late, handled only from b
        ("CF301", 13, 7, "warning"),  # b's label: no en
        ("CF202", 14, 3, "error"),    # trap
        ("CF201", 15, 3, "warning"),  # orphan
        ("CF301", 18, 5, "warning"),  # event go: no en ...
        ("CF301", 18, 5, "warning"),  # ... and no nb
        ("CF203", 19, 5, "error"),    # second unguarded go from a
        ("CF204", 21, 44, "error"),   # folowup
    ]
    cf203 = next(d for d in result.diagnostics if d.code == "CF203")
    assert cf203.message.endswith("the one at line 18") and cf203.location.file == "broken.yaml"
