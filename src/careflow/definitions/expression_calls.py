"""Compiling calls of the guard language's built-in functions (``len``, ``mean``, ``days_since``, …).

Functions that compute with numbers (``sum``, ``mean``, ``round``, and ``abs``/``min``/``max`` of a
computed value) run on exact numbers (``expression_numbers``); the others read values as they are.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from careflow.definitions import expression_nodes as N
from careflow.definitions import expression_numbers as X
from careflow.definitions import expression_runtime as R
from careflow.definitions import expression_types as T
from careflow.definitions.expression_hints import UNDERSCORE_HINT, call_hint
from careflow.definitions.expression_parser import GuardText
from careflow.definitions.expression_types import Fn
from careflow.errors import did_you_mean
from careflow.model.datatypes import DataType

_ALWAYS_EXACT = frozenset({"sum", "mean", "round"})
_EXACT_IF_ARGUMENT = frozenset({"abs", "min", "max"})


class CallCompiler(GuardText):
    """The ``call`` handler of the guard compiler (which supplies ``compile``, ``operands`` and the scope)."""

    data_fields: Mapping[str, DataType]

    def operands(self, nodes: Sequence[ast.AST]) -> list[N.Node]:  # pragma: no cover - the compiler's
        raise NotImplementedError

    def call(self, node: ast.Call) -> N.Node:
        if isinstance(node.func, ast.Lambda):
            raise self.forbid(self.start(node.func), "a lambda (guards cannot define functions)",
                              "write the condition itself, e.g. len(goals) > 0")
        if not isinstance(node.func, ast.Name):
            raise self.forbid(self.start(node.func), "calling anything but a function name",
                              "functions: " + ", ".join(T.FUNCTIONS))
        name, pos = node.func.id, self.start(node.func)
        if name.startswith("_"):
            raise self.forbid(pos, f"names starting with '_' ('{name}')", UNDERSCORE_HINT)
        if name not in T.FUNCTIONS:
            hint = (f"'{name}' is a data field, not a function" if name in self.data_fields else
                    did_you_mean(name, T.FUNCTIONS, "function") or "functions: " + ", ".join(T.FUNCTIONS))
            raise self.fail("CF404", pos, f"unknown function '{name}' in the guard", hint)
        if node.keywords:
            raise self.forbid(self.start(node.keywords[0]), "keyword arguments",
                              f"write {name}(...) with the arguments in order")
        args = self.operands(node.args)
        result = T.check_call(name, [a.ty for a in args])
        if isinstance(result, tuple):
            where, message = result
            raise self.fail("CF406", args[where].pos if where is not None else pos, message, call_hint(name))
        exact = name in _ALWAYS_EXACT or (name in _EXACT_IF_ARGUMENT and any(a.exact for a in args))
        return N.Node(_closure(name, args, exact), result, self.text(node), self.start(node), "value",
                      tuple(args), exact=exact)


def _closure(name: str, args: list[N.Node], exact: bool) -> Fn:
    if name in ("days_since", "days_until"):
        get, sign = args[0].fn, 1 if name == "days_since" else -1
        days = R.day_counter(T.date_kind(args[0].ty) or "date-time", sign)
        return lambda d, e, n: days(get(d, e, n), n)
    f = X.EXACT_FUNCTIONS[name] if exact else R.FUNCTION_IMPLS[name]
    fns = [a.fn for a in args]
    if len(args) == 1 and args[0].key is not None:
        key = args[0].key
        return lambda d, e, n: f(d.get(key))
    if len(args) == 1:
        g = fns[0]

        def one(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
            return f(g(d, e, n))

        return one
    return lambda d, e, n: f(*[g(d, e, n) for g in fns])
