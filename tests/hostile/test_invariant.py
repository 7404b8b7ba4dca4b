"""The invariant of the input boundary, with hypothesis: whatever is passed to open/fire/assign/tick —
arbitrary Python values, arbitrary JSON — the case stays readable afterwards (``history``,
``verify_chain()``, ``to_json()``, replay, a store's ``load``), and its state is unchanged unless the call
succeeded.

The normal suite runs 2,000 examples on an in-memory case and the memory store, and 300 on SQLite;
``make fuzz`` sets ``CAREFLOW_FUZZ=1`` for 50,000 and 5,000.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from careflow.errors import CaseError
from careflow.runtime.compiled import Actor, compile
from tests.support import T0, load_process

FUZZ = os.environ.get("CAREFLOW_FUZZ") == "1"
EXAMPLES = 50_000 if FUZZ else 2_000
SQLITE_EXAMPLES = 5_000 if FUZZ else 300
COMPILED = compile(load_process("hostile"))
PROCESS = COMPILED.process
FIELDS = ("note", "count", "score", "items", "detail", "day", "at")
CLERK = Actor("ann", frozenset({"clerk"}))

# -- what a caller may send -------------------------------------------------------------------------------

any_text = st.text(st.characters(codec=None, categories=None), max_size=30) | st.sampled_from(
    ["", "\x00", "\ud800", "a\nb", "\x1b[31m", "<int>", "x" * 300, "record", "clerk", "system"])
# (drawn as exponents: hypothesis cannot print a 4,301-digit constant in a strategy's repr)
big_ints = st.sampled_from([53, 1329, 14_284, 16_610]).map(lambda n: 2**n) | st.just(-(2**53))
json_scalars = (st.none() | st.booleans() | st.integers(-(2**60), 2**60) | big_ints
                | st.floats(allow_nan=True, allow_infinity=True) | any_text)
python_oddities = (st.binary(max_size=8) | st.sets(st.integers(0, 3), max_size=2)
                   | st.datetimes(timezones=st.none() | st.just(UTC)) | st.dates() | st.builds(range, st.integers(0, 3))
                   | st.just(object()) | st.just(len) | st.complex_numbers(max_magnitude=10))
anything = st.recursive(json_scalars | python_oddities,
                        lambda inner: (st.lists(inner, max_size=3) | st.tuples(inner)
                                       | st.dictionaries(any_text | st.integers(0, 2), inner, max_size=3)),
                        max_leaves=5)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
                           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=4)
good_data = st.dictionaries(st.sampled_from(FIELDS), json_values | st.sampled_from(
    ["2024-01-01", "2024-W01-1", "2024-01-01T10:00:00+01:00", "2024-01-01T10:00:00", 3, "x"]), max_size=3)
datas = st.none() | good_data | st.dictionaries(st.sampled_from(FIELDS) | any_text, anything, max_size=3) | anything
events = st.sampled_from(["record", "finish", "remind", "nope"]) | anything
role_sets = st.frozensets(any_text | st.sampled_from(["clerk", "system"]), max_size=3)
actors = (st.sampled_from([CLERK, Actor("system", frozenset({"system"})), Actor("bob")])
          | st.builds(Actor, any_text, role_sets) | anything)
reasons = st.none() | any_text | anything
times = (st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
         | st.just(T0 + timedelta(days=2)) | anything)

fires = st.tuples(st.just("fire"), events, actors, datas, reasons)
assigns = st.tuples(st.just("assign"), st.sampled_from(["holder", "nope"]) | anything, st.none() | any_text | anything,
                    actors, reasons)
ticks = st.tuples(st.just("tick"), times)
calls = fires | fires | assigns | ticks

# -- the invariant ------------------------------------------------------------------------------------------


def _state(case: Case) -> tuple[Any, ...]:
    snap = case.snapshot
    return snap.leaf, dict(snap.data), dict(snap.roles), snap.ticks, snap.timers, snap.links


def _on_case(case: Case, call: tuple[Any, ...]) -> bool:
    """Make the call; True if it succeeded, False if refused (any other exception fails the test)."""
    try:
        if call[0] == "fire":
            case.fire(call[1], call[2], call[3], call[4])
        elif call[0] == "assign":
            case.assign_role(call[1], call[2], actor=call[3], reason=call[4])
        else:
            case.tick(call[1])
    except CaseError:
        return False
    return True


def _on_store(store: CaseStore, case_id: str, call: tuple[Any, ...]) -> bool:
    try:
        if call[0] == "fire":
            store.fire(case_id, call[1], call[2], call[3], call[4])
        elif call[0] == "assign":
            case = store.load(case_id)
            case.assign_role(call[1], call[2], actor=call[3], reason=call[4])
            store.save(case)
        else:
            store.tick(case_id, call[1])
    except CaseError:
        return False
    return True


def _readable(case: Case, replay: bool = True) -> None:
    assert case.history and case.verify_chain()
    text = case.to_json()
    if replay:  # (a store's load has just replayed its case)
        back = Case.from_json(COMPILED, text, clock=case.clock)
        assert back.head == case.head and _state(back) == _state(case)


def _check_case(call: tuple[Any, ...]) -> Case:
    case = Case.open(COMPILED, "c-" + secrets.token_hex(6), clock=ManualClock(T0))
    before = _state(case)
    if not _on_case(case, call):
        assert _state(case) == before
    _readable(case)
    return case


def _check_store(store: CaseStore, call: tuple[Any, ...]) -> None:
    case = Case.open(COMPILED, "c-" + secrets.token_hex(6), clock=ManualClock(T0))
    store.create(case)
    before = _state(case)
    ok = _on_store(store, case.case_id, call)
    loaded = store.load(case.case_id)
    if not ok:
        assert _state(loaded) == before
    _readable(loaded, replay=False)


@pytest.fixture(scope="module")
def memory_store() -> Iterator[CaseStore]:
    store = open_store("memory:", processes=[COMPILED], clock=ManualClock(T0))
    yield store
    store.close()


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseStore]:
    path: Path = tmp_path_factory.mktemp("invariant") / "cases.db"
    store = open_store(f"sqlite:///{path}", processes=[COMPILED], clock=ManualClock(T0))
    yield store
    store.close()


SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW, database=None)
@given(call=calls)
def test_case_and_memory_store_stay_readable(memory_store: CaseStore, call: tuple[Any, ...]) -> None:
    _check_case(call)
    _check_store(memory_store, call)


@settings(max_examples=SQLITE_EXAMPLES, deadline=None, suppress_health_check=SLOW, database=None)
@given(call=calls)
def test_sqlite_store_stays_readable(sqlite_store: CaseStore, call: tuple[Any, ...]) -> None:
    _check_store(sqlite_store, call)


@settings(max_examples=EXAMPLES // 4, deadline=None, suppress_health_check=SLOW, database=None)
@given(case_id=st.just("c-open") | any_text | anything, actor=actors, data=datas, reason=reasons)
def test_open_refuses_or_opens_a_readable_case(case_id: Any, actor: Any, data: Any, reason: Any) -> None:
    try:
        case = Case.open(COMPILED, case_id, actor=actor, data=data, reason=reason, clock=ManualClock(T0))
    except CaseError:
        return
    _readable(case)
