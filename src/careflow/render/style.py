"""Colours, fonts and escaping for the Graphviz output.

The palette is chosen to survive greyscale printing: each edge kind differs in dash pattern and
width as well as colour, so a black-and-white copy of a handbook page still tells them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

FONT = "DejaVu Sans"  # ships with nearly every Linux; Graphviz falls back to Helvetica metrics elsewhere
INK = "#1f3a5f"  # dark blue: state borders, step badges, forward arrows
MUTED = "#5b6775"  # small print, cluster borders
PAPER = "white"
VISITED = "#fff1c2"  # overlay: states a case has been in
CURRENT = "#7e22ce"  # overlay: where the case is now and its path (purple: no edge kind uses it)

#: kind -> Graphviz edge attributes, plus a text sample for the legend
EDGE_STYLE: dict[str, dict[str, str]] = {
    "forward": {"color": INK, "style": "solid", "penwidth": "1.4", "sample": "━━"},
    "back": {"color": "#2b6cb0", "style": "dashed", "penwidth": "1.2", "sample": "╍╍"},
    "escalate": {"color": "#b7410e", "style": "bold", "penwidth": "2.2", "sample": "━━"},
    "exit": {"color": "#276749", "style": "solid", "penwidth": "1.4", "sample": "━━"},
}

#: kind -> the arrow glyph that leads a move written out as text
ARROWS: dict[str, str] = {"forward": "→", "back": "↩", "escalate": "⇒", "exit": "✕"}

_CLUSTER_FILLS = ("#f3f6f9", "#e8eef4", "#dde6ee")


def cluster_fill(depth: int) -> str:
    """Nested clusters get slightly darker so a level inside a phase stays visible."""
    return _CLUSTER_FILLS[min(depth - 1, len(_CLUSTER_FILLS) - 1)]


def html(text: str) -> str:
    """Escape text for a Graphviz HTML-like label (``&``, ``<``, ``>``, ``"``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def lines(parts: Sequence[str]) -> str:
    """Escaped lines joined with breaks; the enclosing cell's ``balign="left"`` aligns them."""
    return "<br/>".join(html(p) for p in parts)


def quote(text: str) -> str:
    """A DOT double-quoted ID: backslashes and quotes escaped, newlines removed."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
