"""Go to definition, references, rename of a state or event id, and the outline (the state tree).

Positions are 0-based lines and code-point columns (``Span``); a target in another file (a base of an
``extends``, or a process named by ``extends``/``spawn``) carries that file's path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from lsprotocol import types

from careflow.errors import escape_pointer_token
from careflow.lsp.bases import find_definition, process_file
from careflow.lsp.hover import text_in
from careflow.lsp.index import EVENT, PROCESS, STATE, DocumentIndex, Occurrence, Span, StateNode

RENAMEABLE = (STATE, EVENT)
NEW_ID = re.compile(r"[a-z][a-z0-9_]*\Z")


class Target(NamedTuple):
    """A place to jump to: ``file`` None is the document itself."""

    file: str | None
    span: Span


def definition(index: DocumentIndex, bases: list[DocumentIndex], line: int, column: int) -> Target | None:
    """Where the id under the cursor is defined: in the file, else in its nearest base. On a key that
    overrides a base definition, the base's definition (so one can see what is being changed)."""
    found = index.at(line, column)
    if found is None:
        return None
    if found.kind == PROCESS:
        if found.pointer == "/id":
            return None
        path = process_file(found.name)
        return Target(str(path), Span(0, 0, 0)) if path is not None else None
    chain = [*bases] if found.defines else [index, *bases]
    defined = find_definition(chain, found.kind, found.name)
    if defined is None:
        return Target(None, found.span) if found.defines else None
    home, where = defined
    return Target(None if home is index else home.file, where.span)


def references(index: DocumentIndex, line: int, column: int) -> list[Span]:
    found = index.at(line, column)
    return [o.span for o in index.uses(found.kind, found.name)] if found is not None else []


def rename_target(index: DocumentIndex, line: int, column: int) -> Occurrence | None:
    """The state or event id under the cursor, if it can be renamed."""
    found = index.at(line, column)
    return found if found is not None and found.kind in RENAMEABLE else None


def rename(index: DocumentIndex, line: int, column: int, new_name: str,
           bases: Sequence[DocumentIndex] = ()) -> list[Span]:
    """The spans to replace with ``new_name``: every use of the state or event id in the file (its key,
    ``from``/``to``/``initial``, ``event``/``on_due``/``on_every``, and inside transition ids ``event@state``).

    Raises ValueError when the id cannot be renamed to ``new_name``, or belongs to a base process (renaming
    it here would only cut this file off from it)."""
    found = rename_target(index, line, column)
    if found is None:
        raise ValueError("only a state or an event id can be renamed")
    owner = next((b for b in bases if b.definition(found.kind, found.name) is not None), None)
    if owner is not None:
        raise ValueError(f"'{found.name}' is a {found.kind} of the base process '{owner.doc.get('id')}': "
                         "rename it there")
    if not NEW_ID.match(new_name) or len(new_name) > 64:
        raise ValueError(f"'{new_name}' is not an id: use a-z, 0-9 and '_', starting with a letter")
    if new_name != found.name and index.uses(found.kind, new_name):
        raise ValueError(f"there is already a {found.kind} '{new_name}' in this file")
    return sorted({o.span for o in index.uses(found.kind, found.name)})


# -- the outline ----------------------------------------------------------------------------------


def outline(index: DocumentIndex) -> list[types.DocumentSymbol]:
    """The state tree, then roles, data and events, as document symbols (ranges in code points)."""
    if not index.readable:
        return []
    lines = index.text.splitlines()
    symbols: list[types.DocumentSymbol] = []
    for section, kind in (("states", None), ("roles", types.SymbolKind.Constant),
                          ("data", types.SymbolKind.Field), ("events", types.SymbolKind.Event)):
        pointer = f"/{section}"
        if pointer not in index.marks:
            continue
        children = _state_symbols(index, lines, None) if kind is None else _entry_symbols(index, lines, section, kind)
        symbols.append(_symbol(index, lines, pointer, section, "", types.SymbolKind.Namespace, children))
    return symbols


def _state_symbols(index: DocumentIndex, lines: list[str], parent: str | None) -> list[types.DocumentSymbol]:
    out = []
    for state in (s for s in index.states if s.parent == parent):
        children = _state_symbols(index, lines, state.id)
        kind = types.SymbolKind.Namespace if children else types.SymbolKind.Class
        out.append(_symbol(index, lines, state.pointer, state.id, _label(index, state), kind, children))
    return out


def _entry_symbols(index: DocumentIndex, lines: list[str], section: str, kind: types.SymbolKind
                   ) -> list[types.DocumentSymbol]:
    entries = index.doc.get(section)
    if not isinstance(entries, dict):
        return []
    out = []
    for name, node in entries.items():
        label = text_in(node.get("label"), index.language) if isinstance(node, dict) else ""
        out.append(_symbol(index, lines, f"/{section}/{escape_pointer_token(name)}", name, label, kind, []))
    return out


def _label(index: DocumentIndex, state: StateNode) -> str:
    node = index.node(state.pointer)
    return text_in(node.get("label"), index.language) if isinstance(node, dict) else ""


def _symbol(index: DocumentIndex, lines: list[str], pointer: str, name: str, detail: str, kind: types.SymbolKind,
            children: list[types.DocumentSymbol]) -> types.DocumentSymbol:
    mark = index.marks[pointer]
    inside = pointer + "/"
    last = max((m.value_line for p, m in index.marks.items() if p.startswith(inside)), default=mark.value_line)
    last = min(max(last, mark.line), len(lines)) - 1
    start = types.Position(mark.line - 1, mark.column - 1)
    selection = types.Range(start, types.Position(mark.line - 1, mark.column - 1 + len(name)))
    whole = types.Range(start, types.Position(last, len(lines[last]) if lines else 0))
    return types.DocumentSymbol(name=name, kind=kind, range=whole, selection_range=selection,
                                detail=detail or None, children=children or None)

