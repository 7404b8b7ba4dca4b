"""Names in a process document: every place it names a state, role, data field or event, and ids.

``visit_references`` calls a function for each reference in the states and transitions of a
document; when the function returns another name, the reference is rewritten in place (and the
marks of a renamed key follow it). ``extends`` uses it to carry renames through a base process and
to find what still names a removed entry.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from careflow.errors import pointer_join
from careflow.model.marks import Mark

#: (kind, name, pointer) -> the name to put there (the same name leaves it alone)
Visit = Callable[[str, str, str], str]

# The id maps an adapting file can change, remove or rename entries of (transitions go by 'id').
KINDS = ("states", "roles", "data", "events")


def move_marks(marks: dict[str, Mark], old: str, new: str) -> None:
    """Move the marks under pointer ``old`` to pointer ``new`` (a renamed key)."""
    if old == new:
        return
    moved = {p: m for p, m in marks.items() if p == old or p.startswith(old + "/")}
    for p in moved:
        del marks[p]
    marks.update({new + p[len(old):]: m for p, m in moved.items()})


def rekey(mapping: dict[str, Any], renames: Mapping[str, str], pointer: str,
          marks: dict[str, Mark]) -> dict[str, Any]:
    """``mapping`` with renamed keys, in the same order; marks follow the keys."""
    for old, new in renames.items():
        if old in mapping:
            move_marks(marks, pointer_join(pointer, old), pointer_join(pointer, new))
    return {renames.get(k, k): v for k, v in mapping.items()}


def guard_names(source: str) -> list[tuple[int, int, int, str]]:
    """The case data names a guard reads: (line, start byte, end byte, name), function names excluded."""
    shift = 0
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        try:  # a multi-line block scalar reads as if in parentheses (as the guard compiler does)
            tree, shift = ast.parse("(\n" + source + "\n)", mode="eval"), 1
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []  # the guard compiler reports it
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [(n.lineno - shift, n.col_offset, n.end_col_offset or n.col_offset, n.id) for n in ast.walk(tree)
            if isinstance(n, ast.Name) and id(n) not in called]


def rename_in_guard(source: str, pointer: str, visit: Visit) -> str:
    lines = [line.encode() for line in source.split("\n")]
    for line, start, end, name in sorted(guard_names(source), reverse=True):
        new = visit("data", name, pointer)
        if new != name and 1 <= line <= len(lines):
            text = lines[line - 1]
            lines[line - 1] = text[:start] + new.encode() + text[end:]
    return b"\n".join(lines).decode("utf-8", "replace")


def visit_references(doc: dict[str, Any], marks: dict[str, Mark], visit: Visit) -> None:
    """Call ``visit`` on every reference in ``doc`` (changed in place when ``visit`` renames)."""
    initial = doc.get("initial")
    if isinstance(initial, str):
        doc["initial"] = visit("states", initial, "/initial")
    _visit_states(doc.get("states"), "/states", visit)
    transitions = doc.get("transitions")
    for i, t in enumerate(transitions if isinstance(transitions, list) else []):
        if isinstance(t, dict):
            _visit_transition(t, pointer_join("/transitions", i), marks, visit)


def _visit_states(states: Any, pointer: str, visit: Visit) -> None:
    for sid, sdoc in (states.items() if isinstance(states, dict) else ()):
        if not isinstance(sdoc, dict):
            continue
        here = pointer_join(pointer, sid)
        if isinstance(sdoc.get("initial"), str):
            sdoc["initial"] = visit("states", sdoc["initial"], pointer_join(here, "initial"))
        for key in ("on_due", "on_every"):
            if isinstance(sdoc.get(key), str):
                sdoc[key] = visit("events", sdoc[key], pointer_join(here, key))
        _visit_states(sdoc.get("states"), pointer_join(here, "states"), visit)


def _state_ref(name: str, pointer: str, visit: Visit) -> str:
    """A state reference may be a dotted path: each part is a state id."""
    return ".".join(visit("states", part, pointer) for part in name.split("."))


def _visit_transition(t: dict[str, Any], ptr: str, marks: dict[str, Mark], visit: Visit) -> None:
    if isinstance(t.get("event"), str):
        t["event"] = visit("events", t["event"], pointer_join(ptr, "event"))
    src = t.get("from")
    if isinstance(src, str):
        t["from"] = _state_ref(src, pointer_join(ptr, "from"), visit)
    elif isinstance(src, list):
        t["from"] = [_state_ref(s, pointer_join(ptr, "from", i), visit) if isinstance(s, str) else s
                     for i, s in enumerate(src)]
    if isinstance(t.get("to"), str):
        t["to"] = _state_ref(t["to"], pointer_join(ptr, "to"), visit)
    if isinstance(t.get("roles"), list):
        t["roles"] = [visit("roles", r, pointer_join(ptr, "roles", i)) if isinstance(r, str) else r
                      for i, r in enumerate(t["roles"])]
    if isinstance(t.get("assign"), dict):
        t["assign"] = _visit_keys(t["assign"], "roles", pointer_join(ptr, "assign"), marks, visit)
    if isinstance(t.get("values"), dict):
        t["values"] = _visit_keys(t["values"], "data", pointer_join(ptr, "values"), marks, visit)
    for key in ("set", "append"):
        if key in t:
            t[key] = _visit_updates(t[key], pointer_join(ptr, key), marks, visit)
    for key in ("spawn", "report"):  # both carry this case's fields to the other case's names
        other = t.get(key)
        if isinstance(other, dict) and "data" in other:
            other["data"] = _visit_spawn_data(other["data"], pointer_join(ptr, key, "data"), marks, visit)
    if isinstance(t.get("when"), str):
        t["when"] = rename_in_guard(t["when"], pointer_join(ptr, "when"), visit)


def _visit_keys(mapping: dict[str, Any], kind: str, ptr: str, marks: dict[str, Mark],
                visit: Visit) -> dict[str, Any]:
    renames = {k: visit(kind, k, pointer_join(ptr, k)) for k in mapping}
    return rekey(mapping, {k: v for k, v in renames.items() if k != v}, ptr, marks)


def _visit_updates(value: Any, ptr: str, marks: dict[str, Mark], visit: Visit) -> Any:
    """``set``/``append``: case fields are the list items, or the mapping's keys. The event data keeps its
    name, so a list with a renamed field becomes a mapping ``new_field: event_name``."""
    if isinstance(value, dict):
        value = {k: rename_in_guard(v, pointer_join(ptr, k), visit)  # a computed value reads case data
                 if isinstance(v, str) and not v.isidentifier() else v for k, v in value.items()}
        return _visit_keys(value, "data", ptr, marks, visit)
    if not isinstance(value, list):
        return value
    targets = [visit("data", v, pointer_join(ptr, i)) if isinstance(v, str) else v for i, v in enumerate(value)]
    if targets == value or not all(isinstance(v, str) for v in value):
        return value
    for i, target in enumerate(targets):
        move_marks(marks, pointer_join(ptr, i), pointer_join(ptr, target))
    return dict(zip(targets, value, strict=True))


def _visit_spawn_data(value: Any, ptr: str, marks: dict[str, Mark], visit: Visit) -> Any:
    """``spawn.data``/``report.data``: this case's fields are the list items, or the mapping's values (the
    other process keeps its own names, so a list with a renamed field becomes a mapping)."""
    if isinstance(value, dict):
        return {k: visit("data", v, pointer_join(ptr, k)) if isinstance(v, str) else v for k, v in value.items()}
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value
    sources = [visit("data", v, pointer_join(ptr, i)) for i, v in enumerate(value)]
    if sources == value:
        return value
    for i, target in enumerate(value):
        move_marks(marks, pointer_join(ptr, i), pointer_join(ptr, target))
    return dict(zip(value, sources, strict=True))


def default_transition_id(doc: dict[str, Any]) -> str | None:
    if isinstance(doc.get("id"), str):
        return str(doc["id"])
    src = doc.get("from")
    first = src if isinstance(src, str) else (src[0] if isinstance(src, list) and src else None)
    if isinstance(doc.get("event"), str) and isinstance(first, str):
        return f"{doc['event']}@{first}"
    return None


def state_paths(states: Any, base: tuple[str, ...] = ("states",)) -> dict[str, tuple[str, ...]]:
    """State id -> its key path in the document, for every (nested) state."""
    out: dict[str, tuple[str, ...]] = {}
    for sid, sdoc in (states.items() if isinstance(states, dict) else ()):
        out.setdefault(sid, (*base, sid))
        if isinstance(sdoc, dict):
            out.update({k: v for k, v in state_paths(sdoc.get("states"), (*base, sid, "states")).items()
                        if k not in out})
    return out


def place(doc: dict[str, Any], pointer: str) -> str:
    """A pointer in words: "transition 4 (event 'close', id 'close@l0_s5')", "the 'initial' of state ..."."""
    parts = pointer.strip("/").split("/")
    if parts[0] == "transitions" and len(parts) > 1 and parts[1].isdigit():
        t = (doc.get("transitions") or [])[int(parts[1])]
        t = t if isinstance(t, dict) else {}
        return f"transition {int(parts[1]) + 1} (event '{t.get('event')}', id '{default_transition_id(t)}')"
    if parts[-1] == "initial" and len(parts) > 2:
        return f"the 'initial' of state '{parts[-2]}'"
    if parts[-1] in ("on_due", "on_every") and len(parts) > 2:
        return f"the '{parts[-1]}' of state '{parts[-2]}'"
    return f"'{parts[-1]}'"
