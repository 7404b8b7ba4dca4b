"""Semantic checks over a referentially valid process: reachability, traps, determinism, labels.

The loader has already reported unknown states, roles, fields and checklist items, so every id
here resolves. Each check yields ``Diagnostic``s located through ``process.source_map``; the loader
sorts and deduplicates them. Execution semantics follow ``careflow.definitions.graph``: a case is always in a
leaf, a transition on a compound state fires from every leaf inside it, and a final leaf ends the
case (nothing fires from it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from itertools import combinations

from careflow.definitions.check_guards import constant_guards
from careflow.definitions.graph import reachable, to_graph
from careflow.errors import Diagnostic, SourceLocation, did_you_mean
from careflow.model.definition import SYSTEM_ROLE, ProcessDefinition, State, Transition
from careflow.model.text import Text

_MAX_NAMED = 5  # states named in a hint before "and N more"


# The top-level sections each check reads: it is skipped when one of them has an error ("" is the
# top level itself), since its findings could be knock-on effects of that error.
_READS: dict[str, frozenset[str]] = {
    "final": frozenset({"states", "transitions"}),
    "graph": frozenset({"states", "transitions", "initial"}),
    "nondeterminism": frozenset({"states", "transitions"}),
    "deadlines": frozenset({"states", "transitions", "events"}),
    "roles": frozenset({"roles", "transitions"}),
    "spawns": frozenset({"transitions"}),
    "guards": frozenset({"states", "transitions", "data", "initial"}),
    "labels": frozenset({"", "states", "transitions", "roles", "events", "title", "language", "languages"}),
}


def check(process: ProcessDefinition, *, known_processes: Collection[str] | None = None,
          broken: Collection[str] = ()) -> list[Diagnostic]:
    """Every semantic diagnostic for ``process`` (unsorted). ``known_processes=None`` skips CF204.

    ``broken`` names the top-level sections ("states", "roles", …) that have errors: checks that
    read them are skipped, the others still run."""
    def runs(name: str) -> bool:
        return not (_READS[name] & set(broken))

    out: list[Diagnostic] = []
    if runs("final"):
        out += _final_outgoing(process)
    if runs("graph"):
        out += _graph_checks(process)
    if runs("nondeterminism"):
        out += _nondeterminism(process)
    if runs("deadlines"):
        out += _deadlines(process)
    if runs("roles"):
        out += _unused_roles(process)
    if known_processes is not None and runs("spawns"):
        out += _spawns(process, known_processes)
    if runs("labels"):
        out += _labels(process)
    if runs("guards"):
        out += constant_guards(process)
    return out


def broken_sections(diagnostics: Iterable[Diagnostic]) -> frozenset[str]:
    """The top-level sections that errors point into ("" for the top level itself)."""
    return frozenset(d.location.pointer.split("/")[1] if d.location.pointer.count("/") else ""
                     for d in diagnostics if d.is_error)


def check_registry(process: ProcessDefinition, guards: Collection[str]) -> list[Diagnostic]:
    """CF205 for every transition ``guard`` that is not among the registered ``guards``."""
    return [
        Diagnostic(
            "CF205",
            f"guard '{t.guard}' of transition '{t.id}' is not registered",
            _loc(process, t.pointer, "/guard"),
            did_you_mean(t.guard, guards, "guard") or "register it with the process registry before binding",
        )
        for t in process.transitions
        if t.guard is not None and t.guard not in guards
    ]


# -- helpers --------------------------------------------------------------------------------------


def _loc(process: ProcessDefinition, pointer: str, sub: str = "", *, value: bool = False) -> SourceLocation:
    """The location of ``pointer + sub`` when the file has that node, else of ``pointer``."""
    if sub and pointer + sub in process.source_map.marks:
        return process.source_map.locate(pointer + sub, value)
    return process.source_map.locate(pointer)


def _line_of(process: ProcessDefinition, t: Transition) -> str:
    line = process.source_map.locate(t.pointer).line
    return f"line {line}" if line is not None else f"transition {t.index + 1}"


def _names(ids: Collection[str]) -> str:
    listed = list(ids)
    text = ", ".join(f"'{i}'" for i in listed[:_MAX_NAMED])
    return text + (f" and {len(listed) - _MAX_NAMED} more" if len(listed) > _MAX_NAMED else "")


def _by_source(process: ProcessDefinition) -> dict[str, list[Transition]]:
    index: dict[str, list[Transition]] = {}
    for t in process.transitions:
        for source in dict.fromkeys(t.sources):
            index.setdefault(source, []).append(t)
    return index


def _applicable(process: ProcessDefinition, leaf: str, by_source: dict[str, list[Transition]]
                ) -> Iterator[tuple[Transition, str]]:
    """Transitions that can fire in ``leaf``, each with the nearest declared source that matched it."""
    seen: set[int] = set()
    for sid in (leaf, *process.ancestors(leaf)):
        for t in by_source.get(sid, ()):
            if t.index not in seen:
                seen.add(t.index)
                yield t, sid


def _live_leaves(process: ProcessDefinition) -> list[State]:
    return [s for s in process.states if not s.children and not s.final]


# -- CF116: final states are ends -----------------------------------------------------------------


def _final_outgoing(process: ProcessDefinition) -> Iterator[Diagnostic]:
    for t in process.transitions:
        for source in dict.fromkeys(t.sources):
            if process.state(source).final:
                # Same text as builder.py's CF116, so sort_diagnostics keeps only one of the two.
                yield Diagnostic(
                    "CF116",
                    f"final state '{source}' cannot have outgoing transitions",
                    _loc(process, t.pointer, "/from"),
                    "remove the transition or make the state non-final",
                )


# -- CF201, CF202, CF206: reachability ------------------------------------------------------------


def _graph_checks(process: ProcessDefinition) -> Iterator[Diagnostic]:
    graph = to_graph(process)
    reached = reachable(graph, [process.initial_leaf])

    reported: set[str] = set()
    for state in process.states:  # depth first: an unreachable compound hides its children
        if state.parent in reported:
            reported.add(state.id)
            continue
        leaves = process.descendants(state.id) if state.children else (state.id,)
        if not any(leaf in reached for leaf in leaves):
            reported.add(state.id)
            kind = "compound state" if state.children else "state"
            yield Diagnostic(
                "CF201",
                f"{kind} '{state.id}' cannot be reached from the initial state '{process.initial_leaf}'",
                _loc(process, state.pointer),
                "add a transition into it, or remove it",
                "warning",
            )

    finals = [s.id for s in process.states if s.final]
    if not finals:
        yield Diagnostic(
            "CF206",
            f"process '{process.id}' has no final state",
            _loc(process, "/states"),
            "mark the state(s) where a case ends with `final: true`",
        )
        return  # without a final state every leaf would also be a CF202 trap: say it once

    can_finish = reachable(graph, finals, reverse=True)
    for state in _live_leaves(process):
        if state.id not in reached or state.id in can_finish:
            continue
        ahead = reachable(graph, [state.id])
        onward = [s.id for s in process.states if s.id in ahead and s.id != state.id]
        hint = (f"from here a case can only reach {_names(onward)}; add a transition towards an end"
                if onward else "no transition leaves it: add one, or mark it `final: true`")
        yield Diagnostic(
            "CF202",
            f"a case in state '{state.id}' can never reach a final state",
            _loc(process, state.pointer),
            hint,
        )


# -- CF203: two unguarded transitions for one event -----------------------------------------------


def _nondeterminism(process: ProcessDefinition) -> Iterator[Diagnostic]:
    by_source = _by_source(process)
    depth = {s.id: len(process.ancestors(s.id)) for s in process.states}
    reported: set[tuple[int, int]] = set()
    for leaf in _live_leaves(process):
        by_event: dict[str, list[tuple[Transition, str]]] = {}
        for t, sid in _applicable(process, leaf.id, by_source):
            if t.when is None and t.guard is None:
                by_event.setdefault(t.event, []).append((t, sid))
        for event, found in by_event.items():
            found.sort(key=lambda pair: pair[0].index)
            for (first, first_src), (later, later_src) in combinations(found, 2):
                # The engine tries the innermost declaring state first: an inner transition overrides
                # an outer one (as in statecharts), so only the same depth is ambiguous.
                if depth[first_src] != depth[later_src] or (first.index, later.index) in reported:
                    continue
                reported.add((first.index, later.index))
                # Name the innermost state both apply to: where the author must tell them apart.
                state = max(first_src, later_src, key=depth.__getitem__)
                yield Diagnostic(
                    "CF203",
                    f"state '{state}' has two unguarded transitions for event '{event}': "
                    f"this one and the one at {_line_of(process, first)}",
                    _loc(process, later.pointer),
                    "add a `when` guard to tell them apart, or use different events",
                )


# -- CF208: deadline events must be handled everywhere inside the state -----------------------------


def _deadlines(process: ProcessDefinition) -> Iterator[Diagnostic]:
    by_source = _by_source(process)
    used = {t.event for t in process.transitions}
    for state in process.states:
        for event, key in ((state.due.event if state.due else None, "on_due"),
                           (state.every.event if state.every else None, "on_every")):
            # An event no transition uses at all is the loader's CF114 (with a did-you-mean): say it once.
            if event is not None and event in used:
                yield from _deadline_handled(process, by_source, state, event, key)


def _deadline_handled(process: ProcessDefinition, by_source: dict[str, list[Transition]], state: State,
                      event: str, key: str) -> Iterator[Diagnostic]:
    unhandled: list[str] = []
    refused: list[str] = []
    for leaf in (state.id,) if not state.children else process.descendants(state.id):
        if process.state(leaf).children or process.state(leaf).final:
            continue
        handlers = [t for t, _ in _applicable(process, leaf, by_source) if t.event == event]
        # The deadline clock fires as `system`: a handler restricted to other roles is refused.
        if not handlers:
            unhandled.append(leaf)
        elif not any(not t.roles or SYSTEM_ROLE in t.roles for t in handlers):
            refused.append(leaf)
    if not unhandled and not refused:
        return
    where = "" if not state.children else f" when the case is in {_names(unhandled or refused)}"
    if unhandled:
        message = f"deadline event '{event}' of state '{state.id}' has no transition to handle it{where}"
        hint = f"add a transition with `event: {event}` from '{state.id}'"
    else:
        message = (f"deadline event '{event}' of state '{state.id}' is only handled by transitions "
                   f"the `{SYSTEM_ROLE}` actor may not fire{where}")
        hint = f"add '{SYSTEM_ROLE}' to the handling transition's `roles`, or drop its `roles`"
    yield Diagnostic("CF208", message, _loc(process, state.pointer, f"/{key}", value=True), hint)


# -- CF207: roles nobody uses ---------------------------------------------------------------------


def _unused_roles(process: ProcessDefinition) -> Iterator[Diagnostic]:
    used = {r for t in process.transitions for r in t.roles}
    used.update(role for t in process.transitions for role, _ in t.assign)
    for role in process.roles:
        if role.id not in used:
            yield Diagnostic(
                "CF207",
                f"role '{role.id}' is not used by any transition",
                _loc(process, role.pointer),
                "name it in a transition's `roles` or `assign`, or remove it",
                "warning",
            )


# -- CF204: spawned processes must exist ----------------------------------------------------------


def _spawns(process: ProcessDefinition, known: Collection[str]) -> Iterator[Diagnostic]:
    for t in process.transitions:
        for i, name in enumerate(t.report.to if t.report is not None else ()):
            if name not in known:
                yield Diagnostic("CF204", f"transition '{t.id}' reports to unknown process '{name}'",
                                 _loc(process, f"{t.report.pointer}/to/{i}" if t.report else t.pointer, value=True),
                                 did_you_mean(name, known, "process"))
        # A process may hand off to a new case of itself even before it is registered.
        if t.spawn is None or t.spawn.process in known or t.spawn.process == process.id:
            continue
        pointer = t.spawn.pointer or t.pointer + "/spawn"
        yield Diagnostic(
            "CF204",
            f"transition '{t.id}' spawns unknown process '{t.spawn.process}'",
            _loc(process, pointer, "/process"),
            did_you_mean(t.spawn.process, known, "process"),
        )


# -- CF301: labels in every promised language -----------------------------------------------------


def _missing(process: ProcessDefinition, what: str, text: Text, pointer: str, lang: str,
             hint: str = "") -> Iterator[Diagnostic]:
    if not text.has(lang):
        yield Diagnostic(
            "CF301",
            f"{what} has no label in '{lang}'",
            _loc(process, pointer, "/label"),
            hint or f"add {lang}: … to its label",
            "warning",
        )


def _labels(process: ProcessDefinition) -> Iterator[Diagnostic]:
    transitions_by_event: dict[str, list[Transition]] = {}
    for t in process.transitions:
        transitions_by_event.setdefault(t.event, []).append(t)
    for lang in process.languages:
        if not process.title.has(lang):
            yield Diagnostic("CF301", f"the title has no label in '{lang}'", _loc(process, "/title"),
                             f"add {lang}: … to the title", "warning")
        for state in process.states:
            yield from _missing(process, f"state '{state.id}'", state.label, state.pointer, lang)
            for item in state.checklist:
                yield from _missing(process, f"checklist item '{item.id}' of state '{state.id}'", item.label,
                               item.pointer, lang)
        for role in process.roles:
            yield from _missing(process, f"role '{role.id}'", role.label, role.pointer, lang)
        for event_id, ts in transitions_by_event.items():
            yield from _missing_event(process, event_id, ts, lang)


def _missing_event(process: ProcessDefinition, event_id: str, ts: list[Transition], lang: str
                   ) -> Iterator[Diagnostic]:
    """An event is labelled in ``lang`` by its ``events:`` entry, or else by *every* transition's own
    label: a transition without one is shown under the event's label, so it must exist."""
    event = process.event(event_id)
    bare = [t for t in ts if not t.label.has(lang)]
    if event.label.has(lang) or not bare:
        return
    pointer = event.pointer or bare[0].pointer
    hint = f"add {lang}: … to events: {event_id}: label"
    if len(bare) < len(ts):  # some transitions carry their own label: fixing the rest also works
        hint += " or to the label of the transition(s) at " + ", ".join(_line_of(process, t) for t in bare)
    yield from _missing(process, f"event '{event_id}'", event.label, pointer, lang, hint)
