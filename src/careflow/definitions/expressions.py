"""Guard expressions: parsed with a node whitelist, type-checked against declared data, compiled once.

Author text never reaches eval/exec/compile: ``ast.parse`` only builds a tree, and each accepted
node becomes a Python closure here. Runtime semantics: an unset value (None) or a failing part
(wrong runtime type, empty mean, index out of range) is "unknown"; ``and``/``or``/``not`` use
three-valued logic, and a guard is true only when the whole evaluates to exactly True.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from careflow.definitions import expression_types as T
from careflow.errors import Diagnostic, SourceLocation, did_you_mean
from careflow.model.datatypes import DataType
from careflow.model.marks import Mark

MAX_LENGTH = 2000
MAX_DEPTH = 50  # far beyond real guards; keeps compiling and evaluating well inside the recursion limit

Fn = T.Fn
Pos = T.Pos


@attrs.frozen
class Scope:
    """The names a guard may read: the case's data fields and this transition's event fields."""

    data: Mapping[str, DataType]
    event: Mapping[str, DataType] = attrs.field(factory=dict)


_NEWLINE = re.compile(r"\r\n|\r|\n")
_CONSTANT_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None}
_HANDLERS: dict[type[ast.AST], str] = {  # the whitelist: every other node kind is CF403
    ast.Constant: "constant", ast.Name: "name", ast.Attribute: "attribute", ast.BoolOp: "boolop",
    ast.UnaryOp: "unaryop", ast.BinOp: "binop", ast.Compare: "compare", ast.Call: "call",
    ast.Subscript: "subscript", ast.List: "sequence"}


class Guard:
    """A compiled guard. Calling it never raises: anything that cannot be evaluated makes it false."""

    __slots__ = ("_root", "data_names", "event_names", "fn", "source")

    def __init__(self, source: str, root: T.Node, data_names: frozenset[str], event_names: frozenset[str]
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
            reasons = T.Explainer(data, event, now).why_not(self._root)
        except Exception:
            reasons = []
        return list(dict.fromkeys(reasons)) or [f"{self.source} is false"]

    def __repr__(self) -> str:
        return f"Guard({self.source!r})"


# -- compiling ------------------------------------------------------------------------------------


def _close(word: str, choices: list[str]) -> str | None:
    """did_you_mean, but only a close match (the message already lists every choice)."""
    hint = did_you_mean(word, choices)
    return hint if hint and hint.startswith("did you mean") else None


class _Error(Exception):
    """Abandons a sub-expression after its diagnostic was recorded."""


def compile_guard(source: str, scope: Scope, *, pointer: str = "", mark: Mark | None = None,
                  file: str | None = None) -> tuple[Guard | None, list[Diagnostic]]:
    """Compile ``source`` against ``scope``: (guard, []) or (None, diagnostics)."""
    c = _Compiler(source, scope, pointer, mark, file)
    try:
        root = c.run()
    except (RecursionError, MemoryError):  # the depth limit should prevent it; never raise anyway
        root = None
        c.report("CF401", (1, 0), "the guard is too complex", "write a simpler condition")
    if root is None or c.diagnostics:
        return None, sorted(c.diagnostics, key=lambda d: d.location.sort_key())
    return Guard(source, root, frozenset(c.data_names), frozenset(c.event_names)), []


class _Compiler:
    def __init__(self, source: str, scope: Scope, pointer: str, mark: Mark | None, file: str | None) -> None:
        self.source = source if isinstance(source, str) else str(source)
        self.scope = scope
        self.pointer = pointer
        self.mark = mark
        self.file = file if file is not None else (mark.file if mark else None)
        self.lines = _NEWLINE.split(self.source)
        self.shift = 0  # 1 when the text was parsed inside added parentheses
        self.parse_text = self.source
        self._split: tuple[str, list[bytes]] | None = None
        self.diagnostics: list[Diagnostic] = []
        self.data_names: set[str] = set()
        self.event_names: set[str] = set()

    # locations
    def location(self, pos: Pos) -> SourceLocation:
        if self.mark is None:
            return SourceLocation(self.file, None, None, self.pointer)
        (line, col), m = pos, self.mark
        if m.raw is None and m.style not in ("'", '"'):  # plain one-line or literal block: text as in the file
            return SourceLocation(self.file, m.value_line + line - 1, m.value_column + col, self.pointer)
        from careflow.definitions.yaml_positions import value_position

        offset = sum(len(text) + 1 for text in self.lines[: line - 1]) + col
        file_line, file_col = value_position(m, offset)
        return SourceLocation(self.file, file_line, file_col, self.pointer)

    def at(self, line: int, byte_col: int) -> Pos:
        line = min(max(line - self.shift, 1), len(self.lines))
        return line, len(self.lines[line - 1].encode()[:byte_col].decode("utf-8", "ignore"))

    def start(self, node: ast.AST) -> Pos:
        return self.at(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> Pos:
        return self.at(node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]

    def between(self, left: ast.AST, right: ast.AST) -> Pos:
        """Where the operator between two operands is (it has no position of its own in the tree)."""
        line, col = self.end(left)
        while line <= len(self.lines):
            text = self.lines[line - 1]
            while col < len(text) and text[col] != "#":
                if not (text[col].isspace() or text[col] == ")"):
                    return line, col
                col += 1
            line, col = line + 1, 0
        return self.start(right)

    def report(self, code: str, pos: Pos, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.location(pos), hint))

    def forbid(self, pos: Pos, what: str, hint: str | None = None) -> _Error:
        return self.fail("CF403", pos, f"not allowed in a guard: {what}", hint)

    def fail(self, code: str, pos: Pos, message: str, hint: str | None = None) -> _Error:
        self.report(code, pos, message, hint)
        return _Error()

    def text(self, node: ast.AST) -> str:
        """The node's source text (ast.get_source_segment, without re-splitting the text per call)."""
        if self._split is None or self._split[0] is not self.parse_text:
            self._split = (self.parse_text, [line.encode() for line in self.parse_text.split("\n")])
        lines = self._split[1]
        try:
            first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
            start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except AttributeError:
            return ""
        if first == last:
            segment: bytes = lines[first][start:end]
            return segment.decode("utf-8", "replace")
        parts = [lines[first][start:], *lines[first + 1:last], lines[last][:end]]
        return b"\n".join(parts).decode("utf-8", "replace")

    # the whole expression
    def run(self) -> T.Node | None:
        if len(self.source) > MAX_LENGTH:
            self.report("CF401", (1, 0), f"the guard is too long ({len(self.source)} characters, at most "
                        f"{MAX_LENGTH})", "split the condition, or compute a data field in the application")
            return None
        if not self.source.strip():
            self.report("CF401", (1, 0), "the guard is empty", "write a condition, e.g. consent_to_referral")
            return None
        with warnings.catch_warnings():  # e.g. "1and": a SyntaxWarning is no business of the caller's
            warnings.simplefilter("ignore")
            tree = self.parse()
        if tree is None:
            return None
        try:
            root = self.compile(tree.body)
        except _Error:
            return None
        if not T.is_bool(root.ty):
            self.report("CF405", root.pos, "a guard must be true or false, but this is "
                        + T.describe(root.ty), self.truth_hint(root))
        return root

    def parse(self) -> ast.Expression | None:
        try:
            tree = ast.parse(self.source, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            wrapped = self.parse_wrapped(error)
            if wrapped is None:
                return None
            tree = wrapped
        deepest: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        while deepest:
            node, depth = deepest.pop()
            if depth > MAX_DEPTH:
                self.report("CF401", self.start(node), "the guard is nested too deeply (more than "
                            f"{MAX_DEPTH} levels)", "write a simpler condition")
                return None
            deepest.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return tree

    def parse_wrapped(self, error: Exception) -> ast.Expression | None:
        """A multi-line block scalar reads as if in parentheses; otherwise report the syntax error."""
        if "\n" in self.source or "\r" in self.source:
            wrapped = "(\n" + self.source + "\n)"
            try:
                tree = ast.parse(wrapped, mode="eval")
                self.shift, self.parse_text = 1, wrapped
                return tree
            except (SyntaxError, ValueError, RecursionError, MemoryError) as second:
                # the wrapped parse finds the real mistake in a multi-line text, unless it blames our ')'
                if isinstance(second, SyntaxError) and 2 <= (second.lineno or 0) <= len(self.lines) + 1:
                    second.lineno = (second.lineno or 2) - 1
                    error = second
        self.syntax_error(error)
        return None

    def syntax_error(self, error: BaseException) -> None:
        if isinstance(error, SyntaxError):
            line = min(max(error.lineno or 1, 1), len(self.lines))
            col = (error.offset or 0) - 1
            if col < 0 or col > len(self.lines[line - 1]):
                col = len(self.lines[line - 1])  # the error is at the end of the text
            detail = error.msg
        else:
            line, col, detail = 1, 0, "it is too complex"
        self.report("CF401", (line, col), f"the guard is not a valid expression: {detail}",
                    "write e.g. consent_relay_log and len(goals) > 0; texts go in quotes")

    def truth_hint(self, node: T.Node) -> str | None:
        if node.ty.kind == "array" or T.is_text(node.ty):
            return f"write len({node.text}) > 0"
        if T.is_number(node.ty):
            return f"compare it, e.g. {node.text} > 0"
        return None

    # sub-expressions
    def compile(self, node: ast.AST) -> T.Node:
        method = _HANDLERS.get(type(node))
        if method is None:
            what = T.FORBIDDEN.get(type(node), f"this kind of expression ({type(node).__name__})")
            raise self.forbid(self.start(node), what,
                              "use names, numbers, texts, comparisons, and/or/not and the listed functions")
        handler: Callable[[Any], T.Node] = getattr(self, method)
        return handler(node)

    def constant(self, node: ast.Constant) -> T.Node:
        v = node.value
        ty = {bool: T.BOOL, int: T.INT, float: T.NUM, str: T.TEXT, type(None): T.NULL}.get(type(v))
        if ty is None:
            raise self.forbid(self.start(node), f"{type(v).__name__} values")
        return T.const(v, ty, self.text(node), self.start(node))

    def name(self, node: ast.Name) -> T.Node:
        name, pos, scope = node.id, self.start(node), self.scope
        if name in _CONSTANT_NAMES:
            v = _CONSTANT_NAMES[name]
            return T.const(v, T.NULL if v is None else T.BOOL, name, pos)
        if name.startswith("_"):
            raise self.forbid(pos, f"names starting with '_' ('{name}')")
        if name == "now":
            return T.Node(lambda d, e, n: n, T.DATETIME, name, pos, "path")
        if name in scope.data:
            self.data_names.add(name)
            return T.Node(lambda d, e, n: d.get(name), scope.data[name], name, pos, "path", key=name)
        if name == "event":
            raise self.fail("CF402", pos, "'event' needs a field name: write event.<field>",
                            did_you_mean("", [f"event.{n}" for n in scope.event], "event"))
        if name in T.FUNCTIONS:
            raise self.fail("CF402", pos, f"'{name}' is a function: write {name}(...)")
        hint = (f"'{name}' is event data here: write event.{name}" if name in scope.event else
                did_you_mean(name, [*scope.data, *(f"event.{n}" for n in scope.event)], "data"))
        raise self.fail("CF402", pos, f"unknown name '{name}' in the guard", hint)

    def attribute(self, node: ast.Attribute) -> T.Node:
        attr_pos = (self.end(node)[0], self.end(node)[1] - len(node.attr))
        if node.attr.startswith("_"):
            raise self.forbid(attr_pos, f"names starting with '_' ('{node.attr}')")
        if isinstance(node.value, ast.Name) and node.value.id == "event":
            event = self.scope.event
            if node.attr not in event:
                hint = (f"'{node.attr}' is case data: write {node.attr}" if node.attr in self.scope.data else
                        did_you_mean(node.attr, event, "event data"))
                raise self.fail("CF402", attr_pos, f"unknown event data '{node.attr}' in the guard", hint)
            self.event_names.add(node.attr)
            key = node.attr
            return T.Node(lambda d, e, n: e.get(key), event[key], self.text(node), self.start(node), "path")
        if not isinstance(node.value, ast.Name | ast.Attribute | ast.Subscript):
            raise self.forbid(self.start(node), "a dot after anything but a data field",
                              "a dot reads a field of declared data, e.g. plan.goals")
        base = self.compile(node.value)
        if T.is_any(base.ty):
            return base
        field = base.ty.property(node.attr) if base.ty.kind == "object" else None
        if base.ty.kind != "object":
            raise self.forbid(attr_pos, f"'.{node.attr}' on {base.text}, which is {T.describe(base.ty)}",
                              "a dot reads a field of a declared object, e.g. plan.goals")
        if field is None:
            raise self.fail("CF402", attr_pos, f"'{base.text}' has no field '{node.attr}'",
                            did_you_mean(node.attr, [k for k, _ in base.ty.properties], "field"))
        get, attr = base.fn, node.attr

        def path(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
            v = get(d, e, n)
            return v.get(attr) if isinstance(v, Mapping) else None  # unset parent: unset field

        return T.Node(path, field, self.text(node), self.start(node), "path")

    def subscript(self, node: ast.Subscript) -> T.Node:
        index = node.slice
        sign = 1
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub | ast.UAdd):
            sign, index = (-1 if isinstance(index.op, ast.USub) else 1), index.operand
        if isinstance(node.slice, ast.Slice):
            raise self.forbid(self.start(node.slice), "slices", "index one item: xs[0], xs[-1]")
        if not (isinstance(index, ast.Constant) and type(index.value) is int):
            raise self.forbid(self.start(node.slice), "an index that is not a whole number",
                              "index with a number: xs[0], xs[-1]")
        base, i = self.compile(node.value), sign * index.value
        if base.ty.kind != "array" and not T.is_any(base.ty):
            raise self.fail("CF405", self.start(node.value), f"only lists can be indexed; '{base.text}' is "
                            f"{T.describe(base.ty)}")
        if base.key is not None:
            key = base.key
            fn: Fn = lambda d, e, n: d.get(key)[i]  # type: ignore[index]  # noqa: E731
        else:
            get = base.fn
            fn = lambda d, e, n: get(d, e, n)[i]  # noqa: E731
        return T.Node(fn, T.items(base.ty), self.text(node), self.start(node), "value", (base,))

    def sequence(self, node: ast.List) -> T.Node:
        parts = self.operands(node.elts)
        ty = T.unify([p.ty for p in parts])
        if ty is None:
            raise self.fail("CF405", self.start(node), "a list must not mix "
                            + " and ".join(dict.fromkeys(T.describe(p.ty) for p in parts)))
        lty, text, pos = DataType("array", items=ty), self.text(node), self.start(node)
        if all(p.kind == "const" for p in parts):
            return T.const(tuple(p.value for p in parts), lty, text, pos, tuple(parts))
        fns = [p.fn for p in parts]
        return T.Node(lambda d, e, n: [f(d, e, n) for f in fns], lty, text, pos, "value", tuple(parts))

    def boolop(self, node: ast.BoolOp) -> T.Node:
        parts = self.operands(node.values)
        for p in parts:
            if not T.is_bool(p.ty):
                self.report("CF405", p.pos, f"'and'/'or' take true/false values, but '{p.text}' is "
                            f"{T.describe(p.ty)}", self.truth_hint(p))
        fns = [p.fn for p in parts]
        kind = "and" if isinstance(node.op, ast.And) else "or"
        stop = kind == "or"  # the value that decides: False for and, True for or
        fn = T.logic2(fns[0], fns[1], stop) if len(fns) == 2 else T.logic(fns, stop)
        return T.Node(fn, T.BOOL, self.text(node), self.start(node), kind, tuple(parts))

    def operands(self, nodes: Sequence[ast.AST]) -> list[T.Node]:
        """Compile every operand, so that each one's mistakes are reported, then give up if any had one."""
        parts: list[T.Node | None] = []
        for n in nodes:
            try:
                parts.append(self.compile(n))
            except _Error:
                parts.append(None)
        if any(p is None for p in parts):
            raise _Error()
        return [p for p in parts if p is not None]

    def unaryop(self, node: ast.UnaryOp) -> T.Node:
        if isinstance(node.op, ast.Invert):
            raise self.forbid(self.start(node), "bit operations (~)")
        part, text, pos = self.compile(node.operand), self.text(node), self.start(node)
        if isinstance(node.op, ast.Not):
            if not T.is_bool(part.ty):
                raise self.fail("CF405", part.pos, f"'not' takes a true/false value, but '{part.text}' is "
                                f"{T.describe(part.ty)}", self.truth_hint(part))
            fn = T.negation(part.fn) if part.key is None else T.negated_field(part.key)
            return T.Node(fn, T.BOOL, text, pos, "not", (part,))
        if not T.is_number(part.ty):
            raise self.fail("CF405", part.pos, f"'{part.text}' is {T.describe(part.ty)}, not a number")
        sign = -1 if isinstance(node.op, ast.USub) else 1
        if part.kind == "const" and part.value is not None:
            return T.const(sign * part.value, part.ty, text, pos)  # -1 is a constant, e.g. for enums
        get, op = part.fn, operator.neg if sign < 0 else operator.pos
        return T.Node(lambda d, e, n: op(get(d, e, n)), part.ty, text, pos, "value", (part,))

    def binop(self, node: ast.BinOp) -> T.Node:
        op_pos = self.between(node.left, node.right)
        if type(node.op) not in T.ARITHMETIC:
            what = T.FORBIDDEN.get(type(node.op), "this operator")
            raise self.forbid(op_pos, what, "use + - * / // %")
        a, b = self.operands([node.left, node.right])
        symbol, op = T.ARITHMETIC[type(node.op)]
        ty = T.arithmetic(symbol, a.ty, b.ty)
        if ty is None:
            raise self.fail("CF405", op_pos, f"'{symbol}' cannot combine {a.text} ({T.describe(a.ty)}) "
                            f"with {b.text} ({T.describe(b.ty)})")
        fa, fb = a.fn, b.fn
        if b.kind == "const":
            c = b.value
            fn: Fn = lambda d, e, n: op(fa(d, e, n), c)  # noqa: E731
        else:
            fn = lambda d, e, n: op(fa(d, e, n), fb(d, e, n))  # noqa: E731
        return T.Node(fn, ty, self.text(node), self.start(node), "value", (a, b))

    def compare(self, node: ast.Compare) -> T.Node:
        nodes = [node.left, *node.comparators]
        for i, op_node in enumerate(node.ops):
            if type(op_node) not in T.COMPARE:
                what = T.FORBIDDEN.get(type(op_node), "this comparison")
                raise self.forbid(self.between(nodes[i], nodes[i + 1]), what)
        parts = self.operands(nodes)
        pairs = []
        for i, op_node in enumerate(node.ops):
            pairs.append(self.pair(T.COMPARE[type(op_node)], parts, i, self.between(nodes[i], nodes[i + 1])))
        if len(pairs) == 1:
            fn = pairs[0]
        else:
            def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
                return all(p(d, e, n) for p in pairs)  # short-circuits like a < b < c; operands are pure

        return T.Node(fn, T.BOOL, self.text(node), self.start(node), "compare", tuple(parts))

    def pair(self, symbol_op: tuple[str, Callable[[Any, Any], Any]], parts: list[T.Node], i: int,
             op_pos: Pos) -> Fn:
        """Check ``parts[i] op parts[i+1]`` and build its closure (dates and lists compared by value)."""
        (symbol, op), a, b = symbol_op, parts[i], parts[i + 1]
        membership = symbol in ("in", "not in")
        if membership:
            a = self.as_dates(a, T.date_kind(T.items(b.ty)) if b.ty.kind == "array" else None, False)
            b = self.as_dates(b, T.date_kind(a.ty), True)
            self.check_enum(a.ty, b, True)  # status in ["open", "clsoed"]
            self.check_enum(T.items(b.ty) if b.ty.kind == "array" else T.ANY, a, False)
        else:
            b = self.as_dates(b, T.date_kind(a.ty), False)
            a = self.as_dates(a, T.date_kind(b.ty), False)
            self.check_enum(a.ty, b, False)
            self.check_enum(b.ty, a, False)
        elem = T.items(b.ty) if membership and b.ty.kind == "array" else b.ty
        ok = (T.contains(a.ty, b.ty) if membership else
              T.compatible(a.ty, b.ty) if symbol in ("==", "!=") else T.orderable(a.ty, b.ty))
        if not ok:
            hint = ("null has no order: write x == null or x != null" if T.NULL in (a.ty, b.ty) else
                    "compare dates with dates, or use days_since()/days_until()"
                    if T.date_kind(a.ty) or T.date_kind(elem) else
                    f"write {a.text} == true or {a.text} == false" if a.ty.kind == "boolean" else None)
            raise self.fail("CF405", op_pos, f"'{symbol}' cannot compare {a.text} ({T.describe(a.ty)}) "
                            f"with {b.text} ({T.describe(b.ty)})", hint)
        kind = T.date_kind(a.ty) or T.date_kind(elem) or elem.kind
        norm = {"date": T.as_date, "date-time": T.as_datetime, "array": T.plain, "object": T.plain}.get(kind)
        fa, fb = a.fn, b.fn
        if symbol in ("==", "!=") and T.NULL in (a.ty, b.ty):
            other = fb if a.ty == T.NULL else fa
            if symbol == "==":
                return lambda d, e, n: other(d, e, n) is None
            return lambda d, e, n: other(d, e, n) is not None
        if norm is not None:
            return T.normalized(op, fa, fb, norm, membership)
        if b.kind == "const":
            c = b.value
            if membership and isinstance(c, tuple) and all(isinstance(x, int | float | str) for x in c):
                c = frozenset(c)  # hashing is safe for these; a set is the fastest 'in'
            if a.key is not None:
                key = a.key
                return lambda d, e, n: op(d.get(key), c)
            return lambda d, e, n: op(fa(d, e, n), c)
        if a.kind == "const":
            ca = a.value
            return lambda d, e, n: op(ca, fb(d, e, n))
        return lambda d, e, n: op(fa(d, e, n), fb(d, e, n))

    def as_dates(self, literal: T.Node, kind: str | None, is_list: bool) -> T.Node:
        """A text literal compared with a date must be a valid date; it then counts as one."""
        if not kind or literal.kind != "const" or isinstance(literal.value, tuple) != is_list:
            return literal
        values, targets = (literal.value, literal.children) if is_list else ((literal.value,), (literal,))
        for v, target in zip(values, targets, strict=True):
            try:
                if isinstance(v, str):
                    (T.as_date if kind == "date" else T.as_datetime)(v)
            except ValueError:
                raise self.fail("CF405", target.pos, f"'{v}' is not a valid {kind.replace('-', ' and ')}",
                                "write 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SS+01:00'") from None
        if not all(isinstance(v, str) for v in values):
            return literal
        typed = T.DATE if kind == "date" else T.DATETIME
        return attrs.evolve(literal, ty=DataType("array", items=typed) if is_list else typed)

    def check_enum(self, ty: DataType, literal: T.Node, is_list: bool) -> None:
        """Comparing an enum field with a value outside its enum is always false: an author's typo."""
        if not ty.enum or literal.kind != "const" or isinstance(literal.value, tuple) != is_list:
            return
        values, targets = (literal.value, literal.children) if is_list else ((literal.value,), (literal,))
        for v, target in zip(values, targets, strict=True):
            if v is not None and v not in ty.enum:
                allowed = ", ".join(T.show(x) for x in ty.enum)
                raise self.fail("CF407", target.pos, f"{T.show(v)} is never a value here: it can be "
                                f"{allowed}", _close(str(v), [str(x) for x in ty.enum]))

    def call(self, node: ast.Call) -> T.Node:
        if isinstance(node.func, ast.Lambda):
            raise self.forbid(self.start(node.func), "a lambda (guards cannot define functions)",
                              "write the condition itself, e.g. len(goals) > 0")
        if not isinstance(node.func, ast.Name):
            raise self.forbid(self.start(node.func), "calling anything but a function name",
                              "functions: " + ", ".join(T.FUNCTIONS))
        name, pos = node.func.id, self.start(node.func)
        if name.startswith("_"):
            raise self.forbid(pos, f"names starting with '_' ('{name}')")
        if name not in T.FUNCTIONS:
            hint = (f"'{name}' is a data field, not a function" if name in self.scope.data else
                    did_you_mean(name, T.FUNCTIONS, "function") or "functions: " + ", ".join(T.FUNCTIONS))
            raise self.fail("CF404", pos, f"unknown function '{name}' in the guard", hint)
        if node.keywords:
            raise self.forbid(self.start(node.keywords[0]), "keyword arguments",
                              f"write {name}(...) with the arguments in order")
        args = self.operands(node.args)
        result = T.check_call(name, [a.ty for a in args])
        if isinstance(result, tuple):
            where, message = result
            raise self.fail("CF406", args[where].pos if where is not None else pos, message)
        if name in ("days_since", "days_until"):
            get, sign = args[0].fn, 1 if name == "days_since" else -1
            days = T.day_counter(T.date_kind(args[0].ty) or "date-time", sign)
            fn: Fn = lambda d, e, n: days(get(d, e, n), n)  # noqa: E731
        else:
            f, fns = T.FUNCTION_IMPLS[name], [a.fn for a in args]
            if len(args) == 1 and args[0].key is not None:
                key = args[0].key
                fn = lambda d, e, n: f(d.get(key))  # noqa: E731
            elif len(args) == 1 and name == "mean":  # inlined: mean(psfs[-1]) is the typical PSFS guard
                g = fns[0]

                def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
                    xs = g(d, e, n)
                    return sum(xs) / len(xs)  # empty: ZeroDivisionError, so unknown

            elif len(args) == 1:
                g = fns[0]
                fn = lambda d, e, n: f(g(d, e, n))  # noqa: E731
            else:
                fn = lambda d, e, n: f(*[g(d, e, n) for g in fns])  # noqa: E731
        return T.Node(fn, result, self.text(node), self.start(node), "value", tuple(args))
