"""Handoffs checked against the process on the other side: a ``spawn``'s start state and carried data
against the child (CF215), and the child's ``report``s against the parent that spawns it (CF216).

Both sides must be loaded, so these run where the other process is known: the loader (processes on
the search path, and a process that hands off to itself) and ``runtime.compile`` (the resolver's).
Rules for a start state: it exists in the child, is not final, and is reachable from the child's
initial state (a case can only be somewhere its own process can get to).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator

from careflow.errors import CareflowError, Diagnostic, SourceLocation, did_you_mean
from careflow.model.datatypes import DataType
from careflow.model.definition import SYSTEM_ROLE, ProcessDefinition, Report, Transition


def _at(process: ProcessDefinition, pointer: str, sub: str = "") -> SourceLocation:
    pointer = pointer + sub if sub and pointer + sub in process.source_map.marks else pointer
    found = process.source_map.locate(pointer, bool(sub))
    return found if found.file else SourceLocation(process.path, found.line, found.column, found.pointer)


def fits(source: DataType, target: DataType) -> bool:
    """Every value of ``source`` (other than null) is a value ``target`` takes, as far as types and
    enums tell (lengths and bounds are checked when the value is carried)."""
    if source.kind != target.kind and not (source.kind == "integer" and target.kind == "number"):
        return False
    if target.enum is not None and (source.enum is None or not set(source.enum) <= set(target.enum)):
        return False
    if target.format is not None and source.format != target.format:
        return False
    if target.unique_items and not source.unique_items:
        return False
    if source.kind == "array" and target.items is not None:
        return source.items is not None and fits(source.items, target.items)
    return True


_BUSY = threading.local()  # loading a child to check a handoff: its own handoffs are not followed


def check_known(process: ProcessDefinition, known: Collection[str]) -> list[Diagnostic]:
    """``check_handoff`` for every spawn whose process is at hand: the process itself, or one on the search
    path that ``known`` names (a child that does not load is left to its own validation)."""
    if getattr(_BUSY, "on", False):
        return []
    from careflow.definitions.loader import discover, load

    found = discover()
    out: list[Diagnostic] = []
    _BUSY.on = True
    try:
        for t in process.transitions:
            if t.spawn is None:
                continue
            name = t.spawn.process
            if name == process.id:
                out += check_handoff(process, t, process)
            elif name in known and name in found:
                try:
                    child = load(found[name].path)
                except CareflowError:
                    continue
                out += check_handoff(process, t, child)
    finally:
        _BUSY.on = False
    return out


def check_handoff(parent: ProcessDefinition, t: Transition, child: ProcessDefinition) -> list[Diagnostic]:
    """CF215 for ``t``'s spawn against ``child``; CF216 for ``child``'s reports against ``parent``."""
    out = list(_start(parent, t, child)) + list(_data(parent, t, child))
    for ct in child.transitions:
        if ct.report is not None and (not ct.report.to or parent.id in ct.report.to):
            out += _report(child, ct, ct.report, parent, _at(parent, t.pointer, "/spawn"))
    return out


def _start(parent: ProcessDefinition, t: Transition, child: ProcessDefinition) -> Iterator[Diagnostic]:
    spawn = t.spawn
    assert spawn is not None
    start = spawn.start
    if start is None:
        return
    where = _at(parent, spawn.pointer, "/start")
    if not child.has_state(start):
        yield Diagnostic("CF215", f"the handoff of '{t.id}' starts in '{start}', which is not a state of "
                                  f"'{child.id}'", where,
                         did_you_mean(start, [s.id for s in child.states if not s.final], "state") or
                         f"name a state of '{child.id}', or leave out 'start' to begin at '{child.initial}'")
        return
    if child.state(start).final:
        yield Diagnostic("CF215", f"the handoff of '{t.id}' starts in '{start}', a final state of '{child.id}': "
                                  "the new case would be closed at once", where,
                         "start in a state where the work continues")
        return
    if child.resolve_entry(start) not in reachable_leaves(child):
        yield Diagnostic("CF215", f"the handoff of '{t.id}' starts in '{start}', which '{child.id}' cannot reach "
                                  f"from its initial state '{child.initial}'", where,
                         "start in a state the process itself can get to")


def reachable_leaves(process: ProcessDefinition) -> set[str]:
    """The leaves a case can get to from the initial one (no graph library: this runs at compile time)."""
    seen, todo = {process.initial_leaf}, [process.initial_leaf]
    while todo:
        leaf = todo.pop()
        here = {leaf, *process.ancestors(leaf)}
        for t in process.transitions:
            if t.target is not None and here.intersection(t.sources) and not process.state(leaf).final:
                nxt = process.resolve_entry(t.target)
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return seen


def _data(parent: ProcessDefinition, t: Transition, child: ProcessDefinition) -> Iterator[Diagnostic]:
    spawn = t.spawn
    assert spawn is not None
    for target, source in spawn.data:
        where = _at(parent, spawn.pointer + "/data", f"/{target}")
        if not child.has_field(target):
            yield Diagnostic("CF215", f"the handoff of '{t.id}' carries '{target}', which is not a data field of "
                                      f"'{child.id}'", where,
                             did_you_mean(target, [f.name for f in child.data], "data field") or
                             f"carry only fields '{child.id}' declares (write target: source to rename)")
            continue
        given, wanted = parent.field(source).type, child.field(target).type
        if not fits(given, wanted):
            yield Diagnostic("CF215", f"the handoff of '{t.id}' carries '{source}' ({given.describe()}) into "
                                      f"'{target}' of '{child.id}' ({wanted.describe()})", where,
                             "carry a field of the same type (and enum values the other side knows)")


def _event_fields(parent: ProcessDefinition, event: str) -> dict[str, DataType]:
    """The data ``event`` takes in ``parent`` from its transitions ``system`` may fire, with types."""
    out: dict[str, DataType] = {}
    for t in parent.transitions:
        if t.event != event or (t.roles and SYSTEM_ROLE not in t.roles):
            continue
        for case_field, event_field in t.set:
            out[event_field] = parent.field(case_field).type
        for case_field, event_field in t.append:
            items = parent.field(case_field).type.items
            if items is not None:
                out[event_field] = items
        for p in t.params:
            out[p.name] = p.type
    return out


def _report(child: ProcessDefinition, ct: Transition, r: Report, parent: ProcessDefinition,
            spawned_at: SourceLocation) -> Iterator[Diagnostic]:
    where = _at(child, r.pointer, "/event")
    mine = [t for t in parent.transitions if t.event == r.event]
    if not mine:
        yield Diagnostic("CF216", f"'{ct.id}' reports '{r.event}' to '{parent.id}', which has no such event", where,
                         did_you_mean(r.event, parent.event_ids, "event") or
                         f"name an event of '{parent.id}', or list the processes it is for under 'to'",
                         related=(spawned_at,))
        return
    if all(t.roles and SYSTEM_ROLE not in t.roles for t in mine):
        yield Diagnostic("CF216", f"'{ct.id}' reports '{r.event}' to '{parent.id}', but 'system' may not fire it "
                                  "there", where, f"add 'system' to the roles of '{r.event}' in '{parent.id}'",
                         related=(spawned_at,))
        return
    takes = _event_fields(parent, r.event)
    for target, source in r.data:
        at = _at(child, r.pointer + "/data", f"/{target}")
        if target not in takes:
            yield Diagnostic("CF216", f"'{ct.id}' reports '{target}' with '{r.event}', which '{parent.id}' does not "
                                      "take", at, did_you_mean(target, takes, "event field") or
                             f"'{r.event}' takes: {', '.join(sorted(takes)) or 'no data'}", related=(spawned_at,))
        elif not fits(child.field(source).type, takes[target]):
            yield Diagnostic("CF216", f"'{ct.id}' reports '{source}' ({child.field(source).type.describe()}) as "
                                      f"'{target}' of '{parent.id}' ({takes[target].describe()})", at,
                             "report a field of the same type (and enum values the other side knows)",
                             related=(spawned_at,))


__all__ = ["check_handoff", "check_known", "fits"]
