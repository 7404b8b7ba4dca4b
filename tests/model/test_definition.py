"""The frozen model's small values: durations, texts in several languages, frozen JSON values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careflow.model.durations import Duration
from careflow.model.frozen import FrozenMap, freeze, thaw
from careflow.model.text import Text


@pytest.mark.parametrize(("text", "years", "months", "days", "seconds", "short"), [
    ("P14D", 0, 0, 14, 0, "14 d"),
    ("P1M2W", 0, 1, 14, 0, "1 mo 14 d"),
    ("P1Y", 1, 0, 0, 0, "1 y"),
    ("PT3H30M", 0, 0, 0, 12600, "3 h 30 min"),
    ("P0D", 0, 0, 0, 0, "0 d"),
])
def test_duration_parse_and_short(text: str, years: int, months: int, days: int, seconds: int, short: str) -> None:
    duration = Duration.parse(text)
    assert duration is not None
    assert (duration.text, duration.years, duration.months, duration.days, duration.seconds) == (
        text, years, months, days, seconds)
    assert duration.short() == short


@pytest.mark.parametrize("text", ["", "P", "PT", "14D", "P1.5D", "p14d", "P14DT", "7d"])
def test_duration_refuses_what_it_does_not_support(text: str) -> None:
    assert Duration.parse(text) is None


def test_duration_fixed_part_leaves_calendar_units_out() -> None:
    duration = Duration.parse("P1M1DT2H")
    assert duration is not None and duration.fixed == timedelta(days=1, hours=2)


def test_text_falls_back_to_the_default_language_then_to_any() -> None:
    text = Text.of({"nb": "Inntak", "en": "Intake"}, default_language="nb")
    assert (text.get("en"), text.get("nn"), text.get()) == ("Intake", "Inntak", "Inntak")
    assert Text.of({"en": "Intake"}).get("nb") == "Intake"
    assert text.languages == ("en", "nb") and text.has("en") and not text.has("nn")
    assert not Text() and Text().get("en") == ""


def test_freeze_makes_hashable_immutable_values_and_thaw_fresh_mutable_copies() -> None:
    value = {"goals": ["walk", {"k": [1, 2]}], "ok": True}
    frozen = freeze(value)
    assert isinstance(frozen, FrozenMap) and frozen["ok"] is True  # lists became tuples: not equal to value
    assert frozen["goals"] == ("walk", FrozenMap({"k": (1, 2)}))
    assert hash(frozen) == hash(freeze(value))
    with pytest.raises(TypeError):
        frozen["ok"] = False  # type: ignore[index]  # deliberately: a FrozenMap has no item assignment
    copy = thaw(frozen)
    assert copy == value and isinstance(copy["goals"], list)
    copy["goals"].append("run")
    assert frozen["goals"] == ("walk", FrozenMap({"k": (1, 2)}))
