"""Graphviz DOT text for a process, laid out like the seeds' posters and flow charts.

Layout: every compound state (a level, a phase) is a labelled cluster; its steps follow each other
along ``direction`` (LR: left to right, levels stacked as rows; TB: top to bottom, levels side by
side as the BTI poster's columns). Steps stay in ``step`` order through an invisible chain, and
``newrank`` lets the n-th step of every level share a rank, so the levels line up as a grid. Only
the chain and forward moves inside a level constrain the ranking; every other arrow (back, escalate,
exit, across levels) is drawn with ``constraint=false`` so it cannot drag a step out of its place.

Internal transitions (no target) are listed inside their state's box, or under the cluster's title
when declared on a compound state, in a small font: drawn as self-loops they would double the number
of arrows on a busy level (BTI has four consents recorded "any time on levels 1-3").

The text is built by hand rather than with the ``graphviz`` package: we need byte-identical output
and full control over HTML-like labels and their escaping.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from careflow.model.definition import ProcessDefinition, State, Transition
from careflow.render.common import (
    KINDS,
    Edge,
    deadline_text,
    edges,
    guard_text,
    handoff_notes,
    internal_transitions,
    language,
    ordered_children,
    role_names,
    word,
    wrap,
)
from careflow.render.grid import grid, ranks
from careflow.render.overlay import Overlay, short_timedelta, taken
from careflow.render.recurring import every_text
from careflow.render.style import (
    ARROWS,
    CURRENT,
    EDGE_STYLE,
    FONT,
    INK,
    MUTED,
    PAPER,
    VISITED,
    cluster_fill,
    html,
    lines,
    quote,
)

STATE_WIDTH = 22  # characters per line in a state box: about 4 cm at 11 pt
EDGE_WIDTH = 20  # characters per line of an arrow's label
MAX_LISTED = 5  # internal transitions listed in a box before the rest is counted
SMALL_WIDTH = 32  # characters per line of the small print (guards, roles, internal lists)


def to_dot(process: ProcessDefinition, *, lang: str | None = None, direction: str = "LR",
           overlay: Overlay | None = None) -> str:
    """The process as DOT text. Same input, same bytes: everything is emitted in document order."""
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    return "\n".join(_Writer(process, language(process, lang), direction, overlay).lines()) + "\n"


class _Writer:
    def __init__(self, process: ProcessDefinition, lang: str, direction: str, overlay: Overlay | None) -> None:
        self.p = process
        self.lang = lang
        self.direction = direction
        self.overlay = overlay
        self.edges = list(edges(process))
        self.counts = [taken(process, overlay, e) for e in self.edges]
        self.max_count = max(self.counts, default=0)
        self.rank = ranks(process)

    # -- the whole graph --------------------------------------------------------------------------

    def lines(self) -> Iterator[str]:
        p = self.p
        yield f"digraph {quote(p.id)} {{"
        # mclimit/remincross: keep dot's first ordering (our document order) instead of letting its
        # crossing minimisation shuffle the levels; the grid and chains already keep crossings low
        yield (f"  graph [rankdir={self.direction}, newrank=true, compound=true, fontname={quote(FONT)}, "
               f"fontsize=12, nodesep=0.45, ranksep=0.55, mclimit=0.01, remincross=false, pad=0.3, labelloc=t, "
               f"labeljust=l, bgcolor={quote(PAPER)}, outputorder=edgesfirst];")
        yield f"  graph [label={self._title()}];"
        yield (f"  node [shape=box, style=\"rounded,filled\", fillcolor=white, color={quote(INK)}, "
               f"fontname={quote(FONT)}, fontsize=11, margin=\"0.1,0.05\", penwidth=1.2];")
        yield f"  edge [fontname={quote(FONT)}, fontsize=9, arrowsize=0.7, color={quote(INK)}];"
        yield f"  __start [shape=circle, style=filled, fillcolor={quote(INK)}, width=0.22, label=\"\"];"
        tops = ordered_children(p, None)
        for depth_state in tops:
            yield from self._state(depth_state, 1)
        yield from grid(p, tops)
        yield from self._start_edge()
        labelled: set[int] = set()
        for edge, count in zip(self.edges, self.counts, strict=True):
            placement = self._placement(edge)
            if placement in ("title", "graph"):
                continue
            # a transition with several sources is labelled once: its arrows share colour and target
            yield "  " + self._edge(edge, count, placement == "arrow" and edge.transition.index not in labelled)
            labelled.add(edge.transition.index)
        yield "}"

    def _title(self) -> str:
        """Title, and a legend of the arrow kinds in their own colours and dash patterns."""
        legend = "   ".join(
            f"<font color=\"{EDGE_STYLE[k]['color']}\">{EDGE_STYLE[k]['sample']} {html(word(k, self.lang))}</font>"
            for k in KINDS)
        title = html(self.p.title.get(self.lang))
        rows = [f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"16\"><b>{title}</b></font></td></tr>",
                f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"10\">{legend}</font></td></tr>"]
        if self.overlay and self.overlay.cases > 1:
            rows.append(f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"10\" color=\"{MUTED}\">"
                        f"n = {self.overlay.cases} {html(word('cases', self.lang))}</font></td></tr>")
        done: set[int] = set()
        for edge, count in zip(self.edges, self.counts, strict=True):
            t = edge.transition
            if self._placement(edge) != "graph" or t.index in done:
                continue
            done.add(t.index)
            steps = ", ".join(str(self.p.state(s).step or self.p.label(self.p.state(s), self.lang)) for s in t.sources)
            target = self.p.label(self.p.state(edge.target), self.lang)
            text = (f"{ARROWS[edge.kind]} {self.p.label(t, self.lang)} → {target}"
                    f" ({word('step', self.lang).lower()} {steps})" + (f" (× {count})" if count else ""))
            rows.append(f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"10\" "
                        f"color=\"{EDGE_STYLE[edge.kind]['color']}\">{html(text)}</font></td></tr>")
        return "<<table border=\"0\" cellpadding=\"2\" cellspacing=\"0\">" + "".join(rows) + "</table>>"

    # -- states and clusters ----------------------------------------------------------------------

    def _state(self, state: State, depth: int) -> Iterator[str]:
        pad = "  " * depth
        if not state.compound:
            yield pad + f"{quote(state.id)} [{self._node_attrs(state)}];"
            return
        fill = cluster_fill(depth)
        yield pad + f"subgraph {quote('cluster_' + state.id)} {{"
        yield (pad + f"  graph [label={self._cluster_label(state)}, style=\"rounded,filled\", "
               f"fillcolor={quote(fill)}, color={quote(self._cluster_border(state))}, penwidth=1.2, margin=12];")
        kids = ordered_children(self.p, state.id)
        for kid in kids:
            yield from self._state(kid, depth + 1)
        leaves = [k for k in kids if not k.compound]
        for a, b in itertools.pairwise(leaves):
            # the reading order of the steps; heavy so that it wins over any other pull
            yield pad + f"  {quote(a.id)} -> {quote(b.id)} [style=invis, weight=20];"
        yield pad + "}"

    def _cluster_border(self, state: State) -> str:
        if self.overlay and self.overlay.current and state.id in self.p.ancestors(self.overlay.current):
            return CURRENT
        return MUTED

    def _cluster_label(self, state: State) -> str:
        rows = [f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"13\"><b>"
                f"{lines(wrap(self.p.label(state, self.lang), 40))}</b></font></td></tr>"]
        extra = self._annotations(state)
        if extra:
            rows.append(f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"9\">{extra}</font></td></tr>")
        rows += [f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"9\">{d}</font></td></tr>"
                 for d in self._deadlines(state, due=False)]  # a compound's `due` is not drawn (yet)
        items = [lines(wrap(f"↻ {self.p.label(t, self.lang)}", 60)) for t in internal_transitions(self.p, state.id)]
        for edge, count in zip(self.edges, self.counts, strict=True):
            if edge.source == state.id and self._placement(edge) != "arrow":
                note = f" (× {count})" if count else ""
                target = self.p.label(self.p.state(edge.target), self.lang)
                text = f"{ARROWS[edge.kind]} {self.p.label(edge.transition, self.lang)} → {target}{note}"
                items.append(f"<font color=\"{EDGE_STYLE[edge.kind]['color']}\">{lines(wrap(text, 60))}</font>")
        if items:
            rows.append(f"<tr><td align=\"left\" balign=\"left\"><font point-size=\"8.5\" color=\"{MUTED}\">"
                        f"<i>{html(word('meanwhile', self.lang))}:</i><br/>{'<br/>'.join(items)}</font></td></tr>")
        return "<<table border=\"0\" cellpadding=\"1\" cellspacing=\"0\">" + "".join(rows) + "</table>>"

    def _deadlines(self, state: State, due: bool = True) -> list[str]:
        """The state's ``due`` ("Frist ≤ 14 d") and ``every`` ("Frist: Kvar månad (i 1 år)"), in bold."""
        texts = [f"{word('deadline', self.lang)} {deadline_text(state)}"] if state.due and due else []
        texts += [f"{word('deadline', self.lang)}: {every_text(state, self.lang)}"] if state.every else []
        return [f"<font color=\"{EDGE_STYLE['escalate']['color']}\"><b>{html(t)}</b></font>" for t in texts]

    def _node_attrs(self, state: State) -> str:
        attrs = [f"label={self._node_label(state)}"]
        ov = self.overlay
        if state.final:
            attrs.append("peripheries=2")
            attrs.append(f"fillcolor={quote('#eef2f6')}")
        if ov and ov.visits.get(state.id):
            attrs.append(f"fillcolor={quote(VISITED)}")
        if ov and ov.current == state.id:
            attrs.append(f"color={quote(CURRENT)}, penwidth=3")
        return ", ".join(attrs)

    def _node_label(self, state: State) -> str:
        title = lines(wrap(self.p.label(state, self.lang), STATE_WIDTH))
        if state.final:
            title = f"<b>{title}</b>"
        small = self._deadlines(state)
        if state.checklist:
            # a count only: the items are in the handbook table; listed here they swamp the flow
            small.append(html(f"☐ {len(state.checklist)} {word('checklist', self.lang)}"))
        internals = internal_transitions(self.p, state.id)
        if internals:
            small.append(self._internal_list(internals, SMALL_WIDTH))
        small.extend(self._listed_exits(state, SMALL_WIDTH))
        extra = self._annotations(state)
        if extra:
            small.append(extra)
        rows = [f"<td align=\"left\" balign=\"left\">{title}</td>"]
        rows += [f"<td align=\"left\" balign=\"left\"><font point-size=\"8.5\">{item}</font></td>" for item in small]
        if state.step is not None:
            # the step number heads a dark stripe down the box's left edge, as on the BTI poster;
            # spanning every row keeps it the same width however wide the rows are
            rows[0] = (f"<td rowspan=\"{len(rows)}\" valign=\"top\" bgcolor=\"{INK}\" width=\"20\">"
                       f"<font color=\"white\" point-size=\"10\"><b>{state.step}</b></font></td>" + rows[0])
        body = "".join(f"<tr>{r}</tr>" for r in rows)
        return f"<<table border=\"0\" cellpadding=\"2\" cellspacing=\"0\">{body}</table>>"

    def _listed_exits(self, state: State, width: int) -> list[str]:
        """Moves to another level, written out in the box they leave from (their arrows stay unlabelled).

        Such arrows share long routes (BTI's step 4 goes to levels 1, 2 and 3 along one line), and
        dot cannot keep their labels clear of the other labels. In the box they read like the
        poster's decision text: what may happen here, and where it leads.
        """
        out = []
        for edge, count in zip(self.edges, self.counts, strict=True):
            if edge.source != state.id or self._placement(edge) != "listed":
                continue
            t = edge.transition
            colour = EDGE_STYLE[edge.kind]["color"]
            note = f" (× {count})" if count else ""
            head = lines(wrap(f"{ARROWS[edge.kind]} {self.p.label(t, self.lang)}{note}", width))
            target = self.p.label(self.p.state(edge.target), self.lang)
            detail = " · ".join(x for x in (guard_text(t), role_names(self.p, t, self.lang)) if x)
            body = lines(wrap(f"→ {target}", width) + wrap(detail, width + 6))
            out.append(f"<font color=\"{colour}\"><b>{head}</b></font><br/>"
                       f"<font color=\"{MUTED}\" point-size=\"7.5\">{body}</font>")
        return out

    def _placement(self, edge: Edge) -> str:
        """'title' (a level-wide exit, written under the level's title), 'graph' (a move from many
        steps, written once under the diagram's title, no arrows), 'listed' (a move to another level,
        written in its source's box, arrow unlabelled) or 'arrow' (a labelled arrow)."""
        p = self.p
        source, target = p.state(edge.source), p.state(edge.target)
        if target.final and source.compound:
            return "title"
        if len(edge.transition.sources) >= 3 and not source.compound:
            # "from any step": PSHT may end early from steps 1-8; eight long arrows would hide the flow
            return "graph"
        if target.final:
            return "arrow"
        return "arrow" if self._group(source.id) == self._group(target.id) else "listed"

    def _group(self, state_id: str) -> str | None:
        """The top-level compound state holding ``state_id``; None for top-level leaves (a flat flow)."""
        ancestors = self.p.ancestors(state_id)
        top = ancestors[-1] if ancestors else state_id
        return top if self.p.state(top).compound else None

    def _internal_list(self, internals: list[Transition], width: int) -> str:
        out = []
        if len(internals) > MAX_LISTED:
            # the full list is in the handbook table; a box this long would dwarf its neighbours
            rest = len(internals) - MAX_LISTED + 1
            internals = internals[: MAX_LISTED - 1]
        else:
            rest = 0
        for t in internals:
            # roles are left to the handbook table: here they would repeat on every line
            text = wrap(f"↻ {self.p.label(t, self.lang)}", width)
            out.append(lines(text))
        if rest:
            out.append(html(f"↻ + {rest} {word('more', self.lang)}"))
        return "<br/>".join(out)

    def _annotations(self, state: State) -> str:
        """Overlay notes for a state: visits, median time, and 'you are here'."""
        ov = self.overlay
        if ov is None:
            return ""
        notes = []
        visits = ov.visits.get(state.id, 0)
        if visits:
            notes.append(f"× {visits}")
        median = ov.median_time.get(state.id)
        if median is not None:
            notes.append(f"{word('median', self.lang)} {short_timedelta(median)}")
        text = html(" · ".join(notes))
        if ov.current == state.id:
            here = f"<font color=\"{CURRENT}\"><b>● {html(word('current', self.lang))}</b></font>"
            text = f"{here}<br/>{text}" if text else here
        return text

    # -- arrows -----------------------------------------------------------------------------------

    def _start_edge(self) -> Iterator[str]:
        p = self.p
        entry = p.initial_leaf
        attrs = ["weight=20"]
        if p.state(p.initial).compound:
            attrs.append(f"lhead={quote('cluster_' + p.initial)}")
        if self.overlay and self.overlay.path and self.overlay.path[0][0] is None:
            attrs.append(f"color={quote(CURRENT)}, penwidth=2.5")
        yield f"  __start -> {quote(entry)} [{', '.join(attrs)}];"

    def _edge(self, edge: Edge, count: int, labelled: bool) -> str:
        """One arrow. Arrows that run against the grid are written reversed with ``dir=back``.

        dot ranks along constrained edges only, and places the labels of unconstrained ones poorly
        (often far from their arrow). Writing a back arrow from the later column to the earlier one and
        drawing it backwards keeps it constrained without moving a step out of its column, so its
        label gets room of its own. Arrows between levels stay unconstrained with an xlabel (placed
        next to the drawn arrow): as constrained chains they cut through the other levels' columns
        and make dot shuffle the levels' order.
        """
        p = self.p
        source, target = p.state(edge.source), p.state(edge.target)
        tail = source.id
        while p.state(tail).compound:
            tail = ordered_children(p, tail)[-1].id
        head = p.resolve_entry(target.id)
        style = EDGE_STYLE[edge.kind]
        t_rank, h_rank = self.rank.get(tail), self.rank.get(head)
        same_group = p.ancestors(tail)[:1] == p.ancestors(head)[:1]
        label = self._edge_label(edge.transition, count) if labelled else '""'
        attrs = [f"color={quote(style['color'])}", f"fontcolor={quote(style['color'])}", f"style={style['style']}",
                 f"penwidth={self._penwidth(edge, count)}"]
        if self.overlay and self.overlay.cases <= 1 and count:
            attrs[0] = f"color={quote(CURRENT)}"
        ends = [f"ltail={quote('cluster_' + source.id)}"] if source.compound else []
        if target.compound:
            ends.append(f"lhead={quote('cluster_' + target.id)}")
        # pulling only along a level keeps the grid straight; long arrows must not bend it
        weight = "weight=4" if same_group and edge.kind == "forward" else "weight=0"
        if t_rank is None or h_rank is None or t_rank == h_rank or not (same_group or target.final):
            attrs += [f"xlabel={label}", "constraint=false", *ends]
        elif h_rank > t_rank:
            attrs += [f"label={label}", weight, *ends]
        else:
            swapped = [e.replace("ltail=", "LHEAD=").replace("lhead=", "ltail=").replace("LHEAD=", "lhead=")
                       for e in ends]
            attrs += [f"label={label}", weight, "dir=back", *swapped]
            tail, head = head, tail
        return f"{quote(tail)} -> {quote(head)} [{', '.join(attrs)}];"

    def _penwidth(self, edge: Edge, count: int) -> str:
        base = float(EDGE_STYLE[edge.kind]["penwidth"])
        if self.overlay is None:
            return f"{base:g}"
        if self.overlay.cases > 1:
            # weight by how many cases took it: thin for none, up to 7 pt for the most common
            width = 0.6 if count == 0 else 1.0 + 6.0 * count / max(self.max_count, 1)
            return f"{width:.2f}"
        return f"{3.0 if count else base:g}"

    def _edge_label(self, t: Transition, count: int) -> str:
        parts = [lines(wrap(self.p.label(t, self.lang), EDGE_WIDTH))]
        small = []
        guard = guard_text(t)
        if guard:
            small.append(lines(wrap(guard, SMALL_WIDTH)))
        small.append(lines(wrap(role_names(self.p, t, self.lang), SMALL_WIDTH)))
        small += [html(note) for note in handoff_notes(t, self.lang)]
        if self.overlay is not None and count:
            unit = word("cases", self.lang) if self.overlay.cases > 1 else ""
            small.append(f"<b>{html(f'n = {count} {unit}'.strip() if unit else f'× {count}')}</b>")
        body = "<br/>".join(small)
        return (f"<<table border=\"0\" cellpadding=\"1\" cellspacing=\"0\"><tr><td align=\"left\" balign=\"left\">"
                f"{parts[0]}</td></tr><tr><td align=\"left\" balign=\"left\"><font point-size=\"7.5\" "
                f"color=\"{MUTED}\">{body}</font></td></tr></table>>")
