"""Coverage of recorded histories: counts, unused states and transitions, history formats, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.cli.main import main
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import HistoryFileError
from careflow.history import history_files
from careflow.runtime.compiled import compile
from careflow.testing import generate_paths, history_coverage, read_history
from careflow.testing.coverage import decision_exits
from tests.support import GP, NURSE


def short_psht_case() -> Case:
    """Referral, then ended early in triage: most of the process unused."""
    case = Case.open(load("psht"), "psht-short", clock=ManualClock())
    case.fire("record_consent", GP, {"consent_to_referral": True})
    case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    case.fire("end_early", NURSE, {"closing_reason": "patient moved"})
    return case


def test_one_short_case_leaves_most_of_the_process_unused() -> None:
    report = history_coverage(load("psht"), [short_psht_case().history])
    assert report.cases == 1
    assert report.states["referral"] == 1 and report.states["triage"] == 1 and report.states["ended_early"] == 1
    assert report.transitions["end_early@referral"] == 1  # the id names the first source
    assert "mapping" in report.unused_states and "accept_referral@triage" in report.unused_transitions
    assert report.state_percent == pytest.approx(100 * 3 / 14)
    assert report.transition_percent == pytest.approx(100 * 3 / 29)
    assert report.decisions["triage -> end_early@referral"] == 1


def test_generated_histories_cover_everything() -> None:
    result = generate_paths(load("bti_children"), "transitions")
    report = history_coverage(load("bti_children"), [p.case.history for p in result.paths])
    assert report.transition_percent == 100.0 and report.state_percent == 100.0
    assert not report.unused_transitions and not report.unused_states


def test_hand_written_entries_without_transition_ids() -> None:
    entries = [
        {"kind": "opened", "to": "referral"},
        {"kind": "fired", "event": "record_consent", "from": "referral", "to": "referral"},
        {"kind": "fired", "event": "submit_referral", "from": "referral", "to": "triage"},
        {"kind": "denied", "event": "accept_referral", "from": "triage", "to": "triage"},
        {"kind": "fired", "event": "decline_referral", "from": "triage", "to": "declined"},
    ]
    report = history_coverage(load("psht"), [entries])
    used = {t for t, n in report.transitions.items() if n}
    assert used == {"record_consent@referral", "submit_referral@referral", "decline_referral@triage"}
    assert report.states["declined"] == 1


def test_compound_states_count_when_a_leaf_inside_is_entered() -> None:
    result = generate_paths(load("bti_adults"), "states")
    report = history_coverage(load("bti_adults"), [p.case.history for p in result.paths])
    assert report.states["level_2"] >= 1 and report.states["l2_s1"] >= 1


def test_decision_states() -> None:
    exits = decision_exits(compile(load("psht")))
    assert "referral" in exits and "triage" in exits
    assert set(exits["transfer"]) == {"close_no_municipal_services@transfer", "close_with_municipal_services@transfer",
                                      "report_to_ke@transfer", "end_early@referral"}
    assert "mapping" in exits  # mapping_done and end_early


# -- history files ------------------------------------------------------------------------------------


def test_history_formats(tmp_path: Path) -> None:
    case = short_psht_case()
    entries = [e.to_json() for e in case.history]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    (tmp_path / "b.json").write_text(json.dumps(entries, indent=2))
    (tmp_path / "c.json").write_text(case.to_json(indent=2))
    (tmp_path / "d.yaml").write_text(
        "process: psht\ncase_id: hand-1\nentries:\n"
        "  - {kind: opened, actor: system, roles: [system], to: referral}\n"
        "  - {kind: fired, event: end_early, actor: nora, roles: [nurse], from: referral, to: ended_early,\n"
        "     data: {closing_reason: moved}}\n")
    histories = [read_history(f) for f in history_files([tmp_path])]
    assert [h.process_id() for h in histories] == ["psht"] * 4
    assert [h.named_case_id() for h in histories] == ["psht-short"] * 3 + ["hand-1"]
    assert [len(h.entries) for h in histories] == [4, 4, 4, 2]
    report = history_coverage(load("psht"), histories)
    assert report.cases == 4 and report.transitions["end_early@referral"] == 4


def test_unreadable_history_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "opened", "to": "referral"}\n{"kind": \n')
    with pytest.raises(HistoryFileError, match=r"bad.jsonl:2:"):
        read_history(bad)
    (tmp_path / "scalar.json").write_text("42")
    with pytest.raises(HistoryFileError, match=r"scalar\.json"):
        read_history(tmp_path / "scalar.json")


# -- the command --------------------------------------------------------------------------------------


def test_cli_coverage_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "short.jsonl").write_text("".join(json.dumps(e.to_json()) + "\n" for e in short_psht_case().history))
    assert main(["coverage", "psht", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "states: 3 of 14 used (21.4 %)" in text
    assert "transitions: 3 of 29 used (10.3 %)" in text
    assert "accept_referral@triage" in text and "never used" in text
    assert main(["coverage", "psht", str(tmp_path / "short.jsonl"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 1 and report["transitions"]["percent"] == 10.3
    assert "mapping" in report["states"]["unused"]
    assert main(["coverage", "psht", str(tmp_path), "--fail-under", "50"]) == 1
    assert "below 50 %" in capsys.readouterr().err


def test_cli_coverage_skips_other_processes_and_reports_errors(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"kind": "opened", "actor": "system", "roles": ["system"], "to": "x", "process_id": "bti_adults"}
    (tmp_path / "other.jsonl").write_text(json.dumps(entry))
    assert main(["coverage", "psht", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "0 case(s)" in captured.out
    assert main(["coverage", "psht", str(tmp_path / "missing")]) == 1
    assert "cannot read" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["coverage", "psht", str(empty)]) == 1
