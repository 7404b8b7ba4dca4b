"""Replay and the history format: round trips, every divergence kind, --against, the CLI, schema errors,
and property tests (random walks replay green; any single-field change is found at its entry)."""

from __future__ import annotations

import contextlib
import copy
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cli.main import main
from careflow.clock import ManualClock
from careflow.definitions.builder import scope_fields
from careflow.definitions.loader import load, loads
from careflow.errors import CaseError, HistoryError
from careflow.history import HistoryFileError, dumps_jsonl, dumps_yaml, loads_history, read_history
from careflow.history.check import _validator
from careflow.history.entries import Problem, normalise
from careflow.history.replay import replay
from careflow.model.datatypes import DataType
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import GENESIS, JSON_FIELDS, AuditEntry, seal_plain
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from tests.support import DOCS, DOCTOR, GP

T0 = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)
PSHT = load("psht")
PSHT_TEXT = Path(PSHT.path or "").read_text("utf-8")
STEPS: list[tuple[str, dict[str, Any] | None]] = [
    ("note_in_dips", None), ("note_in_profil", None),
    ("accept_referral", {"benefits_from_psht": True, "referral_complete": True,
                         "needs_interdisciplinary_approach": True}),
    ("map_goals", {"patient_goals": "walk to the shop again"}), ("read_record", None), ("visit_patient", None),
    ("patient_met", None), ("involve_services", None), ("do_home_visit", None), ("mapping_done", None),
    ("risk_assessed", {"risk_summary": "falls"}), ("summary_done", None), ("plan_agreed", {"plan_summary": "physio"}),
    ("decide_further_follow_up", {"needs_municipal_services": True, "needs_coordinator": True}),
    ("hold_handover_meeting", None), ("inform_services", None), ("write_discharge_summary", None),
    ("prepare_ke_report", {"need_summary": "coordinated services", "consent_to_ke_report": True}),
    ("report_to_ke", None),
]


def psht_case(case_id: str = "psht-1", upto: int | None = None, process: ProcessDefinition = PSHT) -> Case:
    """A PSHT case through the API: a refusal, consent, referral, a deadline, then the nine steps and a handoff."""
    clock = ManualClock(T0)
    case = Case.open(process, case_id, actor=GP, clock=clock)
    with pytest.raises(CaseError):
        case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    case.fire("record_consent", GP, {"consent_to_referral": True}, reason="agreed by phone")
    case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    clock.advance(days=4)
    case.tick()  # triage_overdue: a deadline entry
    for event, data in STEPS[:upto]:
        clock.advance(hours=5)
        case.fire(event, DOCTOR, data)
    return case


CASE = psht_case()



def scheme_one(entries: Any) -> list[AuditEntry]:
    """``entries`` sealed as careflow sealed them before schema 2 (raw data values hashed, no
    commitments): the form these tests edit by hand, and one every careflow must still replay."""
    out, head = [], GENESIS
    for e in entries:
        sealed = seal_plain(e, head)
        head = sealed.hash or GENESIS
        out.append(sealed)
    return out


ENTRIES = [e.to_json() for e in scheme_one(CASE.history)]


def divergence(history: Any, process: Any = PSHT, **kw: Any) -> Any:
    result = replay(process, history, **kw)
    assert not result.ok and result.divergence is not None and result.snapshot is None
    return result.divergence


def rebuilt(result: Any, process: Any = None) -> Case | None:
    """The case a good replay leads to, built the way ``Case.from_json`` does it."""
    if not result.ok:
        return None
    compiled = process if isinstance(process, CompiledProcess) else compile(process or PSHT)
    return Case.restore(compiled, result.snapshot, result.entries)


# -- round trips ----------------------------------------------------------------------------------------


def test_api_history_replays_from_memory_jsonl_yaml_and_case_json(tmp_path: Path) -> None:
    kinds = [e["kind"] for e in ENTRIES]
    assert {"opened", "denied", "fired", "deadline", "spawned"} <= set(kinds)
    for history in (CASE.history, ENTRIES, CASE):
        result = replay(PSHT, history)
        assert result.ok and result.entries_checked == len(ENTRIES) and result.divergence is None
    (tmp_path / "h.jsonl").write_text(dumps_jsonl(CASE.history), "utf-8")
    (tmp_path / "h.yaml").write_text(dumps_yaml(CASE.history, process="psht", version="1.0"), "utf-8")
    (tmp_path / "h.json").write_text(CASE.to_json(indent=2), "utf-8")
    (tmp_path / "list.json").write_text(json.dumps(ENTRIES), "utf-8")
    for name in ("h.jsonl", "h.yaml", "h.json", "list.json"):
        result = replay(PSHT, tmp_path / name)
        assert result.ok, (name, result.divergence)
        back = rebuilt(result)
        assert back is not None and back.state == CASE.state and dict(back.data) == dict(CASE.data)
        recorded = tuple(scheme_one(CASE.history)) if name == "list.json" else CASE.history
        assert back.history == recorded and back.head == recorded[-1].hash  # recorded hashes (and salts) kept


def test_case_from_json_uses_replay_and_keeps_working() -> None:
    back = Case.from_json(PSHT, CASE.to_json())
    assert back.to_json() == CASE.to_json()
    other = psht_case("psht-2", upto=6)
    again = Case.from_json(PSHT, other.to_json())
    again.fire("patient_met", DOCTOR)
    assert again.verify_chain() and again.history[-1].prev_hash == other.head
    body = json.loads(CASE.to_json())
    body["data"]["risk_summary"] = "nothing"
    with pytest.raises(HistoryError, match=r"does not match.*data\.risk_summary"):
        Case.from_json(PSHT, json.dumps(body))


def test_entry_json_uses_from_and_to() -> None:
    assert {"from", "to"} <= set(ENTRIES[2]) and not {"source", "target"} & set(ENTRIES[2])
    assert list(JSON_FIELDS) == list(ENTRIES[2])


HAND_WRITTEN = """\
process: psht
case_id: hand-1
entries:
  - {kind: opened, actor: dr-gran, roles: [referrer], time: "2026-09-07T08:30:00+00:00"}
  - {event: record_consent, actor: dr-gran, roles: [referrer], data: {consent_to_referral: true}}
  - event: submit_referral
    actor: dr-gran
    roles: [referrer]
    data: {referrer_kind: gp, referral_channel: dips}
    to: triage
  - {kind: denied, event: accept_referral, actor: dr-gran, roles: [referrer], code: role-denied}
  - {event: note_in_dips, actor: nora, roles: [nurse], time: "2026-09-08T09:00:00Z"}
  - {event: note_in_profil, actor: nora, roles: [nurse]}
  - {event: decline_referral, actor: nora, roles: [nurse], data: {decline_reason: no need}, to: declined}
expect:
  state: declined
  data: {decline_reason: no need, consent_to_referral: true}
"""


def test_hand_written_minimal_yaml_replays() -> None:
    history = loads_history(HAND_WRITTEN, "hand.yaml")
    result = replay(PSHT, history)
    assert result.ok, result.divergence
    case = rebuilt(result)
    assert case is not None and case.state == "declined" and case.case_id == "hand-1"
    assert [e.kind for e in case.history].count("denied") == 1 and case.verify_chain()
    wrong = loads_history(HAND_WRITTEN.replace("state: declined", "state: triage"), "hand.yaml")
    div = divergence(wrong)
    assert (div.index, div.code) == (7, "wrong-final-state") and "expected to end in 'triage'" in div.reason


def test_hand_written_history_may_leave_out_the_spawned_entry() -> None:
    moves = [e for e in ENTRIES if e["kind"] != "spawned"]
    minimal = [{k: e[k] for k in ("kind", "event", "actor", "roles", "time", "data") if e.get(k) is not None}
               for e in moves]
    result = replay(PSHT, minimal)
    assert result.ok, result.divergence
    case = rebuilt(result)
    assert case is not None and case.history[-1].kind == "spawned"


# -- divergences ----------------------------------------------------------------------------------------


def changed(index: int, **fields: Any) -> list[dict[str, Any]]:
    entries = copy.deepcopy(ENTRIES)
    entries[index].update(fields)
    return entries


def strip(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("hash", "prev_hash")} for e in entries]


def index_of(event: str) -> int:
    return next(i for i, e in enumerate(ENTRIES) if e["event"] == event and e["kind"] == "fired")


def test_event_not_possible() -> None:
    i = index_of("patient_met")
    div = divergence(changed(i, event="close_no_municipal_services"))
    assert (div.index, div.code) == (i, "event-not-allowed")
    assert div.reason.startswith(f"entry {i}: the recorded event 'close_no_municipal_services' is not possible in "
                                 "state 'meet_patient' (possible: map_goals")  # not the deadline event
    assert div.expected["event"] == "close_no_municipal_services" and div.actual["kind"] == "denied"


def test_wrong_target_with_the_state_the_definition_goes_to() -> None:
    i = index_of("submit_referral")
    div = divergence(strip(changed(i, to="declined")))
    assert (div.index, div.code) == (i, "wrong-target")
    assert div.reason == f"entry {i}: recorded to 'declined' but the definition goes to 'triage'"
    text = div.format()
    assert "- to: \"declined\"" in text and "+ to: \"triage\"" in text and "  event: \"submit_referral\"" in text


def test_role_refused() -> None:
    i = index_of("accept_referral")
    div = divergence(changed(i, roles=["secretary"]))
    assert (div.index, div.code) == (i, "role-denied")
    assert div.reason == (f"entry {i}: refused — role 'secretary' may not fire 'accept_referral' "
                          "(needs doctor or nurse or occupational_therapist or physiotherapist)")


def test_guard_false() -> None:
    i = index_of("submit_referral")
    entries = [e for j, e in enumerate(ENTRIES) if j != i - 1]  # drop record_consent
    div = divergence([*strip(entries)[:i - 1], {k: v for k, v in strip(entries)[i - 1].items() if k != "seq"}])
    assert (div.index, div.code) == (i - 1, "guard-failed")
    assert div.reason == f"entry {i - 1}: guard false: consent_to_referral is false"


def test_recorded_denial_that_now_succeeds() -> None:
    assert ENTRIES[1]["kind"] == "denied"
    entries = strip(copy.deepcopy(ENTRIES))
    entries[0]["data"]["consent_to_referral"] = True
    div = divergence(entries)
    assert (div.index, div.code) == (1, "now-allowed")
    assert "recorded as refused (guard-failed) but 'submit_referral' is now allowed (goes to 'triage')" in div.reason


def test_data_difference_names_the_keys() -> None:
    spawned = next(i for i, e in enumerate(ENTRIES) if e["kind"] == "spawned")
    div = divergence(strip(changed(spawned, data={**ENTRIES[spawned]["data"], "need_summary": "other"})))
    assert (div.index, div.code) == (spawned, "data-differs")
    assert "need_summary (recorded \"other\", replayed \"coordinated services\")" in div.reason


def test_sequence_gap_and_missing_entry() -> None:
    entries = ENTRIES[:5] + ENTRIES[6:]
    div = divergence(entries)
    assert (div.index, div.code) == (5, "sequence-gap") and "seq 6 where 5 follows" in div.reason
    div = divergence(ENTRIES[:-1])  # the spawned entry of the handoff cut off
    assert (div.index, div.code) == (len(ENTRIES) - 1, "missing-entry")


def test_hash_chain_break_and_tampered_hash() -> None:
    div = divergence(changed(5, actor="mallory"))  # semantics fine (any doctor), content changed
    assert (div.index, div.code, div.reason) == (5, "hash-mismatch", "entry 5: hash does not match its content")
    div = divergence(changed(6, hash="0" * 64))
    assert (div.index, div.code) == (6, "hash-mismatch")
    div = divergence(changed(7, prev_hash="1" * 64))
    assert (div.index, div.code) == (7, "link-broken")
    div = divergence(changed(8, event="read_record"))  # a changed event is semantic, at its entry
    assert div.index == 8 and div.code not in ("hash-mismatch", "link-broken")
    no_hash = changed(4)
    del no_hash[4]["hash"]
    assert divergence(no_hash).code == "hash-missing"


def test_wrong_process_version_and_structure_problems() -> None:
    assert divergence(ENTRIES, load("bti_adults")).code == "wrong-process"
    newer = loads(PSHT_TEXT.replace('version: "1.0"', 'version: "1.1"'), "psht.yaml")
    assert divergence(ENTRIES, newer).code == "wrong-version"
    div = divergence(changed(3, roles="doctor"))
    assert (div.index, div.code) == (3, "invalid-entry") and "'roles' must be a list" in div.reason
    assert divergence([]).code == "empty"
    assert divergence(ENTRIES[1:]).code in ("no-opened", "sequence-gap")


def test_deadline_that_was_not_due() -> None:
    i = next(i for i, e in enumerate(ENTRIES) if e["kind"] == "deadline")
    entries = strip(changed(i, time=ENTRIES[i - 1]["time"]))
    div = divergence(entries)
    assert (div.index, div.code) == (i, "no-deadline-due") and "next due" in div.reason


def test_divergence_format_is_a_small_diff() -> None:
    i = index_of("mapping_done")
    div = divergence(strip(changed(i, to="plan")))
    lines = div.format().splitlines()
    assert lines[0].endswith("[wrong-target]") and lines[1] == "--- recorded" and lines[2] == "+++ replayed"
    assert '- to: "plan"' in lines and '+ to: "risk_assessment"' in lines


# -- --against ------------------------------------------------------------------------------------------


def renamed_triage() -> ProcessDefinition:
    text = PSHT_TEXT.replace('version: "1.0"', 'version: "2.0"')
    text = text.replace("  triage:\n", "  assessment:\n").replace("from: triage", "from: assessment")
    text = text.replace("to: triage", "to: assessment").replace("[referral, triage,", "[referral, assessment,")
    return loads(text, "psht-2.yaml")


def guarded_mapping() -> ProcessDefinition:
    text = PSHT_TEXT.replace('version: "1.0"', 'version: "2.0"')
    guard = '    to: risk_assessment\n    when: "needs_coordinator == false"\n'
    text = text.replace("    to: risk_assessment\n", guard)
    return loads(text, "psht-2.yaml")


def test_against_a_renamed_state() -> None:
    new = renamed_triage()
    i = index_of("submit_referral")
    div = divergence(ENTRIES, against=new)
    assert (div.index, div.code) == (i, "wrong-target")
    assert div.reason == f"entry {i}: recorded to 'triage' but the definition goes to 'assessment'"
    assert replay(PSHT, ENTRIES[:i], against=new).ok  # before triage nothing changed (version ignored)


def test_against_an_added_guard() -> None:
    new = guarded_mapping()
    i = index_of("mapping_done")
    div = divergence(CASE.history, against=new)
    assert (div.index, div.code) == (i, "guard-failed") and "guard false" in div.reason
    early = psht_case("early", upto=9)  # stops before mapping_done
    assert replay(PSHT, early.history, against=new).ok


def test_cli_against_lists_the_breaking_histories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "full.jsonl").write_text(dumps_jsonl(CASE.history), "utf-8")
    (cases / "early.jsonl").write_text(dumps_jsonl(psht_case("early", upto=9).history), "utf-8")
    new = tmp_path / "psht-2.yaml"
    new.write_text(PSHT_TEXT.replace('version: "1.0"', 'version: "2.0"').replace(
        "    to: risk_assessment\n", '    to: risk_assessment\n    when: "needs_coordinator == false"\n'), "utf-8")
    code = main(["replay", "psht", str(cases), "--against", str(new)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and len(out) == 2
    assert out[0].startswith(f"{cases / 'full.jsonl'}:") and "guard false" in out[0] and "[guard-failed]" in out[0]
    assert out[1].startswith("2 histories: 1 replayed, 1 diverged in ")


# -- the CLI --------------------------------------------------------------------------------------------


@pytest.fixture()
def histories(tmp_path: Path) -> Path:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "deep").mkdir()
    (tmp_path / "ok" / "a.jsonl").write_text(dumps_jsonl(CASE.history), "utf-8")
    (tmp_path / "ok" / "deep" / "b.yaml").write_text(HAND_WRITTEN, "utf-8")
    (tmp_path / "ok" / "notes.txt").write_text("not a history", "utf-8")
    bad = [json.dumps(e) for e in changed(index_of("patient_met"), event="close_no_municipal_services")]
    (tmp_path / "bad.jsonl").write_text("\n".join(bad) + "\n", "utf-8")
    broken = [json.dumps(e) for e in ENTRIES[:3]]
    broken[1] = broken[1].replace('"roles": ["referrer"]', '"roles": "referrer"')
    (tmp_path / "broken.jsonl").write_text("\n".join(broken) + "\n", "utf-8")
    return tmp_path


def test_cli_exit_codes_and_summary(histories: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "psht", str(histories / "ok")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 histories: 2 replayed in ")
    assert main(["replay", "psht", str(histories)]) == 1
    lines = capsys.readouterr().out.splitlines()
    i = index_of("patient_met")
    assert f"{histories / 'bad.jsonl'}:{i + 1}: entry {i}: the recorded event" in lines[0]
    assert lines[1].startswith(f"{histories / 'broken.jsonl'}:2: error CF101")
    assert lines[-1].startswith("4 histories: 2 replayed, 1 diverged, 1 unreadable in ")
    assert main(["replay", "psht", str(histories / "bad.jsonl"), "-q"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 1  # the problem only, no summary
    assert main(["replay", "psht", str(histories / "missing.jsonl")]) == 2
    assert main(["replay", "no_such_process", str(histories / "ok")]) == 2
    assert main(["replay", "psht", str(histories / "ok" / "notes.txt"), "--format", "json"]) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", "psht"])
    assert exit_info.value.code == 2


def test_cli_json_and_junit(histories: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = histories / "out" / "junit.xml"
    junit.parent.mkdir()
    assert main(["replay", "psht", str(histories), "--format", "json", "--junit", str(junit)]) == 1
    body = json.loads(capsys.readouterr().out)
    assert (body["replayed"], body["diverged"], body["unreadable"]) == (3, 1, 1)
    bad = next(r for r in body["results"] if r["file"].endswith("bad.jsonl"))
    assert bad["divergence"]["code"] == "event-not-allowed" and bad["divergence"]["index"] == index_of("patient_met")
    suites = ET.parse(junit).getroot()
    suite = suites.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = suite.findall("testcase")
    assert len(cases) == 4 and sum(c.find("failure") is not None for c in cases) == 1
    failure = next(c.find("failure") for c in cases if c.find("failure") is not None)
    assert failure is not None and "is not possible" in (failure.get("message") or "")
    assert "--- recorded" in (failure.text or "")


def test_cli_help_does_not_import_the_replayer() -> None:
    import subprocess
    import sys

    code = ("import sys, careflow.cli.replay, careflow.cli.main as c; p = c.build_parser(); "
            "print(sorted(m for m in sys.modules if m in ('careflow.history.replay', 'careflow.history.reader', "
            "'jsonschema', "
            "'yaml', 'careflow.runtime.engine')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- schema and located errors --------------------------------------------------------------------------


def test_jsonl_errors_are_located_by_line() -> None:
    lines = [json.dumps(e) for e in ENTRIES[:4]]
    lines[2] = lines[2].replace('"kind": "fired"', '"kind": "fird"')
    lines.insert(3, "")
    lines.append("{not json")
    with pytest.raises(HistoryFileError) as info:
        loads_history("\n".join(lines), "h.jsonl", "jsonl")
    text = info.value.format()
    assert "h.jsonl:6:2: error CF001 yaml-syntax: not JSON" in text
    with pytest.raises(HistoryFileError) as info:
        loads_history("\n".join(lines[:-1]), "h.jsonl", "jsonl")
    (diag,) = info.value.diagnostics
    assert (diag.location.line, diag.location.pointer, diag.code) == (3, "/kind", "CF107")
    assert "'fird'" in diag.message and "fired" in (diag.hint or "")


def test_yaml_errors_are_located_with_hints() -> None:
    text = HAND_WRITTEN.replace("{event: note_in_profil, actor: nora", "{event: note_in_profil, actr: nora")
    text = text.replace("case_id: hand-1", "case_id: hand-1\nproces: psht")
    with pytest.raises(HistoryFileError) as info:
        loads_history(text, "hand.yaml")
    found = {(d.code, d.location.line, d.location.pointer) for d in info.value.diagnostics}
    assert ("CF103", 3, "/proces") in found
    assert any(code == "CF103" and pointer == "/entries/5/actr" and line == 14 for code, line, pointer in found)
    assert any("did you mean 'actor'" in (d.hint or "") for d in info.value.diagnostics)
    with pytest.raises(HistoryFileError):
        loads_history("entries: [1, 2", "x.yaml")
    with pytest.raises(HistoryFileError, match="list of entries or a mapping"):
        loads_history("just text", "x.yaml")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="cannot read"):
        read_history(tmp_path / "nope.jsonl")
    (tmp_path / "x.json").write_bytes(b'[{"actor": "\xff"}]')
    with pytest.raises(HistoryFileError, match="UTF-8"):
        read_history(tmp_path / "x.json")


ENTRY_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.text(max_size=3),
                         st.lists(st.text(max_size=2), max_size=2), st.dictionaries(st.text(max_size=2), st.none(),
                                                                                    max_size=1))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(ENTRIES))), st.sampled_from(JSON_FIELDS), ENTRY_VALUES, st.booleans())
def test_the_fast_checks_accept_nothing_the_schema_rejects(index: int, key: str, value: Any, drop: bool) -> None:
    entry = dict(ENTRIES[index])
    if drop:
        entry.pop(key)
    else:
        entry[key] = value
    if isinstance(normalise(entry), Problem):
        return
    assert list(_validator("entry").iter_errors(entry)) == [], (key, value)


def test_history_schema_is_valid_and_documents_the_example() -> None:
    import jsonschema
    import yaml

    from careflow.history import history_schema

    schema = history_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load(HAND_WRITTEN)))
    assert not list(validator.iter_errors(json.loads(CASE.to_json())))
    assert not list(validator.iter_errors(ENTRIES))


# -- properties -----------------------------------------------------------------------------------------


def _value(dtype: DataType, draw: Any) -> Any:
    if dtype.enum:
        return draw(st.sampled_from(dtype.enum))
    if dtype.kind == "boolean":
        return draw(st.booleans())
    if dtype.kind == "integer":
        return int(dtype.minimum or 0)
    if dtype.kind == "number":
        return float(dtype.minimum or 0)
    if dtype.kind == "array":
        return []
    if dtype.kind == "object":
        return {}
    if dtype.format == "date":
        return "2026-10-15"
    if dtype.format == "date-time":
        return "2026-10-15T10:00:00+00:00"
    return draw(st.sampled_from(["p1", "tove", "x" * max(dtype.min_length or 1, 1)]))


@st.composite
def walks(draw: Any) -> Case:
    """A random walk: events the case allows (and sometimes not), data from the declared types, deadlines,
    case roles; refusals are recorded like everything else."""
    process = load(draw(st.sampled_from(["psht", "bti_adults", "bti_children", "oppfolgingsteam",
                                         "implementation_phases", "pdsa"])))
    clock = ManualClock(T0)
    roles = sorted({r.id for r in process.roles if r.scope != "case"})
    case = Case.open(process, "walk", actor=Actor("p0", {roles[0]}), clock=clock)
    case_roles = sorted(r.id for r in process.roles if r.scope == "case")
    by_event = {t.event: t for t in process.transitions}
    for _ in range(draw(st.integers(1, 25))):
        if case.closed:
            break
        move = draw(st.integers(0, 9))
        clock.advance(hours=draw(st.sampled_from([1, 30, 24 * 20])))
        if move == 0:
            case.tick()
            continue
        if move == 1 and case_roles:
            case.assign_role(draw(st.sampled_from(case_roles)), draw(st.sampled_from(["p1", "tove", None])),
                             actor=Actor("p0", {roles[0]}))
            continue
        people = [Actor(f"p-{r}", {r}) for r in roles] + [Actor(p) for p in set(case.roles.values())]
        actor = draw(st.sampled_from(people))
        options = case.allowed(actor) or list(case.compiled.table[case.leaf]) or ["nothing"]
        event = draw(st.sampled_from(options))
        t = by_event.get(event)
        data = None
        if t is not None:
            fields = scope_fields(process, t)
            data = {n: _value(d, draw) for n, d in fields.items() if n in t.requires or draw(st.booleans())}
        with contextlib.suppress(CaseError):  # refusals are recorded too
            case.fire(event, actor, data or None)
    return case


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(walks())
def test_random_walks_replay_green(case: Case) -> None:
    result = replay(case.process, case.history)
    assert result.ok, result.divergence and result.divergence.format()
    back = rebuilt(result, case.compiled)
    assert back is not None and back.snapshot == case.snapshot and back.head == case.head
    history = loads_history(dumps_jsonl(case.history), "walk.jsonl", "jsonl")
    assert replay(case.process, history).ok


def _mutate(value: Any, draw: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.sampled_from([1, -1, 7]))
    if isinstance(value, str):
        return draw(st.sampled_from([value + "x", value[:-1], "", "0" * 64, None]))
    if value is None:
        return draw(st.sampled_from(["x", 0, "0" * 64, {}]))
    if isinstance(value, list):
        return draw(st.sampled_from([[*value, "x"], value[:-1], "x"]))
    if isinstance(value, dict):
        if value and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(value)))
            return {**value, key: _mutate(value[key], draw)}
        return {**value, "extra": 1}
    return None


@PROPERTY
@given(walks(), st.data())
def test_any_single_field_change_is_found_at_its_entry(case: Case, data: st.DataObject) -> None:
    entries = [e.to_json() for e in case.history]
    index = data.draw(st.integers(0, len(entries) - 1))
    key = data.draw(st.sampled_from(JSON_FIELDS))
    before = entries[index][key]
    after = _mutate(before, data.draw)
    if after == before and type(after) is type(before):
        return
    entries[index][key] = after
    result = replay(case.process, entries)  # never raises
    assert not result.ok and result.divergence is not None
    assert result.divergence.index == index, (key, before, after, result.divergence.format())


def test_the_documented_example_replays() -> None:
    import re

    text = (DOCS / "history.md").read_text("utf-8")
    (example,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert example == HAND_WRITTEN
    assert replay(PSHT, loads_history(example, "history.md")).ok
