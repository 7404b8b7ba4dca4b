"""The input boundary's parts: descriptions, a process's own ``limits:``, strict dates, the bounded cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.errors import DefinitionError, InvalidActor, InvalidData, InvalidEvent, InvalidReason, OverLimit
from careflow.model.limits import DEFAULT_LIMITS, LIMIT_DEFAULTS, Limits
from careflow.runtime import audit
from careflow.runtime.boundary import PROBLEM_KEY, REFUSED_KEY
from careflow.runtime.compiled import Actor
from careflow.runtime.texts import DESCRIBED, describe
from tests.support import T0, process_text

CLERK = Actor("ann", frozenset({"clerk"}))


def _hostile(limits: str = "") -> Any:
    text = process_text("hostile")
    return loads(text.replace("initial: open", f"limits: {limits}\ninitial: open") if limits else text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None, categories=None)) | st.integers() | st.binary() | st.none())
def test_a_description_is_safe_and_describes_itself(value: Any) -> None:
    text = describe(value)
    assert text and len(text) <= DESCRIBED and text.isprintable()
    assert describe(text) == text  # what a denied entry records screens to itself on replay


def test_defaults_are_documented_in_one_place() -> None:
    assert Limits() == DEFAULT_LIMITS and not DEFAULT_LIMITS.tightened
    assert set(LIMIT_DEFAULTS) == {"event_length", "actor_length", "role_length", "roles", "reason_length",
                                   "data_depth", "data_bytes", "integer_bound"}


def test_a_process_tightens_its_limits() -> None:
    process = _hostile("{reason_length: 5, data_depth: 2, actor_length: 3, data_bytes: 100, event_length: 4}")
    assert process.limits.tightened and process.limits.reason_length == 5
    case = Case.open(process, "c", clock=ManualClock(T0))
    with pytest.raises(InvalidReason, match="longer than 5"):
        case.fire("record", CLERK, {"note": "x"}, reason="too long")
    with pytest.raises(OverLimit, match="deeper than 2"):
        case.fire("record", CLERK, {"items": [[1]]})
    with pytest.raises(OverLimit, match="larger than 100 bytes"):
        case.fire("record", CLERK, {"note": "x" * 101})
    with pytest.raises(InvalidActor, match="longer than 3"):
        case.fire("record", Actor("anne", frozenset({"clerk"})), {"note": "x"})
    with pytest.raises(InvalidEvent, match="longer than 4"):
        case.fire("unknown", CLERK)
    case.fire("record", CLERK, {"note": "x"})  # declared events are good names whatever the limits
    case.tick(T0 + timedelta(days=2))  # and the deadline clock acts as 'system' (6 characters)
    assert [e.kind for e in case.history][-2:] == ["fired", "deadline"]
    assert Case.from_json(process, case.to_json()).head == case.head


@pytest.mark.parametrize("limits", ["{reason_length: 4001}", "{roles: 0}", "{nope: 1}", "{data_bytes: x}", "3"])
def test_limits_can_only_be_tightened(limits: str) -> None:
    with pytest.raises(DefinitionError) as info:
        _hostile(limits)
    assert any("limits" in d.location.pointer for d in info.value.diagnostics)


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("day", "2024-01-01", True), ("day", "2024-W01-1", False), ("day", "20240101", False),
    ("day", "2024-1-1", False), ("day", "2024-02-30", False),
    ("at", "2024-01-01T10:00:00Z", True), ("at", "2024-01-01T10:00:00.5+01:00", True),
    ("at", "2024-01-01T10:00:00", False), ("at", "2024-01-01 10:00:00Z", False), ("at", "2024-01-01T10:00Z", False),
    ("at", "20240101T100000Z", False), ("at", "2024-01-01", False),
])
def test_dates_have_one_strict_format(field: str, value: str, ok: bool) -> None:
    case = Case.open(_hostile(), "c", clock=ManualClock(T0))
    if ok:
        case.fire("record", CLERK, {field: value})
        assert case.data[field] == value
    else:
        with pytest.raises(InvalidData):
            case.fire("record", CLERK, {field: value})


def test_a_refusal_is_recorded_described_and_replays_to_the_same_message() -> None:
    process = _hostile()
    case = Case.open(process, "c", clock=ManualClock(T0))
    with pytest.raises(InvalidEvent) as info:
        case.fire("x" * 1_000_000, Actor("a\nb", frozenset({""})), {"note": float("nan")}, "\ud800")
    entry = info.value.entry
    assert entry is not None and entry.kind == "denied" and entry.code == "invalid-event"
    assert (entry.event or "").startswith("<text 'xxx") and entry.actor == "<text 'a\\nb', 3 characters>"
    assert entry.roles == ("<empty text>",) and entry.reason == "<text 'ud800', 1 characters>".replace("'u", "'\\u")
    assert dict(entry.data) == {REFUSED_KEY: "invalid-event", PROBLEM_KEY: entry.detail}
    back = Case.from_json(process, case.to_json())
    assert back.history[-1] == case.history[-1]


def test_the_encoding_cache_is_bounded_by_bytes() -> None:
    audit._SEEN.clear()
    audit._seen_spent[0] = 0
    for i in range(20_000):
        audit._json(f"{i:06d}" + "y" * 250)  # short enough to keep
        audit._json("z" * 10_000 + str(i))  # too long to keep
    kept = sum(len(k) + len(v) for k, v in audit._SEEN.items() if isinstance(k, str))
    assert kept <= audit.SEEN_BUDGET and all(len(v) <= audit.SEEN_LONGEST for v in audit._SEEN.values())
