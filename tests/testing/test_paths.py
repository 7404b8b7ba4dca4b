"""Generated paths: every bundled process is covered, every history is real and replays green."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest

from careflow.cli.main import main
from careflow.definitions.loader import bundled_processes, load, loads
from careflow.history import read_history
from careflow.model.definition import ProcessDefinition
from careflow.testing import assert_replays, generate_paths
from careflow.testing.paths import PathSet
from tests.support import process_text

BUNDLED = sorted(bundled_processes())


@functools.cache
def covering(process_id: str, cover: str = "transitions") -> PathSet:
    """One generation per process and kind for the whole session (mutation tests reuse it)."""
    return generate_paths(load(process_id), cover)


@pytest.mark.parametrize("process_id", BUNDLED)
def test_transitions_are_covered_or_explained(process_id: str) -> None:
    result = covering(process_id)
    assert result.items == tuple(t.id for t in load(process_id).transitions)
    for missing in result.uncovered:
        assert missing.reason, missing
    # the bundled processes have no truly uncoverable transition
    assert result.percent == 100.0, result.report()
    assert len(result.paths) <= len(result.items) // 2, "the set cover should keep few histories"


@pytest.mark.parametrize("process_id", BUNDLED)
@pytest.mark.parametrize("cover", ["states", "decisions"])
def test_states_and_decisions_are_covered(process_id: str, cover: str) -> None:
    result = covering(process_id, cover)
    assert result.percent == 100.0, result.report()


@pytest.mark.parametrize("process_id", BUNDLED)
@pytest.mark.parametrize("cover", ["transitions", "states", "decisions"])
def test_every_generated_history_is_complete_and_replays(process_id: str, cover: str, tmp_path: Path) -> None:
    result = covering(process_id, cover)
    files = result.write(tmp_path)
    assert len(files) == len(result.paths)
    for path, file in zip(result.paths, files, strict=True):
        case = path.case
        assert case.closed, f"{path.name} ends in {case.state}, not a final state"
        assert case.verify_chain().ok
        history = read_history(file)
        assert history.process_id() == process_id and history.named_case_id() == path.name
        assert [e["seq"] for e in history.records()] == list(range(len(case.history)))
        assert_replays(process_id, file)


def test_deadlines_are_covered_by_tick() -> None:
    result = covering("psht")
    assert set(result.by_tick) == {"triage_overdue@triage", "meeting_overdue@meet_patient"}
    ticked = [e for p in result.paths for e in p.case.history if e.kind == "deadline"]
    assert {e.event for e in ticked} == {"triage_overdue", "meeting_overdue"}
    for entry in ticked:
        assert entry.actor == "system" and entry.ref is not None
        assert entry.time.isoformat() > entry.ref["due_at"]  # the clock was moved past the deadline


def test_generated_data_satisfies_guards_across_states() -> None:
    # exit (b) of psht needs needs_municipal_services == true and needs_coordinator == false, chosen two
    # states earlier: the search has to go back and choose that data at decide_further_follow_up
    result = covering("psht")
    path = next(p for p in result.paths if "close_with_municipal_services@transfer" in p.covers)
    decided = next(e for e in path.case.history if e.event == "decide_further_follow_up")
    assert dict(decided.data) == {"needs_municipal_services": True, "needs_coordinator": False}


def test_case_roles_are_assigned_by_the_path() -> None:
    result = covering("bti_children")
    assert any("stafettholder" in e.roles for p in result.paths for e in p.case.history)
    for path in result.paths:
        holders = {e.ref["person"] for e in path.case.history if e.kind == "assigned" and e.ref is not None}
        assigned = {e.data.get("stafettholder_id") for e in path.case.history if e.kind == "fired"} - {None}
        acting = [e for e in path.case.history if e.kind == "fired" and "stafettholder" in e.roles]
        for entry in acting:  # whoever acts as stafettholder was made one on this path
            assert entry.actor in holders | assigned


ODD = process_text("odd")


def test_uncoverable_transitions_are_listed_with_a_reason() -> None:
    result = generate_paths(loads(ODD, "odd.yaml"), "transitions")
    reasons = {u.item: u.reason for u in result.uncovered}
    assert set(reasons) == {"impossible@start", "leave@island"}
    assert "guard of 'impossible@start' stayed false" in reasons["impossible@start"]
    assert "score > 100" in reasons["impossible@start"]
    assert "cannot be reached from the initial state" in reasons["leave@island"]
    assert result.by_tick == ("late@start",)
    # the case role 'owner' is given by Case.assign_role; data for 'go' is found through 'rate'
    history = result.paths[0].case.history
    assert [e.kind for e in history].count("assigned") == 1
    assert next(e for e in history if e.event == "finish").data == {"note": "b"}
    assert "not covered" in result.report() and "impossible@start" in result.report()


def test_max_length_limits_the_planned_moves(psht: ProcessDefinition) -> None:
    result = generate_paths(psht, "states", max_length=3)
    assert result.uncovered
    assert all("--max-length 3" in u.reason for u in result.uncovered if u.item == "closed_reported_to_ke")


def test_unknown_cover_kind(psht: ProcessDefinition) -> None:
    with pytest.raises(ValueError, match="cover must be one of"):
        generate_paths(psht, "edges")


def test_generation_and_replay_of_all_bundled_processes_is_quick(tmp_path: Path) -> None:
    start = time.perf_counter()
    for pid in BUNDLED:
        result = generate_paths(load(pid), "transitions")
        for file in result.write(tmp_path / pid):
            assert_replays(pid, file)
    assert time.perf_counter() - start < 20


# -- the command ------------------------------------------------------------------------------------


def test_cli_paths_writes_histories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "psht", "--cover", "transitions", "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "cover 29 of 29 transitions (100.0 %)" in text and "covered by tick" in text
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) == len(covering("psht").paths)
    assert all(json.loads(line)["process_id"] == "psht" for line in files[0].read_text().splitlines())


def test_cli_paths_json_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text(ODD)
    assert main(["paths", str(odd), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["covered"] == 4 and report["items"] == 6
    assert {u["item"] for u in report["uncovered"]} == {"impossible@start", "leave@island"}
    assert main(["paths", str(odd), "--strict", "--cover", "decisions"]) == 1
    capsys.readouterr()
    assert main(["paths", "psht", "--max-length", "0"]) == 2
    assert main(["paths", "no_such_process"]) == 1
