"""Completion: state ids in ``from``/``to``, events, roles, data fields in guards and data lists, the keys
the schema allows where the cursor is, and the values of its enums. In an adapting file (``extends``),
the base's ids as keys of ``states``, ``roles``, ``data`` and ``events``.

Where the cursor is comes from the text itself (indentation and the ``key:`` before the cursor), not from
the parsed document, since the line being typed is rarely valid YAML yet. Ids come from the last index
that could be read, and from the ``extends`` bases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from careflow.lsp.hover import text_in
from careflow.lsp.index import EVENT, FIELD, ITEM, PROCESS, ROLE, STATE, DocumentIndex

# the key whose value is being typed -> the kind of id it takes
ID_KEYS = {"from": STATE, "to": STATE, "initial": STATE, "event": EVENT, "on_due": EVENT, "on_every": EVENT,
           "roles": ROLE,
           "assign": ROLE, "set": FIELD, "append": FIELD, "requires": FIELD, "values": FIELD, "when": FIELD,
           "tick": ITEM, "extends": PROCESS, "process": PROCESS}
# the top-level mappings of ids, and the kind of id that keys them
SECTIONS = {"states": STATE, "roles": ROLE, "data": FIELD, "events": EVENT}
_KINDS = {STATE: types.CompletionItemKind.Class, EVENT: types.CompletionItemKind.Event,
          ROLE: types.CompletionItemKind.Constant, FIELD: types.CompletionItemKind.Field,
          ITEM: types.CompletionItemKind.Value, PROCESS: types.CompletionItemKind.Module}
_GUARD_EXTRAS = ("and", "or", "not", "in", "true", "false", "null", "now", "len", "sum", "mean", "min", "max",
                 "abs", "round", "days_since", "days_until")
_LAST_KEY = re.compile(r"([A-Za-z_]\w*)\s*:(?=\s|$)")
_KEY_LINE = re.compile(r"^(\s*)(-\s+)?([A-Za-z_]\w*)\s*:(.*)$")
_ITEM_LINE = re.compile(r"^(\s*)-(\s+|$)")
_TOP_KEY = re.compile(r"^([A-Za-z_]\w*)\s*:")


def key_path(lines: Sequence[str], line: int, indent: int, item: bool = False) -> list[str]:
    """The keys enclosing ``line``, outermost first, where its content starts at column ``indent`` (with
    ``item``: the line is a list item whose dash stands there). ``-`` stands for an item of a list."""
    path: list[str] = []
    limit, in_list = indent, item
    for text in reversed(lines[:line]):
        stripped = text.split(" #", 1)[0].rstrip()
        if not stripped.strip() or stripped.lstrip().startswith("#"):
            continue
        own = len(stripped) - len(stripped.lstrip(" "))
        key = _KEY_LINE.match(stripped)
        bare = key is not None and not key.group(4).strip()  # `key:` with its value on the next lines
        if _ITEM_LINE.match(stripped) is not None and own < limit:  # inside this list item
            if key is not None and bare and own + len(key.group(2) or "") < limit:
                path.append(key.group(3))  # under the item's first key
            path.append("-")
            limit, in_list = own, True
        elif key is not None and (own < limit or (own == limit and in_list and bare)):
            path.append(key.group(3))
            limit, in_list = own, False
        if limit == 0 and not in_list:
            break
    return path[::-1]


def schema_node(schema: dict[str, Any], path: Sequence[str]) -> dict[str, Any] | None:
    """The schema of the value at ``path`` (following ``$ref``); None where the schema says nothing."""
    node: Any = schema
    for step in path:
        node = _deref(schema, node)
        if step == "-":
            node = node.get("items")
        elif step in node.get("properties", {}):
            node = node["properties"][step]
        else:
            node = node.get("additionalProperties")
        if not isinstance(node, dict):
            return None
    result: dict[str, Any] = _deref(schema, node)
    return result


def _deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    for _ in range(16):
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            break
        target: Any = schema
        for token in ref[2:].split("/"):
            target = target.get(token, {}) if isinstance(target, dict) else {}
        node = target if isinstance(target, dict) else {}
    return node


def complete(index: DocumentIndex, bases: list[DocumentIndex], lines: Sequence[str], line: int, column: int,
             schema: dict[str, Any], known_processes: Sequence[str] = ()) -> list[types.CompletionItem]:
    """What may be typed at the position."""
    text = lines[line] if line < len(lines) else ""
    before = text[:column]
    keys = list(_LAST_KEY.finditer(before))
    indent = len(text) - len(text.lstrip(" "))
    item = _ITEM_LINE.match(text) is not None
    if keys:  # a value on the key's line: `from: l0_`, `{event: x, roles: [emp`
        path = [*key_path(lines, line, indent, item), *(["-"] if item else []), keys[-1].group(1)]
        return _values(index, bases, path, schema, known_processes)
    if item:  # `- l0_`: an item of a list of names, or the first key of a mapping in a list
        path = key_path(lines, line, indent, item=True)
        if path and path[-1] in ID_KEYS:
            return _values(index, bases, path, schema, known_processes)
        return _keys(schema, [*path, "-"], ())
    if before.strip() and not re.fullmatch(r"\s*\w+", before):
        return []
    path = key_path(lines, line, indent)
    if len(path) == 1 and path[0] in SECTIONS and bases:  # an adapting file names what it changes in its base
        return _ids(index, bases, SECTIONS[path[0]])
    present = [m.group(1) for i, text in enumerate(lines) if i != line and (m := _TOP_KEY.match(text))]
    return _keys(schema, path, present)


def _values(index: DocumentIndex, bases: list[DocumentIndex], path: list[str], schema: dict[str, Any],
            known_processes: Sequence[str]) -> list[types.CompletionItem]:
    key = path[-1]
    kind = ID_KEYS.get(key)
    if key == "initial" and len(path) == 1:
        kind = STATE
    if kind == PROCESS:
        return [types.CompletionItem(label=p, kind=_KINDS[PROCESS], detail="process") for p in known_processes]
    if kind is not None:
        items = _ids(index, bases, kind)
        if key == "when":
            items += [types.CompletionItem(label=w, kind=types.CompletionItemKind.Keyword) for w in _GUARD_EXTRAS]
        return items
    node = schema_node(schema, path)
    if node is not None and node.get("type") == "array" and isinstance(node.get("items"), dict):
        node = _deref(schema, node["items"])
    enum = node.get("enum") if node is not None else None
    if not isinstance(enum, list):
        return []
    return [types.CompletionItem(label=str(v), kind=types.CompletionItemKind.EnumMember) for v in enum]


def _ids(index: DocumentIndex, bases: list[DocumentIndex], kind: str) -> list[types.CompletionItem]:
    """The ids of ``kind`` in the file and its bases, each with its label in the file's language."""
    items: dict[str, types.CompletionItem] = {}
    for source in (index, *bases):
        for name in source.ids(kind):
            if name in items:
                continue
            found = source.definition(kind, name)
            node = source.node(found.pointer) if found is not None and found.defines else None
            label = text_in(node.get("label"), index.language) if isinstance(node, dict) else ""
            detail = kind + (f": {label}" if label else "") + ("" if source is index else " (base)")
            items[name] = types.CompletionItem(label=name, kind=_KINDS[kind], detail=detail)
    return list(items.values())


def _keys(schema: dict[str, Any], path: list[str], top_level: Sequence[str]) -> list[types.CompletionItem]:
    """The keys the schema allows at ``path`` (at the top level, those not yet in the file)."""
    node = schema_node(schema, path) if path else schema
    properties = node.get("properties") if node is not None else None
    if not isinstance(properties, dict):
        return []
    present = set(top_level) if not path else set()
    items = []
    for key, spec in properties.items():
        if key in present:
            continue
        spec = _deref(schema, spec) if isinstance(spec, dict) else {}
        description = spec.get("description") if isinstance(spec.get("description"), str) else None
        items.append(types.CompletionItem(label=key, kind=types.CompletionItemKind.Property, insert_text=f"{key}: ",
                                          detail=description))
    return items
