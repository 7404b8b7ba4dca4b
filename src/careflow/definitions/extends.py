"""Adapting a process without copying it: merge an ``extends:`` file into its base document.

Mappings merge key by key (a state given in the adapting file is merged into the base state);
transitions are matched by ``id`` (explicit, or the default ``event@first-source``) and replaced
or removed; other transitions are appended. Marks keep the file each line came from, so
diagnostics point into the right file.
"""

from __future__ import annotations

from typing import Any

from careflow.errors import pointer_join
from careflow.model.marks import Mark

# Keys whose values are plain data, replaced whole rather than merged.
_REPLACED = {"from", "roles", "requires", "tick", "enum", "required", "languages", "default", "when", "items"}


def default_transition_id(doc: dict[str, Any]) -> str | None:
    if isinstance(doc.get("id"), str):
        return str(doc["id"])
    src = doc.get("from")
    first = src if isinstance(src, str) else (src[0] if isinstance(src, list) and src else None)
    if isinstance(doc.get("event"), str) and isinstance(first, str):
        return f"{doc['event']}@{first}"
    return None


def _move(marks: dict[str, Mark], out: dict[str, Mark], old: str, new: str) -> None:
    """Copy the marks under pointer ``old`` to pointer ``new``."""
    for p, m in marks.items():
        if p == old or p.startswith(old + "/"):
            out[new + p[len(old):]] = m


def _state_paths(states: Any, base: tuple[str, ...] = ("states",)) -> dict[str, tuple[str, ...]]:
    """State id -> its key path in the document, for every (nested) state."""
    out: dict[str, tuple[str, ...]] = {}
    for sid, sdoc in (states.items() if isinstance(states, dict) else ()):
        out[sid] = (*base, sid)
        if isinstance(sdoc, dict):
            out.update(_state_paths(sdoc.get("states"), (*base, sid, "states")))
    return out


def _relocate_states(base: dict[str, Any], child: dict[str, Any],
                     child_marks: dict[str, Mark]) -> tuple[dict[str, Any], dict[str, Mark]]:
    """State ids are unique, so an adapting file may name a nested base state at the top level:
    move such entries to where the state lives in the base."""
    states = child.get("states")
    if not isinstance(states, dict):
        return child, child_marks
    paths = _state_paths(base.get("states"))
    moved = {sid: paths[sid] for sid in states if sid in paths and len(paths[sid]) > 2}
    if not moved:
        return child, child_marks
    new_states: dict[str, Any] = {k: v for k, v in states.items() if k not in moved}
    marks = {p: m for p, m in child_marks.items()
             if not any(p == f"/states/{sid}" or p.startswith(f"/states/{sid}/") for sid in moved)}
    for sid, path in moved.items():
        node = new_states
        for token in path[1:-1]:
            node = node.setdefault(token, {})
            if not isinstance(node, dict):
                break
        else:
            node[sid] = states[sid]
            _move(child_marks, marks, pointer_join("/states", sid), pointer_join("", *path))
    return {**child, "states": new_states}, marks


def merge(base: dict[str, Any], base_marks: dict[str, Mark], child: dict[str, Any],
          child_marks: dict[str, Mark]) -> tuple[dict[str, Any], dict[str, Mark], list[tuple[str, str]]]:
    """The merged document and marks, plus (pointer, id) of 'remove' entries that matched nothing."""
    child, child_marks = _relocate_states(base, child, child_marks)
    marks: dict[str, Mark] = {}
    unmatched: list[tuple[str, str]] = []
    merged = _merge_map(base, child, "", base_marks, child_marks, marks)
    # transitions: by id
    base_ts = [t for t in base.get("transitions", []) if isinstance(t, dict)] \
        if isinstance(base.get("transitions"), list) else []
    child_ts = child.get("transitions", [])
    result: list[tuple[Any, str, dict[str, Mark]]] = [
        (t, pointer_join("/transitions", i), base_marks) for i, t in enumerate(base_ts)]
    index = {default_transition_id(t): n for n, (t, _, _) in enumerate(result)}
    for i, t in enumerate(child_ts if isinstance(child_ts, list) else []):
        ptr = pointer_join("/transitions", i)
        tid = default_transition_id(t) if isinstance(t, dict) else None
        if isinstance(t, dict) and t.get("remove") is True:
            if tid in index and result[index[tid]][0] is not None:
                result[index[tid]] = (None, "", {})
            else:
                unmatched.append((ptr, str(tid)))
            continue
        if tid is not None and tid in index and result[index[tid]][0] is not None:
            result[index[tid]] = (t, ptr, child_marks)
        else:
            result.append((t, ptr, child_marks))
    kept = [(t, p, m) for t, p, m in result if t is not None]
    merged["transitions"] = [t for t, _, _ in kept]
    for n, (_, old, source_marks) in enumerate(kept):
        _move(source_marks, marks, old, pointer_join("/transitions", n))
    if "transitions" in child_marks:
        marks["/transitions"] = child_marks["/transitions"]
    merged.pop("extends", None)
    merged["extends"] = child.get("extends")
    if isinstance(base.get("sources"), list) and isinstance(child.get("sources"), list):
        merged["sources"] = base["sources"] + child["sources"]
        n = len(base["sources"])
        for i in range(len(child["sources"])):
            _move(child_marks, marks, pointer_join("/sources", i), pointer_join("/sources", n + i))
    return merged, marks, unmatched


def _merge_map(base: dict[str, Any], child: dict[str, Any], ptr: str, base_marks: dict[str, Mark],
               child_marks: dict[str, Mark], marks: dict[str, Mark]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ptr in child_marks:
        marks[ptr] = child_marks[ptr]
    elif ptr in base_marks:
        marks[ptr] = base_marks[ptr]
    # base order first (states keep their document order), then keys only the child has
    for key in [*base, *(k for k in child if k not in base)]:
        if ptr == "" and key == "transitions":
            continue
        kp = pointer_join(ptr, key)
        if key not in child:
            out[key] = base[key]
            _move(base_marks, marks, kp, kp)
        elif isinstance(child[key], dict) and isinstance(base.get(key), dict) and key not in _REPLACED:
            out[key] = _merge_map(base[key], child[key], kp, base_marks, child_marks, marks)
        else:
            out[key] = child[key]
            _move(child_marks, marks, kp, kp)
    return out
