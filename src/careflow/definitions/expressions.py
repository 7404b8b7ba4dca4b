"""Guard expressions: parsed with a node whitelist, type-checked against declared data, compiled once.

Author text never reaches eval/exec/compile: ``ast.parse`` only builds a tree, and each accepted
node becomes a Python closure here. Runtime semantics: an unset value (None) or a failing part
(wrong runtime type, empty mean, index out of range) is "unknown"; ``and``/``or``/``not`` use
three-valued logic, and a guard is true only when the whole evaluates to exactly True.

The parts: ``expression_parser`` (text, limits, positions), ``expression_compiler`` (node by node),
``expression_types`` (static types), ``expression_runtime`` (what the closures call) and
``expression_nodes`` (compiled nodes and explanations).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from careflow.definitions import expression_nodes as N
from careflow.definitions.expression_compiler import GuardCompiler
from careflow.definitions.expression_numbers import to_data
from careflow.definitions.expression_parser import TOO_COMPLEX, TOO_COMPLEX_HINT
from careflow.errors import Diagnostic
from careflow.model.datatypes import DataType
from careflow.model.marks import Mark


@attrs.frozen
class Scope:
    """The names a guard may read: the case's data fields and this transition's event fields."""

    data: Mapping[str, DataType]
    event: Mapping[str, DataType] = attrs.field(factory=dict)


class Guard:
    """A compiled guard. Calling it never raises: anything that cannot be evaluated makes it false."""

    __slots__ = ("_root", "data_names", "event_names", "fn", "source")

    def __init__(self, source: str, root: N.Node, data_names: frozenset[str], event_names: frozenset[str]
                 ) -> None:
        self.source = source
        self.data_names = data_names
        self.event_names = event_names
        self._root = root
        self.fn = root.fn

    def __call__(self, data: Mapping[str, Any], event: Mapping[str, Any], now: datetime) -> bool:
        try:
            return self.fn(data, event, now) is True
        except Exception:  # the contract: a guard is false, never an exception, whatever the data holds
            return False

    def explain(self, data: Mapping[str, Any], event: Mapping[str, Any], now: datetime) -> list[str]:
        """[] when the guard is true; otherwise why not, naming the false or unset parts and their values."""
        if self(data, event, now):
            return []
        try:
            reasons = N.Explainer(data, event, now).why_not(self._root)
        except Exception:
            reasons = []
        return list(dict.fromkeys(reasons)) or [f"{self.source} is false"]

    def __repr__(self) -> str:
        return f"Guard({self.source!r})"


class Computed:
    """A compiled computed value (``set: {cycle: "cycle + 1"}``). ``__call__`` gives the value as stored
    data (never a ``Fraction``), or raises ``ValueError`` saying why it cannot be computed."""

    __slots__ = ("_root", "integer", "source")

    def __init__(self, source: str, root: N.Node, integer: bool) -> None:
        self.source, self._root, self.integer = source, root, integer

    def __call__(self, data: Mapping[str, Any], event: Mapping[str, Any], now: datetime) -> Any:
        """The value (None when it reads as null: the field's own check decides whether that may be)."""
        try:
            value = self._root.fn(data, event, now)
        except Exception:  # unset data, division by zero, ...: said in words, never a traceback
            try:
                why = N.Explainer(data, event, now).failure(self._root)
            except Exception:
                why = []
            raise ValueError(f"'{self.source}' cannot be computed ({'; '.join(why) or 'unknown'})") from None
        try:
            if isinstance(value, date):  # now, or a date read from data: stored as its ISO text
                return value.isoformat()
            return None if value is None else to_data(value, self.integer)
        except TypeError as err:
            raise ValueError(f"'{self.source}' cannot be computed ({err})") from None

    def __repr__(self) -> str:
        return f"Computed({self.source!r})"


def compile_guard(source: str, scope: Scope, *, pointer: str = "", mark: Mark | None = None,
                  file: str | None = None) -> tuple[Guard | None, list[Diagnostic]]:
    """Compile ``source`` against ``scope``: (guard, []) or (None, diagnostics)."""
    root, c = _compile(GuardCompiler(source, scope, pointer, mark, file))
    if root is None:
        return None, c
    return Guard(source, root, frozenset(c.data_names), frozenset(c.event_names)), []


def compile_value(source: str, scope: Scope, field: DataType, *, pointer: str = "", mark: Mark | None = None,
                  file: str | None = None) -> tuple[Computed | None, list[Diagnostic]]:
    """Compile a computed value for a field of type ``field``: (computed, []) or (None, diagnostics)."""
    root, c = _compile(GuardCompiler(source, scope, pointer, mark, file, want=field))
    if root is None:
        return None, c
    return Computed(source, root, field.kind == "integer"), []


def _compile(c: GuardCompiler) -> Any:
    try:
        root = c.run()
    except (RecursionError, MemoryError):  # the limits of expression_parser prevent it; never raise anyway
        root = None
        c.report(TOO_COMPLEX, (1, 0), "the guard is too complex", TOO_COMPLEX_HINT)
    if root is None or c.diagnostics:
        return None, sorted(c.diagnostics, key=lambda d: d.location.sort_key())
    return root, c
