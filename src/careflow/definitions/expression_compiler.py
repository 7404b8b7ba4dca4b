"""Compiling a parsed guard node by node: a whitelist of node kinds, type checks, closures.

Every accepted node becomes a ``Node`` holding a Python closure; any other node is CF403.
"""

from __future__ import annotations

import ast
import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from careflow.definitions import expression_nodes as N
from careflow.definitions import expression_numbers as X
from careflow.definitions import expression_runtime as R
from careflow.definitions import expression_types as T
from careflow.definitions.expression_calls import CallCompiler
from careflow.definitions.expression_hints import UNDERSCORE_HINT, mixed_hint
from careflow.definitions.expression_parser import MAX_LENGTH, TOO_COMPLEX, TOO_COMPLEX_HINT, Abandon
from careflow.definitions.expression_types import Fn, Pos
from careflow.errors import did_you_mean
from careflow.model.datatypes import DataType
from careflow.model.marks import Mark

if TYPE_CHECKING:
    from careflow.definitions.expressions import Scope

_CONSTANT_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None}
_HANDLERS: dict[type[ast.AST], str] = {  # the whitelist: every other node kind is CF403
    ast.Constant: "constant", ast.Name: "name", ast.Attribute: "attribute", ast.BoolOp: "boolop",
    ast.UnaryOp: "unaryop", ast.BinOp: "binop", ast.Compare: "compare", ast.Call: "call",
    ast.Subscript: "subscript", ast.List: "sequence"}
FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.NamedExpr: "assignments (:=)",
    ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings", ast.IfExp: "conditional expressions",
    ast.Dict: "dictionaries", ast.Set: "sets", ast.Tuple: "tuples (write a list: [1, 2])",
    ast.Slice: "slices", ast.Starred: "'*' unpacking", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Pow: "'**' (power)", ast.MatMult: "'@'", ast.LShift: "bit operations",
    ast.RShift: "bit operations", ast.BitOr: "bit operations", ast.BitXor: "bit operations",
    ast.BitAnd: "bit operations", ast.Invert: "bit operations (~)", ast.Is: "'is' (write == or !=)",
    ast.IsNot: "'is not' (write == or !=)"}


def _close(word: str, choices: list[str]) -> str | None:
    """did_you_mean, but only a close match (the message already lists every choice)."""
    hint = did_you_mean(word, choices)
    return hint if hint and hint.startswith("did you mean") else None


class GuardCompiler(CallCompiler):
    """Compiles one guard against a scope; ``data_names``/``event_names`` collect the names it reads."""

    def __init__(self, source: str, scope: Scope, pointer: str, mark: Mark | None, file: str | None,
                 want: DataType | None = None) -> None:
        super().__init__(source, pointer, mark, file)
        self.want = want  # None: a guard (true or false); else the type of the field a computed value sets
        self.scope = scope
        self.data_fields = scope.data
        self.data_names: set[str] = set()
        self.event_names: set[str] = set()

    # the whole expression
    def run(self) -> N.Node | None:
        if len(self.source) > MAX_LENGTH:
            self.report(TOO_COMPLEX, (1, 0), f"the guard is too long ({len(self.source)} characters, at most "
                        f"{MAX_LENGTH})", TOO_COMPLEX_HINT)
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
        except Abandon:
            return None
        if self.want is not None:
            if not T.assignable(root.ty, self.want):
                hint = ("'/' and mean() give fractions: write // to divide whole numbers, or round(...)"
                        if self.want.kind == "integer" and root.ty.kind == "number" else None)
                self.report("CF405", root.pos, f"the field needs {T.describe(self.want)}, but this is "
                            f"{T.describe(root.ty)}", hint)
        elif not T.is_bool(root.ty):
            self.report("CF405", root.pos, "a guard must be true or false, but this is "
                        + T.describe(root.ty), self.truth_hint(root))
        return root

    def truth_hint(self, node: N.Node) -> str | None:
        if node.ty.kind == "array" or T.is_text(node.ty):
            return f"write len({node.text}) > 0"
        if T.is_number(node.ty):
            return f"compare it, e.g. {node.text} > 0"
        return None

    # sub-expressions
    def compile(self, node: ast.AST) -> N.Node:
        method = _HANDLERS.get(type(node))
        if method is None:
            what = FORBIDDEN.get(type(node), f"this kind of expression ({type(node).__name__})")
            raise self.forbid(self.start(node), what,
                              "use names, numbers, texts, comparisons, and/or/not and the listed functions")
        handler: Callable[[Any], N.Node] = getattr(self, method)
        return handler(node)

    def constant(self, node: ast.Constant) -> N.Node:
        v = node.value
        ty = {bool: T.BOOL, int: T.INT, float: T.NUM, str: T.TEXT, type(None): T.NULL}.get(type(v))
        if ty is None or T.constant_problem(v):
            raise self.forbid(self.start(node), T.constant_problem(v) or "this kind of value",
                              "use true, false, null, numbers such as 3 or 2.5, and texts in quotes")
        text = self.text(node)
        # read as written: a float literal with more digits than a float holds keeps them all
        value = _literal(text, v) if type(v) is float else v
        return N.const(value, ty, text, self.start(node))

    def name(self, node: ast.Name) -> N.Node:
        name, pos, scope = node.id, self.start(node), self.scope
        if name in _CONSTANT_NAMES:
            v = _CONSTANT_NAMES[name]
            return N.const(v, T.NULL if v is None else T.BOOL, name, pos)
        if name.startswith("_"):
            raise self.forbid(pos, f"names starting with '_' ('{name}')", UNDERSCORE_HINT)
        if name == "now":
            return N.Node(lambda d, e, n: n, T.DATETIME, name, pos, "path")
        if name in scope.data:
            self.data_names.add(name)
            return N.Node(lambda d, e, n: d.get(name), scope.data[name], name, pos, "path", key=name)
        if name == "event":
            raise self.fail("CF402", pos, "'event' needs a field name: write event.<field>",
                            did_you_mean("", [f"event.{n}" for n in scope.event], "event"))
        if name in T.FUNCTIONS:
            raise self.fail("CF402", pos, f"'{name}' is a function: write {name}(...)",
                            f"call it with its argument in brackets, e.g. {name}(...)")
        hint = (f"'{name}' is event data here: write event.{name}" if name in scope.event else
                did_you_mean(name, [*scope.data, *(f"event.{n}" for n in scope.event)], "data"))
        raise self.fail("CF402", pos, f"unknown name '{name}' in the guard", hint)

    def attribute(self, node: ast.Attribute) -> N.Node:
        attr_pos = (self.end(node)[0], self.end(node)[1] - len(node.attr))
        if node.attr.startswith("_"):
            raise self.forbid(attr_pos, f"names starting with '_' ('{node.attr}')", UNDERSCORE_HINT)
        if isinstance(node.value, ast.Name) and node.value.id == "event":
            event = self.scope.event
            if node.attr not in event:
                hint = (f"'{node.attr}' is case data: write {node.attr}" if node.attr in self.scope.data else
                        did_you_mean(node.attr, event, "event data"))
                raise self.fail("CF402", attr_pos, f"unknown event data '{node.attr}' in the guard", hint)
            self.event_names.add(node.attr)
            key = node.attr
            return N.Node(lambda d, e, n: e.get(key), event[key], self.text(node), self.start(node), "path")
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

        return N.Node(path, field, self.text(node), self.start(node), "path")

    def subscript(self, node: ast.Subscript) -> N.Node:
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
        return N.Node(fn, T.items(base.ty), self.text(node), self.start(node), "value", (base,), exact=base.exact)

    def sequence(self, node: ast.List) -> N.Node:
        parts = self.operands(node.elts)
        ty = T.unify([p.ty for p in parts])
        if ty is None:
            raise self.fail("CF405", self.start(node), "a list must not mix "
                            + " and ".join(dict.fromkeys(T.describe(p.ty) for p in parts)))
        lty, text, pos = DataType("array", items=ty), self.text(node), self.start(node)
        if all(p.kind == "const" for p in parts):
            return N.const(tuple(p.value for p in parts), lty, text, pos, tuple(parts))
        fns, exact = [p.fn for p in parts], any(p.exact for p in parts)
        if exact:  # one computed item: all of them exact, so that they compare as numbers do
            return N.Node(lambda d, e, n: [X.exact(f(d, e, n)) for f in fns], lty, text, pos, "value",
                          tuple(parts), exact=True)
        return N.Node(lambda d, e, n: [f(d, e, n) for f in fns], lty, text, pos, "value", tuple(parts))

    def boolop(self, node: ast.BoolOp) -> N.Node:
        parts = self.operands(node.values)
        for p in parts:
            if not T.is_bool(p.ty):
                self.report("CF405", p.pos, f"'and'/'or' take true/false values, but '{p.text}' is "
                            f"{T.describe(p.ty)}", self.truth_hint(p))
        fns = [p.fn for p in parts]
        kind = "and" if isinstance(node.op, ast.And) else "or"
        stop = kind == "or"  # the value that decides: False for and, True for or
        fn = R.logic2(fns[0], fns[1], stop) if len(fns) == 2 else R.logic(fns, stop)
        return N.Node(fn, T.BOOL, self.text(node), self.start(node), kind, tuple(parts))

    def operands(self, nodes: Sequence[ast.AST]) -> list[N.Node]:
        """Compile every operand, so that each one's mistakes are reported, then give up if any had one."""
        parts: list[N.Node | None] = []
        for n in nodes:
            try:
                parts.append(self.compile(n))
            except Abandon:
                parts.append(None)
        if any(p is None for p in parts):
            raise Abandon()
        return [p for p in parts if p is not None]

    def unaryop(self, node: ast.UnaryOp) -> N.Node:
        if isinstance(node.op, ast.Invert):
            raise self.forbid(self.start(node), "bit operations (~)", "write 'not' to negate a condition")
        part, text, pos = self.compile(node.operand), self.text(node), self.start(node)
        if isinstance(node.op, ast.Not):
            if not T.is_bool(part.ty):
                raise self.fail("CF405", part.pos, f"'not' takes a true/false value, but '{part.text}' is "
                                f"{T.describe(part.ty)}", self.truth_hint(part))
            fn = R.negation(part.fn) if part.key is None else R.negated_field(part.key)
            return N.Node(fn, T.BOOL, text, pos, "not", (part,))
        if not T.is_number(part.ty):
            raise self.fail("CF405", part.pos, f"'{part.text}' is {T.describe(part.ty)}, not a number")
        sign = -1 if isinstance(node.op, ast.USub) else 1
        if part.kind == "const" and part.value is not None:
            return N.const(sign * part.value, part.ty, text, pos)  # -1 is a constant, e.g. for enums
        get, op = part.fn, operator.neg if sign < 0 else operator.pos
        return N.Node(lambda d, e, n: op(get(d, e, n)), part.ty, text, pos, "value", (part,), exact=part.exact)

    def binop(self, node: ast.BinOp) -> N.Node:
        op_pos = self.between(node.left, node.right)
        if type(node.op) not in R.ARITHMETIC:
            what = FORBIDDEN.get(type(node.op), "this operator")
            raise self.forbid(op_pos, what, "use + - * / // %")
        a, b = self.operands([node.left, node.right])
        symbol, op = R.ARITHMETIC[type(node.op)]
        ty = T.arithmetic(symbol, a.ty, b.ty)
        if ty is None:
            raise self.fail("CF405", op_pos, f"'{symbol}' cannot combine {a.text} ({T.describe(a.ty)}) "
                            f"with {b.text} ({T.describe(b.ty)})")
        if symbol in ("+", "-") and a.ty.kind == b.ty.kind == "integer":
            op = operator.add if symbol == "+" else operator.sub  # whole numbers are exact as they are
        fa, fb = a.fn, b.fn
        if b.kind == "const":
            c = X.exact(b.value)  # converted once: 3.6 is 36/10
            fn: Fn = lambda d, e, n: op(fa(d, e, n), c)  # noqa: E731
        else:
            fn = lambda d, e, n: op(fa(d, e, n), fb(d, e, n))  # noqa: E731
        return N.Node(fn, ty, self.text(node), self.start(node), "value", (a, b), exact=ty != T.TEXT)

    def compare(self, node: ast.Compare) -> N.Node:
        nodes = [node.left, *node.comparators]
        for i, op_node in enumerate(node.ops):
            if type(op_node) not in R.COMPARE:
                what = FORBIDDEN.get(type(op_node), "this comparison")
                raise self.forbid(self.between(nodes[i], nodes[i + 1]), what,
                                  "compare with == != < <= > >=, or test membership with 'in' / 'not in'")
        parts = self.operands(nodes)
        pairs = []
        for i, op_node in enumerate(node.ops):
            pairs.append(self.pair(R.COMPARE[type(op_node)], parts, i, self.between(nodes[i], nodes[i + 1])))
        if len(pairs) == 1:
            fn = pairs[0]
        else:
            def fn(d: Mapping[str, Any], e: Mapping[str, Any], n: datetime) -> Any:
                return all(p(d, e, n) for p in pairs)  # short-circuits like a < b < c; operands are pure

        return N.Node(fn, T.BOOL, self.text(node), self.start(node), "compare", tuple(parts))

    def pair(self, symbol_op: tuple[str, Callable[[Any, Any], Any]], parts: list[N.Node], i: int,
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
                    f"write {a.text} == true or {a.text} == false" if a.ty.kind == "boolean" else
                    mixed_hint(a, b))
            raise self.fail("CF405", op_pos, f"'{symbol}' cannot compare {a.text} ({T.describe(a.ty)}) "
                            f"with {b.text} ({T.describe(b.ty)})", hint)
        kind = T.date_kind(a.ty) or T.date_kind(elem) or elem.kind
        norm = {"date": R.as_date, "date-time": R.as_datetime, "array": R.plain, "object": R.plain}.get(kind)
        fa, fb = a.fn, b.fn
        if symbol in ("==", "!=") and T.NULL in (a.ty, b.ty):
            other = fb if a.ty == T.NULL else fa
            if symbol == "==":
                return lambda d, e, n: other(d, e, n) is None
            return lambda d, e, n: other(d, e, n) is not None
        if norm is None and (a.exact or b.exact):  # a computed number against a float: both exact
            norm = X.exact
        if norm is not None:
            return R.normalized(op, fa, fb, norm, membership)
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

    def as_dates(self, literal: N.Node, kind: str | None, is_list: bool) -> N.Node:
        """A text literal compared with a date must be a valid date; it then counts as one."""
        if not kind or literal.kind != "const" or isinstance(literal.value, tuple) != is_list:
            return literal
        values, targets = (literal.value, literal.children) if is_list else ((literal.value,), (literal,))
        for v, target in zip(values, targets, strict=True):
            try:
                if isinstance(v, str):
                    (R.as_date if kind == "date" else R.as_datetime)(v)
            except ValueError:
                raise self.fail("CF405", target.pos, f"'{v}' is not a valid {kind.replace('-', ' and ')}",
                                "write 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SS+01:00'") from None
        if not all(isinstance(v, str) for v in values):
            return literal
        typed = T.DATE if kind == "date" else T.DATETIME
        return attrs.evolve(literal, ty=DataType("array", items=typed) if is_list else typed)

    def check_enum(self, ty: DataType, literal: N.Node, is_list: bool) -> None:
        """Comparing an enum field with a value outside its enum is always false: an author's typo."""
        if not ty.enum or literal.kind != "const" or isinstance(literal.value, tuple) != is_list:
            return
        values, targets = (literal.value, literal.children) if is_list else ((literal.value,), (literal,))
        for v, target in zip(values, targets, strict=True):
            if v is not None and v not in ty.enum:
                allowed = ", ".join(N.show(x) for x in ty.enum)
                raise self.fail("CF407", target.pos, f"{N.show(v)} is never a value here: it can be "
                                f"{allowed}", _close(str(v), [str(x) for x in ty.enum]) or f"use one of {allowed}")


def _literal(text: str, value: float) -> float | Fraction:
    """A float literal as its exact decimal when its text has more digits than the float's ``repr`` holds
    (``0.5589073486328125`` is not the float 0.5589073486328126); else the float itself."""
    try:
        written = Fraction(text.replace("_", ""))
    except (ValueError, ZeroDivisionError):
        return value
    return value if written == Fraction(repr(value)) else written
