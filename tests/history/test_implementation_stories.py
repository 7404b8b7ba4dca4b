"""The implementation_phases stories in tests/histories/implementation_phases/ replay on the bundled
process, and their audit logs read as the stories: the clock's monthly check-ins, a summer without a
runner, the LOCI year's end, and a series restarted after staff turnover."""

from __future__ import annotations

from pathlib import Path

import pytest

from careflow.definitions.loader import load
from careflow.history.replay import ReplayResult, replay
from tests.support import HISTORIES

STORIES = HISTORIES / "implementation_phases"


def replayed(name: str) -> ReplayResult:
    result = replay(load("implementation_phases"), STORIES / name)
    assert result.ok, result.divergence
    return result


def deadlines(result: ReplayResult, event: str) -> list[tuple[str, int, int]]:
    out = []
    for e in result.entries:
        if e.kind == "deadline" and e.event == event and e.ref is not None:
            out.append((e.time.date().isoformat(), e.ref["occurrence"], e.ref["missed"]))
    return out


@pytest.mark.parametrize("path", sorted(STORIES.iterdir()), ids=lambda p: p.name)
def test_every_story_replays(path: Path) -> None:
    assert replay(load("implementation_phases"), path).ok


def test_the_dps_clinic_through_its_loci_year() -> None:
    result = replayed("dps-ptsd-loci-year.yaml")
    assert result.snapshot is not None and result.snapshot.leaf == "sustainment"
    check_ins = deadlines(result, "senior_leader_check_in_due")
    follow_ups = deadlines(result, "loci_follow_up_due")
    # the summer without a runner: one entry on 3 August stands for June's, July's and August's occurrences
    assert ("2026-08-03", 5, 2) in check_ins and ("2026-08-03", 5, 2) in follow_ups
    # every occurrence of the year is accounted for, none twice
    assert sum(missed + 1 for _, _, missed in check_ins) == 12
    assert [k for _, k, _ in follow_ups] == sorted({k for _, k, _ in follow_ups})
    assert follow_ups[-1][1] == 12  # the LOCI year ends after its twelfth follow-up
    assert result.snapshot.timers == ()  # in sustainment nothing more is due


def test_the_family_unit_restarts_its_check_ins_after_staff_turnover() -> None:
    result = replayed("family-unit-turnover.yaml")
    check_ins = deadlines(result, "senior_leader_check_in_due")
    assert check_ins == [("2026-06-29", 1, 0), ("2026-07-30", 2, 0), ("2026-11-30", 1, 0), ("2026-12-31", 2, 0),
                         ("2027-01-31", 3, 0), ("2027-02-28", 4, 0)]
    assert result.snapshot is not None
    (timer,) = result.snapshot.timers
    assert timer.due_at.date().isoformat() == "2027-03-31" and timer.occurrence == 4
