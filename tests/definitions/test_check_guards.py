"""CF209: a guard that can never be false where its transition applies is a warning."""

from __future__ import annotations

import pytest

from careflow.definitions.loader import bundled_processes, validate, validate_text

HEAD = """careflow: 1
id: demo
version: "1"
title: Demo
language: en
initial: concern
roles:
  employee: {label: Employee}
data:
  informed: {type: boolean, default: false, label: Leader informed}
states:
  concern: {label: Define the concern}
  leader: {label: Leader informed}
  done: {label: Shared with the family, final: true}
transitions:
"""
TELL = "  - {event: tell_leader, from: concern, to: leader, label: Tell, roles: [employee], values: {informed: %s}}\n"
FAMILY = "  - {event: tell_family, from: leader, to: done, label: Family, roles: [employee], when: %s}\n"


def cf209(text: str) -> list[str]:
    return [d.format() for d in validate_text(text, "demo.yaml").diagnostics if d.code == "CF209"]


@pytest.mark.parametrize(("value", "guard"), [
    ("true", "informed"), ("true", "'informed == true'"), ("false", "'not informed'"), ("false", "'informed != true'"),
])
def test_a_guard_every_way_in_makes_true_is_a_warning(value: str, guard: str) -> None:
    (found,) = cf209(HEAD + TELL % value + FAMILY % guard)
    assert found.startswith("demo.yaml:17:") and "warning CF209 guard-always-true" in found
    assert "can never be false: every way into 'leader' sets 'informed'" in found


@pytest.mark.parametrize("extra", [
    # another way in that does not set it
    "  - {event: skip, from: concern, to: leader, label: Skip, roles: [employee]}\n",
    # something in the state changes it again
    "  - {event: forget, from: leader, internal: true, label: Forget, roles: [employee], values: {informed: false}}\n",
    "  - {event: note, from: leader, internal: true, label: Note, roles: [employee], set: [informed]}\n",
])
def test_a_guard_that_can_differ_is_not_a_warning(extra: str) -> None:
    assert cf209(HEAD + TELL % "true" + FAMILY % "informed" + extra) == []


def test_a_guard_needing_the_other_value_or_reading_more_is_not_this_warning() -> None:
    assert cf209(HEAD + TELL % "false" + FAMILY % "informed") == []  # always false: another problem
    assert cf209(HEAD + TELL % "true" + FAMILY % "'informed and event.ok'".replace("event.ok", "true")) == []


def test_the_initial_state_can_hold_anything_the_case_opened_with() -> None:
    text = HEAD.replace("initial: concern", "initial: leader") + TELL % "true" + FAMILY % "informed"
    assert cf209(text) == []


def test_no_bundled_process_has_one() -> None:
    assert {pid: [d.format() for d in validate(pid).diagnostics if d.code == "CF209"]
            for pid in bundled_processes()} == {pid: [] for pid in bundled_processes()}
