"""A process as a networkx graph, expanded to what actually happens when a case runs.

Nodes are every state id. Edges are transitions between *leaves*: a case is always in a leaf, so a
transition declared on a compound state becomes one edge from every leaf inside it, and a target
that is compound becomes an edge to the leaf entered through its ``initial`` chain. Compound
states are therefore isolated nodes that only carry attributes (``parent`` links them to the tree).

Conventions every consumer relies on:

- Internal transitions (``target is None``) are not edges: they never move a case.
- Final leaves have no out-edges, even when an enclosing compound state declares transitions: a
  case in a final state is over. A transition naming a final state directly is ``CF116``.
- Edge key = ``Transition.index``; attributes ``event``, ``id`` (the transition id) and
  ``source`` (the declared source the edge was expanded from).

networkx is imported here, never at ``import careflow`` time: only graph work pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from careflow.model.definition import ProcessDefinition, State


def leaves_under(process: ProcessDefinition, state_id: str) -> tuple[str, ...]:
    """The leaves a case can be in while it is "in" ``state_id`` (the state itself if it is a leaf)."""
    state = process.state(state_id)
    if not state.children:
        return (state_id,)
    return tuple(s for s in process.descendants(state_id) if not process.state(s).children)


def to_graph(process: ProcessDefinition) -> Any:
    """A ``networkx.MultiDiGraph`` of the process (see the module docstring for its shape)."""
    graph = nx.MultiDiGraph(process=process.id)
    for state in process.states:
        graph.add_node(state.id, **_node_attrs(state))
    for t in process.transitions:
        if t.target is None:
            continue
        entry = process.resolve_entry(t.target)
        for source in t.sources:
            for leaf in leaves_under(process, source):
                # A transition listing both a compound state and a leaf inside it yields one edge.
                if process.state(leaf).final or graph.has_edge(leaf, entry, t.index):
                    continue
                graph.add_edge(leaf, entry, key=t.index, event=t.event, id=t.id, source=source)
    return graph


def leaf_graph(process: ProcessDefinition) -> Any:
    """``to_graph`` restricted to leaves (every edge already runs between leaves)."""
    graph = to_graph(process)
    return graph.subgraph(s.id for s in process.states if not s.children).copy()


def reachable(graph: Any, starts: Iterable[str], *, reverse: bool = False) -> set[str]:
    """Every node reachable from ``starts`` (included), or that can reach them with ``reverse``.

    A plain breadth-first walk over the adjacency dicts: several times faster than
    ``nx.descendants`` per start for the small graphs processes make.
    """
    adjacency = graph.pred if reverse else graph.succ
    seen = set(starts)
    todo = list(seen)
    while todo:
        for nxt in adjacency[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _node_attrs(state: State) -> dict[str, Any]:
    return {"compound": state.compound, "final": state.final, "step": state.step, "parent": state.parent}
