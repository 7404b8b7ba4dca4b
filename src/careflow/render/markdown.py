"""Handbook step tables in GitHub-flavoured Markdown, in the style of the PSHT "flytskjema".

One table per level or phase (or one for a flat flow): step number, step, what happens (the state's
description), who may act (the roles of its outgoing transitions), deadline and the way forward
(each outgoing event, where it leads, and its guard). Moves that may happen anywhere in a level are
listed under the level's heading.
"""

from __future__ import annotations

from careflow.model.definition import ProcessDefinition, State, Transition
from careflow.render.common import (
    deadline_text,
    guard_text,
    handoff_notes,
    language,
    ordered_children,
    role_names,
    word,
)
from careflow.render.recurring import every_text


def cell(text: str) -> str:
    """Text safe in a table cell: one line, pipes and HTML brackets escaped."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def code(text: str) -> str:
    """A code span in a table cell: no HTML escaping inside (it would show), pipes still escaped."""
    return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`"


def to_markdown(process: ProcessDefinition, *, lang: str | None = None) -> str:
    """The process as Markdown: a title, its description, and a step table per level or phase."""
    lang = language(process, lang)
    out = [f"# {cell(process.title.get(lang))}", ""]
    if process.description:
        out += [cell(process.description.get(lang)), ""]
    tops = ordered_children(process, None)
    for state in tops:
        if state.compound:
            out += _section(process, state, lang, 2)
    loose = [s for s in tops if not s.compound and not s.final]
    if loose:
        out += [f"## {cell(word('step', lang))}", "", *_table(process, loose, lang), ""]
    finals = [s for s in tops if s.final]
    if finals:
        out += [f"## {cell(word('states', lang))}", "", f"| {cell(word('step', lang))} | {cell(word('what', lang))} |",
                "|---|---|"]
        out += [f"| **{cell(process.label(s, lang))}** | {cell(s.description.get(lang))} |" for s in finals]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _section(process: ProcessDefinition, state: State, lang: str, level: int) -> list[str]:
    out = [f"{'#' * level} {cell(process.label(state, lang))}", ""]
    if state.description:
        out += [cell(state.description.get(lang)), ""]
    if state.due:
        out += [f"**{cell(word('deadline', lang))}:** {cell(deadline_text(state))}", ""]
    if state.every:
        out += [f"**{cell(word('deadline', lang))}:** {cell(every_text(state, lang))}", ""]
    anywhere = [_move(process, t, lang) for t in process.transitions if state.id in t.sources]
    if anywhere:
        out += [f"*{cell(word('meanwhile', lang))}:*", "", *(f"- {m}" for m in anywhere), ""]
    kids = ordered_children(process, state.id)
    leaves = [k for k in kids if not k.compound]
    if leaves:
        out += [*_table(process, leaves, lang), ""]
    for kid in kids:
        if kid.compound:
            out += _section(process, kid, lang, min(level + 1, 6))
    return out


def _table(process: ProcessDefinition, states: list[State], lang: str) -> list[str]:
    heads = [word(k, lang) for k in ("no", "step", "what", "who", "deadline", "exits")]
    out = ["| " + " | ".join(cell(h) for h in heads) + " |", "|---:|---|---|---|---|---|"]
    for s in states:
        outgoing = [t for t in process.transitions if s.id in t.sources]
        who = list(dict.fromkeys(role_names(process, t, lang) for t in outgoing))
        roles = ", ".join(dict.fromkeys(r for names in who for r in names.split(", ")))
        exits = "<br>".join(_move(process, t, lang) for t in outgoing)
        deadline = "; ".join(t for t in (deadline_text(s), every_text(s, lang)) if t)
        if s.checklist:
            items = ", ".join(process.label(c, lang) for c in s.checklist)
            what = f"{cell(s.description.get(lang))}<br>☐ {cell(items)}"
        else:
            what = cell(s.description.get(lang))
        out.append(f"| {s.step if s.step is not None else ''} | **{cell(process.label(s, lang))}** | {what} | "
                   f"{cell(roles)} | {cell(deadline)} | {exits} |")
    return out


def _move(process: ProcessDefinition, t: Transition, lang: str) -> str:
    """'Label → Target *[guard]*' (internal transitions: '↻ Label'), escaped for a table cell."""
    label = cell(process.label(t, lang))
    text = f"↻ {label}" if t.target is None else f"{label} → {cell(process.label(process.state(t.target), lang))}"
    guard = guard_text(t)
    if guard:
        text += f" {code(guard)}"
    for note in handoff_notes(t, lang):
        text += f" ({cell(note)})"
    return text
