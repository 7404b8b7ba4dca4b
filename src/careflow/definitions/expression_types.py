"""Static types of the guard language, and its built-in functions (signatures and runtime helpers).

Types are ``DataType`` values. Two kinds exist only here: ``null`` (the literal) and ``any``
(a part that already has an error, or the items of ``[]``). ``any`` fits everything, so one
mistake is reported once and not again by every enclosing operator.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import attrs

from careflow.model.datatypes import DataType

BOOL = DataType("boolean")
INT = DataType("integer")
NUM = DataType("number")
TEXT = DataType("string")
DATE = DataType("string", format="date")
DATETIME = DataType("string", format="date-time")
NULL = DataType("null")
ANY = DataType("any")

#: a compiled sub-expression: (case data, event data, now) -> value
Fn = Callable[[Mapping[str, Any], Mapping[str, Any], datetime], Any]

Pos = tuple[int, int]  # (line, character column) within the expression; line 1-based, column 0-based

FUNCTIONS: tuple[str, ...] = ("abs", "days_since", "days_until", "len", "max", "mean", "min", "round", "sum")


def is_any(t: DataType) -> bool:
    return t.kind == "any"


def is_bool(t: DataType) -> bool:
    return t.kind in ("boolean", "any")


def is_number(t: DataType) -> bool:
    return t.kind in ("integer", "number", "any")


def is_text(t: DataType) -> bool:
    """A string without a date format (dates are not text: len() or + on them is a mistake)."""
    return (t.kind == "string" and t.format is None) or t.kind == "any"


def date_kind(t: DataType) -> str | None:
    return t.format if t.kind == "string" else None


def items(t: DataType) -> DataType:
    return t.items if t.items is not None else ANY


def is_number_list(t: DataType) -> bool:
    return t.kind == "any" or (t.kind == "array" and is_number(items(t)))


def describe(t: DataType) -> str:
    """The type in words an author knows: 'a number', 'a list of whole numbers'."""
    simple = {"boolean": "true/false", "integer": "a whole number", "number": "a number", "null": "null",
              "object": "an object", "any": "a value"}
    if t.kind == "string":
        return {"date": "a date", "date-time": "a date and time"}.get(t.format or "", "a text")
    if t.kind == "array":
        inner = describe(items(t)) if t.items is not None else ""
        return "a list" + (" of " + inner.removeprefix("a ").removeprefix("an ") if inner else "")
    return simple.get(t.kind, t.kind)


def unify(types: Sequence[DataType]) -> DataType | None:
    """The common type of list items, or None when they do not mix (e.g. numbers and texts)."""
    real = [t for t in types if t.kind not in ("any", "null")]
    nullable = len(real) < len(types) and any(t.kind == "null" for t in types)
    if not real:
        return ANY
    if all(t.kind in ("integer", "number") for t in real):
        kind = "integer" if all(t.kind == "integer" for t in real) else "number"
        return DataType(kind, nullable=nullable)
    first = real[0]
    if all(compatible(first, t) for t in real):
        return DataType(first.kind, nullable=nullable, format=first.format, items=first.items,
                        properties=first.properties)
    return None


def compatible(a: DataType, b: DataType) -> bool:
    """May ``a == b`` be true? Comparing with null is always allowed."""
    if is_any(a) or is_any(b) or a.kind == "null" or b.kind == "null":
        return True
    if a.kind in ("integer", "number") and b.kind in ("integer", "number"):
        return True
    if a.kind != b.kind:
        return False
    if a.kind == "string":
        return a.format == b.format
    if a.kind == "array":
        return compatible(items(a), items(b))
    return True


def orderable(a: DataType, b: DataType) -> bool:
    """May ``a < b`` be asked: two numbers, two texts, or two dates of the same kind."""
    if is_any(a) or is_any(b):
        return a.kind != "null" and b.kind != "null"
    if is_number(a) and is_number(b):
        return True
    return a.kind == b.kind == "string" and a.format == b.format


def contains(left: DataType, right: DataType) -> bool:
    """May ``left in right`` be asked: right is a list with fitting items, or text in text."""
    if is_any(right):
        return True
    if right.kind == "array":
        return compatible(left, items(right))
    return right.kind == "string" and right.format is None and is_text(left)


def arithmetic(op: str, a: DataType, b: DataType) -> DataType | None:
    """The type of ``a op b``, or None when the operator does not apply."""
    if op == "+" and is_text(a) and is_text(b) and not (is_any(a) and is_any(b)):
        return TEXT
    if not (is_number(a) and is_number(b)):
        return None
    if op == "/":
        return NUM
    if is_any(a) or is_any(b):
        return ANY
    return INT if a.kind == b.kind == "integer" else NUM


def check_call(name: str, args: Sequence[DataType]) -> DataType | tuple[int | None, str]:
    """The result type of a built-in call, or (index of the bad argument or None, message)."""
    n = len(args)
    if name in ("min", "max"):
        if n == 1:
            if not is_number_list(args[0]):
                return 0, f"{name}() takes a list of numbers or several numbers, not {describe(args[0])}"
            return items(args[0]) if not is_any(args[0]) else ANY
        if n == 0:
            return None, f"{name}() needs a list of numbers or at least two numbers"
        for i, t in enumerate(args):
            if not is_number(t):
                return i, f"{name}() takes numbers, not {describe(t)}"
        return INT if all(t.kind == "integer" for t in args) else NUM
    if name == "round":
        if n not in (1, 2):
            return None, f"round() takes a number and optionally the number of decimals, not {n} arguments"
        if not is_number(args[0]):
            return 0, f"round() takes a number, not {describe(args[0])}"
        if n == 2 and args[1].kind not in ("integer", "any"):
            return 1, f"the number of decimals must be a whole number, not {describe(args[1])}"
        return INT if n == 1 else NUM
    if n != 1:
        return None, f"{name}() takes exactly one argument, not {n}"
    t = args[0]
    if name == "len":
        if t.kind == "array" or is_text(t):
            return INT
        return 0, f"len() takes a list or a text, not {describe(t)}"
    if name in ("sum", "mean"):
        if not is_number_list(t):
            return 0, f"{name}() takes a list of numbers, not {describe(t)}"
        return NUM if name == "mean" or items(t).kind != "integer" else INT
    if name == "abs":
        return t if is_number(t) else (0, f"abs() takes a number, not {describe(t)}")
    # days_since, days_until
    if date_kind(t) or is_any(t):
        return INT
    return 0, f"{name}() takes a date or date-time field, not {describe(t)}"


# -- runtime helpers (the evaluator's closures call these) -----------------------------------------


def as_datetime(v: Any) -> datetime | None:
    if v is None:
        return None
    dt = v if isinstance(v, datetime) else datetime.fromisoformat(v) if isinstance(v, str) else None
    if dt is None:
        raise TypeError("not a date-time")
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)  # naive means UTC


def as_date(v: Any) -> date | None:
    if v is None or (isinstance(v, date) and not isinstance(v, datetime)):
        return v
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, str):
        return date.fromisoformat(v)
    raise TypeError("not a date")


def plain(v: Any) -> Any:
    """Lists and tuples alike (frozen data holds tuples), so array equality does not depend on it."""
    if isinstance(v, list | tuple):
        return tuple(plain(x) for x in v)
    if isinstance(v, Mapping):
        return {k: plain(x) for k, x in v.items()}
    return v


def day_counter(kind: str, sign: int) -> Callable[[Any, datetime], int]:
    """days_since (sign 1) or days_until (sign -1) for a date or date-time field."""

    def days(v: Any, now: datetime) -> int:
        if kind == "date":
            return sign * (now.date() - as_date(v)).days  # type: ignore[operator]
        seconds = sign * (as_datetime(now) - as_datetime(v)).total_seconds()  # type: ignore[operator]
        return int(seconds / 86400)  # whole days, truncated toward zero

    return days


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)  # an empty list raises ZeroDivisionError: unknown, so the guard is false


def round_(x: float, ndigits: int | None = None) -> float:
    if ndigits is not None and not (type(ndigits) is int and -300 <= ndigits <= 300):
        raise ValueError("ndigits out of range")  # round(5, -10**9) would compute 10**10**9
    return round(x, ndigits)


def number_op(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Guard * and % against strings and lists in mistyped data: 'a' * 10**9 would eat memory."""

    def checked(a: Any, b: Any) -> Any:
        if type(a) not in (int, float) or type(b) not in (int, float):
            raise TypeError("not numbers")
        return op(a, b)

    return checked


def is_in(a: Any, b: Any) -> bool:
    return a in b


def not_in(a: Any, b: Any) -> bool:
    return a not in b


FUNCTION_IMPLS: dict[str, Callable[..., Any]] = {
    "len": len, "sum": sum, "mean": mean, "min": min, "max": max, "abs": abs, "round": round_}
COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.In: ("in", is_in), ast.NotIn: ("not in", not_in)}
ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", number_op(operator.mul)),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", number_op(operator.mod))}
FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.NamedExpr: "assignments (:=)",
    ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings", ast.IfExp: "conditional expressions",
    ast.Dict: "dictionaries", ast.Set: "sets", ast.Tuple: "tuples (write a list: [1, 2])",
    ast.Slice: "slices", ast.Starred: "'*' unpacking", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Pow: "'**' (power)", ast.MatMult: "'@'", ast.LShift: "bit operations",
    ast.RShift: "bit operations", ast.BitOr: "bit operations", ast.BitXor: "bit operations",
    ast.BitAnd: "bit operations", ast.Invert: "bit operations (~)", ast.Is: "'is' (write == or !=)",
    ast.IsNot: "'is not' (write == or !=)"}


# -- logic: None and failures are "unknown" (three-valued, like SQL) --------------------------------


def logic2(fa: Fn, fb: Fn, stop: bool) -> Fn:
    other = not stop

    def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
        try:
            a = fa(d, e, n)
        except Exception:
            a = None
        if a is stop:
            return stop
        try:
            b = fb(d, e, n)
        except Exception:
            b = None
        if b is stop:
            return stop
        return other if a is other and b is other else None

    return fn


def logic(fns: list[Fn], stop: bool) -> Fn:
    other = not stop

    def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
        unknown = False
        for f in fns:
            try:
                v = f(d, e, n)
            except Exception:
                v = None
            if v is stop:
                return stop
            unknown = unknown or v is not other
        return None if unknown else other

    return fn


def negation(fa: Fn) -> Fn:
    def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
        try:
            v = fa(d, e, n)
        except Exception:
            return None
        return False if v is True else True if v is False else None

    return fn


def negated_field(key: str) -> Fn:
    """``not consent``: the common case, one lookup and no call."""

    def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
        v = d.get(key)
        return False if v is True else True if v is False else None

    return fn


def normalized(op: Callable[[Any, Any], Any], fa: Fn, fb: Fn, norm: Callable[[Any], Any], membership: bool
                ) -> Fn:
    if membership:
        return lambda d, e, n: op(norm(fa(d, e, n)), [norm(x) for x in fb(d, e, n)])
    return lambda d, e, n: op(norm(fa(d, e, n)), norm(fb(d, e, n)))


# -- compiled nodes and explanations -----------------------------------------------------------------


@attrs.frozen(eq=False)
class Node:
    """A compiled sub-expression: its closure, static type, source text and parts (for explain)."""

    fn: Fn
    ty: DataType
    text: str
    pos: Pos
    kind: str = "value"  # const | path | and | or | not | compare | value
    children: tuple[Node, ...] = ()
    value: Any = None  # the constant, when kind == "const"
    key: str | None = None  # the field name, when this is a top-level case data field


def const(value: Any, ty: DataType, text: str, pos: Pos, children: tuple[Node, ...] = ()) -> Node:
    return Node(lambda d, e, n: value, ty, text, pos, "const", children, value)


def show(v: Any) -> str:
    if v is None:
        return "null"
    try:
        text = json.dumps(plain(v), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class Explainer:
    """Re-runs the compiled closures of the parts to say which of them made the guard false."""

    def __init__(self, data: Mapping[str, Any], event: Mapping[str, Any], now: datetime) -> None:
        self.args = (data, event, now)

    def value(self, node: Node) -> tuple[bool, Any]:
        try:
            return True, node.fn(*self.args)
        except Exception:
            return False, None

    def is_true(self, node: Node) -> bool:
        ok, v = self.value(node)
        return ok and v is True

    def details(self, node: Node) -> str:
        parts = []
        for child in node.children:
            ok, v = self.value(child)
            if child.kind != "const" and ok:
                parts.append(f"{child.text} is not set" if v is None else f"{child.text} = {show(v)}")
        return f" ({'; '.join(parts)})" if parts else ""

    def why_not(self, node: Node) -> list[str]:
        if node.kind in ("and", "or"):
            return [r for c in node.children if not self.is_true(c) for r in self.why_not(c)]
        if node.kind == "not":
            child = node.children[0]
            return [f"{child.text} is true"] if self.is_true(child) else self.why_not(child)
        ok, v = self.value(node)
        if not ok:
            return self.failure(node)
        if v is None:
            return [f"{node.text} is not set"]
        if v is False:
            return [f"{node.text} is false" + ("" if node.kind == "path" else self.details(node))]
        return [f"{node.text} is not true or false ({node.text} = {show(v)})"]

    def failure(self, node: Node) -> list[str]:
        for child in node.children:
            if not self.value(child)[0]:
                return self.failure(child)  # the deepest part that fails is the one to name
        unset = [c.text for c in node.children if self.value(c) == (True, None)]
        if unset:
            return [f"{text} is not set" for text in unset]
        return [f"{node.text} cannot be evaluated{self.details(node)}"]
