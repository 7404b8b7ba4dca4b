"""The language server's parts without a client: the index, hover texts, completion contexts, rename rules,
and the mapping of careflow's diagnostics."""

from __future__ import annotations

import pytest
from lsprotocol import types

from careflow.definitions.schema_check import process_schema
from careflow.errors import Diagnostic, SourceLocation
from careflow.lsp import completion, navigation
from careflow.lsp.diagnostics import to_protocol, word_range
from careflow.lsp.hover import duration_in_words, hover, type_in_words
from careflow.lsp.index import EVENT, FIELD, STATE, Span, build_index, guard_names

SMALL = """\
careflow: 1
id: small
version: "1"
title: {nb: Liten, en: Small}
language: nb
data:
  done: {type: boolean, default: false}
  score: {type: integer, nullable: true}
initial: open
states:
  open:
    states:
      fresh: {label: {nb: Ny, en: New}}
  closed: {final: true}
transitions:
  - id: "finish@fresh"
    event: finish
    from:
      - fresh
    to: closed
    when: "done and len([score]) > 0 and event.note != 'score'"
  - {event: reopen, from: [closed], to: open}
"""


def _pos(text: str, line_with: str, word: str, into: int = 1) -> tuple[int, int]:
    lines = text.splitlines()
    line = next(i for i, line in enumerate(lines) if line_with in line)
    return line, lines[line].index(word) + into


# -- the index ----------------------------------------------------------------------------------------------


def test_the_index_finds_every_use_of_an_id() -> None:
    index = build_index(SMALL, "small.yaml")
    assert index.readable and index.language == "nb"
    assert [o.span for o in index.uses(STATE, "fresh")] == [Span(12, 6, 11), Span(15, 16, 21), Span(18, 8, 13)]
    assert [o.defines for o in index.uses(STATE, "fresh")] == [True, False, False]
    assert [o.span for o in index.uses(EVENT, "finish")] == [Span(15, 9, 15), Span(16, 11, 17)]
    assert index.definition(EVENT, "finish") == index.uses(EVENT, "finish")[0]  # used, never declared
    assert [o.span for o in index.uses(FIELD, "score")] == [Span(7, 2, 7), Span(20, 25, 30)]
    assert index.ids(STATE) == ["open", "fresh", "closed"] and index.ids(EVENT) == ["finish", "reopen"]
    assert index.node("/states/open/states/fresh/label/en") == "New" and index.node("/nothing/0") is None


def test_guard_names_are_the_data_fields_it_reads() -> None:
    guard = "len(plan.goals) > 0 and event.score >= 3 and status == 'open: yes' and not done_ø"
    assert list(guard_names(guard)) == [(4, "plan"), (45, "status"), (75, "done_ø")]


def test_an_unreadable_file_has_an_empty_index() -> None:
    index = build_index("states: [unclosed\n", "x.yaml")
    assert not index.readable and index.occurrences == () and navigation.outline(index) == []
    assert build_index("- a list\n").readable is False


# -- hover ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("P14D", "14 days"), ("P2W", "2 weeks"), ("P1D", "1 day"), ("P1M2W", "1 month 2 weeks"),
    ("P1Y", "1 year"), ("PT48H", "48 hours"), ("PT1H30M", "1 hour 30 minutes"), ("P10D", "10 days"),
    ("4 weeks", None), ("14", None)])
def test_durations_in_words(text: str, words: str | None) -> None:
    assert duration_in_words(text) == words


def test_types_in_the_formats_words() -> None:
    assert type_in_words({"type": "string", "format": "date", "nullable": True}) == "date or null"
    assert type_in_words({"type": "array", "items": {"type": "integer"}}) == "array of integer"
    assert type_in_words({"type": "string", "enum": ["a", "b"]}) == "string, one of `a`, `b`"
    assert type_in_words("nonsense") == "unknown type"


def test_hover_on_a_guard_lists_the_types_it_reads() -> None:
    index = build_index(SMALL, "small.yaml")
    found = hover(index, [], *_pos(SMALL, "when:", "when"))
    assert found is not None
    assert found[0].splitlines()[2:] == ["- `done`: boolean", "- `score`: integer or null"]
    field = hover(index, [], *_pos(SMALL, "when:", "done"))
    assert field is not None and field[0] == "**field** `done`\n\ntype: boolean; starts as `false`"
    state = hover(index, [], *_pos(SMALL, "  open:", "open"))
    assert state is not None and state[0] == "**state** `open`\n\ncompound"  # its initial is missing


# -- completion ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lines", "line", "indent", "item", "path"), [
    (["transitions:", "  - event: x", "    from:", "      - a"], 3, 6, True, ["transitions", "-", "from"]),
    (["transitions:", "- event: x", "  from:", "  - a"], 3, 2, True, ["transitions", "-", "from"]),
    (["transitions:", "  - event: x", "    w"], 2, 4, False, ["transitions", "-"]),
    (["states:", "  a:", "    states:", "      b:", "        l"], 4, 8, False, ["states", "a", "states", "b"]),
    (["states:", "  a:  # a comment", "", "    l"], 3, 4, False, ["states", "a"]),
    (["careflow: 1", "st"], 1, 0, False, []),
])
def test_the_key_path_follows_indentation(lines: list[str], line: int, indent: int, item: bool,
                                          path: list[str]) -> None:
    assert completion.key_path(lines, line, indent, item) == path


def test_completion_in_block_lists_and_enums() -> None:
    index = build_index(SMALL, "small.yaml")
    schema = process_schema()
    lines = ["transitions:", "  - event: finish", "    from:", "      - fr"]
    assert [i.label for i in completion.complete(index, [], lines, 3, 10, schema)] == ["open", "fresh", "closed"]
    lines = ["languages: [nb, "]
    assert [i.label for i in completion.complete(index, [], lines, 0, 16, schema)] == ["nn", "nb", "en", "sv"]
    lines = ["extends: b"]
    found = completion.complete(index, [], lines, 0, 10, schema, ["bti_children", "psht"])
    assert [i.label for i in found] == ["bti_children", "psht"]
    assert completion.complete(index, [], ['title: "some text'], 0, 17, schema) == []


# -- rename -----------------------------------------------------------------------------------------------------


def test_rename_takes_a_state_or_event_to_a_free_id() -> None:
    index = build_index(SMALL, "small.yaml")
    at_fresh = _pos(SMALL, "fresh: {label", "fresh")
    assert navigation.rename(index, *at_fresh, "new_one") == [Span(12, 6, 11), Span(15, 16, 21), Span(18, 8, 13)]
    with pytest.raises(ValueError, match="'Ny' is not an id"):
        navigation.rename(index, *at_fresh, "Ny")
    with pytest.raises(ValueError, match="already a state 'closed'"):
        navigation.rename(index, *at_fresh, "closed")
    with pytest.raises(ValueError, match="only a state or an event"):
        navigation.rename(index, *_pos(SMALL, "  done:", "done"), "finished")


def test_definition_of_an_event_only_used_is_its_first_use() -> None:
    index = build_index(SMALL, "small.yaml")
    target = navigation.definition(index, [], *_pos(SMALL, "    event: finish", "finish"))
    assert target == navigation.Target(None, Span(15, 9, 15))
    assert navigation.definition(index, [], *_pos(SMALL, "  closed:", "closed")) == navigation.Target(
        None, Span(13, 2, 8))
    assert navigation.definition(index, [], 0, 0) is None


# -- diagnostics ----------------------------------------------------------------------------------------------


def test_a_diagnostic_underlines_its_word() -> None:
    lines = ["transitions:\n", "  - {event: go, to: nowhere}\n"]
    assert word_range(lines, 1, 20) == types.Range(types.Position(1, 20), types.Position(1, 27))
    assert word_range(lines, 1, 99) == types.Range(types.Position(1, 28), types.Position(1, 28))
    assert word_range(lines, 7, 0) == types.Range(types.Position(1, 0), types.Position(1, 1))


def test_a_diagnostic_located_in_the_base_is_shown_on_the_extends_line() -> None:
    lines = ["careflow: 1\n", "extends: bti_children\n", "id: v\n"]
    base = Diagnostic("CF105", "unknown role 'leader'", SourceLocation("/base/bti_children.yaml", 290, 23, "/p"),
                      "known role names: 'employee'")
    found = to_protocol(base, lines, "/mine/v.yaml")
    assert found.range == types.Range(types.Position(1, 0), types.Position(1, 21))
    assert found.message == ("in the base process bti_children.yaml:290: unknown role 'leader'\n"
                             "hint: known role names: 'employee'")
    (related,) = found.related_information or []
    assert related.location.uri == "file:///base/bti_children.yaml"
    assert related.location.range.start == types.Position(289, 22)
    warning = to_protocol(Diagnostic("CF301", "no label", SourceLocation("/mine/v.yaml", None, None, ""),
                                     severity="warning"), lines, "/mine/v.yaml")
    assert warning.severity == types.DiagnosticSeverity.Warning and warning.message == "no label"
    assert warning.range == types.Range(types.Position(0, 0), types.Position(0, 8))


def test_hover_on_a_retention_says_it_in_words() -> None:
    from tests.support import process_text

    kept = process_text("kept")
    index = build_index(kept, "kept.yaml")
    found = hover(index, [], *_pos(kept, "retention: P10Y", "P10Y"))
    assert found is not None and found[0] == (
        "**retention** `P10Y`: values kept 10 years after the case closes, then removed by "
        "`careflow retention --apply`")
    field = hover(index, [], *_pos(kept, "retention: P2Y", "P2Y"))
    assert field is not None and "2 years after the case closes" in field[0]
