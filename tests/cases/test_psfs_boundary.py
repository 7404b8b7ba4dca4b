"""The PSFS rule of bti_adults at its own boundary (seed 003: "a difference of 2 points or more from the
previous conversation indicates significant improvement"), run through a real case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.expressions import Scope, compile_guard
from careflow.definitions.loader import load
from careflow.errors import GuardFailed
from careflow.model.datatypes import DataType
from careflow.runtime.compiled import Actor

T0 = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)
EMPLOYEE = Actor("eli", {"employee"})
CONTACT = Actor("kari")


def _at_evaluation(before: list[int], after: list[int]) -> Case:
    """A bti_adults case at level 1 step 5 (conclude the evaluation) with two PSFS conversations."""
    clock = ManualClock(T0)
    case = Case.open(load("bti_adults"), "psfs-1", actor=EMPLOYEE, clock=clock)
    case.fire("record_observation", EMPLOYEE, {"observation": "stays in bed most of the day"})
    case.fire("share_observation", EMPLOYEE)
    case.fire("share_concern_with_person", EMPLOYEE)
    case.fire("start_service_measures", EMPLOYEE)
    case.fire("define_contact_person", EMPLOYEE, {"contact_person_id": "kari"})
    activities = ["dress", "shop", "walk to the bus", "cook", "read the paper"]
    case.fire("record_psfs_conversation", CONTACT, {"psfs_scores": before, "psfs_activities": activities})
    case.fire("agree_goals_and_measures", CONTACT, {"evaluation_date": "2026-11-01"})
    clock.advance(days=56)
    case.fire("record_psfs_conversation", CONTACT, {"psfs_scores": after})
    case.fire("evaluate", CONTACT)
    case.fire("conclude_evaluation", CONTACT)
    return case


def test_mean_3_6_to_5_6_allows_closing() -> None:
    case = _at_evaluation([4, 4, 4, 3, 3], [6, 6, 6, 5, 5])  # 18/5 = 3.6 -> 28/5 = 5.6: exactly 2
    assert "close_goal_reached" in case.allowed(CONTACT)
    case.fire("close_goal_reached", CONTACT)
    assert case.state == "closed" and case.data["psfs_conversations"] == ((4, 4, 4, 3, 3), (6, 6, 6, 5, 5))


def test_mean_3_8_to_5_6_does_not_close_and_explain_says_1_8() -> None:
    # scores are whole numbers 0-10 for up to five activities: 3.7 is no mean of them; 3.8 is the next one
    case = _at_evaluation([4, 4, 4, 4, 3], [6, 6, 6, 5, 5])
    assert "close_goal_reached" not in case.allowed(CONTACT)
    with pytest.raises(GuardFailed) as refused:
        case.fire("close_goal_reached", CONTACT)
    assert "mean(psfs_conversations[-1]) - mean(psfs_conversations[-2]) = 1.8" in refused.value.reasons[0]


@pytest.mark.parametrize(("before", "closes"), [(3.6, True), (3.7, False), (3.59, True), (3.61, False)])
def test_the_bti_adults_guard_on_decimal_means(before: float, closes: bool) -> None:
    """The same guard text, over decimal scores (as a variant with half points would have them)."""
    close = next(t for t in load("bti_adults").transitions if t.event == "close_goal_reached")
    assert close.when is not None
    numbers = DataType("array", items=DataType("array", items=DataType("number")))
    scope = Scope(data={"psfs_conversations": numbers,
                        "psfs_direction": DataType("string", enum=("higher_is_better", "lower_is_better"))})
    guard, problems = compile_guard(close.when.source, scope)
    assert guard is not None, problems
    data = {"psfs_conversations": [[before], [5.6]], "psfs_direction": "higher_is_better"}
    assert guard(data, {}, T0) is closes
