"""``careflow lsp`` as an editor sees it: a real client over stdio, on the bundled bti_children process."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from lsprotocol import types

from careflow.definitions.loader import validate_text
from careflow.lsp.command import DEBOUNCE_MS
from careflow.lsp.diagnostics import to_protocol_all
from tests.lsp.session import Session, at
from tests.support import BUNDLED

BTI = (BUNDLED / "bti_children.yaml").read_text(encoding="utf-8")

VARIANT = """\
careflow: 1
extends: bti_children
id: bti_children_suldal
version: "1.0-suldal"
states:
  l0_s4: {due: P10D}
transitions:
  - event: call_meeting
    from: l2_s1
    to: l2_s2
    roles: [stafettholder]
    label: {nn: Kall inn til møte, nb: Kall inn til møte, en: Call a meeting}
"""


def _copy(tmp_path: Path, text: str = BTI, name: str = "bti_children.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- diagnostics ----------------------------------------------------------------------------------------


def test_the_server_offers_what_it_answers(lsp: Session) -> None:
    caps = lsp.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.document_symbol_provider and caps.rename_provider and caps.completion_provider


def test_a_valid_file_gets_no_diagnostics_and_a_broken_one_gets_careflows_own(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    assert lsp.open(path) == []
    broken = BTI.replace("    to: l0_s2\n", "    to: l0_sx\n", 1)
    _, diagnostics = lsp.change(path, broken)
    (found,) = diagnostics
    line = broken.splitlines().index("    to: l0_sx")
    assert found.code == "CF104" and found.source == "careflow"
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.range == types.Range(types.Position(line, 8), types.Position(line, 13))  # the word 'l0_sx'
    assert "unknown state 'l0_sx'" in found.message and "hint: did you mean 'l0_s5'" in found.message
    assert found.data == {"name": "unknown-target", "pointer": "/transitions/0/to",
                          "hint": "did you mean 'l0_s5' or 'l0_s4' or 'l0_s3'?"}
    _, diagnostics = lsp.change(path, BTI)
    assert diagnostics == []


def test_closing_a_file_clears_its_diagnostics(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path, BTI.replace("    to: l0_s2\n", "    to: l0_sx\n", 1))
    assert len(lsp.open(path)) == 1
    uri = path.resolve().as_uri()
    lsp.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    assert lsp.diagnostics(uri, None) == []


def test_other_yaml_files_are_left_alone(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path, "name: build\non: [push]\njobs: {test: {runs-on: linux}}\n", "ci.yaml")
    assert lsp.open(path) == []


def test_a_yaml_mistake_is_shown_and_ids_still_complete(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    broken = BTI.replace("    to: l0_s2\n", "    to: [l0_\n", 1)
    _, diagnostics = lsp.change(path, broken)
    assert [d.code for d in diagnostics] == ["CF001"]
    doc, position = at(path, broken, "to: [l0_", "l0_", 3)
    found = lsp.run(lsp.client.text_document_completion_async(types.CompletionParams(doc, position)))
    assert isinstance(found, types.CompletionList)
    assert {"l0_s1", "l0_s5", "level_3"} <= {item.label for item in found.items}


def test_changes_are_debounced_and_checked_within_100_ms(lsp: Session, tmp_path: Path) -> None:
    """The latency from a change to its diagnostics on bti_children.yaml (534 lines), debounce included."""
    path = _copy(tmp_path)
    lsp.open(path)
    for i in range(5):  # typing fast: only the last version is checked
        lsp.change(path, BTI.replace("Definer uroa,", f"Definer uroa {i},", 1), wait=False)
    _, diagnostics = lsp.change(path, BTI)
    assert diagnostics == []
    uri = path.resolve().as_uri()
    assert sum((uri, version) in lsp.published for version in range(2, 7)) <= 1
    times = []
    for i in range(40):
        text = BTI.replace("Definer uroa,", f"Definer uroa {i},", 1)
        if i % 4 == 3:
            text = text.replace("    to: l0_s2\n", "    to: l0_sx\n", 1)
        seconds, diagnostics = lsp.change(path, text)
        assert len(diagnostics) == (1 if i % 4 == 3 else 0)
        times.append(seconds)
    median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    print(f"\nlsp diagnostics latency on bti_children.yaml, {DEBOUNCE_MS} ms debounce included: "
          f"median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    # the budget is 0.1 s, which a quiet machine meets; the margin absorbs one busy with other work
    assert median < 0.25


def test_checking_bti_children_itself_takes_well_under_100_ms() -> None:
    """The check without the debounce and the pipe: validate, then map to the protocol. Asserted on the
    processor time it takes (other work on the machine does not count); the wall time is printed too."""
    lines = BTI.splitlines(keepends=True)
    validate_text(BTI, "bti_children.yaml")  # once cold: it builds the schema validator, as a server does at start
    wall, cpu = [], []
    for _ in range(30):
        start, start_cpu = time.perf_counter(), time.process_time()
        to_protocol_all(validate_text(BTI, "bti_children.yaml").diagnostics, lines, "bti_children.yaml")
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"\ncheck of bti_children.yaml: median {statistics.median(wall) * 1000:.1f} ms, p95 "
          f"{statistics.quantiles(wall, n=20)[-1] * 1000:.1f} ms (processor time: median "
          f"{statistics.median(cpu) * 1000:.1f} ms)")
    assert statistics.median(cpu) < 0.1


def test_every_problem_of_a_variant_is_shown_in_the_authors_file(lsp: Session, tmp_path: Path) -> None:
    text = VARIANT.replace("to: l2_s2", "to: l2_sx")
    path = _copy(tmp_path, text, "variant.yaml")
    (found,) = lsp.open(path)
    assert found.code == "CF104" and found.range.start.line == text.splitlines().index("    to: l2_sx")
    # a data field retyped: the base's uses of it break, and each is shown in this file
    text += "data:\n  leader_informed: {type: string, nullable: true}\n"
    _, diagnostics = lsp.change(path, text)
    assert len(diagnostics) >= 2 and all(d.range.end.line < len(text.splitlines()) for d in diagnostics)
    base = (BUNDLED / "bti_children.yaml").resolve().as_uri()
    for d in diagnostics:
        if d.related_information:  # located in the base: the base line is the related information
            assert d.related_information[0].location.uri == base and "in the base process" in d.message
            assert text.splitlines()[d.range.start.line] == "extends: bti_children"


# -- hover ------------------------------------------------------------------------------------------------


def _hover(lsp: Session, path: Path, text: str, line_with: str, word: str) -> str:
    doc, position = at(path, text, line_with, word)
    found = lsp.run(lsp.client.text_document_hover_async(types.HoverParams(doc, position)))
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    return found.contents.value


def test_hover_speaks_the_files_language(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    state = _hover(lsp, path, BTI, "    from: l0_s1", "l0_s1")
    assert state.startswith("**state** `l0_s1`: Definer uroa") and "step 1, inside `level_0`" in state
    assert "Skildra kva du har sett" in state  # nynorsk, the file's language
    role = _hover(lsp, path, BTI, "roles: [employee]", "employee")
    assert "Tilsett" in role and "every case" in role
    case_role = _hover(lsp, path, BTI, "assign: {stafettholder", "stafettholder")
    assert "Stafetthaldar" in case_role and "held per case" in case_role
    event = _hover(lsp, path, BTI, "  - event: share_with_leader", "share_with_leader")
    assert "Uroa er delt med leiaren" in event and "used by 1 transition" in event


def test_hover_gives_guard_types_and_durations_in_words(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    field = _hover(lsp, path, BTI, 'when: "consent_share_with_services"', "consent_share_with_services")
    assert "type: boolean; starts as `false`" in field
    guard = _hover(lsp, path, BTI, 'when: "consent_share_with_services"', "when")
    assert "- `consent_share_with_services`: boolean" in guard
    due = _hover(lsp, path, BTI, "    due: P14D", "P14D")
    assert "14 days after entering the state" in due
    level = _hover(lsp, path, BTI, "  level_0:", "level_0")
    assert "due: 14 days after entering it; then the event `decision_overdue`" in level


# -- completion ---------------------------------------------------------------------------------------------


def _complete(lsp: Session, path: Path, text: str, line_with: str, word: str, into: int) -> dict[str, str | None]:
    doc, position = at(path, text, line_with, word, into)
    found = lsp.run(lsp.client.text_document_completion_async(types.CompletionParams(doc, position)))
    assert isinstance(found, types.CompletionList)
    return {item.label: item.detail for item in found.items}


def test_completion_knows_what_each_place_takes(lsp: Session, tmp_path: Path) -> None:
    text = BTI.replace("    roles: [employee]\n    set: [concern", "    roles: [employee, l]\n    set: [concern", 1)
    text = text.replace('when: "consent_share_with_services"', 'when: "consent_share_with_services and co"', 1)
    path = _copy(tmp_path, text)
    lsp.open(path)
    states = _complete(lsp, path, text, "    to: l0_s2", "l0_s2", 0)
    assert states["l0_s3"] == "state: Del uroa med barnet/ungdommen, føresette eller den gravide"
    assert "level_2" in states and "employee" not in states
    events = _complete(lsp, path, text, "  - event: define_concern", "define_concern", 0)
    assert events["refer_to_ke"] == "event: Meld til KE (koordinator/individuell plan)"
    roles = _complete(lsp, path, text, "roles: [employee, l]", "l]", 1)
    assert {"leader", "stafettholder", "ke"} <= set(roles)
    fields = _complete(lsp, path, text, "consent_share_with_services and co", "co", 2)
    assert {"consent_relay_log", "leader_informed", "len"} <= set(fields)
    assert fields["consent_relay_log"] == "field: Samtykke til stafettlogg/tiltakslogg"
    kinds = _complete(lsp, path, text, "    kind: exit", "exit", 0)
    assert set(kinds) == {"forward", "back", "escalate", "exit"}


def test_completion_of_keys_follows_the_schema(lsp: Session, tmp_path: Path) -> None:
    text = "careflow: 1\nid: x\nst\n"
    path = _copy(tmp_path, text, "new.yaml")
    lsp.open(path)
    top = _complete(lsp, path, text, "st", "st", 2)
    assert {"states", "transitions", "title", "language"} <= set(top) and "id" not in top
    text = "transitions:\n  - event: go\n    w\n"
    lsp.change(path, text)
    assert {"when", "from", "to", "roles"} <= set(_complete(lsp, path, text, "    w", "w", 1))


def test_an_adapting_file_completes_the_bases_ids_as_keys(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path, VARIANT, "variant.yaml")
    lsp.open(path)
    text = VARIANT.replace("  l0_s4: {due: P10D}\n", "  l0_s4: {due: P10D}\n  l2\n")
    lsp.change(path, text)
    states = _complete(lsp, path, text, "  l2", "l2", 2)
    assert states["l2_s1"] == "state: Nettverksmøte – oppstart (base)" and "level_0" in states


def test_positions_count_in_the_editors_units(lsp: Session, tmp_path: Path) -> None:
    """An emoji is one character to careflow and two UTF-16 units to the editor."""
    first = ("  - event: define_concern\n    from: l0_s1\n    to: l0_s2\n    roles: [employee]\n"
             "    set: [concern_description, concern_subject]\n    requires: [concern_description]\n")
    assert first in BTI
    text = BTI.replace(first, "  - {label: {nn: 🙂, nb: 🙂, en: 🙂}, event: define_concern, from: l0_sx, to: l0_s2, "
                              "roles: [employee], set: [concern_description, concern_subject], "
                              "requires: [concern_description]}\n", 1)
    path = _copy(tmp_path, text)
    (found,) = [d for d in lsp.open(path) if d.code == "CF104"]
    line = text.splitlines()[found.range.start.line]
    assert found.code == "CF104" and line[:found.range.start.character - 3].endswith("from: ")  # 3 emoji
    assert found.range.end.character - found.range.start.character == 5
    doc = types.TextDocumentIdentifier(path.resolve().as_uri())
    hovered = lsp.run(lsp.client.text_document_hover_async(types.HoverParams(
        doc, types.Position(found.range.start.line, line.index("define_concern") + 3 + 1))))
    assert hovered is not None and isinstance(hovered.contents, types.MarkupContent)
    assert hovered.contents.value.startswith("**event** `define_concern`: Uroa er definert")
    assert hovered.range is not None and hovered.range.start.character == line.index("define_concern") + 3


# -- navigation ---------------------------------------------------------------------------------------------


def test_go_to_definition_in_the_file_and_into_the_base(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    doc, position = at(path, BTI, "    from: l0_s1", "l0_s1")
    found = lsp.run(lsp.client.text_document_definition_async(types.DefinitionParams(doc, position)))
    assert isinstance(found, types.Location) and found.uri == doc.uri
    assert BTI.splitlines()[found.range.start.line] == "      l0_s1:"
    variant = _copy(tmp_path, VARIANT, "variant.yaml")
    lsp.open(variant)
    base = (BUNDLED / "bti_children.yaml").resolve()
    for line_with, word, expected in (("from: l2_s1", "l2_s1", "      l2_s1:"),
                                      ("roles: [stafettholder]", "stafettholder", "  stafettholder: {scope: case"),
                                      ("  l0_s4: {due", "l0_s4", "      l0_s4:")):
        doc, position = at(variant, VARIANT, line_with, word)
        found = lsp.run(lsp.client.text_document_definition_async(types.DefinitionParams(doc, position)))
        assert isinstance(found, types.Location) and found.uri == base.as_uri()
        assert BTI.splitlines()[found.range.start.line].startswith(expected)
    doc, position = at(variant, VARIANT, "extends: bti_children", "bti_children")
    found = lsp.run(lsp.client.text_document_definition_async(types.DefinitionParams(doc, position)))
    assert isinstance(found, types.Location) and found.uri == base.as_uri()


def test_the_outline_is_the_state_tree(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    found = lsp.run(lsp.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(path.resolve().as_uri()))))
    assert found is not None
    symbols = [s for s in found if isinstance(s, types.DocumentSymbol)]
    assert [s.name for s in symbols] == ["states", "roles", "data", "events"]
    levels = symbols[0].children or []
    assert [s.name for s in levels] == ["level_0", "level_1", "level_2", "level_3", "closed", "child_welfare"]
    assert [s.name for s in levels[0].children or []] == ["l0_s1", "l0_s2", "l0_s3", "l0_s4", "l0_s5"]
    assert levels[0].detail == "Nivå 0: Avklar undring" and levels[4].children is None
    lines = BTI.splitlines()
    assert lines[levels[0].range.start.line] == "  level_0:"
    assert lines[levels[0].range.end.line].startswith("        description: {nn: \"Uroa er avklart")


def test_rename_a_state_or_an_event_across_the_file(lsp: Session, tmp_path: Path) -> None:
    text = BTI + '  - {id: "share_with_family@l0_s3", event: share_with_family, from: l0_s3, to: l0_s4}\n'
    path = _copy(tmp_path, text)
    lsp.open(path)
    doc, position = at(path, text, "    from: l0_s3", "l0_s3")
    prepared = lsp.run(lsp.client.text_document_prepare_rename_async(types.PrepareRenameParams(doc, position)))
    assert isinstance(prepared, types.Range) and prepared.end.character - prepared.start.character == 5
    edit = lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "l0_share")))
    assert edit is not None and edit.changes is not None
    renamed = _apply(text, edit.changes[doc.uri])
    assert "l0_s3" not in renamed and '"share_with_family@l0_share"' in renamed
    doc, position = at(path, text, "  share_with_family: {label", "share_with_family")
    edit = lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "tell_family")))
    assert edit is not None and edit.changes is not None
    renamed = _apply(text, edit.changes[doc.uri])
    assert "share_with_family" not in renamed and renamed.count("tell_family") == 4
    with pytest.raises(Exception, match="is not an id"):
        lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "Fortel_familien")))


def test_an_adapting_file_does_not_rename_its_bases_ids(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path, VARIANT, "variant.yaml")
    lsp.open(path)
    doc, position = at(path, VARIANT, "from: l2_s1", "l2_s1")
    with pytest.raises(Exception, match="'l2_s1' is a state of the base process 'bti_children': rename it there"):
        lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "network_start")))
    doc, position = at(path, VARIANT, "  - event: call_meeting", "call_meeting")
    edit = lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "invite")))
    assert edit is not None and edit.changes is not None and len(edit.changes[doc.uri]) == 1


def test_a_renamed_file_stays_valid(lsp: Session, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    lsp.open(path)
    doc, position = at(path, BTI, "  level_1:", "level_1")
    edit = lsp.run(lsp.client.text_document_rename_async(types.RenameParams(doc, position, "internal_effort")))
    assert edit is not None and edit.changes is not None
    renamed = _apply(BTI, edit.changes[doc.uri])
    assert "\n  level_1:" not in renamed and "\n  internal_effort:" in renamed
    assert validate_text(renamed, "x.yaml").diagnostics == ()
    found = lsp.run(lsp.client.text_document_references_async(types.ReferenceParams(
        text_document=doc, position=position, context=types.ReferenceContext(include_declaration=True))))
    assert found is not None and len(found) == len(edit.changes[doc.uri])


def _apply(text: str, edits: Sequence[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = edit.range.start, edit.range.end
        assert start.line == end.line
        line = lines[start.line]
        lines[start.line] = line[:start.character] + edit.new_text + line[end.character:]
    return "".join(lines)
