"""CF209: a guard that can never be false where its transition applies.

The case this finds: a guard that only reads one boolean field (``leader_informed``, ``not x``,
``x == true``), on a transition whose every source leaf is entered only by transitions that set that
field by ``values:`` to the value the guard needs, where no transition that can fire in the leaf
changes the field again, and where no case opens (opening data may hold anything). Such a guard
never refuses anything; it hides that the refusal actually comes from where the case is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from careflow.errors import Diagnostic
from careflow.model.definition import ProcessDefinition, Transition

_BOOLS = {"true": True, "True": True, "false": False, "False": False}


def _required(source: str, booleans: set[str]) -> tuple[str, bool] | None:
    """(field, value) when the guard is exactly one boolean field being true or false, else None."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    want = True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        node, want = node.operand, False
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq):
        right = _BOOLS.get(ast.unparse(node.comparators[0]))
        if right is None:
            return None
        want = want == right if isinstance(node.ops[0], ast.Eq) else want != right
        node = node.left
    if isinstance(node, ast.Name) and node.id in booleans:
        return node.id, want
    return None


def _changes(t: Transition, name: str) -> bool:
    return (any(f == name for f, _ in t.set) or any(f == name for f, _ in t.compute)
            or any(f == name for f, _ in t.values))


def _always(process: ProcessDefinition, leaf: str, name: str, want: bool) -> bool:
    """Does ``name`` hold ``want`` whenever the case is in ``leaf``?"""
    if process.initial_leaf == leaf:
        return False
    inside = {leaf, *process.ancestors(leaf)}
    ways_in = [t for t in process.transitions if t.target is not None and process.resolve_entry(t.target) == leaf]
    if not ways_in:
        return False
    for t in ways_in:
        if dict(t.values).get(name, not want) is not want or any(f == name for f, _ in (*t.set, *t.compute)):
            return False
    return not any(t.internal and inside & set(t.sources) and _changes(t, name) for t in process.transitions)


def constant_guards(process: ProcessDefinition) -> Iterator[Diagnostic]:
    booleans = {f.name for f in process.data if f.type.kind == "boolean"}
    for t in process.transitions:
        if t.when is None:
            continue
        found = _required(t.when.source, booleans)
        if found is None:
            continue
        name, want = found
        leaves = [leaf for s in t.sources for leaf in (s, *process.descendants(s))
                  if not process.state(leaf).children]
        if leaves and all(_always(process, leaf, name, want) for leaf in leaves):
            where = ", ".join(f"'{leaf}'" for leaf in dict.fromkeys(leaves))
            yield Diagnostic(
                "CF209",
                f"the guard '{t.when.source.strip()}' of '{t.event}' can never be false: every way into {where} "
                f"sets '{name}' to {str(want).lower()} by `values:`",
                process.source_map.locate(t.when.pointer, True),
                "remove the `when:` (the state already says it), or let it test something that can differ",
                "warning",
            )
