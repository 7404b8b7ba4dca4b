"""The model's accessors, the shared helpers of definitions/, and the codes of the split YAML reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import careflow.definitions as definitions_package
from careflow.definitions import loader
from careflow.definitions.schema_check import JSON_TYPE_WORDS, type_name
from careflow.errors import CODES, DefinitionError, Diagnostic, SourceLocation
from careflow.model.definition import ProcessDefinition, State, Transition
from careflow.model.marks import Mark, SourceMap
from careflow.model.text import Text

_TWO_LEVELS = """\
careflow: 1
id: layout
version: "1"
title: {en: Layout}
language: en
initial: open
roles:
  nurse: {label: {en: Nurse}}
  holder: {label: {en: Holder}, scope: case}
data:
  note: {type: string, nullable: true}
states:
  open:
    initial: first
    states:
      first: {}
      second: {}
  closed: {final: true}
transitions:
  - {event: next, from: first, to: second}
  - {event: close, from: open, to: closed}
"""


def _process() -> ProcessDefinition:
    return loader.loads(_TWO_LEVELS, "layout.yaml")


def test_argument_free_accessors_are_properties_and_lookups_are_methods() -> None:
    process = _process()
    assert [s.id for s in process.top_level] == ["open", "closed"]
    assert [s.id for s in process.leaves] == ["first", "second", "closed"]
    assert [s.id for s in process.final_states] == ["closed"]
    assert [r.id for r in process.case_roles] == ["holder"]
    assert process.event_ids == ("next", "close")
    assert process.initial_leaf == "first"
    assert process.state("second").parent == "open" and process.has_state("open")
    assert not process.has_state("nowhere") and process.has_role("nurse") and process.has_field("note")
    for name in ("top_level", "leaves", "final_states", "case_roles", "event_ids", "initial_leaf"):
        assert isinstance(getattr(ProcessDefinition, name), property), name
    for name in ("state", "has_state", "role", "has_role", "field", "has_field", "event", "children",
                 "ancestors", "descendants", "resolve_entry", "label"):
        assert callable(getattr(ProcessDefinition, name)), name


def test_a_hand_built_definition_answers_the_same_accessors() -> None:
    states = (State("a", "a"), State("b", "b", final=True))
    process = ProcessDefinition("p", "1", Text.of({"en": "P"}), "en", ("en",), "a", states,
                                (Transition(0, "t0", "go", ("a",), "b"),))
    assert process.top_level == states and process.leaves == states
    assert process.final_states == (states[1],) and process.case_roles == ()


def test_validation_and_definition_error_split_errors_and_warnings_alike() -> None:
    error = Diagnostic("CF102", "missing", SourceLocation("f.yaml", 1, 1, "/id"))
    warning = Diagnostic("CF301", "unreachable", SourceLocation("f.yaml", 2, 1, "/states/0"), severity="warning")
    result = loader.Validation(None, (error, warning))
    raised = DefinitionError([warning, error])
    assert result.errors == raised.errors == [error]
    assert result.warnings == raised.warnings == [warning]
    assert not result.ok() and loader.Validation(None, (warning,)).ok() and not loader.Validation(
        None, (warning,)).ok(strict=True)
    assert "1 error(s)" in str(raised)


@pytest.mark.parametrize(("value", "words"), [
    (None, "null"), (True, "true/false"), (3, "a whole number"), (2.5, "a number"), ("x", "text"),
    ([1], "a list"), ({"a": 1}, "a mapping"), (b"x", "bytes")])
def test_type_names_in_plain_words(value: object, words: str) -> None:
    assert type_name(value) == words


def test_schema_problems_are_located_like_the_source_map_locates_them() -> None:
    text = _TWO_LEVELS.replace("language: en\n", "language: en\ncolour: blue\n")
    result = loader.validate_text(text, "layout.yaml")
    [unknown] = [d for d in result.errors if d.code == "CF103"]
    assert (unknown.location.line, unknown.location.column, unknown.location.pointer) == (6, 1, "/colour")
    assert unknown.hint is None or "did you mean" in unknown.hint or "known" in unknown.hint
    assert JSON_TYPE_WORDS["integer"] == "a whole number"


def test_source_map_falls_back_to_the_nearest_ancestor() -> None:
    marks = {"": Mark("f.yaml", 1, 1, 1, 1), "/a": Mark("f.yaml", 2, 3, 2, 6)}
    source = SourceMap(marks, "f.yaml")
    assert source.locate("/a/b/0") == SourceLocation("f.yaml", 2, 3, "/a/b/0")
    assert source.locate("/a", value=True) == SourceLocation("f.yaml", 2, 6, "/a")
    assert SourceMap({}, "g.yaml").locate("/x") == SourceLocation("g.yaml", None, None, "/x")


def test_every_code_in_the_definitions_modules_is_registered() -> None:
    folder = Path(definitions_package.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert {"yamlsafe.py", "yaml_events.py", "yaml_syntax.py", "expression_compiler.py"} <= {m.name for m in modules}
    used = {code for module in modules for code in re.findall(r'"(CF\d{3})"', module.read_text(encoding="utf-8"))}
    assert used and used <= set(CODES)


def test_the_definitions_modules_stay_small() -> None:
    folder = Path(definitions_package.__file__).parent
    for module in [*folder.glob("*.py"), *(folder.parent / "model").glob("*.py")]:
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 400, module.name
