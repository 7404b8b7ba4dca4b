"""Recurring deadlines (``every``): month ends anchored on the entry, one firing per tick, outages,
``until``/``count``, re-entry, replay, the snapshot's JSON form, and a property over random tick times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import CALENDAR_END, ManualClock
from careflow.definitions.loader import load
from careflow.history.replay import replay
from careflow.model.definition import ProcessDefinition, Recurrence
from careflow.model.durations import Duration
from careflow.runtime.compiled import Actor
from careflow.runtime.recurrence import occurrence
from careflow.runtime.snapshots import snapshot_from_json
from tests.support import load_process

LEADER = Actor("liv", {"leader"})
P: ProcessDefinition = load_process("recurring")
JAN31 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def opened(at: datetime = JAN31) -> tuple[Case, ManualClock]:
    clock = ManualClock(at)
    return Case.open(P, "c1", actor=LEADER, clock=clock), clock


def refs(case: Case, event: str = "check_in_due") -> list[dict[str, Any]]:
    return [dict(e.ref or {}) for e in case.history if e.kind == "deadline" and e.event == event]


def test_month_ends_are_anchored_on_the_entry_and_do_not_drift() -> None:
    case, clock = opened()
    seen = []
    for _ in range(13):
        assert case.due_at is not None
        seen.append(case.due_at.date().isoformat())
        clock.set(case.due_at)
        case.tick()
    assert seen == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
                    "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31",
                    "2027-02-28"]
    assert [r["occurrence"] for r in refs(case)] == list(range(1, 14))
    assert all(r["missed"] == 0 for r in refs(case))


def test_a_leap_february_is_the_29th() -> None:
    rec = Recurrence(Duration.parse("P1M"), "e")  # type: ignore[arg-type]
    anchor = datetime(2028, 1, 31, tzinfo=UTC)
    assert [occurrence(anchor, rec, k).day for k in (1, 2, 3)] == [29, 31, 30]


def test_the_same_tick_twice_fires_once() -> None:
    case, clock = opened()
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    first = case.tick()
    again = case.tick()
    assert first.stop - first.start == 1 and again.stop == again.start
    assert [e.kind for e in case.history] == ["opened", "deadline"]


def test_an_outage_fires_once_standing_for_every_occurrence_missed() -> None:
    case, clock = opened()
    clock.set(datetime(2026, 5, 15, tzinfo=UTC))  # the runner was down: Feb 28, Mar 31 and Apr 30 passed
    case.tick()
    (ref,) = refs(case)
    assert ref == {"state": "follow_up", "due_at": "2026-04-30T09:00:00+00:00", "occurrence": 3, "missed": 2}
    assert case.due_at == datetime(2026, 5, 31, 9, tzinfo=UTC)  # still anchored on Jan 31


def test_a_century_long_outage_is_one_entry() -> None:
    case, clock = opened()
    clock.set(datetime(2126, 1, 1, tzinfo=UTC))
    case.tick()
    (ref,) = refs(case)
    assert ref["occurrence"] == 1199 and ref["missed"] == 1198


def test_until_ends_the_series_and_due_runs_beside_it() -> None:
    case, clock = opened(datetime(2026, 1, 1, tzinfo=UTC))
    case.fire("start_programme", LEADER)
    clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    case.tick()
    assert [r["occurrence"] for r in refs(case, "programme_follow_up_due")] == [12]
    # several passed deadlines fire in the order of their earliest pending time: Feb 1 before Jul 1
    assert [e.event for e in case.history if e.kind == "deadline"] == ["programme_follow_up_due", "halfway"]
    assert case.due_at is None


def test_count_ends_the_series() -> None:
    case, clock = opened(datetime(2026, 1, 1, tzinfo=UTC))
    case.fire("start_weeks", LEADER)
    for _ in range(20):
        clock.advance(days=7)
        case.tick()
    assert [r["occurrence"] for r in refs(case, "weekly_due")] == list(range(1, 13))
    assert case.due_at is None


def test_internal_transitions_keep_the_series_and_re_entry_restarts_it() -> None:
    case, clock = opened()
    clock.set(datetime(2026, 2, 10, tzinfo=UTC))
    case.fire("note", LEADER)
    assert case.due_at == datetime(2026, 2, 28, 9, tzinfo=UTC)
    case.fire("restart", LEADER)
    assert case.due_at == datetime(2026, 3, 10, tzinfo=UTC)
    case.fire("start_programme", LEADER)
    case.fire("back", LEADER)
    assert case.due_at == datetime(2026, 3, 10, tzinfo=UTC)


def test_leaving_the_state_ends_the_series() -> None:
    case, clock = opened()
    case.fire("close", LEADER)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert case.due_at is None and case.tick().stop == case.tick().start


def test_the_calendar_end_ends_the_series() -> None:
    case, clock = opened(datetime(9999, 10, 15, tzinfo=UTC))
    clock.set(CALENDAR_END)
    case.tick()
    assert [r["occurrence"] for r in refs(case)] == [2]  # Nov 15, Dec 15; Jan 15 of 10000 does not exist
    assert case.due_at is None


def test_a_case_with_recurring_deadlines_replays_and_round_trips() -> None:
    case, clock = opened()
    for day in (40, 100, 101, 300):
        clock.set(JAN31 + timedelta(days=day))
        case.tick()
        case.fire("note", LEADER)
    result = replay(P, case)
    assert result.ok, result.divergence
    assert result.snapshot == case.snapshot
    again = Case.from_json(P, case.to_json(), clock=clock)
    assert again.snapshot == case.snapshot and again.due_at == case.due_at


def test_snapshots_without_every_keep_their_old_form_and_old_timers_load() -> None:
    p = load("psht")
    case = Case.open(p, "p1", actor=Actor("ann", {"nurse"}), clock=ManualClock(JAN31))
    case.fire("record_consent", Actor("ann", {"nurse"}), {"consent_to_referral": True})
    case.fire("submit_referral", Actor("rita", {"referrer"}), {"referrer_kind": "gp", "referral_channel": "dips"})
    timers = json.loads(case.to_json())["timers"]
    assert timers and all(len(t) == 4 for t in timers)
    old = {"case_id": "x", "leaf": "triage", "data": {}, "ticks": [], "roles": {}, "seq": 0, "links": [],
           "timers": [["triage", "2026-02-03T09:00:00+00:00", "triage_overdue", False]]}
    assert snapshot_from_json(old).timers[0].anchor is None
    recurring, _ = opened()
    (timer,) = json.loads(recurring.to_json())["timers"]
    assert timer == ["follow_up", "2026-02-28T09:00:00+00:00", "check_in_due", False, "2026-01-31T09:00:00+00:00", 0]


def _expected(start: datetime, until: datetime) -> int:
    rec = Recurrence(Duration.parse("P1M"), "e")  # type: ignore[arg-type]
    k = 0
    while occurrence(start, rec, k + 1) <= until:
        k += 1
    return k


@settings(max_examples=60, deadline=None)
@given(start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       steps=st.lists(st.integers(0, 24 * 120), min_size=1, max_size=25),
       repeat=st.lists(st.booleans(), min_size=25, max_size=25))
def test_random_ticks_never_fire_an_occurrence_twice_nor_miss_one(start: datetime, steps: list[int],
                                                                 repeat: list[bool]) -> None:
    case, clock = opened(start)
    for hours, twice in zip(steps, repeat, strict=False):
        clock.advance(hours=hours)
        case.tick()
        if twice:
            case.tick()
    fired = refs(case)
    numbers = [r["occurrence"] for r in fired]
    assert numbers == sorted(set(numbers))  # each occurrence once, in order
    assert sum(r["missed"] + 1 for r in fired) == (numbers[-1] if numbers else 0)  # none lost in between
    assert (numbers[-1] if numbers else 0) == _expected(start, clock.now())  # every passed occurrence counted
    assert case.due_at is not None and case.due_at > clock.now()
