"""Generated paths: a small set of complete, real histories that cover a process.

For every item to cover (a state, a transition, or an exit of a decision state) the definition graph
(``careflow.definitions.graph``, networkx) gives candidate routes: the shortest paths from the initial state to
a leaf where the item happens, the item itself, then the shortest paths on to a final state. A
route is only a plan; ``careflow.testing.search`` makes it real with the engine's pure functions
(actors with allowed roles, generated event data, helper steps, deadlines through ``tick``).

Each found route is then run once more through ``Case.fire`` on a ``ManualClock``: the written
history is the real case log, hash chain included, so it replays green by construction. A greedy set
cover keeps few histories; items no route reached are listed with the reason the search stopped.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.model.definition import ProcessDefinition, Transition
from careflow.runtime.compiled import SYSTEM, CompiledProcess, compile
from careflow.runtime.registry import Registry
from careflow.testing.coverage import COVER_KINDS, all_items, decision_exits, decision_key, usage
from careflow.testing.search import ASSIGNER, BUDGET, START, Act, Hop, Search

ROUTES = 3  # shortest routes tried to the item's state, and from it to a final state


@attrs.frozen
class GeneratedPath:
    """One generated history: the real case, the item it was built for, and what it covers."""

    goal: str
    case: Case
    covers: frozenset[str]
    acts: tuple[Act, ...] = attrs.field(default=(), repr=False)  # what the generator did, in order

    @property
    def name(self) -> str:
        return str(self.case.case_id)

    def to_jsonl(self) -> str:
        """The case log as JSON Lines (one sealed audit entry per line, hashes included)."""
        return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in self.case.history)


@attrs.frozen
class Uncovered:
    item: str
    reason: str


@attrs.frozen
class PathSet:
    """The covering set for one process and one ``cover`` kind."""

    process: ProcessDefinition
    cover: str
    paths: tuple[GeneratedPath, ...]
    items: tuple[str, ...]
    covered: frozenset[str]
    uncovered: tuple[Uncovered, ...]
    by_tick: tuple[str, ...] = ()  # deadline transitions covered through tick (for the report)

    @property
    def percent(self) -> float:
        return 100.0 * len(self.covered) / len(self.items) if self.items else 100.0

    def write(self, directory: str | Path) -> list[Path]:
        """Write one ``NN-goal.jsonl`` per history into ``directory`` (created if missing)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for number, path in enumerate(self.paths, 1):
            slug = re.sub(r"[^a-z0-9_]+", "-", path.goal.lower()).strip("-")[:60]
            target = out / f"{number:02d}-{slug}.jsonl"
            target.write_text(path.to_jsonl(), "utf-8")
            written.append(target)
        return written

    def report(self) -> str:
        lines = [f"{self.process.id}: {len(self.paths)} histories cover {len(self.covered)} of {len(self.items)} "
                 f"{self.cover} ({self.percent:.1f} %)"]
        if self.by_tick:
            lines.append("  deadline transitions, covered by tick (clock moved past due): " + ", ".join(self.by_tick))
        if self.uncovered:
            lines.append("  not covered:")
            lines.extend(f"    {u.item}: {u.reason}" for u in self.uncovered)
        return "\n".join(lines)


def generate_paths(process: ProcessDefinition, cover: str = "transitions", *, max_length: int | None = None,
                   registry: Registry | None = None) -> PathSet:
    """Complete histories (initial to final state) that together cover every state, transition or
    decision exit of ``process``; ``max_length`` bounds the planned moves of one history."""
    if cover not in COVER_KINDS:
        raise ValueError(f"cover must be one of {', '.join(COVER_KINDS)}, not {cover!r}")
    return _Generator(compile(process, registry), cover, max_length).run()


class _Generator:
    def __init__(self, compiled: CompiledProcess, cover: str, max_length: int | None) -> None:
        import networkx as nx

        from careflow.definitions.graph import leaf_graph

        self.c, self.p, self.cover, self.max_length = compiled, compiled.process, cover, max_length
        self.search = Search(compiled)
        self.deadline_events, self.by_id = self.search.deadline_events, self.search.by_id
        multi = leaf_graph(self.p)
        self.edges: dict[tuple[str, str], tuple[str, ...]] = {}
        for u, v, key in multi.edges(keys=True):
            self.edges[(u, v)] = (*self.edges.get((u, v), ()), self.p.transitions[key].id)
        self.graph = nx.DiGraph(list(self.edges))
        self.graph.add_nodes_from(multi.nodes)
        self.graph.add_edges_from((f.id, _SINK) for f in self.p.final_states)

    # -- the plan ------------------------------------------------------------------------------------

    def run(self) -> PathSet:
        items = all_items(self.c, self.cover)
        pool: list[GeneratedPath] = []
        reasons: dict[str, str] = {}
        for item in items:
            if any(item in path.covers for path in pool):
                continue
            found = self._path_for(item, len(pool), {i for i in items if not any(i in p.covers for p in pool)})
            if isinstance(found, str):
                reasons[item] = found
            else:
                pool.append(found)
        chosen = _greedy(pool, items)
        paths = tuple(self._realize(p.goal, p.acts, n) for n, p in enumerate(chosen, 1))
        covered = frozenset(i for p in paths for i in p.covers)
        uncovered = tuple(Uncovered(i, reasons.get(i, "not reached")) for i in items if i not in covered)
        ticks = tuple(t.id for t in self.p.transitions if t.event in self.deadline_events and t.id in covered
                      and self.cover == "transitions")
        return PathSet(self.p, self.cover, paths, items, covered, uncovered, ticks)

    def _path_for(self, item: str, index: int, wanted: set[str]) -> GeneratedPath | str:
        """A history covering ``item`` (and the ``wanted`` internal transitions it can take along),
        or why none was found."""
        search = self.search
        search.reset()
        attempts = planned = 0
        for route in self._routes(item):
            planned += 1
            if self.max_length is not None and len(route) > self.max_length:
                continue
            attempts += 1
            node = search.execute(route)
            if node is not None:
                acts = search.enrich(node.acts, wanted) if self.cover == "transitions" else node.acts
                path = self._realize(item, acts, index + 1, draft=True)
                if item in path.covers:
                    return path
            if search.calls > BUDGET or attempts >= ROUTES * ROUTES:
                break
        if planned and not attempts:
            return f"every complete path through it is longer than --max-length {self.max_length}"
        if not planned:
            return self._no_route(item)
        reason: str = search.deepest[1] or "no route reached it"
        return reason + (f" (search stopped after {BUDGET} engine calls)" if search.calls > BUDGET else "")

    def _targets(self, item: str) -> list[tuple[str, str | None]]:
        """(leaf, transition id or None) pairs that realise ``item``, nearest to the initial state first."""
        if self.cover == "states":
            from careflow.definitions.graph import leaves_under

            pairs: list[tuple[str, str | None]] = [(leaf, None) for leaf in leaves_under(self.p, item)]
        elif self.cover == "transitions":
            t = self.by_id[item]
            pairs = [(leaf, item) for leaf in self._leaves_of(t)]
        else:
            leaf, _, tid = item.partition(" -> ")
            pairs = [(leaf, tid)]
        distance = self._distances()
        return sorted((pr for pr in pairs if pr[0] in distance), key=lambda pr: distance[pr[0]])

    def _distances(self) -> dict[str, int]:
        import networkx as nx

        return dict(nx.single_source_shortest_path_length(self.graph, self.c.initial_leaf))

    def _leaves_of(self, t: Transition) -> list[str]:
        return [leaf for leaf, events in self.c.table.items()
                if any(p.tid == t.id for p in events.get(t.event, ()))]

    def _routes(self, item: str) -> Iterator[list[Hop]]:
        """Candidate routes, shortest first: to the leaf, the item's own hop, on to a final state."""
        for leaf, tid in self._targets(item):
            after = leaf
            if tid is not None:
                t = self.by_id[tid]
                after = leaf if t.target is None else self.p.resolve_entry(t.target)
            routes = []
            for before in self._simple_paths(self.c.initial_leaf, leaf):
                for rest in self._simple_paths(after, _SINK):
                    hops = _hops(self.edges, before)
                    if tid is not None:
                        hops.append(Hop((tid,), leaf))
                    routes.append(hops + _hops(self.edges, rest[:-1]))
            yield from sorted(routes, key=len)

    def _simple_paths(self, start: str, end: str) -> list[list[str]]:
        import networkx as nx

        if start == end:
            return [[start]]
        try:
            return list(itertools.islice(nx.shortest_simple_paths(self.graph, start, end), ROUTES))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return []

    def _no_route(self, item: str) -> str:
        """Why the graph offers no complete route through ``item`` at all."""
        if not self._targets(item):
            if self.cover == "transitions":
                return "its source state cannot be reached from the initial state"
            return "it cannot be reached from the initial state"
        return "no final state can be reached after it"

    # -- the real case -------------------------------------------------------------------------------

    def _realize(self, goal: str, acts: tuple[Act, ...], number: int, draft: bool = False) -> GeneratedPath:
        """Run ``acts`` through a real ``Case`` (the engine decides again; nothing is copied)."""
        clock = ManualClock(START)
        case_id = f"{self.p.id}-{self.cover}-{number:02d}" if not draft else f"{self.p.id}-draft-{number:02d}"
        case = Case.open(self.c, case_id, clock=clock)
        for act in acts:
            clock.set(act.time)
            if act.kind == "fire":
                case.fire(act.event or "", act.actor or SYSTEM, act.data)
            elif act.kind == "assign":
                case.assign_role(act.role or "", act.person, actor=act.actor or ASSIGNER)
            else:
                case.tick(act.time)
        return GeneratedPath(goal, case, usage(self.c, case.history).items(self.cover), acts)


_SINK = "\x00final"  # one node after every final state: "a final state" is then one target


def _hops(edges: Mapping[tuple[str, str], tuple[str, ...]], nodes: list[str]) -> list[Hop]:
    return [Hop(edges[(u, v)], u) for u, v in itertools.pairwise(nodes)]


def _greedy(pool: list[GeneratedPath], items: tuple[str, ...]) -> list[GeneratedPath]:
    """Greedy set cover: the path covering most still-uncovered items first (fewer entries on ties)."""
    left = set(items) & {i for p in pool for i in p.covers}
    chosen: list[GeneratedPath] = []
    while left:
        best = max(pool, key=lambda p: (len(p.covers & left), -len(p.case.history)))
        chosen.append(best)
        left -= best.covers
    return chosen


__all__ = ["Act", "GeneratedPath", "PathSet", "Uncovered", "decision_exits", "decision_key", "generate_paths"]
