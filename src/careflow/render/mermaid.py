"""Mermaid ``stateDiagram-v2`` text: composite states for levels and phases, ``[*]`` for start and end.

Mermaid's parser is strict about label text: quotes end a state's name, a colon starts a transition
label, ``#`` and ``;`` start entity codes and statements, brackets and braces open blocks. ``escape``
turns each such character into a ``#<code>;`` entity, which Mermaid renders as the character.
Internal transitions are left out (Mermaid has no compact place for them); the Markdown tables
list them.
"""

from __future__ import annotations

import json

from careflow.model.definition import ProcessDefinition, State
from careflow.render.common import deadline_text, edges, guard_text, handoff_notes, language, ordered_children
from careflow.render.recurring import every_text

# Characters with a meaning in Mermaid's grammar (or in the HTML it renders labels into).
_SPECIAL = '"#:;{}[]()<>%|\\`&=-'
# Words the grammar keeps for itself; a state id equal to one gets a trailing underscore.
_RESERVED = frozenset({"end", "state", "note", "direction", "as", "default", "class", "classdef", "click",
                       "style", "link", "hide", "fork", "join", "choice", "concurrent", "left", "right", "of"})


def escape(text: str) -> str:
    """``text`` safe inside a Mermaid state name or transition label: one line, specials as entities."""
    out = []
    for ch in " ".join(text.split()):
        out.append(f"#{ord(ch)};" if ch in _SPECIAL else ch)
    return "".join(out)


def node_id(state_id: str) -> str:
    return state_id + "_" if state_id.lower() in _RESERVED else state_id


def to_mermaid(process: ProcessDefinition, *, lang: str | None = None, direction: str = "LR") -> str:
    """The process as a Mermaid state diagram; same input, same text."""
    lang = language(process, lang)
    # the front matter is YAML, where a JSON string is a safe scalar; entities are not decoded there
    title = json.dumps(" ".join(process.title.get(lang).split()), ensure_ascii=False)
    out = ["---", f"title: {title}", "---", "stateDiagram-v2", f"  direction {direction}"]
    for state in ordered_children(process, None):
        out.extend(_state(process, state, lang, 1))
    out.append(f"  [*] --> {node_id(process.initial)}")
    for edge in edges(process):
        label = process.label(edge.transition, lang)
        guard = guard_text(edge.transition)
        notes = "".join(f" {note}" for note in handoff_notes(edge.transition, lang))
        text = escape(label + (f" {guard}" if guard else "") + notes)
        out.append(f"  {node_id(edge.source)} --> {node_id(edge.target)} : {text}")
    for state in process.final_states:
        out.append(f"  {node_id(state.id)} --> [*]")
    return "\n".join(out) + "\n"


def _state(process: ProcessDefinition, state: State, lang: str, depth: int) -> list[str]:
    pad = "  " * depth
    label = process.label(state, lang)
    if state.step is not None:
        label = f"{state.step}. {label}"
    if state.due:
        label += f" ({deadline_text(state)})"
    if state.every:
        label += f" ({every_text(state, lang)})"
    name = escape(label)  # Mermaid wraps long names itself
    if not state.compound:
        return [f'{pad}state "{name}" as {node_id(state.id)}']
    lines = [f'{pad}state "{name}" as {node_id(state.id)} {{']
    kids = ordered_children(process, state.id)
    for kid in kids:
        lines.extend(_state(process, kid, lang, depth + 1))
    if state.initial:
        lines.append(f"{pad}  [*] --> {node_id(state.initial)}")
    lines.append(f"{pad}}}")
    return lines
