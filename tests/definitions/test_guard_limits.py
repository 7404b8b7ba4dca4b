"""The bounds of a guard (length, depth of parts, nesting of brackets) and of a deadline, tested at and
just past each one, and the real limits they stay below: Python's parser (200 nested brackets) and the
recursion of our compiler, evaluation and explanation."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from careflow.clock import CALENDAR_END, add_calendar
from careflow.definitions import expression_parser
from careflow.definitions.expression_parser import MAX_BRACKETS, MAX_DEPTH, MAX_LENGTH
from careflow.definitions.expressions import Guard, Scope, compile_guard
from careflow.errors import CODES, Diagnostic
from careflow.model.datatypes import DataType
from careflow.model.durations import MAX_DURATION, MAX_SECONDS, Duration
from careflow.model.marks import Mark

INT = DataType("integer")
SCOPE = Scope(data={"b": DataType("boolean"), "n": INT, "x": DataType("number"),
                    "xs": DataType("array", items=INT), "t": DataType("string")})
DATA = {"b": True, "n": 1, "x": 1.0, "xs": [1], "t": "a"}
NOW = datetime(2026, 3, 2, tzinfo=UTC)
MARK = Mark("p.yaml", 10, 4, 10, 10)


def compiled(source: str) -> tuple[Guard | None, list[Diagnostic]]:
    return compile_guard(source, SCOPE, pointer="/transitions/0/when", mark=MARK)


# Each shape, as a function of how many levels of parts it has (the whole guard is level 1).
SHAPES: dict[str, Callable[[int], str]] = {
    "not": lambda d: "not " * (d - 1) + "b",
    "plus": lambda d: " + ".join(["n"] * (d - 1)) + " > 0",  # a comparison, then d - 2 additions, then names
    "minus": lambda d: "-".join(["n"] * (d - 1)) + " > 0",
    "negation": lambda d: "-" * (d - 2) + "n > 0",
    "calls": lambda d: "abs(" * (d - 2) + "n" + ")" * (d - 2) + " > 0",
    "lists": lambda d: "[" * (d - 2) + "1" + "]" * (d - 2) + " != []",
    "and": lambda d: "(b and " * (d - 1) + "b" + ")" * (d - 1),
    "or": lambda d: "(b or " * (d - 1) + "b" + ")" * (d - 1),
    "not-paren": lambda d: "not (" * (d - 1) + "b" + ")" * (d - 1),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_guard_at_the_depth_bound_compiles_and_runs(shape: str) -> None:
    source = SHAPES[shape](MAX_DEPTH)
    assert _depth(ast.parse(source, mode="eval").body) == MAX_DEPTH
    g, diagnostics = compiled(source)
    assert g is not None and diagnostics == [], [d.format() for d in diagnostics]
    assert isinstance(g(DATA, {}, NOW), bool)
    assert isinstance(g.explain({}, {}, NOW), list)


@pytest.mark.parametrize("shape", SHAPES)
def test_one_level_past_the_depth_bound_is_cf408(shape: str) -> None:
    source = SHAPES[shape](MAX_DEPTH + 1)
    assert _depth(ast.parse(source, mode="eval").body) == MAX_DEPTH + 1
    g, diagnostics = compiled(source)
    assert g is None and [d.code for d in diagnostics] == ["CF408"]
    d = diagnostics[0]
    assert CODES[d.code] == "expression-too-complex" and d.hint and "levels deep" in d.message
    assert (d.location.line, d.location.pointer) == (10, "/transitions/0/when")
    assert d.location.column is not None and d.location.column >= MARK.value_column + 1


def _depth(node: ast.AST) -> int:
    """Levels of expressions, as the bound counts them."""
    below = [_depth(c) for c in ast.iter_child_nodes(node)]
    return (1 if isinstance(node, ast.expr) else 0) + max(below, default=0)


def test_the_issue_s_guards_are_located_errors_not_crashes() -> None:
    for source in (" + ".join(["n"] * 49) + " > 0", "not " * 49 + "b", "[" * 50 + "1" + "]" * 50 + " != []"):
        g, diagnostics = compiled(source)
        assert g is not None or [d.code for d in diagnostics] == ["CF408"]
    assert compiled("[" * 50 + "1" + "]" * 50 + " != []")[1][0].location.column == MARK.value_column + 49


@pytest.mark.parametrize("opening", ["(", "[", "{"])
def test_brackets_at_and_past_their_bound(opening: str) -> None:
    closing = {"(": ")", "[": "]", "{": "}"}[opening]
    at_bound = "(" * MAX_BRACKETS + "b" + ")" * MAX_BRACKETS
    assert compiled(at_bound)[0] is not None
    past = opening * (MAX_BRACKETS + 1) + closing * (MAX_BRACKETS + 1)
    g, diagnostics = compiled(past)
    assert g is None and [d.code for d in diagnostics] == ["CF408"]
    assert diagnostics[0].location.column == MARK.value_column + MAX_BRACKETS  # the 101st bracket


def test_brackets_in_texts_and_comments_do_not_count() -> None:
    source = "t == '" + "(" * 150 + "' or b  # " + "[" * 150
    assert len(source) <= MAX_LENGTH
    assert compiled(source)[0] is not None


def test_brackets_across_lines_count_where_they_are() -> None:
    source = "b and\n" + "(" * (MAX_BRACKETS + 1) + "b" + ")" * (MAX_BRACKETS + 1)
    d = compiled(source)[1][0]
    assert d.code == "CF408" and d.location.line == 11 and d.location.column == MARK.value_column + MAX_BRACKETS


def test_pythons_own_parser_refuses_what_our_bounds_stop_earlier() -> None:
    """The bounds stay below the real limits: Python refuses 201 nested brackets."""
    assert MAX_BRACKETS < 200
    ast.parse("(" * 200 + "b" + ")" * 200, mode="eval")
    with pytest.raises(SyntaxError, match="too many nested parentheses"):
        ast.parse("(" * 201 + "b" + ")" * 201, mode="eval")


def test_the_length_bound() -> None:
    at_bound = "b" + " " * (MAX_LENGTH - 2) + "b"
    assert len(at_bound) == MAX_LENGTH and compiled(at_bound)[1][0].code == "CF401"  # 'b b': a syntax error
    fine = "t == '" + "a" * (MAX_LENGTH - 7) + "'"
    assert len(fine) == MAX_LENGTH and compiled(fine)[0] is not None
    d = compiled(fine + " ")[1][0]
    assert d.code == "CF408" and f"at most {MAX_LENGTH}" in d.message and d.hint


def _at_stack_depth(frames: int, run: Callable[[], Any]) -> Any:
    return run() if frames <= 0 else _at_stack_depth(frames - 1, run)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_deepest_guard_has_room_below_the_recursion_limit(shape: str) -> None:
    """Compiling, evaluating and explaining a guard at the depth bound need well under 400 frames: they
    still work when the caller has already used all but 400 of Python's recursion limit."""
    source = SHAPES[shape](MAX_DEPTH)
    spare = 400

    def everything() -> tuple[bool, list[str]]:
        g, diagnostics = compiled(source)
        assert g is not None, diagnostics
        value = g.fn(DATA, {}, NOW)  # the closures themselves, so a RecursionError would surface
        return value is True or value is False or value is None, g.explain({"b": None}, {}, NOW)

    import inspect

    used = len(inspect.stack(0))
    assert _at_stack_depth(sys.getrecursionlimit() - used - spare, everything)[0]


def test_our_compiler_would_recurse_too_deep_far_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the depth bound the compiler's own recursion gives up (and even then it is CF408, not a
    crash): that is the real limit MAX_DEPTH stays below."""
    monkeypatch.setattr(expression_parser, "MAX_DEPTH", 10_000)
    source = "not " * 450 + "b"
    assert len(source) <= MAX_LENGTH
    g, diagnostics = _at_stack_depth(200, lambda: compiled(source))
    assert g is None and [d.code for d in diagnostics] == ["CF408"]


# -- deadlines ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ok"), [
    (MAX_DURATION, True), ("P1200M", True), ("P36525D", True), ("PT876600H", True), ("PT52596000M", True),
    ("PT3155760000S", True), ("P99Y11M30DT10H29M59S", True), ("P0D", True),
    ("P101Y", False), ("P1201M", False), ("P36526D", False), ("PT876601H", False), ("PT3155760001S", False),
    ("P100YT1S", False), ("P99Y12M1D", False), ("P7974Y", False), ("P999999999D", False),
    ("P" + "9" * 5000 + "D", False), ("PT" + "1" * 16 + "S", False), ("PT" + "0" * 5000 + "1S", True),
])
def test_the_duration_bound(text: str, ok: bool) -> None:
    d = Duration.parse(text)
    assert d is not None and d.within_bound() is ok
    assert (d.nominal_seconds <= MAX_SECONDS) is ok


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P1.5D", "-P1D", "p1d", "P\uff11D", "P\u0661D", "P1D ",
                                  " P1D", "PT1H1H", "P1S", "P1H", "", "P\x00D"])
def test_malformed_durations(text: str) -> None:
    assert Duration.parse(text) is None


def test_the_bound_is_100_gregorian_years_in_every_unit() -> None:
    lengths = {t: Duration.parse(t) for t in ("P100Y", "P1200M", "P36525D", "PT876600H")}
    assert {d.nominal_seconds for d in lengths.values() if d is not None} == {MAX_SECONDS}


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=23, minutes=59), -timedelta(hours=23, minutes=59)])
@pytest.mark.parametrize("parts", [{"years": 100}, {"months": 1200}, {"days": 36525}, {"seconds": 3155760000},
                                   {"days": 999_999_999}, {"years": 10**15}, {"seconds": 10**20}])
def test_deadlines_saturate_at_the_end_of_the_calendar(offset: timedelta, parts: dict[str, int]) -> None:
    zone = timezone(offset)
    moment = datetime(9950, 1, 1, tzinfo=zone)
    end = add_calendar(moment, **parts)
    assert end == CALENDAR_END
    for other in (UTC, timezone(timedelta(hours=23, minutes=59)), timezone(-timedelta(hours=23, minutes=59))):
        end.astimezone(other).isoformat()  # every zone can show it
    assert datetime.fromisoformat(end.isoformat()) == end


def test_a_deadline_before_the_end_is_exact_and_a_naive_moment_saturates_too() -> None:
    start = datetime(2026, 1, 31, 9, tzinfo=UTC)
    assert add_calendar(start, years=100) == datetime(2126, 1, 31, 9, tzinfo=UTC)
    assert add_calendar(start, months=1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert add_calendar(datetime(9999, 6, 1), years=1) == CALENDAR_END.replace(tzinfo=None)
