"""The bundled ``pdsa`` process: it validates strictly, renders, every transition is covered by
``careflow paths``, and its stories under tests/histories/pdsa/ replay and read as their story."""

from __future__ import annotations

from pathlib import Path

import pytest

from careflow.cli.main import main
from careflow.definitions.loader import bundled_processes, load, validate
from careflow.history.reader import read_history
from careflow.history.replay import replay
from careflow.render import render_bytes
from tests.support import HISTORIES

STORIES = sorted((HISTORIES / "pdsa").glob("*.yaml"))


def test_pdsa_is_bundled_and_strictly_valid() -> None:
    assert "pdsa" in bundled_processes()
    result = validate("pdsa")
    assert result.ok(strict=True), [d.format() for d in result.diagnostics]
    process = load("pdsa")
    assert set(process.languages) == {"nb", "nn", "en"}
    assert [s.id for s in process.states if s.step] == ["q_aim", "q_measure", "q_changes", "plan", "do", "study",
                                                          "act"]


@pytest.mark.parametrize("fmt", ["mermaid", "markdown", "dot"])
def test_pdsa_renders(fmt: str) -> None:
    text = render_bytes(load("pdsa"), fmt, lang="nn").decode()
    assert "Planleggje" in text and "forbetringsarbeidet" in text  # nynorsk labels, wrapped as each format wraps


def test_careflow_paths_covers_every_transition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "pdsa", "--strict"]) == 0
    assert "cover 12 of 12 transitions (100.0 %)" in capsys.readouterr().out


def test_there_are_at_least_two_stories() -> None:
    assert len(STORIES) >= 2


@pytest.mark.parametrize("story", STORIES, ids=[s.stem for s in STORIES])
def test_each_story_replays(story: Path) -> None:
    result = replay("pdsa", story)
    assert result.ok, result.divergence


def test_the_adopted_story_reads_as_its_story() -> None:
    result = replay("pdsa", HISTORIES / "pdsa" / "medication-reconciliation-adopted.yaml")
    assert result.ok and result.snapshot is not None
    log = result.entries
    fired = [e for e in log if e.kind == "fired"]
    # two cycles: a checklist (57.6 %, below the 90 % target), then the pharmacist calling the GP (exactly 90 %)
    assert [dict(e.ref or {}).get("computed") for e in fired if e.event == "study_results"] == [
        {"cycle_mean": 57.6, "target_reached": False}, {"cycle_mean": 90, "target_reached": True}]
    denied = [e for e in log if e.kind == "denied"]
    assert [(e.event, e.code, e.actor) for e in denied] == [("adopt_change", "guard-failed", "hilde")]
    assert fired[-1].event == "adopt_change" and "owner" in fired[-1].roles
    assert result.snapshot.data["cycle"] == 2 and result.snapshot.leaf == "adopted"


def test_the_abandoned_story_reads_as_its_story() -> None:
    history = read_history(HISTORIES / "pdsa" / "home-visit-after-discharge-abandoned.yaml")
    result = replay("pdsa", history)
    assert result.ok and result.snapshot is not None
    events = [e.event for e in result.entries if e.kind == "fired"]
    assert events.count("plan_change") == 2 and "try_another_idea" in events and events[-1] == "abandon_change"
    data = result.snapshot.data
    assert data["higher_is_better"] is False and data["target_reached"] is False
    assert data["measurements"] == ((30, 28, 35), (26, 25, 27.5))
