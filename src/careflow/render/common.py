"""Shared by every renderer: words in four languages, wrapping, state order and edge kinds.

Nothing here imports the engine or a store: a rendering is a pure function of a definition (plus,
for Graphviz, an optional overlay).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from careflow.model.definition import ProcessDefinition, State, Transition

#: Edge kinds, in the order the legend lists them.
KINDS: tuple[str, ...] = ("forward", "back", "escalate", "exit")

# The few words a diagram or table adds itself. Label text always comes from the definition.
_WORDS: dict[str, dict[str, str]] = {
    "forward": {"nn": "Vidare", "nb": "Videre", "en": "Forward", "sv": "Vidare"},
    "back": {"nn": "Tilbake", "nb": "Tilbake", "en": "Back", "sv": "Tillbaka"},
    "escalate": {"nn": "Til høgare nivå", "nb": "Til høyere nivå", "en": "Escalate", "sv": "Till högre nivå"},
    "exit": {"nn": "Avslutning", "nb": "Avslutning", "en": "Exit", "sv": "Avslut"},
    "meanwhile": {"nn": "Undervegs", "nb": "Underveis", "en": "Meanwhile", "sv": "Under tiden"},
    "anyone": {"nn": "alle", "nb": "alle", "en": "anyone", "sv": "alla"},
    "system": {"nn": "systemet", "nb": "systemet", "en": "system", "sv": "systemet"},
    "checklist": {"nn": "sjekkpunkt", "nb": "sjekkpunkt", "en": "checklist items", "sv": "kontrollpunkter"},
    "opens": {"nn": "opnar", "nb": "åpner", "en": "opens", "sv": "öppnar"},
    "starting_at": {"nn": "frå", "nb": "fra", "en": "at", "sv": "från"},
    "reports": {"nn": "melder attende", "nb": "melder tilbake", "en": "reports back", "sv": "rapporterar tillbaka"},
    "median": {"nn": "median", "nb": "median", "en": "median", "sv": "median"},
    "cases": {"nn": "saker", "nb": "saker", "en": "cases", "sv": "ärenden"},
    "current": {"nn": "Her er saka no", "nb": "Her er saken nå", "en": "Current state", "sv": "Ärendet är här nu"},
    "no": {"nn": "Nr.", "nb": "Nr.", "en": "No.", "sv": "Nr"},
    "step": {"nn": "Steg", "nb": "Trinn", "en": "Step", "sv": "Steg"},
    "what": {"nn": "Kva skjer", "nb": "Hva skjer", "en": "What happens", "sv": "Vad händer"},
    "who": {"nn": "Kven kan gjera det", "nb": "Hvem kan gjøre det", "en": "Who may act", "sv": "Vem får agera"},
    "deadline": {"nn": "Frist", "nb": "Frist", "en": "Deadline", "sv": "Frist"},
    "exits": {"nn": "Vegen vidare", "nb": "Veien videre", "en": "Way forward", "sv": "Vägen vidare"},
    "states": {"nn": "Andre tilstandar", "nb": "Andre tilstander", "en": "Other states", "sv": "Andra tillstånd"},
    "more": {"nn": "fleire", "nb": "flere", "en": "more", "sv": "fler"},
    "end": {"nn": "slutt", "nb": "slutt", "en": "end", "sv": "slut"},
    "removed": {"nn": "[fjerna]", "nb": "[fjernet]", "en": "[removed]", "sv": "[borttaget]"},
}


def word(key: str, lang: str) -> str:
    """One of the renderers' own words in ``lang`` (English when the language is unknown)."""
    forms = _WORDS[key]
    return forms.get(lang, forms["en"])


def wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` characters at spaces, or after '/' and '-'.

    A single word longer than ``width`` keeps its own line rather than being cut: a split word is
    harder to read on paper than a slightly wider box. Whitespace runs collapse to one space.
    """
    pieces: list[tuple[str, bool]] = []  # (text, joins the previous piece without a space)
    for w in text.split():
        parts = _split_long(w, width)
        pieces.extend((part, i > 0) for i, part in enumerate(parts))
    lines: list[str] = []
    line = ""
    for piece, attached in pieces:
        candidate = f"{line}{'' if attached else ' '}{piece}" if line else piece
        if line and len(candidate) > width:
            lines.append(line)
            line = piece
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def _split_long(word_: str, width: int) -> list[str]:
    """A word longer than ``width`` split after its slashes and hyphens (kept on the piece before)."""
    if len(word_) <= width:
        return [word_]
    pieces: list[str] = []
    current = ""
    for ch in word_:
        current += ch
        if ch in "/-" and len(current) > 1:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


# -- structure ------------------------------------------------------------------------------------


def step_order(process: ProcessDefinition, states: Sequence[State]) -> list[State]:
    """``states`` ordered for reading: by ``step`` first, unnumbered ones after, in document order."""
    position = {s.id: i for i, s in enumerate(process.states)}
    return sorted(states, key=lambda s: (s.step is None, s.step or 0, position[s.id]))


def ordered_children(process: ProcessDefinition, state_id: str | None) -> list[State]:
    """The children of ``state_id`` (or the top level for None) in reading order; finals last."""
    kids = process.top_level if state_id is None else process.children(state_id)
    return step_order(process, [s for s in kids if not s.final]) + [s for s in kids if s.final]


def top_of(process: ProcessDefinition, state_id: str) -> str:
    """The top-level state that holds ``state_id`` (itself when it is top-level)."""
    ancestors = process.ancestors(state_id)
    return ancestors[-1] if ancestors else state_id


def is_initial(process: ProcessDefinition, state: State) -> bool:
    if state.parent is None:
        return state.id == process.initial
    return process.state(state.parent).initial == state.id


@attrs.frozen
class Edge:
    """One drawn arrow: a transition from one of its sources (a leaf or a compound state)."""

    transition: Transition
    source: str
    target: str
    kind: str  # one of KINDS


def edges(process: ProcessDefinition) -> Iterator[Edge]:
    """Every external transition once per source, in document order, with its kind."""
    for t in process.transitions:
        if t.target is None:
            continue
        for source in t.sources:
            if process.has_state(source) and process.has_state(t.target):
                yield Edge(t, source, t.target, classify(process, t, source))


def internal_transitions(process: ProcessDefinition, state_id: str) -> list[Transition]:
    """Internal transitions (no target) declared with ``state_id`` among their sources."""
    return [t for t in process.transitions if t.target is None and state_id in t.sources]


def classify(process: ProcessDefinition, t: Transition, source: str) -> str:
    """The edge's kind: the author's ``kind`` hint, else inferred from finals, levels and steps.

    Inference: into a final state is an exit. Between top-level groups (levels, phases), going to an
    earlier group is back; to a later group it is forward when leaving the group's last step (the
    natural hand-over to the next phase) and escalate when jumping out from the middle. Inside a
    group, a lower or equal step number is back (a loop), anything else forward.
    """
    if t.kind in KINDS:
        return t.kind
    target = process.state(t.target) if t.target else None
    if target is None:
        return "forward"
    if target.final:
        return "exit"
    tops = [s.id for s in process.top_level]
    src_top, dst_top = top_of(process, source), top_of(process, target.id)
    if src_top != dst_top:
        if tops.index(dst_top) < tops.index(src_top):
            return "back"
        if process.state(src_top).compound:
            last = ordered_children(process, src_top)[-1].id
            if source not in (last, src_top) and not process.state(source).final:
                return "escalate"
        return "forward"
    src_step = _step_of(process, source)
    dst_step = _step_of(process, process.resolve_entry(target.id))
    if src_step is not None and dst_step is not None and dst_step <= src_step:
        return "back"
    if source == target.id:
        return "back"
    return "forward"


def _step_of(process: ProcessDefinition, state_id: str) -> int | None:
    return process.state(state_id).step


def role_names(process: ProcessDefinition, t: Transition, lang: str) -> str:
    """The transition's roles as labels ("Tilsett, Næraste leiar"); 'anyone' when none are named."""
    if not t.roles:
        return word("anyone", lang)
    names = []
    for r in t.roles:
        if process.has_role(r):
            names.append(process.label(process.role(r), lang))
        else:
            names.append(word("system", lang) if r == "system" else r)
    return ", ".join(names)


def guard_text(t: Transition) -> str:
    """The guard as written, in UML's bracket notation; named Python guards by name."""
    parts = [t.when.source] if t.when else []
    if t.guard:
        parts.append(t.guard + "()")
    return f"[{' and '.join(parts)}]" if parts else ""


def handoff_notes(t: Transition, lang: str) -> list[str]:
    """What a transition does to another case, in plain text: '⇢ opens oppfolgingsteam at reported_to_ke'
    (the link to the case a handoff opens), '⇠ reports back record_ke_decision → bti_children'."""
    out = []
    if t.spawn:
        start = f" {word('starting_at', lang)} {t.spawn.start}" if t.spawn.start else ""
        out.append(f"⇢ {word('opens', lang)} {t.spawn.process}{start}")
    if t.report:
        to = f" → {', '.join(t.report.to)}" if t.report.to else ""
        out.append(f"⇠ {word('reports', lang)} {t.report.event}{to}")
    return out


def deadline_text(state: State) -> str:
    return f"≤ {state.due.duration.short()}" if state.due else ""


def language(process: ProcessDefinition, lang: str | None) -> str:
    return lang or process.language
