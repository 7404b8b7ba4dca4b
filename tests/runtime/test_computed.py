"""Computed ``set`` values: an expression in the guard language, type-checked when the file is loaded,
computed from the data before the transition, stored as plain data, recorded in the entry, replayed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load, loads, validate_text
from careflow.errors import InvalidData
from careflow.history.replay import replay
from careflow.runtime.compiled import Actor

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKER = Actor("w", {"worker"})
HEAD = """careflow: 1
id: cycles
version: "1"
title: Cycles
language: en
roles: {worker: {label: Worker}}
data:
  cycle: {type: integer, default: 0, maximum: 3, label: Cycle}
  average: {type: number, nullable: true, label: Average}
  scores: {type: array, items: {type: number}, default: [], label: Scores}
  last_seen: {type: string, format: date-time, nullable: true, label: Last seen}
  outcome: {type: string, enum: [adopt, adapt, abandon], nullable: true, label: Outcome}
  half: {type: integer, nullable: true, label: Half}
initial: a
states:
  a: {label: A}
  z: {label: Z, final: true}
transitions:
"""
GOOD = HEAD + """\
  - {event: next, from: a, internal: true, roles: [worker], label: Next,
     set: {cycle: "cycle + 1", last_seen: "(now)"}}
  - {event: measure, from: a, internal: true, roles: [worker], label: Measure, append: [scores],
     set: {average: "mean(scores)", half: "len(scores) // 2"}}
  - {event: decide, from: a, internal: true, roles: [worker], label: Decide, params: {choice: {type: string}},
     set: {outcome: "event.choice"}}
  - {event: end, from: a, to: z, roles: [worker], label: End}
"""


@pytest.fixture
def case() -> Case:
    return Case.open(loads(GOOD), "c1", clock=ManualClock(T0))


def test_a_counter_counts_and_the_entry_records_the_value(case: Case) -> None:
    case.fire("next", WORKER)
    case.fire("next", WORKER)
    assert case.data["cycle"] == 2 and type(case.data["cycle"]) is int
    assert case.data["last_seen"] == T0.isoformat()  # "(now)": a bare name would be the event field 'now'
    entry = case.history[-1]
    assert entry.ref is not None and dict(entry.ref["computed"]) == {"cycle": 2, "last_seen": T0.isoformat()}
    assert replay(case.process, case.history).ok
    assert Case.from_json(case.process, case.to_json()).data == case.data


def test_a_bare_name_still_means_event_data_and_event_fields_are_read(case: Case) -> None:
    assert "cycle" not in dict(case.process.transitions[0].set)  # the expression is not an event field
    case.fire("decide", WORKER, {"choice": "adapt"})
    assert case.data["outcome"] == "adapt"
    with pytest.raises(InvalidData, match="outcome"):
        case.fire("decide", WORKER, {"choice": "maybe"})  # checked against the field's enum
    assert case.data["outcome"] == "adapt"


def test_values_are_computed_from_the_data_before_the_transition(case: Case) -> None:
    with pytest.raises(InvalidData) as refused:
        case.fire("measure", WORKER, {"scores": 3.6})  # mean of the scores before this one: none yet
    assert refused.value.reasons == [
        "'average': 'mean(scores)' cannot be computed (mean(scores) cannot be evaluated (scores = []))"]
    assert case.history[-1].kind == "denied" and case.data["scores"] == ()


def test_exact_results_are_stored_as_plain_json_numbers() -> None:
    text = GOOD.replace('set: {average: "mean(scores)", half: "len(scores) // 2"}',
                        'set: {average: "mean(scores + 0) if false else 0", half: "1"}')
    assert not validate_text(text).ok()  # conditional expressions are refused, like in guards
    case = Case.open(loads(GOOD), "c2", data={"scores": [3.6, 5.6, 0.1]}, clock=ManualClock(T0))
    case.fire("measure", WORKER, {"scores": 1})
    assert case.data["average"] == 3.1 and type(case.data["average"]) is float  # 9.3 / 3, not 3.0999999999999996
    assert case.data["half"] == 1 and case.data["scores"] == (3.6, 5.6, 0.1, 1)
    assert dict(case.history[-1].ref["computed"]) == {"average": 3.1, "half": 1}  # type: ignore[index]
    assert replay(case.process, case.history).ok


def test_a_computed_value_outside_the_field_bounds_is_refused(case: Case) -> None:
    for _ in range(3):
        case.fire("next", WORKER)
    with pytest.raises(InvalidData, match="cycle"):
        case.fire("next", WORKER)
    assert case.data["cycle"] == 3


@pytest.mark.parametrize(("value", "field", "message"), [
    ('"cycle / 2"', "cycle", "the field needs a whole number, but this is a number"),
    ('"mean(scores)"', "half", "the field needs a whole number, but this is a number"),
    ('"len(scores) > 1"', "average", "the field needs a number, but this is true/false"),
    ('"cycle + \'x\'"', "half", "'+' cannot combine"),
    ('"nope + 1"', "half", "unknown name 'nope'"),
    ('"(now)"', "half", "the field needs a whole number, but this is a date and time"),
    ('"__import__(\'os\')"', "half", "names starting with '_'"),
])
def test_computed_values_are_type_checked_with_locations(value: str, field: str, message: str) -> None:
    text = HEAD + f"  - {{event: go, from: a, to: z, label: Go, set: {{{field}: {value}}}}}\n"
    result = validate_text(text, "cycles.yaml")
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors and message in errors[0].message, [d.format() for d in errors]
    assert errors[0].location.pointer == f"/transitions/0/set/{field}" and errors[0].location.line == 19


def test_rename_in_an_adapting_file_reaches_into_computed_values(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cycles.yaml").write_text(GOOD, "utf-8")
    adapted = tmp_path / "syklusar.yaml"
    adapted.write_text('careflow: 1\nextends: cycles\nid: syklusar\nversion: "1"\n'
                       "data:\n  cycle: {rename: syklus}\n", "utf-8")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path))
    process = load(adapted)
    (next_,) = [t for t in process.transitions if t.event == "next"]
    assert [(f, e.source) for f, e in next_.compute] == [("syklus", "syklus + 1"), ("last_seen", "(now)")]
    case = Case.open(process, "s1", clock=ManualClock(T0))
    case.fire("next", WORKER)
    assert case.data["syklus"] == 1
