"""The pytest plugin, tested with pytest's own ``pytester``; the assertion helpers on their own."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import RoleDenied
from careflow.model.definition import ProcessDefinition
from careflow.testing import assert_denied, assert_reaches, assert_replays
from tests.support import GP, HISTORIES, NURSE, SECRETARY, process_text

pytest_plugins = ["pytester"]

RECORDED = sorted(p for p in HISTORIES.rglob("*") if p.is_file())
PSHT_JSONL = sorted((HISTORIES / "psht").glob("*.jsonl"))  # the recorded JSON Lines the plugin tests copy


def plugin_args() -> list[str]:
    """Load the plugin by hand unless the installed entry point already does."""
    installed = any(ep.value == "careflow.testing.plugin" for ep in metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "careflow.testing.plugin"]


@pytest.mark.parametrize("history", RECORDED, ids=[str(p.relative_to(HISTORIES)) for p in RECORDED])
def test_recorded_histories_replay(history: Path) -> None:
    assert_replays(history.parent.name, history)


# -- collection: one test per history file ---------------------------------------------------------------


def tamper(source: Path, target: Path, index: int) -> None:
    lines = source.read_text("utf-8").splitlines()
    entry = json.loads(lines[index])
    entry["actor"] = "someone-else"  # edited after sealing: the hash no longer matches
    lines[index] = json.dumps(entry)
    target.write_text("\n".join(lines) + "\n", "utf-8")


def test_each_history_file_becomes_a_named_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncareflow_histories = histories\n")
    folder = pytester.path / "histories" / "psht"
    folder.mkdir(parents=True)
    first, second = PSHT_JSONL[0], PSHT_JSONL[1]
    shutil.copy(first, folder / first.name)
    shutil.copy(second, folder / second.name)
    tamper(second, folder / "broken.jsonl", 3)
    (pytester.path / "histories" / "notes.txt").write_text("not a history")
    result = pytester.runpytest(*plugin_args(), "-v")
    result.assert_outcomes(passed=2, failed=1)
    case_id = json.loads(first.read_text().splitlines()[0])["case_id"]
    result.stdout.fnmatch_lines([
        f"*histories/psht/{first.name}::{case_id} PASSED*",
        "*broken.jsonl::* FAILED*",
        "*does not replay on psht@1.0*",
        "*entry 3*",
    ])
    assert "careflow histories:" in result.stdout.str()


def test_histories_from_the_command_line_and_unreadable_files(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "recorded"
    folder.mkdir()
    shutil.copy(PSHT_JSONL[0], folder / "good.jsonl")
    (folder / "garbled.jsonl").write_text('{"kind": "opened"\n{"x": 1}\n')
    (folder / "anonymous.json").write_text(json.dumps([{"kind": "opened", "actor": "system", "roles": ["system"],
                                                         "to": "referral"}]))
    result = pytester.runpytest(*plugin_args(), "--careflow-histories", "recorded", "-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*cannot read the history:*", "*garbled.jsonl:1:*"])
    result.stdout.fnmatch_lines(["*anonymous.json: no process*"])


def test_the_directory_names_the_process(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncareflow_histories = histories\n")
    folder = pytester.path / "histories" / "psht"
    folder.mkdir(parents=True)
    (folder / "declined.yaml").write_text(
        "case_id: hand-written-1\n"
        "entries:\n"
        "  - {kind: opened, actor: system, roles: [system], to: referral}\n"
        "  - {kind: fired, event: end_early, actor: nora, roles: [nurse], from: referral, to: ended_early,\n"
        "     data: {closing_reason: moved away}}\n")
    result = pytester.runpytest(*plugin_args(), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*declined.yaml::hand-written-1 PASSED*"])


# -- fixtures ---------------------------------------------------------------------------------------


FIXTURE_TESTS = """
import pytest
from careflow import Actor
from careflow.testing import assert_denied, assert_reaches

GP = Actor("dr-gran", {"referrer"})
REFERRAL = {"referrer_kind": "gp", "referral_channel": "dips"}


@pytest.mark.careflow_process("psht")
def test_marker(careflow_process, case_factory, manual_clock):
    case = case_factory(case_id="c-1")
    assert careflow_process.id == "psht" and case.case_id == "c-1" and case.clock is manual_clock
    assert_denied(case, "submit_referral", GP, "guard-failed", data=REFERRAL)
    case.fire("record_consent", GP, {"consent_to_referral": True})
    case.fire("submit_referral", GP, REFERRAL)
    assert_reaches(case, "triage")
    manual_clock.advance(days=4)
    case.tick()
    assert case.history[-1].kind == "deadline"


@pytest.mark.parametrize("careflow_process", ["psht", "processes/small.yaml"], indirect=True)
def test_indirect(careflow_process, case_factory):
    assert case_factory().process_id == careflow_process.id


def test_explicit_process(case_factory):
    assert_reaches(case_factory("psht"), "closed_reported_to_ke")


def test_no_process(careflow_process):
    pass
"""

SMALL = process_text("small")


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_flow=FIXTURE_TESTS)
    (pytester.path / "processes").mkdir()
    (pytester.path / "processes" / "small.yaml").write_text(SMALL)
    result = pytester.runpytest(*plugin_args(), "-v")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*careflow_process: name the process with @pytest.mark.careflow_process*",
        "*case psht-test-1 is in 'referral', not in 'closed_reported_to_ke'*",
    ])


def test_ini_option_names_the_default_process(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncareflow_process = bti_children\n")
    pytester.makepyfile("def test_default(careflow_process):\n    assert careflow_process.id == 'bti_children'\n")
    pytester.runpytest(*plugin_args()).assert_outcomes(passed=1)


# -- the assertion helpers directly ----------------------------------------------------------------------


@pytest.fixture
def psht_case(psht: ProcessDefinition) -> Case:
    return Case.open(psht, "p-1", clock=ManualClock())


def test_assert_denied_reasons(psht_case: Case) -> None:
    explanation = assert_denied(psht_case, "accept_referral", NURSE, "event-not-allowed")
    assert explanation.code == "event-not-allowed"
    psht_case.fire("record_consent", GP, {"consent_to_referral": True})
    assert_denied(psht_case, "submit_referral", NURSE, RoleDenied)
    assert_denied(psht_case, "submit_referral", NURSE, "needs one of the roles")
    assert_denied(psht_case, "submit_referral", GP, "missing-data")
    assert len(psht_case.history) == 2  # explain logs nothing
    with pytest.raises(AssertionError, match="for role-denied, not guard-failed"):
        assert_denied(psht_case, "submit_referral", NURSE, "guard-failed")
    with pytest.raises(AssertionError, match="is possible in 'referral'"):
        assert_denied(psht_case, "end_early", NURSE, data={"closing_reason": "moved"})
    assert_denied(psht_case, "submit_referral", SECRETARY, "missing-data", fire=True)
    assert psht_case.history[-1].kind == "denied" and psht_case.history[-1].code == "missing-data"


def test_assert_reaches(psht_case: Case) -> None:
    assert_reaches(psht_case, "referral")
    psht_case.fire("record_consent", GP, {"consent_to_referral": True})
    with pytest.raises(Exception):  # noqa: B017 - refused: logged, and shown by assert_reaches below
        psht_case.fire("accept_referral", NURSE)
    with pytest.raises(AssertionError, match="refused on the way: accept_referral by nora"):
        assert_reaches(psht_case, "triage")
    bti = Case.open(load("bti_children"), "b-1", clock=ManualClock())
    assert_reaches(bti, "level_0")  # a compound state the case is inside
    assert_reaches(bti, "level_0.l0_s1")
