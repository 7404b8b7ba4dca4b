"""A recurring deadline over 13 months of a manual clock, through a real store (SQLite, PostgreSQL): the
due index (``due_at`` column, ``overdue()``), ``store.tick`` and ``careflow due --fire``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.cli.main import main
from careflow.clock import ManualClock
from careflow.runtime.audit import AuditEntry
from careflow.runtime.compiled import Actor
from tests.support import TESTS, load_process

LEADER = Actor("liv", {"leader"})
FILE = TESTS / "processes" / "recurring.yaml"
FIRED = r"fired check_in_due as system -> follow_up \(occurrence (\d+)(?:, (\d+) missed)?\)"
START = datetime(2026, 1, 31, 9, tzinfo=UTC)
# the 13 monthly occurrences from 31 January, anchored on the entry
MONTH_ENDS = ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31",
              "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28"]


def test_thirteen_months_through_the_store(durable_url: str) -> None:
    process = load_process("recurring", str(FILE))
    clock = ManualClock(START)
    with open_store(durable_url, processes=[process], clock=clock) as store:
        store.create(Case.open(process, "r1", actor=LEADER, clock=clock))
        store.create(Case.open(process, "r2", actor=LEADER, clock=clock))
        store.fire("r2", "close", LEADER)
        fired: list[AuditEntry] = []
        for day in MONTH_ENDS:
            due = store.get("r1").due_at
            assert due is not None and due.date().isoformat() == day
            clock.set(datetime.fromisoformat(f"{day}T08:59:59+00:00"))
            assert store.overdue() == []  # a second early: nothing is due
            clock.set(datetime.fromisoformat(f"{day}T09:00:00+00:00"))
            assert [i.case_id for i in store.overdue()] == ["r1"]
            fired += store.tick("r1").entries
            assert store.tick("r1").entries == ()  # the same tick again fires nothing
            assert store.overdue() == []
        assert [e.ref["occurrence"] for e in fired if e.ref] == list(range(1, 14))
        case = store.load("r1")
        assert sum(1 for e in case.history if e.kind == "deadline") == 13
        assert all(check.ok for check in store.verify_cases("r1"))


def test_thirteen_months_through_careflow_due_fire(durable_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    process = load_process("recurring", str(FILE))
    clock = ManualClock(START)
    with open_store(durable_url, processes=[process], clock=clock) as store:
        store.create(Case.open(process, "r1", actor=LEADER, clock=clock))
    occurrences = []
    # monthly runs on the 15th, with a three-month outage (no run in May, June, July)
    runs = [f"{y}-{m:02d}-15" for y, m in [(2026, 2), (2026, 3), (2026, 4), (2026, 8), (2026, 9), (2026, 10),
                                            (2026, 11), (2026, 12), (2027, 1), (2027, 2), (2027, 3)]]
    for at in runs:
        for _ in range(2):  # each run twice: the second finds nothing due
            assert main(["due", "--store", durable_url, "--process", str(FILE), "--at", at, "--fire"]) == 0
            out = capsys.readouterr().out
            occurrences += [(int(k), int(m or 0)) for k, m in re.findall(FIRED, out)]
    # Feb 15: nothing yet (Feb 28 ahead); Aug 15: one entry for Apr 30, May 31, Jun 30 and Jul 31
    assert occurrences == [(1, 0), (2, 0), (6, 3), (7, 0), (8, 0), (9, 0), (10, 0), (11, 0), (12, 0), (13, 0)]
    assert sum(missed + 1 for _, missed in occurrences) == 13
    assert main(["due", "--store", durable_url, "--process", str(FILE), "--at", "2027-03-30"]) == 0
    assert "0 case(s) due" in capsys.readouterr().out
    assert main(["case", "show", "r1", "--store", durable_url, "--process", str(FILE),
                 "--purpose", "follow-up of the check-ins"]) == 0
    assert "deadline 2027-03-31" in capsys.readouterr().out
