"""The search behind generated paths: a planned route made real with the engine's pure functions.

A route (``Hop``s from ``careflow.testing.paths``) is only a plan. It is executed on snapshots with
``engine.step``, ``tick`` and ``assign``, which never mutate their inputs, so the search branches
and backs off without copying cases:

- actors get a role the transition allows; a case-scoped role is held by the person that an
  ``assign`` on the path named, or is given with ``Case.assign_role`` when nothing assigned it;
- event data comes from ``careflow.testing.candidates``; when a step is refused, internal
  transitions of the current state that tick the open checklist items, write the fields the guard
  reads or assign the missing case role are fired first (fewest helpers first), and earlier choices
  are revisited (depth-first over the route, with a budget);
- deadline (``on_due``, ``on_every``) transitions are reached through ``tick`` with the clock moved past ``due``.

``enrich`` then folds still-uncovered internal transitions into a found history wherever the rest of
it still runs, so fewer histories cover the same transitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from careflow.errors import Refusal
from careflow.model.definition import SYSTEM_ROLE, Transition
from careflow.runtime.changes import assign, open_case, tick
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess, Plan
from careflow.runtime.engine import step
from careflow.runtime.fields import Snapshot
from careflow.testing.candidates import event_candidates, person_for, relevant_fields

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday morning; every history starts here
STEP = timedelta(minutes=5)  # between two actions: deadlines (days) only pass through an explicit tick
ASSIGNER = Actor("careflow-paths")  # who gives a case role no transition on the path assigned
MAX_HELPERS = 12  # internal transitions fired to prepare one step (a state with a long checklist)
BUDGET = 4000  # engine calls per item before the search gives up
ROUTES = 3  # shortest routes tried to the item's state, and from it to a final state


class Act(NamedTuple):
    """One action of a found history: ``fire`` (event, actor, data), ``assign`` (role, person), ``tick``."""

    kind: str
    time: datetime
    event: str | None = None
    actor: Actor | None = None
    data: Mapping[str, Any] | None = None
    role: str | None = None
    person: str | None = None
    transition: str | None = None  # the transition a fire or tick took: a re-run must take the same


class Node(NamedTuple):
    """A point of the search: the snapshot, its time, and the actions that led there."""

    snap: Snapshot
    time: datetime
    acts: tuple[Act, ...]


class Hop(NamedTuple):
    """One planned move: any of ``tids`` (an edge's parallel transitions, or the one item transition)."""

    tids: tuple[str, ...]
    leaf: str  # where the case is before the hop


class Search:
    """Executes routes on one compiled process; ``calls`` counts engine calls against ``BUDGET``."""

    def __init__(self, compiled: CompiledProcess) -> None:
        self.c = compiled
        self.relevant = relevant_fields(compiled)
        self.deadline_events = compiled.process.deadline_events
        self.by_id = {t.id: t for t in compiled.process.transitions}
        self.calls = 0
        self.deepest: tuple[int, str] = (-1, "")  # the refusal at the furthest hop: why a route failed
        self._cut = False  # a search stopped at its helper limit: a deeper one may still succeed

    def reset(self) -> None:
        self.calls, self.deepest = 0, (-1, "")

    def start(self) -> Node:
        snap = open_case(self.c, "search", SYSTEM, None, START).snapshot
        assert snap is not None  # no data given: nothing to refuse
        return Node(snap, START, ())

    def execute(self, route: list[Hop]) -> Node | None:
        failed: set[tuple[int, Any]] = set()

        def go(node: Node, index: int) -> Node | None:
            if index == len(route):
                return node
            key = (index, snapshot_key(node.snap))
            if key in failed:
                return None
            hop = route[index]
            for tid in hop.tids:
                for after in self._achieve(node, self.by_id[tid], index):
                    found = go(after, index + 1)
                    if found is not None:
                        return found
                    if self.calls > BUDGET:
                        return None
            failed.add(key)
            return None

        return go(self.start(), 0)

    def _achieve(self, node: Node, t: Transition, hop: int) -> Iterator[Node]:
        """Nodes where ``t`` has just fired from ``node``, after as few helper steps as needed.

        Iterative deepening over the number of helpers: a history then records two PSFS
        conversations where two are enough, not four because the first guess came first.
        """
        given: set[Any] = set()
        for limit in range(MAX_HELPERS + 1):
            self._cut = False
            for found in self._search(node, t, limit, hop, set()):
                key = snapshot_key(found.snap)
                if key not in given:
                    given.add(key)
                    yield found
            if not self._cut or self.calls > BUDGET:
                return

    def _search(self, node: Node, t: Transition, left: int, hop: int, seen: set[Any]) -> Iterator[Node]:
        if self.calls > BUDGET:
            return
        if t.event in self.deadline_events:
            result = self._tick(node, t)
            if isinstance(result, str):
                self._fail(hop, f"deadline '{t.event}': {result}")
            else:
                yield result
            return
        failures: list[Refusal] = []
        actors = self._actors(t, node.snap)
        for actor in actors:
            options: list[dict[str, Any] | None] = [*event_candidates(self.c, t, node.time, self.relevant)]
            for data in options or [None]:
                fired = self._fire(node, t, actor, data)
                if isinstance(fired, Refusal):
                    failures.append(fired)
                elif fired is not None:
                    yield fired
        if failures:
            self._fail(hop, _why(t, failures[-1]))
        elif not actors:
            self._fail(hop, f"'{t.id}' needs a case role nobody holds")
        helpers = self._helpers(node, t, failures, not actors)
        if not helpers:
            return
        if left <= 0:
            self._cut = True
            return
        for helper in helpers:
            for ready in helper(node, left - 1, hop, seen):
                key = snapshot_key(ready.snap)
                if key in seen:
                    continue
                seen.add(key)
                yield from self._search(ready, t, left - 1, hop, seen)

    def _fire(self, node: Node, t: Transition, actor: Actor, data: Mapping[str, Any] | None
              ) -> Node | Refusal | None:
        self.calls += 1
        now = node.time + STEP
        done = step(self.c, node.snap, t.event, actor, data or None, now)
        if done.refusal is not None:
            return done.refusal
        if done.entries[0].transition != t.id:
            return None  # another transition for the same event won: not the one the route needs
        return Node(done.snapshot, now, (*node.acts, Act("fire", now, t.event, actor, data or None, transition=t.id)))

    def _tick(self, node: Node, t: Transition) -> Node | str:
        self.calls += 1
        timers = [tm for tm in node.snap.timers if not tm.fired and tm.event == t.event]
        if not timers:
            return "no pending deadline raises it here"
        now = max(node.time, min(tm.due_at for tm in timers)) + STEP
        done = tick(self.c, node.snap, now)
        snap, entries = done.snapshot, done.entries
        if not any(e.transition == t.id for e in entries):
            refused = [e.detail or "" for e in entries if e.kind == "denied" and e.event == t.event]
            return "the deadline fired but was refused: " + (refused[0] if refused else "another transition took it")
        return Node(snap, now, (*node.acts, Act("tick", now, t.event, transition=t.id)))

    def _actors(self, t: Transition, snap: Snapshot) -> list[Actor]:
        """Who may fire ``t`` now: holders of its case roles first, then one actor per global role."""
        if not t.roles:
            return [Actor("user-1")]
        out = [Actor(snap.roles[r]) for r in t.roles if r in self.c.case_roles and snap.roles.get(r)]
        globals_ = [r for r in t.roles if r not in self.c.case_roles and r != SYSTEM_ROLE]
        if globals_:
            out.append(Actor(person_for(globals_[0]), frozenset({globals_[0]})))
        elif SYSTEM_ROLE in t.roles:
            out.append(SYSTEM)
        return list(dict.fromkeys(out))

    def _helpers(self, node: Node, t: Transition, failures: list[Refusal], no_actor: bool) -> list[Any]:
        """Steps that may make ``t`` possible: tick its open checklist items, write what its guard reads,
        give the case role it needs. Each is a function (node, helpers left, hop, seen) -> nodes."""
        plans = self.c.table[node.snap.leaf]
        plan = next((p for p in plans.get(t.event, ()) if p.tid == t.id), None)
        wanted_ticks: set[tuple[str, str]] = set()
        wanted_fields: set[str] = set()
        if plan is not None and not plan.skip_checklist:
            open_items = [(s, i) for s, i, _ in plan.exit_items if (s, i) not in node.snap.ticks]
            wanted_ticks = set(open_items[:1])  # one at a time: all must be ticked, in any order
        if plan is not None and plan.when is not None and any(f.code == "guard-failed" for f in failures):
            wanted_fields = set(plan.when.data_names)
        missing_roles = [r for r in t.roles if r in self.c.case_roles and not node.snap.roles.get(r)]
        role_needed = bool(missing_roles) and (no_actor or any(f.code == "role-denied" for f in failures))
        helpers: list[Any] = []
        for candidates in plans.values():
            for h in candidates:
                if not h.internal or h.tid == t.id or h.event in self.deadline_events:
                    continue
                if (wanted_ticks & h.ticks) or (wanted_fields & _writes(h)) or (
                        role_needed and any(r in missing_roles for r, _ in h.assigns)):
                    helpers.append(self._helper_fire(self.by_id[h.tid]))
        if role_needed:
            helpers.append(self._helper_assign(missing_roles[0]))
        return helpers

    def _helper_fire(self, h: Transition) -> Any:
        def run(node: Node, left: int, hop: int, seen: set[Any]) -> Iterator[Node]:
            return self._search(node, h, left, hop, seen)
        return run

    def _helper_assign(self, role: str) -> Any:
        def run(node: Node, left: int, hop: int, seen: set[Any]) -> Iterator[Node]:
            self.calls += 1
            now = node.time + STEP
            person = person_for(role)
            snap = assign(self.c, node.snap, role, person, ASSIGNER, now).snapshot
            yield Node(snap, now, (*node.acts, Act("assign", now, actor=ASSIGNER, role=role, person=person)))
        return run

    # -- taking more along -----------------------------------------------------------------------------

    def enrich(self, acts: tuple[Act, ...], wanted: set[str]) -> tuple[Act, ...]:
        """``acts`` with ``wanted`` internal transitions fired wherever the case stands anyway; each is
        kept only if the rest of the history still runs, taking the same transitions."""
        extra = [t for t in self.c.process.transitions if t.id in wanted and t.internal]
        if not extra:
            return acts
        node, rest = self.start(), list(acts)
        while True:
            for t in extra:
                if t.id in wanted and any(p.tid == t.id for p in self.c.table[node.snap.leaf].get(t.event, ())):
                    taken = self._take_along(node, t, rest)
                    if taken is not None:
                        node = taken
                        wanted.discard(t.id)
            if not rest:
                return node.acts
            after = self._follow(node, rest[:1])
            if after is None:
                return acts  # the acts came from this search, so this does not happen; be safe anyway
            node = after
            del rest[0]

    def _take_along(self, node: Node, t: Transition, rest: list[Act]) -> Node | None:
        if t.event in self.deadline_events:  # a deadline passes here: the rest happens days later
            ticked = self._tick(node, t)
            return ticked if isinstance(ticked, Node) and self._follow(ticked, rest) is not None else None
        for actor in self._actors(t, node.snap):
            options: list[dict[str, Any] | None] = [*event_candidates(self.c, t, node.time, self.relevant)]
            for data in options or [None]:
                fired = self._fire(node, t, actor, data)
                if isinstance(fired, Node) and self._follow(fired, rest) is not None:
                    return fired
        return None

    def _follow(self, node: Node, acts: list[Act]) -> Node | None:
        """Run ``acts`` again from ``node`` (re-timed); None as soon as one is refused or differs."""
        for act in acts:
            t = self.by_id.get(act.transition or "")
            if act.kind == "assign":
                self.calls += 1
                now = node.time + STEP
                snap = assign(self.c, node.snap, act.role or "", act.person, ASSIGNER, now).snapshot
                node = Node(snap, now, (*node.acts, act._replace(time=now)))
                continue
            if t is None:
                return None
            result = self._tick(node, t) if act.kind == "tick" else self._fire(node, t, act.actor or SYSTEM, act.data)
            if not isinstance(result, Node):
                return None
            node = result
        return node

    def _fail(self, hop: int, message: str) -> None:
        if hop >= self.deepest[0]:
            self.deepest = (hop, message)


def snapshot_key(snap: Snapshot) -> Any:
    """What makes two snapshots the same for the search (not seq, case id or times)."""
    return (snap.leaf, tuple(sorted(snap.data.items())), snap.ticks, tuple(sorted(snap.roles.items())),
            tuple((t.state, t.fired) for t in snap.timers))


def _writes(plan: Plan) -> set[str]:
    return {c for c, _ in plan.sets} | {c for c, _, _ in plan.appends} | {c for c, _ in plan.transition.values}


def _why(t: Transition, refused: Refusal) -> str:
    why = "; ".join(refused.reasons)
    if refused.code == "guard-failed":
        return f"guard of '{t.id}' stayed false with every generated actor and data: {why}"
    return f"'{t.id}' refused ({refused.code}): {why}"

