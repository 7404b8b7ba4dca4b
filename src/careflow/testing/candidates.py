"""Event data for generated paths: a few valid candidates per event, built from the declared types.

Path generation (``careflow.testing.paths``) has to find data that satisfies each guard on a path
without solving the guard. It tries a handful of candidates instead: every field gets one typical
value, and the fields some guard of the process reads (directly as ``event.x``, or through the case
field an event writes) get a few contrasting ones — both booleans, every enum value, the middle and
both ends of a number range, dates in the past and the future. Every candidate is checked against
the field's validator, so the engine never refuses one for its type.
"""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta
from typing import Any

from careflow.errors import InvalidData
from careflow.model.datatypes import DataType
from careflow.model.definition import Transition
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.data import validator

#: Candidates per event, at most: the product over relevant fields is cut here.
MAX_CANDIDATES = 16
#: How far back a "past" date lies: beyond a year, so guards like ``days_since(x) >= 365`` can pass.
PAST_DAYS = 400


def person_for(role: str) -> str:
    """The person id generated histories give a case-scoped role."""
    return f"{role.replace('_', '-')}-1"


def relevant_fields(compiled: CompiledProcess) -> tuple[frozenset[str], frozenset[str]]:
    """(case fields, event fields) read by any guard expression of the process."""
    data: set[str] = set()
    event: set[str] = set()
    for plans in compiled.table.values():
        for candidates in plans.values():
            for plan in candidates:
                if plan.when is not None:
                    data |= plan.when.data_names
                    event |= plan.when.event_names
    return frozenset(data), frozenset(event)


def values(dtype: DataType, name: str, today: date, *, contrast: bool) -> list[Any]:
    """Valid values for ``dtype``: the typical one first, then (with ``contrast``) a few others."""
    out = _raw(dtype, name, today, contrast)
    check = validator(dtype, name)
    valid: list[Any] = []
    for value in out:
        try:
            check(value)
        except InvalidData:
            continue
        if value not in valid:
            valid.append(value)
    return valid if contrast else valid[:1]


def _raw(dtype: DataType, name: str, today: date, contrast: bool) -> list[Any]:
    if dtype.enum is not None:
        return [v for v in dtype.enum if v is not None]
    kind = dtype.kind
    if kind == "boolean":
        return [True, False]  # True first: flags usually open the way forward (consent given, done)
    if kind in ("integer", "number"):
        lo = dtype.minimum if dtype.minimum is not None else 0
        hi = dtype.maximum if dtype.maximum is not None else lo + 10
        if kind == "integer":
            lo, hi = math.ceil(lo), math.floor(hi)
            return [(lo + hi) // 2, lo, hi]
        return [(lo + hi) / 2, float(lo), float(hi)]
    if kind == "string":
        return _strings(dtype, name, today)
    if kind == "array":
        return _arrays(dtype, name, today, contrast)
    if kind == "object":
        return [{key: (values(sub, key, today, contrast=False) or [None])[0] for key, sub in dtype.properties}]
    return []


def _strings(dtype: DataType, name: str, today: date) -> list[Any]:
    if dtype.format == "date":
        return [d.isoformat() for d in (today, today - timedelta(days=PAST_DAYS), today + timedelta(days=30))]
    if dtype.format == "date-time":
        noon = datetime(today.year, today.month, today.day, 12)
        return [f"{d.isoformat()}Z" for d in (noon, noon - timedelta(days=PAST_DAYS), noon + timedelta(days=30))]
    text = name.replace("_", " ") + " (generated)"
    if dtype.min_length is not None and len(text) < dtype.min_length:
        text = text.ljust(dtype.min_length, "x")
    if dtype.max_length is not None:
        text = text[:dtype.max_length]
    return [text]


def _arrays(dtype: DataType, name: str, today: date, contrast: bool) -> list[Any]:
    item_type = dtype.items or DataType("string")
    items = values(item_type, name, today, contrast=contrast)
    least = max(1, dtype.min_items or 0)  # one item at least: guards such as len(x) > 0 are common
    if dtype.max_items is not None and least > dtype.max_items:
        return [[]]
    out = [[item] * least for item in items]
    if not (dtype.min_items or 0):
        out.append([])
    return out


def event_candidates(compiled: CompiledProcess, t: Transition, now: datetime,
                     relevant: tuple[frozenset[str], frozenset[str]]) -> list[dict[str, Any]]:
    """Event data candidates for ``t``: every field it takes filled in, the first one typical.

    Optional fields are filled in too: later guards may read what they set (a PSFS scale
    direction, a wish for an individual plan).
    """
    from careflow.definitions.builder import scope_fields

    case_read, event_read = relevant
    writes = {source: target for target, source in (*t.set, *t.append)}
    assigned = {source: role for role, source in t.assign}
    today = now.date()
    choices: list[tuple[str, list[Any]]] = []
    for name, dtype in scope_fields(compiled.process, t).items():
        if name in assigned:
            choices.append((name, [person_for(assigned[name])]))
            continue
        contrast = name in event_read or writes.get(name) in case_read
        options = values(dtype, name, today, contrast=contrast)
        if not options:
            if name in t.requires:
                return []  # nothing valid can be generated for a required field
            continue
        choices.append((name, options))
    names = [n for n, _ in choices]
    combos = itertools.islice(itertools.product(*(opts for _, opts in choices)), MAX_CANDIDATES)
    return [dict(zip(names, combo, strict=True)) for combo in combos]
