"""Diagrams and handbook tables for a process: Graphviz (DOT, SVG, PNG, PDF), Mermaid and Markdown.

A rendering takes a definition and, for Graphviz, an optional ``Overlay`` built from histories
(``careflow.history.read_history``, the one reader) or records; it never imports the engine or a store.

>>> from careflow.render import render, to_dot
>>> render(load("psht"), "psht.svg", lang="nn")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from careflow.errors import GraphvizMissing, RenderError
from careflow.model.definition import ProcessDefinition
from careflow.render.dot import to_dot
from careflow.render.markdown import to_markdown
from careflow.render.mermaid import to_mermaid
from careflow.render.output import FORMATS, format_for, run_dot
from careflow.render.overlay import Overlay

__all__ = ["FORMATS", "GraphvizMissing", "Overlay", "RenderError", "render", "render_bytes", "to_dot", "to_markdown",
           "to_mermaid"]


def render_bytes(process: ProcessDefinition, format: str, *, lang: str | None = None, direction: str = "LR",
                 overlay: Overlay | None = None) -> bytes:
    """The process in ``format`` (svg, png, pdf, dot, mermaid, markdown) as bytes."""
    if format == "mermaid":
        return to_mermaid(process, lang=lang).encode("utf-8")
    if format == "markdown":
        return to_markdown(process, lang=lang).encode("utf-8")
    dot = to_dot(process, lang=lang, direction=direction, overlay=overlay)
    if format == "dot":
        return dot.encode("utf-8")
    format_for("", format)  # refuses unknown formats with the list of known ones
    return run_dot(dot, format)


def render(process: ProcessDefinition, path: str | os.PathLike[str], format: str | None = None, *,
           lang: str | None = None, direction: str = "LR", overlay: Overlay | None = None) -> Path:
    """Write the process to ``path``; ``format`` defaults to the one the suffix names. Returns the path."""
    target = Path(path)
    data = render_bytes(process, format_for(target, format), lang=lang, direction=direction, overlay=overlay)
    target.write_bytes(data)
    return target
