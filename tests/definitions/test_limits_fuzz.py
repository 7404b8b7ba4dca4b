"""Fuzzing the loader with the generators of issue 11: guard texts long and deep in every shape, huge and
malformed durations, numbers at the edges. Whatever is generated, nothing raises but ``DefinitionError``,
every diagnostic is located (``check`` of test_loader_fuzz), the bounds are the documented ones, and a
definition that loads runs: its guards evaluate, its deadlines never overflow a date."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.clock import CALENDAR_END, FixedClock
from careflow.definitions.expression_parser import MAX_BRACKETS, MAX_DEPTH, MAX_LENGTH
from careflow.definitions.expressions import Scope, compile_guard
from careflow.definitions.loader import loads, validate_text
from careflow.errors import CODES, CaseError, DefinitionError
from careflow.model.datatypes import DataType
from careflow.model.durations import MAX_SECONDS
from careflow.model.marks import Mark
from tests.definitions.test_loader_fuzz import check

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

INT = DataType("integer")
SCOPE = Scope(data={"b": DataType("boolean"), "n": INT, "x": DataType("number"),
                    "xs": DataType("array", items=INT), "t": DataType("string")})
MARK = Mark("p.yaml", 10, 4, 10, 10)
NOW = datetime(2026, 3, 2, tzinfo=UTC)

# -- generators --------------------------------------------------------------------------------------------

EDGE_INTEGERS = st.sampled_from([0, 1, -1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**308, 10**309, 10**4299])
NUMBER_TEXTS = st.one_of(
    st.integers().map(str), EDGE_INTEGERS.map(str), st.floats().map(repr),
    st.integers(1, 4400).map(lambda k: "9" * k), st.integers(1, 4000).map(lambda k: "0x" + "f" * k),
    st.integers(1, 5000).map(lambda k: "0o" + "7" * k),
    st.sampled_from(["1e999", "-1e999", "1e308", "1.7976931348623157e308", "5e-324", "-0.0", ".inf", "-.inf",
                     ".nan", "0x0", "0o0", "1_000", "+1", "0.", ".5", "1e", "0b1"]))
LEAVES = st.one_of(st.sampled_from(["b", "n", "x", "xs", "t", "true", "false", "null", "now", "event.z", "_x"]),
                   NUMBER_TEXTS.filter(lambda s: len(s) < 60), st.text(max_size=12).map(repr))
PREFIXES = ["not ", "-", "+", "~"]
BINARY = [" + ", " - ", " * ", " / ", " // ", " % ", " and ", " or ", " < ", " == ", " != ", " in ", " ** ", "|"]
WRAPPERS = [("(", ")"), ("[", "]"), ("abs(", ")"), ("len(", ")"), ("not (", ")"), ("max(1, ", ")"),
            ("{", "}"), ("(", ")[0]"), ("(b and ", ")"), ("(", " or b)"), ("-(", ")"), ("(", " > 0)")]


@st.composite
def deep_guards(draw: st.DrawFn) -> str:
    """A leaf inside up to 130 wrappers and prefixes: around every bound of depth and brackets."""
    text = draw(LEAVES)
    for _ in range(draw(st.integers(0, 130))):
        if draw(st.booleans()):
            opening, closing = draw(st.sampled_from(WRAPPERS))
            text = opening + text + closing
        else:
            text = draw(st.sampled_from(PREFIXES)) + text
    return text


@st.composite
def long_guards(draw: st.DrawFn) -> str:
    """A chain of operators, a pattern of up to 12 leaves repeated up to 300 times: around the length
    bound, and around the depth bound too (a + b + ... nests one level per operator)."""
    leaves = draw(st.lists(LEAVES, min_size=1, max_size=12)) * draw(st.integers(1, 300))
    ops = draw(st.lists(st.sampled_from(BINARY), min_size=1, max_size=4))
    return leaves[0] + "".join(ops[i % len(ops)] + leaf for i, leaf in enumerate(leaves[1:]))


tree_guards = st.recursive(LEAVES, lambda inner: st.one_of(
    st.tuples(st.sampled_from(PREFIXES), inner).map("".join),
    st.tuples(inner, st.sampled_from(BINARY), inner).map("".join),
    st.tuples(st.sampled_from(WRAPPERS), inner).map(lambda w: w[0][0] + w[1] + w[0][1])), max_leaves=120)
GUARDS = st.one_of(deep_guards(), long_guards(), tree_guards)

UNITS = ("Y", "M", "W", "D", "H", "TM", "S")
SECONDS = {"Y": 31_557_600, "M": 2_629_800, "W": 604_800, "D": 86_400, "H": 3_600, "TM": 60, "S": 1}
EDGE_AMOUNTS = st.one_of(
    st.integers(0, 200),
    st.sampled_from([99, 100, 101, 1199, 1200, 1201, 5217, 5218, 36524, 36525, 36526, 876_599, 876_600, 876_601,
                     52_596_000, 52_596_001, 3_155_760_000, 3_155_760_001, 999_999_999, 10**15, 10**16]),
    st.integers(0, 10**40))


@st.composite
def durations(draw: st.DrawFn) -> tuple[str, int]:
    """An ISO-8601 duration from amounts at the edges, and its length as the bound counts it."""
    amounts = draw(st.dictionaries(st.sampled_from(UNITS), EDGE_AMOUNTS, min_size=1))
    date = "".join(f"{amounts[u]}{u}" for u in ("Y", "M", "W", "D") if u in amounts)
    time = "".join(f"{amounts[u]}{u[-1]}" for u in ("H", "TM", "S") if u in amounts)
    return "P" + date + ("T" + time if time else ""), sum(SECONDS[u] * v for u, v in amounts.items())


DURATION_NOISE = st.text(alphabet="PYMWDTHS0123456789.-+, \u0661\uff11e", max_size=30)

# Every field nullable: a case opened without a value for a field that is not is refused on replay (a
# bug of its own, outside these limits).
DOCUMENT = """careflow: 1
id: fuzz
version: "1"
title: Fuzz
language: en
roles:
  nurse: {{label: Nurse}}
data:
  n: {{type: integer{n}, nullable: true}}
  x: {{type: number{x}, nullable: true}}
  b: {{type: boolean, nullable: true}}
  xs: {{type: array, items: {{type: integer}}, nullable: true}}
  t: {{type: string, nullable: true}}
initial: open
states:
  open: {{label: Open{open}}}
  done: {{final: true, label: Done}}
transitions:
  - {{event: finish, from: open, to: done, roles: [nurse], label: Finish{when}}}
  - {{event: late, from: open, to: done, roles: [system], label: Late}}
"""


def document(n: str = "", x: str = "", open_: str = "", when: str = "") -> str:
    return DOCUMENT.format(n=n, x=x, open=open_, when=when)


def expression_depth(node: ast.AST) -> int:
    """Levels of expressions as the bound counts them (iteratively: the tree may be deep)."""
    deepest, pending = 0, [(node, 0)]
    while pending:
        node, depth = pending.pop()
        depth += isinstance(node, ast.expr)
        deepest = max(deepest, depth)
        pending.extend((c, depth) for c in ast.iter_child_nodes(node))
    return deepest


def bracket_depth(source: str) -> int:
    depth = deepest = 0
    for c in source:  # generated guards put no brackets inside texts that matter here: an upper bound
        depth += (c in "([{") - (c in ")]}")
        deepest = max(deepest, depth)
    return deepest


# -- guards --------------------------------------------------------------------------------------------------


@FUZZ
@given(GUARDS)
def test_generated_guards_compile_or_give_located_cf4xx(source: str) -> None:
    g, diagnostics = compile_guard(source, SCOPE, pointer="/transitions/0/when", mark=MARK)
    assert (g is None) == bool(diagnostics)
    for d in diagnostics:
        assert d.code in CODES and d.code.startswith("CF4"), d
        assert d.location.line is not None and 10 <= d.location.line <= 10 + source.count("\n")
        assert d.location.column is not None and d.location.column >= 1
        d.format().encode("utf-8")  # every message can be printed
    if len(source) > MAX_LENGTH:
        assert [d.code for d in diagnostics] == ["CF408"]
        return
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is not None and expression_depth(tree.body) > MAX_DEPTH:
        assert [d.code for d in diagnostics] == ["CF408"]
    if g is not None:
        assert bracket_depth(source) <= MAX_BRACKETS or "'" in source or '"' in source
        assert expression_depth(ast.parse(source, mode="eval").body) <= MAX_DEPTH
        for data in ({"b": True, "n": 1, "x": 2.5, "xs": [1, 2], "t": "a"}, {}, {"n": 10**300, "xs": []}):
            assert g(data, {}, NOW) in (True, False)
            assert all(isinstance(r, str) for r in g.explain(data, {}, NOW))


@FUZZ
@given(GUARDS)
def test_generated_guards_in_a_process_file(source: str) -> None:
    check(document(when=f", when: {json.dumps(source)}"))


# -- durations -----------------------------------------------------------------------------------------------


@FUZZ
@given(durations(), st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59),
                                 timezones=st.just(UTC)))
def test_generated_durations_are_bounded_and_never_overflow(duration: tuple[str, int], start: datetime) -> None:
    text, seconds = duration
    source = document(open_=f", due: {text}, on_due: late")
    check(source)
    result = validate_text(source, "fuzz.yaml")
    refused = [d for d in result.errors if d.code == "CF109"]
    assert bool(refused) == (seconds > MAX_SECONDS), (text, [d.message for d in result.errors])
    if refused:
        assert refused[0].hint is not None and "P100Y" in refused[0].hint
        assert refused[0].location.line == 16
        return
    process = loads(source, "fuzz.yaml")
    case = Case.open(process, "fuzz", clock=FixedClock(start))
    due = case.due_at
    assert due is not None and due <= CALENDAR_END
    assert due >= start or due == CALENDAR_END
    assert case.tick(max(due, start)).entries[-1].event == "late"
    assert Case.from_json(process, case.to_json()).snapshot.leaf == "done"


@FUZZ
@given(DURATION_NOISE)
def test_duration_noise(text: str) -> None:
    check(document(open_=f", due: {json.dumps(text)}, on_due: late"))


# -- numbers at the edges ------------------------------------------------------------------------------------


SLOTS = ["n-default", "x-default", "n-minimum", "x-maximum", "step", "guard"]


@FUZZ
@given(st.sampled_from(SLOTS), NUMBER_TEXTS)
def test_numbers_at_the_edges(slot: str, number: str) -> None:
    parts = {"n-default": {"n": f", default: {number}"}, "x-default": {"x": f", default: {number}"},
             "n-minimum": {"n": f", minimum: {number}"}, "x-maximum": {"x": f", maximum: {number}"},
             "step": {"open_": f", step: {number}"}, "guard": {"when": f", when: {json.dumps('x > ' + number)}"}}
    source = document(**parts[slot])
    check(source)
    try:
        process = loads(source, "fuzz.yaml")
    except DefinitionError:
        return
    for name in ("n", "x"):
        dtype = process.field(name).type
        for value in (dtype.minimum, dtype.maximum):
            assert value is None or math.isfinite(value)
    try:
        case = Case.open(process, "edges", clock=FixedClock(NOW))
    except CaseError:  # the input boundary may hold data to tighter bounds than a definition: refused, not broken
        return
    assert Case.from_json(process, case.to_json()).snapshot.leaf == "open"


def test_the_generators_reach_past_every_bound() -> None:
    """The strategies above are only worth something if they cross the bounds: check a few draws do."""
    from hypothesis import find

    assert expression_depth(ast.parse(find(deep_guards(), _past_depth), mode="eval").body) > MAX_DEPTH
    assert len(find(long_guards(), lambda s: len(s) > MAX_LENGTH)) > MAX_LENGTH
    assert find(durations(), lambda d: d[1] > MAX_SECONDS)[1] > MAX_SECONDS


def _past_depth(source: str) -> bool:
    try:
        return expression_depth(ast.parse(source, mode="eval").body) > MAX_DEPTH
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
