"""``extends``: every mapping merges, remove:/rename: carried through the base, ids checked against the base,
diagnostics in the author's file, and ``careflow show --resolved``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from careflow.cli.main import main
from careflow.definitions.extends_refs import rename_in_guard
from careflow.definitions.loader import load, resolve, validate
from careflow.errors import Diagnostic
from tests.support import CORPUS, PROCESSES

MINIMAL = CORPUS / "valid" / "minimal.yaml"
VARIANT = PROCESSES / "bti_children_variant.yaml"
HEAD = 'careflow: 1\nextends: minimal\nid: minimal_x\nversion: "1.0-x"\n'


@pytest.fixture(autouse=True)
def _minimal_on_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREFLOW_PATH", str(CORPUS / "valid"))


def _adapt(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "minimal_x.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _problems(path: Path) -> list[Diagnostic]:
    return list(validate(path).diagnostics)


def _resolved(path: Path) -> dict[str, Any]:
    document, result = resolve(path)
    assert document is not None and not result.errors, [d.format() for d in result.diagnostics]
    return document


# -- what the issue asked to show -----------------------------------------------------------------


def test_bti_children_variant_validates_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", str(VARIANT)]) == 0, capsys.readouterr().out
    p = load(VARIANT)
    roles = {r.id: r.scope for r in p.roles}
    # one role renamed (keeping its scope: case), one added, the other 7 base roles kept
    assert roles == {"employee": "global", "leader": "global", "kontaktperson": "case", "child": "global",
                     "guardian": "global", "pregnant_woman": "global", "partner_service": "global", "ke": "global",
                     "health_nurse": "global"}
    assert p.role("kontaktperson").label.get("en") == "Contact person"
    assert [s.id for s in p.children("level_0")] == ["l0_s1", "l0_s2", "l0_s4", "l0_s5"]
    assert (p.state("l0_s4").step, p.state("l0_s5").step) == (3, 4)
    by_id = {t.id: t for t in p.transitions}
    assert by_id["share_with_leader@l0_s2"].target == "l0_s4"
    assert "share_with_family@l0_s3" not in by_id and "share_with_family" not in {e.id for e in p.events}
    assert by_id["define_concern@l0_s1"].roles == ("employee", "health_nurse")
    assert by_id["hold_network_meeting@l2_s1"].assign == (("kontaktperson", "stafettholder_id"),)
    assert not any("stafettholder" in t.roles for t in p.transitions)


def test_bti_children_variant_show_resolved(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--resolved", str(VARIANT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# bti_children_variant: the resolved process of ")
    document = yaml.safe_load(out)
    assert "extends" not in document and document["id"] == "bti_children_variant"
    assert list(document["roles"])[2:3] == ["kontaktperson"] and "health_nurse" in document["roles"]
    assert document["roles"]["kontaktperson"]["scope"] == "case"
    assert "stafettholder:" not in out and "roles: [stafettholder" not in out
    assert "l0_s3" not in document["states"]["level_0"]["states"]
    leader = next(t for t in document["transitions"] if t["event"] == "share_with_leader")
    assert leader == {"event": "share_with_leader", "from": "l0_s2", "to": "l0_s4", "roles": ["employee", "leader"],
                      "values": {"leader_informed": True}}
    assert "    label: {nn: Kontaktperson, nb: Kontaktperson, en: Contact person}\n" in out


def test_show_resolved_prints_a_file_careflow_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--resolved", str(VARIANT)]) == 0
    copy = tmp_path / "bti_children_variant.yaml"
    copy.write_text(capsys.readouterr().out, encoding="utf-8")
    assert validate(copy).diagnostics == ()
    assert load(copy).transitions == load(VARIANT).transitions


def test_show_resolved_of_an_invalid_file_prints_its_problems(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _adapt(tmp_path, "states:\n  intak: {due: P10D}\n")
    assert main(["show", "--resolved", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"{path}:6:3: error CF118" in captured.err


# -- every mapping merges -------------------------------------------------------------------------


def test_a_roles_block_merges_into_the_base_roles(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "roles:\n  nurse: {label: {en: Registered nurse}}\n"
                            "  doctor: {label: {nb: Lege, en: Doctor}}\n"
                            "transitions:\n  - {id: plan@planning, roles: [coordinator, doctor]}\n")
    assert _problems(path) == []
    p = load(path)
    assert [(r.id, r.scope) for r in p.roles] == [("nurse", "global"), ("coordinator", "case"), ("doctor", "global")]
    assert p.role("nurse").label.get("en") == "Registered nurse" and p.role("nurse").label.get("nb") == "Sykepleier"


def test_data_and_events_merge_entry_by_entry(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "data:\n  priority: {default: high}\nevents:\n  submit: {label: {en: Send}}\n")
    assert _problems(path) == []
    p = load(path)
    assert p.field("priority").default == "high" and p.field("priority").type.enum == ("low", "high")
    assert {e.id: e.label.get("en") for e in p.events}["submit"] == "Send"


# -- transitions ----------------------------------------------------------------------------------


def test_a_partial_transition_change_merges_with_the_base_transition(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {id: plan@planning, roles: [nurse], label: {en: Plan it}}\n")
    assert _problems(path) == []
    (t,) = [t for t in load(path).transitions if t.event == "plan"]
    assert (t.id, t.sources, t.target, t.roles, t.append) == ("plan@planning", ("planning",), "follow_up",
                                                             ("nurse",), (("notes", "notes"),))
    assert (t.label.get("en"), t.label.get("nb")) == ("Plan it", "Planlegg")


def test_a_typo_in_a_transition_id_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {id: plan@planing, to: closed}\n")
    (d,) = _problems(path)
    assert (d.code, d.location.file, d.location.line, d.location.column) == ("CF118", str(path), 6, 5)
    assert "no transition 'plan@planing' in 'minimal'" in d.message and d.hint == "did you mean 'plan@planning'?"


def test_a_new_transition_never_replaces_a_base_one(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {event: plan, from: planning, to: closed, when: score > 5, "
                            "label: {nb: Planlegg, en: Plan}}\n")
    plans = [t for t in _resolved(path)["transitions"] if t["event"] == "plan"]
    assert [t.get("to") for t in plans] == ["follow_up", "closed"]
    assert [t.id for t in load(path).transitions if t.event == "plan"] == ["plan@planning", "plan@planning#2"]


def test_remove_or_rename_a_transition_needs_its_id(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {event: plan, from: planning, remove: true}\n")
    (d,) = _problems(path)
    assert d.code == "CF118" and "give its 'id'" in d.message and d.location.line == 6


def test_a_transition_changed_twice(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {id: plan@planning, to: follow_up}\n"
                            "  - {id: plan@planning, roles: []}\n")
    (d,) = _problems(path)
    assert (d.code, d.location.line) == ("CF117", 7)


def test_rename_a_transition(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "transitions:\n  - {id: plan@planning, rename: plan_it}\n")
    assert _problems(path) == []
    assert [t.id for t in load(path).transitions] == ["submit@intake", "intake_overdue@intake", "plan_it",
                                                      "close@work"]


# -- ids that name nothing in the base -------------------------------------------------------------


@pytest.mark.parametrize(("body", "line", "message", "hint"), [
    ("states:\n  intak: {due: P10D}\n", 6, "there is no state 'intak' in 'minimal' to change",
     "did you mean 'intake'? To add a new state, give it a label."),
    ("states:\n  plannning: {remove: true}\n", 6, "there is no state 'plannning' in 'minimal' to remove",
     "did you mean 'planning'?"),
    ("roles:\n  nurs: {rename: sykepleier}\n", 6, "there is no role 'nurs' in 'minimal' to rename",
     "did you mean 'nurse'?"),
    ("data:\n  scor: {default: 1}\n", 6, "there is no data field 'scor' in 'minimal' to change",
     "did you mean 'score'? To add a new data field, give it a type."),
    ("events:\n  submitt: {remove: true}\n", 6, "there is no event 'submitt' in 'minimal' to remove",
     "did you mean 'submit'?"),
])
def test_an_id_that_names_nothing_in_the_base(tmp_path: Path, body: str, line: int, message: str,
                                              hint: str) -> None:
    path = _adapt(tmp_path, body)
    (d,) = _problems(path)
    assert (d.code, d.location.file, d.location.line, d.message, d.hint) == ("CF118", str(path), line, message, hint)


def test_a_new_state_with_a_label_is_added(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "states:\n  work:\n    states:\n      review: {step: 4, label: {nb: Gjennomgang, "
                            "en: Review}}\ntransitions:\n  - {event: review, from: follow_up, to: review, "
                            "label: {nb: Gå gjennom, en: Review}}\n")
    assert _problems(path) == []
    assert load(path).state("review").parent == "work"


def test_a_variant_needs_its_own_id(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    path.write_text('careflow: 1\nextends: minimal\nid: minimal\nversion: "2"\n', encoding="utf-8")
    (d,) = _problems(path)
    assert (d.code, d.location.line, d.location.column) == ("CF118", 2, 10)
    assert "circle" not in d.message and "id of its own" in (d.hint or "")


@pytest.mark.parametrize(("body", "message"), [
    ("roles:\n  nurse: {rename: coordinator}\n", "cannot rename the role 'nurse' to 'coordinator': that id is taken"),
    ("roles:\n  nurse: {remove: true, label: {en: x}}\n", "'remove: true' removes the role 'nurse' and stands alone"),
    ("roles:\n  nurse: {rename: 5}\n", "'rename' needs the new id of the role 'nurse'"),
])
def test_bad_remove_and_rename(tmp_path: Path, body: str, message: str) -> None:
    messages = [d.message for d in _problems(_adapt(tmp_path, body)) if d.code == "CF118"]
    assert messages == [message]


# -- remove: and rename: carried through the base --------------------------------------------------


def test_rename_a_state_everywhere(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "states:\n  planning: {rename: plan_work}\n  work: {rename: the_work}\n")
    assert _problems(path) == []
    p = load(path)
    assert p.state("the_work").initial == "plan_work" and p.state("plan_work").parent == "the_work"
    assert [(t.event, t.sources, t.target) for t in p.transitions] == [
        ("submit", ("intake",), "the_work"), ("intake_overdue", ("intake",), "closed"),
        ("plan", ("plan_work",), "follow_up"), ("close", ("the_work",), "closed")]


def test_rename_data_fields_everywhere(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "data:\n  consent: {rename: samtykke}\n  score: {rename: points}\n"
                            "  notes: {rename: notater}\n")
    assert _problems(path) == []
    submit, _, plan, close = _resolved(path)["transitions"]
    assert submit["when"] == "samtykke and points >= 0"
    assert submit["set"] == {"points": "score"}  # the event data keeps its name
    assert plan["append"] == {"notater": "notes"}
    assert close["spawn"]["data"] == {"consent": "samtykke"}  # the spawned process keeps its names
    p = load(path)
    assert [f.name for f in p.data] == ["samtykke", "priority", "points", "notater", "meeting"]


def test_rename_roles_and_events_everywhere(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "roles:\n  coordinator: {rename: koordinator}\n"
                            "events:\n  submit: {rename: send_inn}\n")
    assert _problems(path) == []
    p = load(path)
    assert p.transitions[0].event == "send_inn" and p.transitions[0].assign == (("koordinator", "coordinator_id"),)
    assert p.transitions[2].roles == ("koordinator",)


def test_rename_an_event_carries_through_on_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = MINIMAL.read_text(encoding="utf-8").replace(
        "events:\n", "events:\n  intake_overdue: {label: {nb: Frist, en: Deadline}}\n").replace(
        "id: minimal\n", "id: minimal_base\n").replace("process: minimal", "process: minimal_base")
    (tmp_path / "minimal_base.yaml").write_text(base, encoding="utf-8")
    path = tmp_path / "adapted.yaml"
    path.write_text('careflow: 1\nextends: minimal_base\nid: adapted\nversion: "1"\n'
                    "events:\n  intake_overdue: {rename: frist_ute}\n", encoding="utf-8")
    monkeypatch.setenv("CAREFLOW_PATH", f"{tmp_path}{os.pathsep}{CORPUS / 'valid'}")
    assert _problems(path) == []
    p = load(path)
    due = p.state("intake").due
    assert due is not None and due.event == "frist_ute"
    assert p.transitions[1].event == "frist_ute"


def test_what_still_names_a_removed_entry_is_reported_at_the_removal(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "roles:\n  coordinator: {remove: true}\n")
    got = [(d.code, d.location.file, d.location.line, d.message, [(r.file, r.line) for r in d.related])
           for d in _problems(path)]
    assert got == [
        ("CF118", str(path), 6, "the role 'coordinator' is removed, but transition 1 (event 'submit', id "
         "'submit@intake') still names it", [(str(MINIMAL), 42)]),
        ("CF118", str(path), 6, "the role 'coordinator' is removed, but transition 3 (event 'plan', id "
         "'plan@planning') still names it", [(str(MINIMAL), 53)]),
    ]


def test_remove_a_state_and_the_transitions_around_it(tmp_path: Path) -> None:
    path = _adapt(tmp_path, "states:\n  follow_up: {remove: true}\n")
    (d,) = _problems(path)
    assert (d.code, d.location.line) == ("CF118", 6) and "state 'follow_up' is removed" in d.message
    fixed = _adapt(tmp_path, "states:\n  follow_up: {remove: true}\n"
                             "transitions:\n  - {id: plan@planning, internal: true, to: null}\n")
    assert [d.code for d in _problems(fixed)] != []  # 'to: null' is not a state: still a problem, not a crash
    fixed = _adapt(tmp_path, "states:\n  follow_up: {remove: true}\n"
                             "transitions:\n  - {id: plan@planning, to: closed}\n")
    assert _problems(fixed) == []
    assert [s.id for s in load(fixed).children("work")] == ["planning"]


# -- diagnostics point into the author's file ------------------------------------------------------


def test_a_problem_that_arises_in_the_base_points_at_extends(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    # without its way in, the base's 'work' is unreachable: the base line comes as the related place
    path = _adapt(tmp_path, "transitions:\n  - {id: submit@intake, remove: true}\n")
    problems = [d for d in _problems(path) if d.code == "CF201"]
    assert problems and all((d.location.file, d.location.line, d.location.column) == (str(path), 2, 10)
                            for d in problems)
    assert all(r.file == str(MINIMAL) for d in problems for r in d.related)
    main(["validate", "--format", "json", str(path)])
    (report,) = json.loads(capsys.readouterr().out)
    first = report["diagnostics"][0]
    assert set(first) >= {"code", "name", "severity", "message", "hint", "file", "line", "column", "pointer",
                          "related"}
    assert first["related"][0]["file"] == str(MINIMAL)


def test_rename_in_guard_renames_case_data_only() -> None:
    def rename(kind: str, name: str, pointer: str) -> str:
        return {"x": "ny_x", "len": "nope"}.get(name, name) if kind == "data" else name

    assert rename_in_guard("len(x) > 0 and x[-1] == 'x' and event.x", "/when", rename) == \
        "len(ny_x) > 0 and ny_x[-1] == 'x' and event.x"
    assert rename_in_guard("x and\nø == 1 and x", "/when", rename) == "ny_x and\nø == 1 and ny_x"
    assert rename_in_guard("x ==", "/when", rename) == "x =="  # not an expression: the compiler reports it
