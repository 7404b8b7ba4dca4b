"""``every``/``on_every``/``until``/``count`` as an author writes them: what loads, and each mistake as a
located diagnostic with a code and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from careflow.definitions.loader import load, loads, validate, validate_text
from careflow.model.durations import Duration
from tests.support import TESTS

BASE = """\
careflow: 1
id: rec
version: "1"
title: {{en: Rec}}
language: en
initial: running
states:
  running:
    label: {{en: Running}}
{keys}
  done: {{final: true, label: {{en: Done}}}}
transitions:
  - {{event: due_now, from: running, internal: true, roles: [system], label: {{en: Due}}}}
  - {{event: finish, from: running, to: done, label: {{en: Finish}}}}
"""


def source(*keys: str) -> str:
    return BASE.format(keys="\n".join(f"    {k}" for k in keys))


def problems(*keys: str) -> list[tuple[str, str, str]]:
    result = validate_text(source(*keys), "rec.yaml")
    return [(d.code, d.location.pointer or "", d.message) for d in result.diagnostics if d.is_error]


def test_a_recurring_deadline_loads_into_the_model() -> None:
    p = loads(source("every: P1M", "on_every: due_now", "until: P1Y", "count: 12"))
    every = p.state("running").every
    assert every is not None and every.period == Duration.parse("P1M") and every.event == "due_now"
    assert every.until == Duration.parse("P1Y") and every.count == 12
    assert "due_now" in p.deadline_events


@pytest.mark.parametrize(("keys", "code", "pointer", "words"), [
    (("every: P0D", "on_every: due_now"), "CF109", "/states/running/every", "shorter than the shortest period"),
    (("every: PT30M", "on_every: due_now"), "CF109", "/states/running/every", "PT1H"),
    (("every: P101Y", "on_every: due_now"), "CF109", "/states/running/every", "longest period"),
    (("every: monthly", "on_every: due_now"), "CF109", "/states/running/every", "not an ISO-8601 duration"),
    (("every: P1M", "on_every: due_now", "until: P2W"), "CF109", "/states/running/until", "before its first"),
    (("every: P1M", "on_every: due_now", "count: 0"), "CF107", "/states/running/count", "minimum"),
    (("every: P1M", "on_every: due_now", "count: 10001"), "CF107", "/states/running/count", "maximum"),
    (("every: P1M",), "CF107", "/states/running/every", "no 'on_every'"),
    (("until: P1Y",), "CF107", "/states/running/until", "no 'every'"),
    (("count: 3",), "CF107", "/states/running/count", "no 'every'"),
    (("on_every: due_now",), "CF107", "/states/running/on_every", "no 'every'"),
    (("every: P1M", "on_every: due_nwo"), "CF114", "/states/running/on_every", "used by no transition"),
])
def test_mistakes_are_located_with_a_code(keys: tuple[str, ...], code: str, pointer: str, words: str) -> None:
    found = problems(*keys)
    assert any(c == code and p == pointer and words in m for c, p, m in found), found


def test_every_mistake_has_a_hint() -> None:
    result = validate_text(source("every: P0D", "on_every: due_now", "until: PT1M"), "rec.yaml")
    assert result.errors and all(d.hint for d in result.errors)


def test_a_final_state_cannot_recur() -> None:
    text = source().replace("done: {final: true, label: {en: Done}}",
                            "done: {final: true, every: P1M, on_every: due_now, label: {en: Done}}")
    assert any(d.code == "CF116" for d in validate_text(text, "rec.yaml").errors)


def test_a_recurring_event_only_people_may_fire_is_cf208() -> None:
    text = source("every: P1M", "on_every: due_now").replace("roles: [system]", "roles: [leader]")
    text = text.replace("initial: running\n", "initial: running\nroles:\n  leader: {label: {en: Leader}}\n")
    found = [d for d in validate_text(text, "rec.yaml").errors if d.code == "CF208"]
    assert found and found[0].location.pointer == "/states/running/on_every"


def test_until_as_long_as_every_is_fine() -> None:
    assert not problems("every: P1M", "on_every: due_now", "until: P1M")
    assert not problems("every: PT1H", "on_every: due_now", "count: 1")


def test_an_adapting_file_changes_the_rhythm_and_renames_the_event(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    base = (TESTS / "processes" / "recurring.yaml").read_text("utf-8")  # with its event declared, to rename it
    (tmp_path / "recurring.yaml").write_text(base + "events:\n  check_in_due: {label: {en: Check-in due}}\n",
                                             encoding="utf-8")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path))
    variant = tmp_path / "recurring_local.yaml"
    variant.write_text('careflow: 1\nextends: recurring\nid: recurring_local\nversion: "1.0-local"\n'
                       "events:\n  check_in_due: {rename: innsjekk_due}\n"
                       "states:\n  follow_up: {every: P2W}\n", encoding="utf-8")
    assert not validate(variant).diagnostics
    every = load(variant).state("follow_up").every
    assert every is not None and every.period.text == "P2W" and every.event == "innsjekk_due"
