"""Check a JSON value against a declared DataType: one function for defaults, case data and event data."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from careflow.model.datatypes import DataType
from careflow.model.limits import INTEGER_BOUND

_KIND_WORDS = {"boolean": "true or false", "integer": "a whole number", "number": "a number",
               "string": "text", "array": "a list", "object": "a mapping"}


def show_value(value: Any) -> str:
    """A value as an author writes it in the file: true/false, null, "text", [1, 2] (never Python's spelling)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=_plain)
    except (TypeError, ValueError):
        return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def describe(dtype: DataType) -> str:
    """The type in words an author knows: 'true or false', 'a list of whole numbers'."""
    if dtype.kind == "string" and dtype.format:
        words = {"date": "a date (2026-11-22)", "date-time": "a date and time (2026-11-22T09:30:00+01:00)"}
        base = words.get(dtype.format, "text")
    elif dtype.kind == "array" and dtype.items is not None:
        base = "a list of " + describe(dtype.items).removeprefix("a ").removeprefix("an ")
    else:
        base = _KIND_WORDS[dtype.kind]
    if dtype.enum is not None:
        base = "one of " + ", ".join(show_value(e) for e in dtype.enum)
    return base + (" or null" if dtype.nullable else "")


def _is_kind(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and finite(value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list | tuple)
    if kind == "object":
        return isinstance(value, Mapping)
    return False


def finite(value: float) -> bool:
    """A number that is neither infinite nor NaN, nor an integer too large for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _shown(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)  # :g of a huge int overflows
# One strict format, the same on every Python version: RFC 3339 full-date, and date-time with an offset
# (``fromisoformat`` alone also takes 2024-W01-1, 20240101 and times without an offset).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
                        r"(Z|[+-][0-9]{2}:[0-9]{2})")


def _valid_format(fmt: str, value: str) -> bool:
    try:
        if fmt == "date":
            return _DATE.fullmatch(value) is not None and bool(date.fromisoformat(value))
        if fmt == "date-time":
            return (_DATE_TIME.fullmatch(value) is not None
                    and bool(datetime.fromisoformat(value.replace("Z", "+00:00"))))
    except ValueError:
        return False
    return True


def value_problem(dtype: DataType, value: Any, where: str = "") -> str | None:
    """None when ``value`` fits ``dtype``; else a phrase such as "must be a whole number, not 'x'"."""
    at = f" at {where}" if where else ""
    if value is None:
        return None if dtype.nullable else f"must be {_KIND_WORDS[dtype.kind]}{at}, not null"
    if not _is_kind(dtype.kind, value):
        return f"must be {_KIND_WORDS[dtype.kind]}{at}, not {show_value(value)}"
    if dtype.enum is not None and value not in dtype.enum:
        return f"must be one of {', '.join(show_value(e) for e in dtype.enum)}{at}, not {show_value(value)}"
    if dtype.kind in ("integer", "number"):
        if dtype.minimum is not None and value < dtype.minimum:
            return f"must be at least {_shown(dtype.minimum)}{at}, not {show_value(value)}"
        if dtype.maximum is not None and value > dtype.maximum:
            return f"must be at most {_shown(dtype.maximum)}{at}, not {show_value(value)}"
    elif dtype.kind == "string":
        if dtype.min_length is not None and len(value) < dtype.min_length:
            return f"must be at least {dtype.min_length} character(s) long{at}"
        if dtype.max_length is not None and len(value) > dtype.max_length:
            return f"must be at most {dtype.max_length} characters long{at}"
        if dtype.format and not _valid_format(dtype.format, value):
            example = "2026-11-22" if dtype.format == "date" else "2026-11-22T09:30:00+01:00"
            return f"must be an ISO-8601 {dtype.format} such as {example}{at}, not {show_value(value)}"
    elif dtype.kind == "array":
        if dtype.min_items is not None and len(value) < dtype.min_items:
            return f"must have at least {dtype.min_items} item(s){at}"
        if dtype.max_items is not None and len(value) > dtype.max_items:
            return f"must have at most {dtype.max_items} item(s){at}"
        if dtype.unique_items:
            for i, item in enumerate(value):
                if item in value[:i]:
                    return f"lists {show_value(item)} twice{at} (each value at most once)"
        if dtype.items is not None:
            for i, item in enumerate(value):
                problem = value_problem(dtype.items, item, f"{where}[{i}]" if where else f"item {i + 1}")
                if problem:
                    return problem
    elif dtype.kind == "object":
        for key in dtype.required:
            if key not in value:
                return f"must have '{key}'{at}"
        props = dict(dtype.properties)
        for key, item in value.items():
            sub = props.get(key)
            if sub is None:
                return f"has an undeclared key '{key}'{at}"
            problem = value_problem(sub, item, f"{where}.{key}" if where else str(key))
            if problem:
                return problem
    return None

def case_data_problem(value: Any) -> str | None:
    """What the runtime's input boundary would refuse in a default (a default becomes case data)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > INTEGER_BOUND:
            return f"holds an integer beyond ±{INTEGER_BOUND}, the most case data may hold"
        if isinstance(item, str) and ("\x00" in item or any("\ud800" <= c <= "\udfff" for c in item)):
            return "holds a NUL or a lone surrogate in its text"
        if isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return None
