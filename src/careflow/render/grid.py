"""The grid behind the Graphviz layout: which steps share a rank, and in which order groups stack.

Each top-level compound state (a level, a phase) is one group; loose top-level steps (a flat flow
such as PSHT's nine steps, or the steps before a team phase) form one more, placed where they start
in the document. The n-th step of every group shares a rank (``newrank`` allows that across
clusters), so levels line up like the columns of the BTI poster; end states get the rank after
the longest group, so exits run forward into them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from careflow.model.definition import ProcessDefinition, State
from careflow.render.common import ordered_children
from careflow.render.style import quote


def groups(process: ProcessDefinition, tops: list[State]) -> list[list[State]]:
    """The groups' leaf steps in reading order."""
    out: list[list[State]] = []
    loose: list[State] = []
    for s in tops:
        if s.compound:
            out.append([k for k in ordered_children(process, s.id) if not k.compound])
        elif not s.final:
            if not loose:
                out.append(loose)  # filled in place as more loose steps follow
            loose.append(s)
    return [g for g in out if g]


def ranks(process: ProcessDefinition) -> dict[str, int]:
    """The column (LR) or row (TB) of each leaf on the grid; leaves off the grid are absent."""
    rank: dict[str, int] = {}
    found = groups(process, ordered_children(process, None))
    for group in found:
        for i, state in enumerate(group):
            rank[state.id] = i
    end = max((len(g) for g in found), default=0)
    for state in process.top_level:
        if state.final:
            rank[state.id] = end
    return rank


def grid(process: ProcessDefinition, tops: list[State]) -> Iterator[str]:
    """DOT statements that build the grid (chains of the loose steps, shared ranks, group order)."""
    found = groups(process, tops)
    loose = [s for s in tops if not s.compound and not s.final]
    for a, b in itertools.pairwise(loose):
        yield f"  {quote(a.id)} -> {quote(b.id)} [style=invis, weight=20];"
    if len(found) > 1:
        for n in range(max(len(g) for g in found)):
            column = [g[n].id for g in found if len(g) > n]
            if len(column) > 1:
                yield "  { rank=same; " + " ".join(quote(c) + ";" for c in column) + " }"
        for upper, lower in itertools.pairwise(found):
            # a flat edge inside a rank orders the groups (top to bottom in LR, left to right in TB)
            yield f"  {quote(upper[0].id)} -> {quote(lower[0].id)} [style=invis];"
    finals = [s.id for s in tops if s.final]
    if finals and found:
        longest = max(found, key=len)
        yield "  { rank=same; " + " ".join(quote(f) + ";" for f in finals) + " }"
        for f in finals:
            yield f"  {quote(longest[-1].id)} -> {quote(f)} [style=invis];"
