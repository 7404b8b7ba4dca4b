"""Static types of the guard language, and its built-in functions' signatures.

Types are ``DataType`` values. Two kinds exist only here: ``null`` (the literal) and ``any``
(a part that already has an error, or the items of ``[]``). ``any`` fits everything, so one
mistake is reported once and not again by every enclosing operator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

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


def constant_problem(value: Any) -> str | None:
    """What makes a literal unfit for a guard: 1e999 reads as infinity, and a text escape can make a lone
    surrogate (which no output can print) or a NUL (which no data holds)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "infinite numbers (1e999 is infinity)"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "texts with a lone surrogate character (such as '\\ud800')"
        if "\x00" in value:
            return "texts with a NUL character"
    return None


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


def assignable(value: DataType, field: DataType) -> bool:
    """May a computed value of type ``value`` be stored in a field of type ``field``? (Its bounds, enum and
    lengths are checked when it is computed.)"""
    if is_any(value) or is_any(field):
        return True
    if value.kind == "null":
        return field.nullable
    if field.kind == "number":
        return value.kind in ("integer", "number")
    if field.kind != value.kind:
        return False
    if field.kind == "string":
        return field.format == value.format
    if field.kind == "array":
        return value.items is None or assignable(items(value), items(field))
    return field.kind != "object" or value.properties == field.properties


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
