"""What compiled guards run: value helpers, operator tables and three-valued logic.

Closures built by the compiler call these on every evaluation, so they stay small and flat.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from careflow.definitions import expression_numbers as X
from careflow.definitions.expression_types import Fn


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


def is_in(a: Any, b: Any) -> bool:
    return a in b


def not_in(a: Any, b: Any) -> bool:
    return a not in b


FUNCTION_IMPLS: dict[str, Callable[..., Any]] = {
    **X.EXACT_FUNCTIONS, "len": len, "min": min, "max": max, "abs": abs}  # the last three plain, for plain values
COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.In: ("in", is_in), ast.NotIn: ("not in", not_in)}
#: exact arithmetic (expression_numbers): floats count as the decimals they were written as
ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", X.add), ast.Sub: ("-", X.sub), ast.Mult: ("*", X.mul), ast.Div: ("/", X.div),
    ast.FloorDiv: ("//", X.floordiv), ast.Mod: ("%", X.mod)}


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
