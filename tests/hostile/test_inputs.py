"""Hostile inputs through the case API: each is refused with its expected code, and the case stays readable.

Every input runs on an in-memory ``Case`` and on the memory, SQLite and PostgreSQL stores (opening a case
happens before any store is involved, so those inputs run on ``Case.open`` alone). After each refusal:
the history passes the history schema, the hash chain verifies, the JSON export replays to the same case,
a store loads it, and the state is as it was.
"""

from __future__ import annotations

import decimal
import enum
import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest

from careflow.cases.case import Case
from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from careflow.errors import CaseError
from careflow.history.check import history_schema
from careflow.model.definition import ProcessDefinition
from careflow.model.limits import DATA_BYTES, INTEGER_BOUND
from careflow.runtime.compiled import Actor, compile
from tests.support import T0, load_process

CLERK = Actor("ann", frozenset({"clerk"}))
PROCESS: ProcessDefinition = load_process("hostile")
COMPILED = compile(PROCESS)
ENTRY_SCHEMA = jsonschema.Draft202012Validator({"$defs": history_schema()["$defs"], "$ref": "#/$defs/entry"})


class Input(NamedTuple):
    """One hostile call: ``op`` (fire, assign, tick or open), its arguments, and the code expected."""

    name: str
    op: str
    args: dict[str, Any]
    code: str


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _nested_map(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"more": value}
    return value


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    pass


def _cyclic_list() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def _cyclic_map() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


class BadMapping(dict[str, Any]):
    def items(self) -> Any:
        raise RuntimeError("boom")


# Values no JSON document holds, or that break a JSON reader: (name, value, code). CF511 invalid-value,
# CF512 over-limit.
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("nan", float("nan"), "CF511"),
    ("infinity", float("inf"), "CF511"),
    ("minus-infinity", float("-inf"), "CF511"),
    ("1e999", float("1e999"), "CF511"),
    ("400-digit-int", 10**399, "CF511"),
    ("4301-digit-int", 10**4300, "CF511"),
    ("5000-digit-int", 10**5000, "CF511"),
    ("int-past-bound", INTEGER_BOUND + 1, "CF511"),
    ("negative-int-past-bound", -INTEGER_BOUND - 1, "CF511"),
    ("lone-high-surrogate", "\ud800", "CF511"),
    ("lone-low-surrogate", "ok\udfff", "CF511"),
    ("nul", "a\x00b", "CF511"),
    ("bytes", b"abc", "CF511"),
    ("bytearray", bytearray(b"abc"), "CF511"),
    ("set", {1, 2}, "CF511"),
    ("frozenset", frozenset({"a"}), "CF511"),
    ("datetime", datetime(2024, 1, 1, tzinfo=UTC), "CF511"),
    ("date", date(2024, 1, 1), "CF511"),
    ("range", range(3), "CF511"),
    ("decimal", decimal.Decimal("1.5"), "CF511"),
    ("complex", 1j, "CF511"),
    ("object", object(), "CF511"),
    ("function", len, "CF511"),
    ("type", int, "CF511"),
    ("int-enum", Colour.RED, "CF511"),
    ("str-subclass", Text("x"), "CF511"),
    ("non-text-key", {1: "x"}, "CF511"),
    ("surrogate-key", {"\ud800": 1}, "CF511"),
    ("nul-key", {"a\x00": 1}, "CF511"),
    ("unreadable-mapping", BadMapping(a=1), "CF511"),
    ("60000-deep-list", _nested(60_000), "CF512"),
    ("33-deep-list", _nested(33), "CF512"),
    ("40-deep-map", _nested_map(40), "CF512"),
    ("cyclic-list", _cyclic_list(), "CF512"),
    ("cyclic-map", _cyclic_map(), "CF512"),
    ("huge-text", "x" * (DATA_BYTES + 1), "CF512"),
    ("huge-list", ["x" * 100] * (DATA_BYTES // 100 + 1), "CF512"),
    ("10mb-text", "y" * 10_000_000, "CF512"),
]


def _data_inputs() -> Iterator[Input]:
    for name, value, code in BAD_VALUES:
        yield Input(f"data-{name}", "fire", {"event": "record", "data": {"note": value}}, code)
        if code == "CF511" or name in ("huge-text", "10mb-text", "cyclic-list"):
            yield Input(f"data-in-list-{name}", "fire", {"event": "record", "data": {"items": [1, value]}}, code)
            yield Input(f"data-in-map-{name}", "fire", {"event": "record", "data": {"detail": {"text": value}}}, code)
    for name, data in [("list", [1]), ("text", "note"), ("int", 5), ("none-in-list", [None]), ("tuple", ("a",)),
                       ("set", {"note"}), ("bytes", b"{}")]:
        yield Input(f"data-not-a-mapping-{name}", "fire", {"event": "record", "data": data}, "CF511")
    # plain JSON of the wrong type or format: the declared types refuse it (CF501 invalid-data)
    for name, data in [("iso-week-date", {"day": "2024-W01-1"}), ("basic-date", {"day": "20240101"}),
                       ("no-offset", {"at": "2024-01-01T10:00:00"}), ("space-separator", {"at": "2024-01-01 10:00Z"}),
                       ("text-for-int", {"count": "1"}), ("bool-for-int", {"count": True}),
                       ("undeclared", {"nope": 1}), ("list-for-text", {"note": [1]}), ("map-for-list", {"items": {}}),
                       ("undeclared-key-in-object", {"detail": {"other": 1}}), ("day-30-feb", {"day": "2024-02-30"}),
                       ("reserved-keys", {"<refused>": "nope", "<problem>": "x"})]:
        yield Input(f"data-{name}", "fire", {"event": "record", "data": data}, "CF501")


EVENTS: list[tuple[str, Any]] = [
    ("empty", ""), ("none", None), ("int", 0), ("int-5", 5), ("float", 1.5), ("bool", True), ("bytes", b"record"),
    ("list", ["record"]), ("dict", {"event": "record"}), ("set", {"record"}), ("tuple", ("record",)),
    ("object", object()), ("201-chars", "x" * 201), ("1mb", "x" * (1 << 20)), ("upper-case", "Record"),
    ("space", "re cord"), ("newline", "record\n"), ("lone-surrogate", "\ud800"), ("nul", "rec\x00ord"),
    ("ansi-escape", "\x1b[31mred"), ("path", "../../etc/passwd"), ("leading-digit", "1record"),
    ("described-form", "<int>"), ("unicode-letter", "rëcord"), ("hyphen", "re-cord"), ("str-subclass", Text("record")),
    ("dot", "record.x"), ("tab", "\trecord"),
]
ACTORS: list[tuple[str, Any, str]] = [
    ("empty-id", Actor(""), "CF509"), ("none-id", Actor(None), "CF509"),  # type: ignore[arg-type]
    ("int-id", Actor(5), "CF509"), ("long-id", Actor("a" * 201), "CF509"),  # type: ignore[arg-type]
    ("newline-id", Actor("a\nb"), "CF509"), ("surrogate-id", Actor("\ud800"), "CF509"),
    ("nul-id", Actor("a\x00"), "CF509"), ("ansi-id", Actor("\x1b[2J"), "CF509"),
    ("empty-role", Actor("ann", frozenset({""})), "CF509"), ("int-role", Actor("ann", frozenset({5})), "CF509"),
    ("newline-role", Actor("ann", frozenset({"clerk\n"})), "CF509"),
    ("surrogate-role", Actor("ann", frozenset({"\udc00"})), "CF509"),
    ("65-roles", Actor("ann", frozenset(f"r{i}" for i in range(65))), "CF509"),
    ("long-role", Actor("ann", frozenset({"r" * 201})), "CF509"),
    ("text-not-actor", "ann", "CF509"), ("none-actor", None, "CF509"), ("int-actor", 5, "CF509"),
    ("dict-actor", {"id": "ann", "roles": ["clerk"]}, "CF509"), ("object-actor", object(), "CF509"),
]
REASONS: list[tuple[str, Any]] = [
    ("int", 5), ("bytes", b"why"), ("list", ["why"]), ("dict", {"why": 1}), ("float", 1.5), ("bool", True),
    ("4001-chars", "r" * 4001), ("1mb", "r" * (1 << 20)), ("lone-surrogate", "why \ud800"), ("nul", "why\x00"),
    ("object", object()),
]


def _inputs() -> list[Input]:
    out = [Input(f"event-{name}", "fire", {"event": value}, "CF508") for name, value in EVENTS]
    out += [Input(f"actor-{name}", "fire", {"event": "record", "actor": actor}, code) for name, actor, code in ACTORS]
    out += [Input(f"reason-{name}", "fire", {"event": "record", "reason": value}, "CF510") for name, value in REASONS]
    out += list(_data_inputs())
    out += [
        Input("assign-int-role", "assign", {"role": 5, "person": "bob"}, "CF513"),
        Input("assign-empty-role", "assign", {"role": "", "person": "bob"}, "CF513"),
        Input("assign-unknown-role", "assign", {"role": "nope", "person": "bob"}, "CF501"),
        Input("assign-empty-person", "assign", {"role": "holder", "person": ""}, "CF509"),
        Input("assign-int-person", "assign", {"role": "holder", "person": 5}, "CF509"),
        Input("assign-newline-person", "assign", {"role": "holder", "person": "bob\nroot"}, "CF509"),
        Input("assign-surrogate-person", "assign", {"role": "holder", "person": "\ud800"}, "CF509"),
        Input("assign-long-person", "assign", {"role": "holder", "person": "b" * 201}, "CF509"),
        Input("assign-bad-actor", "assign", {"role": "holder", "person": "bob", "actor": "ann"}, "CF509"),
        Input("assign-bad-reason", "assign", {"role": "holder", "person": "bob", "reason": b"x"}, "CF510"),
        Input("tick-text", "tick", {"now": "2026-03-03T00:00:00+00:00"}, "CF513"),
        Input("tick-int", "tick", {"now": 5}, "CF513"),
        Input("tick-naive", "tick", {"now": datetime(2026, 3, 3)}, "CF513"),
        Input("tick-date", "tick", {"now": date(2026, 3, 3)}, "CF513"),
        Input("tick-float", "tick", {"now": 1.5e9}, "CF513"),
    ]
    out += [
        Input("open-int-id", "open", {"case_id": 5}, "CF513"),
        Input("open-empty-id", "open", {"case_id": ""}, "CF513"),
        Input("open-newline-id", "open", {"case_id": "a\nb"}, "CF513"),
        Input("open-surrogate-id", "open", {"case_id": "\ud800"}, "CF513"),
        Input("open-bad-actor", "open", {"actor": Actor("")}, "CF509"),
        Input("open-not-actor", "open", {"actor": "system"}, "CF509"),
        Input("open-bad-reason", "open", {"reason": 5}, "CF510"),
        Input("open-nan", "open", {"data": {"score": float("nan")}}, "CF511"),
        Input("open-huge-int", "open", {"data": {"count": 10**5000}}, "CF511"),
        Input("open-surrogate", "open", {"data": {"note": "\ud800"}}, "CF511"),
        Input("open-set", "open", {"data": {"items": {1}}}, "CF511"),
        Input("open-deep", "open", {"data": {"items": _nested(60_000)}}, "CF512"),
        Input("open-not-mapping", "open", {"data": [1]}, "CF511"),
        Input("open-iso-week", "open", {"data": {"day": "2024-W01-1"}}, "CF501"),
        Input("open-undeclared", "open", {"data": {"nope": 1}}, "CF501"),
    ]
    return out


INPUTS = _inputs()
CASE_INPUTS = [i for i in INPUTS if i.op != "open"]
OPEN_INPUTS = [i for i in INPUTS if i.op == "open"]


def test_there_are_enough_hostile_inputs() -> None:
    assert len(INPUTS) >= 150
    assert len({i.name for i in INPUTS}) == len(INPUTS)


# -- the targets --------------------------------------------------------------------------------------


def _call(input_: Input, target: Case | CaseStore, case_id: str) -> None:
    a = input_.args
    actor = a.get("actor", CLERK)
    if input_.op == "fire":
        if isinstance(target, Case):
            target.fire(a["event"], actor, a.get("data"), a.get("reason"))
        else:
            target.fire(case_id, a["event"], actor, a.get("data"), a.get("reason"))
    elif input_.op == "assign":
        case = target if isinstance(target, Case) else target.load(case_id)
        case.assign_role(a["role"], a["person"], actor=actor, reason=a.get("reason"))
        if not isinstance(target, Case):
            target.save(case)
    elif isinstance(target, Case):
        target.tick(a["now"])
    else:
        target.tick(case_id, a["now"])


def _state(case: Case) -> tuple[Any, ...]:
    snap = case.snapshot
    return snap.leaf, dict(snap.data), dict(snap.roles), snap.ticks, snap.timers, snap.links


def _readable(case: Case, clock: ManualClock) -> None:
    """History, chain, schema, JSON and replay all work."""
    history = case.history
    assert case.verify_chain()
    for entry in history:
        ENTRY_SCHEMA.validate(entry.to_json())
    back = Case.from_json(PROCESS, case.to_json(), clock=clock)
    assert back.head == case.head and _state(back) == _state(case)
    for entry in history:
        if entry.kind == "denied":
            assert len(json.dumps(entry.to_json(), ensure_ascii=False)) < 4_000  # described, not copied


def _expect_refusal(input_: Input, call: Callable[[], object]) -> CaseError:
    with pytest.raises(CaseError) as info:
        call()
    assert info.value.code == input_.code, f"{input_.name}: {info.value}"
    return info.value


@pytest.mark.parametrize("input_", CASE_INPUTS, ids=lambda i: i.name)
def test_in_memory_case(input_: Input) -> None:
    clock = ManualClock(T0)
    case = Case.open(COMPILED, "c-" + secrets.token_hex(4), clock=clock)
    before, length = _state(case), len(case.history)
    error = _expect_refusal(input_, lambda: _call(input_, case, case.case_id))
    assert _state(case) == before
    assert len(case.history) == length + (1 if input_.op == "fire" else 0)
    if input_.op == "fire":
        assert error.entry is not None and error.entry.kind == "denied" and error.entry.code == error.reason_code
    _readable(case, clock)


@pytest.mark.parametrize("input_", OPEN_INPUTS, ids=lambda i: i.name)
def test_open(input_: Input) -> None:
    a = input_.args
    _expect_refusal(input_, lambda: Case.open(COMPILED, a.get("case_id", "c-open"), actor=a.get("actor", CLERK),
                                              data=a.get("data"), reason=a.get("reason"),
                                              clock=ManualClock(T0)))


def _store_test(store: CaseStore, input_: Input) -> None:
    clock = ManualClock(T0)
    case = Case.open(COMPILED, "c-" + secrets.token_hex(6), clock=clock)
    store.create(case)
    before = _state(case)
    _expect_refusal(input_, lambda: _call(input_, store, case.case_id))
    loaded = store.load(case.case_id)
    assert _state(loaded) == before
    assert all(check.ok for check in store.verify_cases(case.case_id))
    store.export(case.case_id)
    _readable(loaded, clock)


@pytest.fixture(scope="module")
def memory_store() -> Iterator[CaseStore]:
    store = open_store("memory:", processes=[COMPILED], clock=ManualClock(T0))
    yield store
    store.close()


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseStore]:
    path: Path = tmp_path_factory.mktemp("hostile") / "cases.db"
    store = open_store(f"sqlite:///{path}", processes=[COMPILED], clock=ManualClock(T0))
    yield store
    store.close()


@pytest.fixture(scope="module")
def pg_store(module_pg_url: str) -> Iterator[CaseStore]:
    store = open_store(module_pg_url, processes=[COMPILED], clock=ManualClock(T0))
    yield store
    store.close()


@pytest.mark.parametrize("input_", CASE_INPUTS, ids=lambda i: i.name)
def test_memory_store(memory_store: CaseStore, input_: Input) -> None:
    _store_test(memory_store, input_)


@pytest.mark.parametrize("input_", CASE_INPUTS, ids=lambda i: i.name)
def test_sqlite_store(sqlite_store: CaseStore, input_: Input) -> None:
    _store_test(sqlite_store, input_)


@pytest.mark.parametrize("input_", CASE_INPUTS, ids=lambda i: i.name)
def test_postgres_store(pg_store: CaseStore, input_: Input) -> None:
    _store_test(pg_store, input_)


def test_good_input_still_fires() -> None:
    case = Case.open(COMPILED, "c-good", clock=ManualClock(T0))
    case.fire("record", CLERK, {"items": [1, [2, {"a": None}]], "day": "2024-01-01", "at": "2024-01-01T10:00:00Z",
                                "count": INTEGER_BOUND, "score": -1.5, "note": "ø æ å\n\ttab"}, "fine ✓")
    assert case.data["count"] == INTEGER_BOUND and case.verify_chain()
