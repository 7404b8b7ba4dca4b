"""A fast yes/no answer to "does this document satisfy the process schema?".

jsonschema gives the located, complete error list an author needs, but it walks every node
through its generic machinery (about 10 ms for one bundled process). Most documents are valid,
so ``schema_check`` first asks this checker, compiled once from the same schema file to
closures; only a "no" runs jsonschema. It understands exactly the keywords the schema uses and
refuses to compile any other, so it can never pass something jsonschema would fail unnoticed;
a test keeps the two in agreement on the corpus and on random documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "title", "description", "$defs", "default", "examples", "enumDescriptions"}


class UnsupportedSchema(Exception):
    """The schema uses a keyword this checker does not implement."""


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema means it: ``$`` ends the text. Python's ``$`` also matches before a
    final line break, which let an id such as "intake\\n" through ``^[a-z][a-z0-9_]*$``."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _is_type(name: str, value: Any) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    raise UnsupportedSchema(f"type {name}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true and 1 differ (Python's == says they are equal)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float))) and a == b


def _when(kind: type | tuple[type, ...], test: Callable[[Any], bool]) -> Check:
    """A keyword that applies only to values of one JSON kind (others pass, as in JSON Schema)."""
    def check(v: Any) -> bool:
        return not isinstance(v, kind) or test(v)
    return check


def _sized(kind: type, limit: int, low: bool) -> Check:
    return _when(kind, (lambda v: len(v) >= limit) if low else (lambda v: len(v) <= limit))


def _bounded(limit: float, low: bool) -> Check:
    def check(v: Any) -> bool:
        return not _is_type("number", v) or (v >= limit if low else v <= limit)
    return check


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)
    return lambda v: all(c(v) for c in frozen)


def _unique(v: list[Any]) -> bool:
    return all(not _equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))


class Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, target: str) -> Check:
        if not target.startswith("#/$defs/"):
            raise UnsupportedSchema(f"$ref {target}")
        name = target.removeprefix("#/$defs/")
        if name not in self.refs:
            self.refs[name] = lambda v: True  # placeholder while compiling (recursive schemas)
            self.refs[name] = self.compile(self.root["$defs"][name])
        refs = self.refs
        return lambda v: refs[name](v)

    def compile(self, schema: Any) -> Check:
        if isinstance(schema, bool):
            return (lambda v: True) if schema else (lambda v: False)
        checks = [self.keyword(key, arg, schema) for key, arg in schema.items()
                  if key not in _IGNORED and key not in ("then", "else")]
        return _all(checks) if checks else (lambda v: True)

    def keyword(self, key: str, arg: Any, schema: dict[str, Any]) -> Check:  # one branch per keyword
        if key == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            return lambda v: any(_is_type(t, v) for t in names)
        if key == "$ref":
            return self.ref(arg)
        if key == "properties":
            props = {k: self.compile(s) for k, s in arg.items()}
            return _when(dict, lambda v: all(props[k](x) for k, x in v.items() if k in props))
        if key == "additionalProperties":
            known, extra = set(schema.get("properties", {})), self.compile(arg)
            return _when(dict, lambda v: all(extra(x) for k, x in v.items() if k not in known))
        if key == "propertyNames":
            names_ok = self.compile(arg)
            return _when(dict, lambda v: all(names_ok(k) for k in v))
        if key == "required":
            required = tuple(arg)
            return _when(dict, lambda v: all(k in v for k in required))
        if key == "items":
            item = self.compile(arg)
            return _when(list, lambda v: all(item(x) for x in v))
        if key == "enum":
            options = tuple(arg)
            return lambda v: any(_equal(v, o) for o in options)
        if key == "const":
            return lambda v: _equal(v, arg)
        if key == "pattern":
            rx = ecma_regex(arg)
            return _when(str, lambda v: rx.search(v) is not None)
        if key in ("minLength", "maxLength"):
            return _sized(str, arg, key == "minLength")
        if key in ("minItems", "maxItems"):
            return _sized(list, arg, key == "minItems")
        if key == "minProperties":
            return _sized(dict, arg, True)
        if key in ("minimum", "maximum"):
            return _bounded(arg, key == "minimum")
        if key == "uniqueItems":
            return _when(list, _unique) if arg else (lambda v: True)
        if key == "if":
            cond, then = self.compile(arg), self.compile(schema.get("then", True))
            other = self.compile(schema.get("else", True))
            return lambda v: then(v) if cond(v) else other(v)
        raise UnsupportedSchema(key)


def compile_schema(schema: dict[str, Any]) -> Check | None:
    """A checker for ``schema``, or None when it uses keywords this module does not implement."""
    try:
        return Compiler(schema).compile(schema)
    except UnsupportedSchema:
        return None
