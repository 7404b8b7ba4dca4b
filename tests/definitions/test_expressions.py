"""Guard expressions: evaluation, types, diagnostics with exact columns, security, explain, properties."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.definitions.expressions import Guard, Scope, compile_guard
from careflow.errors import CODES, Diagnostic
from careflow.model.datatypes import DataType
from careflow.model.marks import Mark

BOOL = DataType("boolean")
NBOOL = DataType("boolean", nullable=True)
INT = DataType("integer", nullable=True)
NUM = DataType("number")
TEXT = DataType("string")
SCOPE = Scope(
    data={
        "consent": BOOL, "a": NBOOL, "b": NBOOL, "c": BOOL, "n": INT, "m": INT, "x": NUM, "s": TEXT,
        "name": TEXT,
        "status": DataType("string", enum=("open", "closed", "waiting")),
        "goals": DataType("array", items=TEXT),
        "xs": DataType("array", items=DataType("integer")),
        "psfs": DataType("array", items=DataType("array", items=DataType("integer"))),
        "born": DataType("string", format="date"),
        "seen": DataType("string", format="date-time"),
        "plan": DataType("object", properties=(("goals", DataType("array", items=TEXT)),
                                               ("owner", DataType("object", properties=(("name", TEXT),))))),
    },
    event={"score": DataType("integer"), "note": TEXT},
)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
MARK = Mark("p.yaml", 10, 3, value_line=10, value_column=9)
BASE: dict[str, Any] = {
    "consent": True, "a": True, "b": False, "c": True, "n": 3, "m": 4, "x": 2.5, "s": "abc", "name": "Åse",
    "status": "open", "goals": ["walk"], "xs": [1, 2, 3], "psfs": [[2, 2, 2], [6, 5, 7]],
    "born": "2024-05-02", "seen": "2024-05-30T12:00:00", "plan": {"goals": ["a"], "owner": {"name": "Kari"}},
}


def guard(source: str, scope: Scope = SCOPE) -> Guard:
    g, diagnostics = compile_guard(source, scope)
    assert g is not None and diagnostics == [], [d.format() for d in diagnostics]
    return g


def run(source: str, data: Mapping[str, Any] | None = None, event: Mapping[str, Any] | None = None,
        now: datetime = NOW, **changes: Any) -> bool:
    values = {**BASE, **(data or {}), **changes}
    return guard(source)(values, event or {}, now)


def problem(source: str, scope: Scope = SCOPE, mark: Mark | None = MARK) -> Diagnostic:
    g, diagnostics = compile_guard(source, scope, mark=mark, pointer="/transitions/0/when")
    assert g is None and diagnostics, source
    return diagnostics[0]


def column(source: str, token: str) -> int:
    """The file column of ``token`` when the expression starts at MARK (characters, not bytes)."""
    return MARK.value_column + source.index(token)


# -- evaluation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "changes", "expected"), [
    ("consent", {}, True),
    ("consent", {"consent": False}, False),
    ("a and not b", {}, True),
    ("a and not b", {"b": True}, False),
    ("a or b", {"a": False}, False),
    ("a or b or c", {"a": False, "b": False}, True),
    ("a and b and c", {"b": True}, True),
    ("not (a and b)", {}, True),
    ("n > 2", {}, True),
    ("n >= 4", {}, False),
    ("1 < n < 4", {}, True),
    ("1 < n < 3", {}, False),
    ("n == 3 and m != 3", {}, True),
    ("n + m * 2 == 11", {}, True),
    ("(n + m) * 2 == 14", {}, True),
    ("m / 8 == 0.5 and m // 3 == 1 and m % 3 == 1", {}, True),
    ("-n == -3 and +n == 3", {}, True),
    ("x * 2 > n + 1.5", {}, True),
    ("s + 'd' == 'abcd'", {}, True),
    ("'b' in s and 'z' not in s", {}, True),
    ("status == 'open'", {}, True),
    ("status != 'open'", {"status": "closed"}, True),
    ("status in ['open', 'waiting']", {"status": "waiting"}, True),
    ("status not in ['open', 'waiting']", {}, False),
    ("n in xs", {}, True),
    ("n in [1, 2]", {}, False),
    ("len(goals) > 0", {}, True),
    ("len(goals) > 0", {"goals": []}, False),
    ("len(name) == 3", {}, True),
    ("sum(xs) == 6 and min(xs) == 1 and max(xs) == 3", {}, True),
    ("max(n, m, 2) == 4 and min(n, x) == 2.5", {}, True),
    ("mean(xs) == 2", {}, True),
    ("mean(psfs[-1]) - mean(psfs[-2]) >= 2", {}, True),
    ("mean(psfs[-1]) - mean(psfs[-2]) >= 2", {"psfs": [[5, 5], [6, 6]]}, False),
    ("xs[0] == 1 and xs[-1] == 3 and psfs[1][2] == 7", {}, True),
    ("abs(n - 10) == 7 and round(x) == 2 and round(2.567, 1) == 2.6", {}, True),
    ("plan.goals[0] == 'a' and plan.owner.name == 'Kari'", {}, True),
    ("len(plan.goals) == 0", {"plan": {"goals": []}}, True),
    ("xs == [1, 2, 3]", {}, True),
    ("xs == [1, 2, 3]", {"xs": (1, 2, 3)}, True),
    ("xs != []", {}, True),
    ("true and not false and True and not False", {}, True),
    ("name == 'Åse'", {}, True),
])
def test_truth_table(source: str, changes: dict[str, Any], expected: bool) -> None:
    assert run(source, changes) is expected


def test_event_data_and_names() -> None:
    g = guard("event.score >= 3 and consent and len(event.note) > 0 and plan.owner.name != null")
    assert g.data_names == frozenset({"consent", "plan"})
    assert g.event_names == frozenset({"score", "note"})
    assert g.source.startswith("event.score")
    assert g(BASE, {"score": 3, "note": "ok"}, NOW) is True
    assert g(BASE, {"score": 2, "note": "ok"}, NOW) is False
    assert g(BASE, {}, NOW) is False


# -- None (unset) handling -------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "changes", "expected"), [
    ("n + 1 > 0", {"n": None}, False),
    ("n > 0", {"n": None}, False),
    ("not (n > 0)", {"n": None}, False),  # unknown stays unknown under not
    ("n > 0 or a", {"n": None}, True),  # three-valued: unknown or true is true
    ("a or n > 0", {"n": None, "a": False}, False),
    ("n > 0 and b", {"n": None}, False),
    ("n == null", {"n": None}, True),
    ("n != null", {"n": None}, False),
    ("null == n", {}, False),
    ("n == 3", {"n": None}, False),
    ("n != 3", {"n": None}, True),  # equality with an unset value is plain equality
    ("a", {"a": None}, False),
    ("not a", {"a": None}, False),
    ("a or not a", {"a": None}, False),
    ("len(goals) > 0", {"goals": None}, False),
    ("mean(xs) > 0", {"xs": []}, False),
    ("max(xs) > 0", {"xs": []}, False),
    ("xs[5] == 1", {}, False),
    ("psfs[-1][0] > 1", {"psfs": []}, False),
    ("plan.owner.name == null", {"plan": None}, True),
    ("n / 0 > 1", {}, False),
    ("days_since(born) > 1", {"born": None}, False),
])
def test_unset_values(source: str, changes: dict[str, Any], expected: bool) -> None:
    assert run(source, changes) is expected


def test_missing_keys_are_unset() -> None:
    assert guard("n == null and not (m > 1)")({}, {}, NOW) is False
    assert guard("n == null and m == null")({}, {}, NOW) is True


# -- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "changes", "expected"), [
    ("days_since(born) == 30", {}, True),
    ("days_until(born) == -30", {}, True),
    ("days_since(seen) == 2", {}, True),  # naive date-time is UTC; exactly 2 days
    ("days_since(seen) == 1", {"seen": "2024-05-30T12:00:01"}, True),  # whole days, truncated
    ("days_until(seen) == 1", {"seen": "2024-06-02T23:00:00Z"}, True),
    ("days_until(seen) == 0", {"seen": "2024-06-02T11:00:00+01:00"}, True),
    ("seen < now", {}, True),
    ("seen > now", {"seen": "2024-06-01T13:30:00+01:00"}, True),  # 12:30 UTC
    ("seen == '2024-05-30T14:00:00+02:00'", {}, True),  # compared as instants
    ("born < '2024-06-01' and born >= '2024-05-02'", {}, True),
    ("born in ['2024-05-02', '2024-05-03']", {}, True),
    ("days_since(born) > 0", {"born": "not a date"}, False),
])
def test_dates(source: str, changes: dict[str, Any], expected: bool) -> None:
    assert run(source, changes) is expected


def test_now_in_another_time_zone_and_naive_now() -> None:
    oslo = datetime(2024, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))  # 2024-05-31 23:00 UTC
    assert run("days_since(born) == 30", now=oslo)  # calendar date in now's own zone
    assert run("days_since(seen) == 1", now=oslo)
    assert run("seen < now", now=datetime(2024, 6, 1, 12, 0))  # a naive now is taken as UTC


# -- diagnostics with exact columns ------------------------------------------------------------------


@pytest.mark.parametrize(("source", "code", "token", "words"), [
    ("consent and )", "CF401", ")", "unmatched"),
    ("n > 1 2", "CF401", "2", "invalid syntax"),
    ("consent_relay_lg and a", "CF402", "consent_relay_lg", "unknown name 'consent_relay_lg'"),
    ("a and event.scor > 1", "CF402", "scor", "unknown event data 'scor'"),
    ("plan.gaols == []", "CF402", "gaols", "no field 'gaols'"),
    ("a and x.__class__ == 1", "CF403", "__class__", "'_'"),
    ("n ** 2 > 1", "CF403", "**", "power"),
    ("a is b", "CF403", "is", "'is'"),
    ("len(x=goals) > 0", "CF403", "x=", "keyword"),
    ("goals[0:1] == []", "CF403", "0:1", "slices"),
    ("a and lenn(goals) > 0", "CF404", "lenn", "unknown function 'lenn'"),
    ("a and consent == 'yes'", "CF405", "==", "cannot compare"),
    ("a and goals", "CF405", "goals", "true/false"),
    ("n + s > 1", "CF405", "+", "cannot combine"),
    ("born < now", "CF405", "<", "cannot compare"),
    ("n < null", "CF405", "<", "cannot compare"),
    ("n in s", "CF405", "in", "cannot compare"),
    ("not m", "CF405", "m", "'not'"),
    ("n + 1", "CF405", "n", "must be true or false"),
    ("born == '2024-13-01'", "CF405", "'2024-13-01'", "not a valid date"),
    ("[1, 'a'] == xs", "CF405", "[", "must not mix"),
    ("a and len(goals, xs) > 0", "CF406", "len", "exactly one argument"),
    ("mean(goals) > 1", "CF406", "goals", "list of numbers"),
    ("round(x, 1.5) > 1", "CF406", "1.5", "whole number"),
    ("days_since(name) > 1", "CF406", "name", "date"),
    ("status == 'clsoed'", "CF407", "'clsoed'", "never a value"),
    ("status in ['open', 'wating']", "CF407", "'wating'", "never a value"),
])
def test_diagnostic_codes_and_columns(source: str, code: str, token: str, words: str) -> None:
    d = problem(source)
    assert (d.code, d.location.file, d.location.line, d.location.column) == (code, "p.yaml", 10,
                                                                            column(source, token))
    assert words in d.message
    assert d.location.pointer == "/transitions/0/when"
    assert d.name == CODES[code]


def test_hints_are_actionable() -> None:
    assert problem("consent_relay_lg").hint == "did you mean 'consent'?"
    assert problem("a and lenn(goals) > 0").hint == "did you mean 'len'?"
    assert problem("status == 'clsoed'").hint == "did you mean 'closed'?"
    assert problem("a and goals").hint == "write len(goals) > 0"
    assert problem("score > 1").hint == "'score' is event data here: write event.score"
    assert problem("a and consent == 'yes'").hint == "write consent == true or consent == false"
    assert "'open', 'closed', 'waiting'" in problem("status == 'x'").message.replace('"', "'")


def test_every_problem_is_reported_at_once() -> None:
    g, diagnostics = compile_guard("foo > 1 and bar < 2 and lenn(xs) > 0", SCOPE, mark=MARK)
    assert g is None
    assert [d.code for d in diagnostics] == ["CF402", "CF402", "CF404"]


def test_columns_count_characters_not_bytes() -> None:
    source = "name == 'Ødegård' and lenn(goals) > 0"
    assert problem(source).location.column == column(source, "lenn")


def test_location_styles() -> None:
    source = "a and foo"
    assert problem(source, mark=None).location.line is None
    assert problem(source, mark=None).location.column is None
    quoted = Mark("p.yaml", 4, 3, 4, 9, style='"')
    assert problem(source, mark=quoted).location.column == 9 + 1 + 6
    block = Mark("p.yaml", 4, 3, 5, 7, style="|")
    d = problem("a and\n  not foo", mark=block)
    assert (d.location.line, d.location.column) == (6, 7 + 6)
    d = problem("a and\n  (n +)", mark=block)
    assert (d.code, d.location.line) == ("CF401", 6)


def test_multi_line_block_scalar_compiles() -> None:
    g = guard("a and\n  len(goals) > 0\n  and not b  # comment\n")
    assert g(BASE, {}, NOW) is True


@pytest.mark.parametrize("source", ["", "   ", "(" * 300 + "a" + ")" * 300, "(" * 5000 + "a" + ")" * 5000,
                                    "-" * 1999 + "1", "not " * 499 + "a", "a and " * 20000 + "a",
                                    "a" * 100_000, "1 +" * 60 + " 1 > 0", "a\x00", "1" * 1999 + " > 0"])
def test_absurd_input_is_cf401(source: str) -> None:
    d = problem(source)
    assert d.code == ("CF401" if not source.strip() or "\x00" in source else "CF408")  # CF408: too long or deep
    assert d.location.line == 10 and isinstance(d.location.column, int)


# -- security --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "code"), [
    ("__class__", "CF403"),
    ("().__class__.__bases__", "CF403"),
    ("x.__dict__", "CF403"),
    ("plan.__class__", "CF403"),
    ("name.upper() == 'X'", "CF403"),
    ("'{}'.format(n) == ''", "CF403"),
    ("(lambda: True)()", "CF403"),
    ("lambda: True", "CF403"),
    ("getattr(x, 'a')", "CF404"),
    ("eval('1') == 1", "CF404"),
    ("__import__('os')", "CF403"),
    ("[v for v in xs] == []", "CF403"),
    ("any(v > 1 for v in xs)", "CF404"),
    ("(y := 1) == 1", "CF403"),
    ("f'{n}' == '3'", "CF403"),
    ("2**9999 > 1", "CF403"),
    ("n << 2 > 1", "CF403"),
    ("~n > 1", "CF403"),
    ("n if a else m", "CF403"),
    ("{1: 2} == {}", "CF403"),
    ("{1} == {1}", "CF403"),
    ("len(*xs) > 0", "CF403"),
    ("len(**plan) > 0", "CF403"),
    ("xs[n] > 0", "CF403"),
    ("b'x' == b'x'", "CF403"),
    ("s * 1000000000 == ''", "CF405"),
    ("event.__class__", "CF403"),
    ("now.year > 2000", "CF403"),
])
def test_forbidden_constructs(source: str, code: str) -> None:
    assert problem(source).code == code


def test_author_text_is_never_compiled_or_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def only_ast(source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "author text compiled to code"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec used")

    monkeypatch.setattr(builtins, "compile", only_ast)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    g = guard("mean(psfs[-1]) - mean(psfs[-2]) >= 2 and status in ['open'] and days_since(born) > 1")
    assert g(BASE, {}, NOW) is True
    assert g.explain({**BASE, "status": "closed"}, {}, NOW)


def test_mistyped_data_cannot_blow_up() -> None:
    g = guard("n * 1000000000 > 0 and m % 2 == 0")
    assert g({**BASE, "n": "a"}, {}, NOW) is False  # no gigabyte string
    assert g({**BASE, "m": "%s"}, {}, NOW) is False
    assert guard("round(x, n) > 0")({**BASE, "n": -10**9}, {}, NOW) is False


# -- explain ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "changes", "reasons"), [
    ("consent", {"consent": False}, ["consent is false"]),
    ("consent", {"consent": None}, ["consent is not set"]),
    ("len(goals) > 0", {"goals": []}, ["len(goals) > 0 is false (len(goals) = 0)"]),
    ("a and not b and n > 1", {"a": False, "b": True},
     ["a is false", "b is true"]),
    ("a or n > 5", {"a": False}, ["a is false", "n > 5 is false (n = 3)"]),
    ("n + 1 > 0", {"n": None}, ["n is not set"]),
    ("mean(psfs[-1]) > 1", {"psfs": None}, ["psfs is not set"]),
    ("mean(psfs[-1]) - mean(psfs[-2]) >= 2", {"psfs": [[1, 2]]},
     ["psfs[-2] cannot be evaluated (psfs = [[1, 2]])"]),
    ("mean(xs) > 1", {"xs": []}, ["mean(xs) cannot be evaluated (xs = [])"]),
    ("status == 'open'", {"status": "closed"}, ["status == 'open' is false (status = \"closed\")"]),
    ("n != null", {"n": None}, ["n != null is false (n is not set)"]),
    ("not (a and c)", {}, ["a and c is true"]),
    ("event.score > 1", {}, ["event.score is not set"]),
])
def test_explain(source: str, changes: dict[str, Any], reasons: list[str]) -> None:
    assert guard(source).explain({**BASE, **changes}, {}, NOW) == reasons


def test_explain_is_empty_when_true() -> None:
    assert guard("consent and len(goals) > 0").explain(BASE, {}, NOW) == []


# -- properties --------------------------------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = st.sampled_from([*"abnmxs_.()[]'\"0123456789+-*/%<>=!, ~@&|:ø\n", "and ", "or ", "not ", " in ",
                            "len(", "mean(", "__class__", "lambda", "event.", "now", "true", "null", "psfs",
                            "goals", "status", "if ", "for ", "**"])


def check_result(result: tuple[Guard | None, list[Diagnostic]]) -> None:
    g, diagnostics = result
    if g is None:
        assert diagnostics and all(d.code in CODES and d.code.startswith("CF4") for d in diagnostics)
        assert all(isinstance(d.location.column, int) and d.location.column >= MARK.value_column
                   for d in diagnostics)
    else:
        assert diagnostics == []


@FAST
@given(st.text(max_size=80))
def test_random_text_never_raises(source: str) -> None:
    check_result(compile_guard(source, SCOPE, mark=MARK))


@FAST
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_random_token_soup_never_raises(source: str) -> None:
    check_result(compile_guard(source, SCOPE, mark=MARK))


def loose_expressions() -> st.SearchStrategy[str]:
    """Syntactically valid, often ill-typed or forbidden expressions: every operator and many names."""
    leaves = st.sampled_from(["a", "n", "x", "s", "status", "goals", "xs", "psfs", "born", "seen", "now",
                              "plan", "plan.owner", "plan.owner.name", "event.score", "event.nope", "nope",
                              "1", "-2", "2.5", "'open'", "'2024-01-01'", "[]", "[1, 2]", "['a']", "null",
                              "true", "len", "x.__class__", "()", "{}", "lambda: 1"])
    binary = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "&", "|", "and", "or", "==", "!=", "<",
                              ">=", "in", "not in", "is", "<<", "@"])
    functions = st.sampled_from(["len", "sum", "mean", "min", "max", "abs", "round", "days_since",
                                 "days_until", "lenn", "getattr", "print"])
    return st.recursive(leaves, lambda inner: st.one_of(
        st.tuples(inner, binary, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["not ", "-", "+", "~"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(functions, st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from(["0", "-1", "5", "n", "1:2"])).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, st.sampled_from(["goals", "name", "_x", "real"])).map(lambda t: f"({t[0]}).{t[1]}"),
    ), max_leaves=8)


@FAST
@given(loose_expressions(), st.dictionaries(st.sampled_from(sorted(SCOPE.data)), st.integers() | st.text()))
def test_grammar_expressions_never_raise(source: str, data: dict[str, Any]) -> None:
    result = compile_guard(source, SCOPE, mark=MARK)
    check_result(result)
    if result[0] is not None:
        assert isinstance(result[0](data, {"score": "x"}, NOW), bool)


# A grammar of well-typed guards over a small scope, for the differential property.
PSCOPE = Scope(data={"a": NBOOL, "b": NBOOL, "n": INT, "m": INT, "x": DataType("number", nullable=True),
                     "xs": DataType("array", items=DataType("integer"), nullable=True),
                     "s": DataType("string", enum=("p", "q", "r"), nullable=True)})


def numbers() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["n", "m", "x", "len(xs)", "xs[0]", "xs[-1]", "sum(xs)", "mean(xs)", "min(xs)",
                              "max(xs)", "0", "1", "2", "-3", "1.5"])
    return st.recursive(leaves, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"abs({e})"),
        inner.map(lambda e: f"round({e})"),
        st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
    ), max_leaves=6)


def booleans() -> st.SearchStrategy[str]:
    cmp = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    leaves = st.one_of(
        st.sampled_from(["a", "b", "true", "false", "n == null", "xs != null", "s == 'p'", "s != 'q'",
                         "s in ['p', 'r']", "n in xs", "xs == []", "x == null"]),
        st.tuples(numbers(), cmp, numbers()).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(numbers(), numbers(), numbers()).map(lambda t: f"{t[0]} < {t[1]} <= {t[2]}"),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        inner.map(lambda e: f"not ({e})"),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: "(" + " and ".join(es) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: "(" + " or ".join(es) + ")"),
    ), max_leaves=5)


small_data = st.fixed_dictionaries({
    "a": st.sampled_from([True, False, None]), "b": st.sampled_from([True, False, None]),
    "n": st.one_of(st.none(), st.integers(-3, 3)), "m": st.one_of(st.none(), st.integers(-3, 3)),
    "x": st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 0.25, 2.0])),
    "xs": st.one_of(st.none(), st.lists(st.integers(-2, 3), max_size=3)),
    "s": st.sampled_from(["p", "q", "r", None]),
})


class Unknown(Exception):
    """The reference evaluator's unknown: an unset value or an undefined result."""


def reference(source: str, data: Mapping[str, Any]) -> bool:
    """A plain tree-walking evaluator of the documented semantics (three-valued logic)."""

    def truth(node: ast.AST) -> bool | None:
        try:
            v = value(node)
        except Unknown:
            return None
        return v if isinstance(v, bool) else None

    def number(node: ast.AST) -> Any:
        v = value(node)
        if v is None or isinstance(v, bool) or not isinstance(v, int | float):
            raise Unknown
        return v

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return {"true": True, "false": False, "null": None}.get(node.id, data.get(node.id))
        if isinstance(node, ast.List):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.BoolOp):
            vs = [truth(v) for v in node.values]
            decisive = isinstance(node.op, ast.Or)
            if decisive in vs:
                return decisive
            return None if None in vs else not decisive
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                t = truth(node.operand)
                return None if t is None else not t
            return -number(node.operand) if isinstance(node.op, ast.USub) else number(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = number(node.left), number(node.right)
            if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
                raise Unknown
            ops: dict[type[ast.operator], Callable[[], Any]] = {
                ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                ast.Mult: lambda: left * right, ast.Div: lambda: left / right,
                ast.FloorDiv: lambda: left // right, ast.Mod: lambda: left % right}
            return ops[type(node.op)]()
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, lnode, rnode in zip(node.ops, operands[:-1], operands[1:], strict=True):
                if isinstance(op, ast.Eq | ast.NotEq):
                    equal = value(lnode) == value(rnode)
                    ok = equal if isinstance(op, ast.Eq) else not equal
                elif isinstance(op, ast.In):
                    container = value(rnode)
                    if container is None:
                        raise Unknown
                    ok = value(lnode) in container
                else:
                    lv, rv = number(lnode), number(rnode)
                    ok = {ast.Lt: lv < rv, ast.LtE: lv <= rv, ast.Gt: lv > rv, ast.GtE: lv >= rv}[type(op)]
                if not ok:
                    return False
            return True
        if isinstance(node, ast.Subscript):
            seq = value(node.value)
            index = value(node.slice)
            if seq is None or not -len(seq) <= index < len(seq):
                raise Unknown
            return seq[index]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            name = node.func.id
            if name in ("max", "min") and len(node.args) > 1:
                args = [number(a) for a in node.args]
                return max(args) if name == "max" else min(args)
            if name in ("abs", "round"):
                v = number(node.args[0])
                return abs(v) if name == "abs" else round(v)
            xs = value(node.args[0])
            if xs is None or (name in ("mean", "min", "max") and not xs):
                raise Unknown
            functions: dict[str, Callable[[Any], Any]] = {"len": len, "sum": sum, "min": min, "max": max,
                                                          "mean": lambda v: sum(v) / len(v)}
            return functions[name](xs)
        raise AssertionError(ast.dump(node))

    return truth(ast.parse(source, mode="eval").body) is True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(booleans(), small_data)
def test_differential_against_reference(source: str, data: dict[str, Any]) -> None:
    g, diagnostics = compile_guard(source, PSCOPE)
    assert g is not None, [d.format() for d in diagnostics]
    assert g(data, {}, NOW) is reference(source, data)
    assert (g.explain(data, {}, NOW) == []) is g(data, {}, NOW)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
              st.sampled_from(["2024-05-01", "2024-05-01T10:00:00+02:00", "%s", "nan"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8,
)
FIXED_GUARDS = [
    "consent", "len(goals) > 0", "mean(psfs[-1]) - mean(psfs[-2]) >= 2", "plan.owner.name == 'x'",
    "days_since(born) > 3 or days_until(seen) < 2", "seen < now", "s + name == 'x'", "status in ['open']",
    "xs == [1]", "x * n > 1", "round(x, n) == 1", "event.score > 1", "'a' in goals", "born == '2024-01-01'",
]


@FAST
@given(st.one_of(booleans(), st.sampled_from(FIXED_GUARDS)),
       st.dictionaries(st.sampled_from(sorted(SCOPE.data)), json_values),
       st.dictionaries(st.sampled_from(["score", "note"]), json_values))
def test_guards_never_raise_on_random_data(source: str, data: dict[str, Any], event: dict[str, Any]) -> None:
    g = guard(source, SCOPE if source in FIXED_GUARDS else PSCOPE)
    result = g(data, event, NOW)
    assert isinstance(result, bool)
    reasons = g.explain(data, event, NOW)
    assert (reasons == []) is result and all(isinstance(r, str) for r in reasons)



def test_reference_evaluator_sanity() -> None:
    assert reference("(a or n > 1)", {"a": None, "n": 2}) is True
    assert reference("not (n > 1)", {"n": None}) is False
