"""Runtime values: validate case and event data against a ``DataType`` and freeze them.

Validators are built once per field (``validator``) so the hot path pays for a type test, not for a
walk over the schema. Values are stored frozen (arrays as tuples, objects as ``FrozenMap``): a
snapshot's data and an audit entry's data can then be shared without copies and cannot change
after an entry's hash is computed. ``value_problem`` (shared with the loader) words the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from careflow.errors import InvalidData
from careflow.model.datatypes import DataType
from careflow.model.frozen import FrozenMap, freeze
from careflow.model.values import value_problem

Validator = Callable[[Any], Any]

#: The one empty read-only mapping: event data that was not given, entries without data.
EMPTY: Mapping[str, Any] = MappingProxyType({})


#: Longest refusal message about one value (a message quotes the value; the log keeps the message).
PROBLEM_LENGTH = 300


def _fail(what: str, name: str, dtype: DataType, value: Any) -> InvalidData:
    # Worded on a copy with sorted keys: a stored log gives mappings back in sorted order, and replay
    # must word the refusal the same way.
    problem = value_problem(dtype, _sorted(value)) or f"does not fit {dtype.describe()}"
    if len(problem) > PROBLEM_LENGTH:
        problem = problem[:PROBLEM_LENGTH] + "..."
    return InvalidData(f"{what} '{name}' {problem}", name)


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def validator(dtype: DataType, name: str, what: str = "data field") -> Validator:
    """A function that returns the frozen value, or raises ``InvalidData`` naming ``name``."""
    kind, nullable = dtype.kind, dtype.nullable
    plain = (dtype.enum is None and dtype.minimum is None and dtype.maximum is None
             and dtype.min_length is None and dtype.max_length is None and dtype.format is None)

    if kind == "boolean" and dtype.enum is None:
        def check_bool(value: Any) -> Any:
            if value is True or value is False or (value is None and nullable):
                return value
            raise _fail(what, name, dtype, value)
        return check_bool

    if kind in ("string", "integer") and plain:
        py = str if kind == "string" else int

        def check_scalar(value: Any) -> Any:
            # type() is exact on purpose: bool is an int subclass and is not a JSON integer.
            if type(value) is py or (value is None and nullable):
                return value
            raise _fail(what, name, dtype, value)
        return check_scalar

    def check(value: Any) -> Any:
        if value_problem(dtype, value) is not None:
            raise _fail(what, name, dtype, value)
        return freeze(value)
    return check


def check_field(dtype: DataType, name: str, value: Any, what: str = "data field") -> Any:
    """One-off validation (cold paths): the frozen value, or ``InvalidData``."""
    return validator(dtype, name, what)(value)


def to_json_value(value: Any) -> Any:
    """A frozen runtime value as plain JSON types (for hashing and serialising)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(to_json_value(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json_value(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def safe_json(value: Any) -> Any:
    """``value`` frozen if it is JSON, else its ``repr`` (what a refused caller sent still gets logged)."""
    try:
        return freeze(to_json_value(value))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def readonly(items: dict[str, Any]) -> Mapping[str, Any]:
    """A read-only view without copying (the dict must not be changed afterwards)."""
    return MappingProxyType(items) if items else EMPTY


__all__ = ["EMPTY", "FrozenMap", "InvalidData", "Validator", "check_field", "readonly",
           "safe_json", "to_json_value", "validator"]
