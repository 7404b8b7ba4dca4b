"""Compiled sub-expressions (Node) and the explanation of why a guard is not true."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

import attrs

from careflow.definitions.expression_numbers import decimal_text
from careflow.definitions.expression_runtime import plain
from careflow.definitions.expression_types import Fn, Pos
from careflow.model.datatypes import DataType


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
    exact: bool = False  # computed by exact arithmetic: yields int or Fraction, never a float


def const(value: Any, ty: DataType, text: str, pos: Pos, children: tuple[Node, ...] = ()) -> Node:
    return Node(lambda d, e, n: value, ty, text, pos, "const", children, value)


def show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, Fraction):
        return decimal_text(v)
    if isinstance(v, list | tuple) and any(isinstance(x, Fraction) for x in v):
        text = "[" + ", ".join(show(x) for x in v) + "]"
        return text if len(text) <= 60 else text[:57] + "..."
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
