"""Adapting a process without copying it: merge an ``extends:`` file into its base document.

Every mapping of ids merges entry by entry (``roles``, ``data``, ``events``, ``states`` at any
depth, checklists, labels); other values are replaced whole. An entry can carry ``remove: true`` or
``rename: new_id`` (states, roles, data fields, events, and transitions by ``id``); a rename is
carried through every reference in the base. Transitions with an ``id`` change (merge into) the base
transition of that id; transitions without one are added and never replace anything. An id that
names nothing in the base is an error with a did-you-mean. Marks keep the file each line came from.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterator
from typing import Any

import attrs

from careflow.definitions.extends_refs import KINDS, default_transition_id, place, rekey, state_paths, visit_references
from careflow.errors import Diagnostic, SourceLocation, did_you_mean, pointer_join
from careflow.model.marks import Mark, SourceMap

# Which mappings merge entry by entry ("*": any key); a key not listed is replaced whole.
_LABEL: dict[str, Any] = {"*": {}}
_ENTRY: dict[str, Any] = {"label": _LABEL, "description": _LABEL}
_STATE: dict[str, Any] = {"label": _LABEL, "description": _LABEL, "checklist": {"*": _ENTRY}}
_STATE["states"] = {"*": _STATE}
_TOP: dict[str, Any] = {"title": _LABEL, "description": _LABEL, "roles": {"*": _ENTRY},
                        "data": {"*": {**_ENTRY}}, "events": {"*": _ENTRY}, "states": {"*": _STATE}}
_TRANSITION = _ENTRY  # in a changed transition, each key given replaces the base's, labels merge

_WHAT = {"states": "state", "roles": "role", "data": "data field", "events": "event", "transitions": "transition"}
_NEEDS = {"states": "label", "roles": "label", "data": "type", "events": "label"}


@attrs.frozen
class Merged:
    """The merged document and its marks, and what went wrong in the adapting file."""

    document: dict[str, Any]
    marks: dict[str, Mark]
    diagnostics: tuple[Diagnostic, ...]
    explained: frozenset[str]  # pointers of references to removed entries, already reported


class _Marks:
    """A document's marks, sorted so that a subtree's marks are found by bisection."""

    def __init__(self, marks: dict[str, Mark]) -> None:
        self.marks = marks
        self.keys = sorted(marks)

    def subtree(self, ptr: str, skip: str | None = None) -> Iterator[tuple[str, Mark]]:
        if ptr in self.marks:
            yield ptr, self.marks[ptr]
        lo, hi = bisect.bisect_left(self.keys, ptr + "/"), bisect.bisect_left(self.keys, ptr + "0")
        for p in self.keys[lo:hi]:
            if skip is None or not (p == skip or p.startswith(skip + "/")):
                yield p, self.marks[p]


def merge(base: dict[str, Any], base_marks: dict[str, Mark], child: dict[str, Any], child_marks: dict[str, Mark],
          *, base_id: str, file: str | None) -> Merged:
    return _Merger(base, base_marks, child, child_marks, base_id, file).run()


class _Merger:
    """One use: ``_Merger(...).run()``."""

    def __init__(self, base: dict[str, Any], base_marks: dict[str, Mark], child: dict[str, Any],
                 child_marks: dict[str, Mark], base_id: str, file: str | None) -> None:
        self.base, self.base_marks = copy.deepcopy(base), dict(base_marks)
        self.child, self.child_marks = copy.deepcopy(child), dict(child_marks)
        self.base_id, self.file = base_id, file
        self.child_map = SourceMap(child_marks, file)
        self.problems: list[Diagnostic] = []
        self.renames: dict[str, dict[str, str]] = {k: {} for k in (*KINDS, "transitions")}
        self.removed: dict[str, dict[str, str]] = {k: {} for k in (*KINDS, "transitions")}
        self.marks: dict[str, Mark] = {}
        self.added: list[tuple[Any, int]] = []
        self.explained: set[str] = set()

    def report(self, code: str, message: str, pointer: str, hint: str | None = None) -> None:
        loc = self.child_map.locate(pointer)
        if loc.file is None:
            loc = SourceLocation(self.file, loc.line, loc.column, loc.pointer)
        self.problems.append(Diagnostic(code, message, loc, hint))

    def run(self) -> Merged:
        base_states = state_paths(self.base.get("states"))
        for kind in ("roles", "data", "events"):
            self.entries(kind, self.child.get(kind), f"/{kind}", _dict(self.base.get(kind)))
        additions = self.plan_states(base_states)
        patches = self.plan_transitions()
        self.apply_to_base(base_states)
        if "states" in self.child:
            self.child["states"] = self.states_in_base_shape(additions)
        for kind in ("roles", "data", "events"):
            if isinstance(self.child.get(kind), dict):
                self.child[kind] = rekey(self.child[kind], self.renames[kind], f"/{kind}", self.child_marks)
        base_src, child_src = _Marks(self.base_marks), _Marks(self.child_marks)
        merged = self.merge_map(self.base, self.child, _TOP, ("", base_src), ("", child_src), "")
        merged["transitions"] = self.merge_transitions(patches, base_src, child_src)
        if isinstance(self.base.get("sources"), list) and isinstance(self.child.get("sources"), list):
            merged["sources"] = self.base["sources"] + self.child["sources"]
            n = len(self.base["sources"])
            for i in range(len(self.child["sources"])):
                self.copy(child_src, pointer_join("/sources", i), pointer_join("/sources", n + i))
        merged.pop("extends", None)
        merged["extends"] = self.child.get("extends")
        self.check_removed(merged, base_states)
        return Merged(merged, self.marks, tuple(self.problems), frozenset(self.explained))

    # -- remove: and rename: ----------------------------------------------------------------------

    def entries(self, kind: str, child_map: Any, pointer: str, base_map: dict[str, Any]) -> None:
        """Check the entries of one id map against the base; record removals and renames."""
        for key in list(child_map) if isinstance(child_map, dict) else []:
            entry = child_map[key]
            if self.entry(kind, key, entry, pointer_join(pointer, key), key in base_map, base_map) is None:
                del child_map[key]

    def entry(self, kind: str, key: str, entry: Any, ptr: str, in_base: bool, known: Any) -> Any:
        """The entry to merge (without its remove:/rename:), or None when it merges nothing."""
        what = _WHAT[kind]
        if not isinstance(entry, dict):
            return entry  # the schema reports it
        directive = "remove" if "remove" in entry else "rename" if "rename" in entry else None
        if not in_base:
            if directive is None and _NEEDS[kind] in entry:
                return entry  # a new entry
            doing = {"remove": "remove", "rename": "rename"}.get(directive or "", "change")
            hint = did_you_mean(key, known, what)
            if directive is None:
                hint = (hint + f" To add a new {what}, give it a {_NEEDS[kind]}.") if hint else \
                    f"to add a new {what}, give it a {_NEEDS[kind]}"
            self.report("CF118", f"there is no {what} '{key}' in '{self.base_id}' to {doing}", ptr, hint)
            return None
        if "remove" in entry:
            if entry["remove"] is not True or len(set(entry) - {"remove", "id"}) > 0:
                self.report("CF118", f"'remove: true' removes the {what} '{key}' and stands alone",
                            pointer_join(ptr, "remove"), f"write {key}: {{remove: true}}")
                return None
            self.removed[kind][key] = ptr
            return None
        if "rename" in entry:
            new = entry.pop("rename")
            if not isinstance(new, str) or not new:
                self.report("CF118", f"'rename' needs the new id of the {what} '{key}'", pointer_join(ptr, "rename"),
                            f"write e.g. rename: {key}_local")
                return entry
            if new in known or new in self.renames[kind].values():
                self.report("CF118", f"cannot rename the {what} '{key}' to '{new}': that id is taken",
                            pointer_join(ptr, "rename"), f"choose an id that '{self.base_id}' does not use")
                return entry
            self.renames[kind][key] = new
        return entry

    def plan_states(self, base_states: dict[str, tuple[str, ...]]) -> list[tuple[str | None, str, Any, str]]:
        """Check the adapting file's states (a base state may be named at any depth) -> the patches,
        as (base parent or None, id, entry, pointer); new states under a new state stay inside it."""
        planned: list[tuple[str | None, str, Any, str]] = []

        def walk(states: Any, pointer: str, parent: str | None) -> None:
            for sid in list(states) if isinstance(states, dict) else []:
                ptr = pointer_join(pointer, sid)
                entry = self.entry("states", sid, states[sid], ptr, sid in base_states, base_states)
                if entry is None:
                    continue
                planned.append((parent, sid, entry, ptr))
                if sid in base_states and isinstance(entry, dict):
                    walk(entry.get("states"), pointer_join(ptr, "states"), sid)

        walk(self.child.get("states"), "/states", None)
        return planned

    def states_in_base_shape(self, planned: list[tuple[str | None, str, Any, str]]) -> Any:
        """The adapting file's states rearranged to where each state lives in the (renamed) base."""
        if not isinstance(self.child.get("states"), dict):
            return self.child.get("states")
        paths = state_paths(self.base.get("states"))
        names = self.renames["states"]
        moved: dict[str, Mark] = {p: m for p, m in self.child_marks.items()
                                  if not (p == "/states" or p.startswith("/states/"))}
        if "/states" in self.child_marks:
            moved["/states"] = self.child_marks["/states"]
        source = _Marks(self.child_marks)
        root: dict[str, Any] = {}
        for parent, sid, entry, ptr in planned:
            new = names.get(sid, sid)
            if new in paths:
                path = paths[new]
                value = {k: v for k, v in entry.items() if k != "states"} if isinstance(entry, dict) else entry
                skip: str | None = pointer_join(ptr, "states")
            else:
                parent_path = paths[names.get(parent, parent)] + ("states",) if parent else ("states",)
                path, value, skip = (*parent_path, sid), entry, None
            node = root
            for token in path[:-1]:
                node = node.setdefault(token, {})
            if isinstance(value, dict) and isinstance(node.get(path[-1]), dict):
                node[path[-1]].update(value)
            else:
                node[path[-1]] = value
            target = pointer_join("", *path)
            moved.update((target + p[len(ptr):], m) for p, m in source.subtree(ptr, skip))
        self.child_marks = moved
        return root.get("states", {})

    def plan_transitions(self) -> dict[int, tuple[dict[str, Any], int]]:
        """Base transition index -> (its changes, their index in the adapting file); checks ids."""
        base_ts = _list(self.base.get("transitions"))
        index = {default_transition_id(t): i for i, t in enumerate(base_ts) if isinstance(t, dict)}
        patches: dict[int, tuple[dict[str, Any], int]] = {}
        added: list[Any] = []
        for j, t in enumerate(_list(self.child.get("transitions"))):
            ptr = pointer_join("/transitions", j)
            if not isinstance(t, dict):
                added.append((t, j))
                continue
            tid = t.get("id")
            if not isinstance(tid, str):
                if "remove" in t or "rename" in t:
                    self.report("CF118", "to remove or rename a base transition, give its 'id'", ptr,
                                "the id is event@first-source unless the base gives one, e.g. id: close@work")
                else:
                    added.append((t, j))
                continue
            if tid not in index:
                self.report("CF118", f"there is no transition '{tid}' in '{self.base_id}' to change", ptr,
                            did_you_mean(tid, [i for i in index if i], "transition")
                            or "to add a new transition, leave out 'id'")
                continue
            if index[tid] in patches:
                self.report("CF117", f"the transition '{tid}' is changed twice in this file", ptr,
                            "merge the two entries into one")
                continue
            entry = self.entry("transitions", tid, t, ptr, True, index)
            if entry is not None:
                if tid in self.renames["transitions"]:
                    entry["id"] = self.renames["transitions"][tid]
                elif not isinstance(base_ts[index[tid]].get("id"), str):
                    entry.pop("id", None)  # the base's default id: it follows the merged event and source
                patches[index[tid]] = (entry, j)
            elif tid in self.removed["transitions"]:
                patches[index[tid]] = ({}, -1)
        self.added = added
        return patches

    def apply_to_base(self, base_states: dict[str, tuple[str, ...]]) -> None:
        """Removals and renames in the base document, references included."""
        for kind in ("roles", "data", "events"):
            section = self.base.get(kind)
            if isinstance(section, dict):
                for key in self.removed[kind]:
                    section.pop(key, None)
                self.base[kind] = rekey(section, self.renames[kind], f"/{kind}", self.base_marks)
        for sid in self.removed["states"]:
            *parent, last = base_states[sid]
            node: Any = self.base
            for token in parent:
                node = node.get(token) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(last, None)
        # deepest first: renaming a parent first would change the path of its children
        for sid, new in sorted(self.renames["states"].items(), key=lambda r: -len(base_states[r[0]])):
            *parent, last = base_states[sid]
            node = self.base
            for token in parent:
                node = node.get(token) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue
            where = pointer_join("", *parent)
            renamed = rekey(node, {last: new}, where, self.base_marks)
            node.clear()
            node.update(renamed)
        renames = self.renames

        def rename(kind: str, name: str, _pointer: str) -> str:
            return renames.get(kind, {}).get(name, name)

        visit_references(self.base, self.base_marks, rename)

    def check_removed(self, merged: dict[str, Any], base_states: dict[str, tuple[str, ...]]) -> None:
        """What still names a removed entry is reported at its ``remove: true``, with the place that names it."""
        removed = {kind: dict(ids) for kind, ids in self.removed.items() if ids and kind != "transitions"}
        for sid, ptr in list(removed.get("states", {}).items()):  # the states inside a removed state go too
            inner = base_states[sid]
            removed["states"].update({s: ptr for s, path in base_states.items() if path[:len(inner)] == inner})
        if not removed:
            return
        where = SourceMap(self.marks, self.file)

        def check(kind: str, name: str, pointer: str) -> str:
            if name in removed.get(kind, {}):
                self.explained.add(pointer)
                loc = self.child_map.locate(removed[kind][name])
                self.problems.append(Diagnostic(
                    "CF118", f"the {_WHAT[kind]} '{name}' is removed, but {place(merged, pointer)} still names it",
                    SourceLocation(loc.file or self.file, loc.line, loc.column, loc.pointer),
                    "change or remove that too in this file", related=(where.locate(pointer, value=True),)))
            return name

        visit_references(merged, {}, check)

    # -- merging ----------------------------------------------------------------------------------

    def copy(self, source: _Marks, old: str, new: str) -> None:
        self.marks.update((new + p[len(old):], m) for p, m in source.subtree(old))

    def merge_map(self, base: dict[str, Any], child: dict[str, Any], spec: dict[str, Any],
                  b: tuple[str, _Marks], c: tuple[str, _Marks], out: str) -> dict[str, Any]:
        """Merge ``child`` into ``base`` per ``spec``; ``b``/``c`` are each side's pointer and marks."""
        (bp, bsrc), (cp, csrc) = b, c
        mark = csrc.marks.get(cp) or bsrc.marks.get(bp)
        if mark is not None:
            self.marks[out] = mark
        result: dict[str, Any] = {}
        for key in [*base, *(k for k in child if k not in base)]:
            if out == "" and key == "transitions":
                continue
            sub = spec.get(key, spec.get("*"))
            kb, kc, ko = pointer_join(bp, key), pointer_join(cp, key), pointer_join(out, key)
            if key not in child:
                result[key] = base[key]
                self.copy(bsrc, kb, ko)
            elif sub is not None and isinstance(child[key], dict) and isinstance(base.get(key), dict):
                result[key] = self.merge_map(base[key], child[key], sub, (kb, bsrc), (kc, csrc), ko)
            else:
                result[key] = child[key]
                self.copy(csrc, kc, ko)
        return result

    def merge_transitions(self, patches: dict[int, tuple[dict[str, Any], int]], base_src: _Marks,
                          child_src: _Marks) -> list[Any]:
        out: list[Any] = []
        for i, t in enumerate(_list(self.base.get("transitions"))):
            entry, j = patches.get(i, (None, 0))
            if j == -1:
                continue  # removed
            ptr = pointer_join("/transitions", len(out))
            base_ptr = pointer_join("/transitions", i)
            if entry is None or not isinstance(t, dict):
                out.append(t)
                self.copy(base_src, base_ptr, ptr)
            else:
                out.append(self.merge_map(t, entry, _TRANSITION, (base_ptr, base_src),
                                          (pointer_join("/transitions", j), child_src), ptr))
        for t, j in self.added:
            self.copy(child_src, pointer_join("/transitions", j), pointer_join("/transitions", len(out)))
            out.append(t)
        if "/transitions" in self.child_marks:
            self.marks["/transitions"] = self.child_marks["/transitions"]
        elif "/transitions" in self.base_marks:
            self.marks["/transitions"] = self.base_marks["/transitions"]
        return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
