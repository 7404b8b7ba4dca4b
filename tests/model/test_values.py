"""careflow.model.values: one check of a JSON value against a declared DataType, in words an author knows."""

from __future__ import annotations

from typing import Any

import pytest

from careflow.model.datatypes import DataType
from careflow.model.values import describe, value_problem

WHOLE = DataType("integer", minimum=0, maximum=10)
DATE = DataType("string", format="date")
WORDS = DataType("array", items=DataType("string", max_length=3), max_items=2)


@pytest.mark.parametrize(("dtype", "value"), [
    (WHOLE, 0), (WHOLE, 10), (DATE, "2026-11-22"), (WORDS, ["a", "abc"]), (WORDS, ()),
    (DataType("boolean", nullable=True), None), (DataType("string", enum=("a", "b")), "b"),
])
def test_values_that_fit(dtype: DataType, value: Any) -> None:
    assert value_problem(dtype, value) is None


@pytest.mark.parametrize(("dtype", "value", "problem"), [
    (WHOLE, True, "must be a whole number, not true"),
    (WHOLE, 11, "must be at most 10, not 11"),
    (WHOLE, None, "must be a whole number, not null"),
    (DATE, "22.11.2026", "must be an ISO-8601 date such as 2026-11-22, not \"22.11.2026\""),
    (WORDS, ["a", "b", "c"], "must have at most 2 item(s)"),
    (WORDS, ["abcd"], "must be at most 3 characters long at item 1"),
    (DataType("number"), float("nan"), "must be a number, not NaN"),
])
def test_values_that_do_not_fit_are_told_in_words(dtype: DataType, value: Any, problem: str) -> None:
    assert value_problem(dtype, value) == problem


def test_where_names_the_place() -> None:
    assert value_problem(WHOLE, -1, "data.age") == "must be at least 0 at data.age, not -1"


def test_describe() -> None:
    assert describe(WORDS) == "a list of text"
    assert describe(DataType("integer", nullable=True)) == "a whole number or null"
    assert describe(DATE) == "a date (2026-11-22)"
    assert describe(DataType("string", enum=("a", "b"))) == 'one of "a", "b"'
