"""A field with no default that the opener does not give stays unset, and the case stays readable."""

from __future__ import annotations

from careflow.cases.case import Case
from careflow.definitions.loader import loads
from careflow.history.replay import replay
from careflow.runtime.compiled import Actor

PROCESS = """
careflow: 1
id: unset
version: "1"
title: Unset
language: en
roles: {worker: {label: Worker}}
data:
  score: {type: number, label: Score}
  note: {type: string, label: Note}
initial: open
states:
  open: {label: Open}
  done: {label: Done, final: true}
transitions:
  - {event: finish, from: open, to: done, roles: [worker], label: Finish}
"""

WORKER = Actor("w", {"worker"})


def test_a_case_with_unset_fields_survives_json_and_replay() -> None:
    process = loads(PROCESS)
    case = Case.open(process, "u1", actor=WORKER)
    assert case.data["score"] is None and case.data["note"] is None
    case.fire("finish", WORKER)
    again = Case.from_json(process, case.to_json())
    assert again.head == case.head and again.state == "done"
    assert replay(process, case.history).ok


def test_null_for_an_unset_field_means_not_given() -> None:
    process = loads(PROCESS)
    case = Case.open(process, "u2", actor=WORKER, data={"score": None, "note": "x"})
    assert case.data["score"] is None and case.data["note"] == "x"
