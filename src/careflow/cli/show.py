"""A process for a terminal: plain-text tables (states with steps and deadlines, transitions, roles,
data), or its resolved document as YAML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from careflow.model.definition import ProcessDefinition, State
from careflow.model.values import describe, show_value
from careflow.render.recurring import recurrence_text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 48) -> str:
    """A simple aligned text table; cells longer than ``max_width`` are shortened with '…'."""
    def cut(cell: str) -> str:
        cell = " ".join(cell.split())
        return cell if len(cell) <= max_width else cell[: max_width - 1] + "…"

    cells = [[cut(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join([fmt.format(*headers), line, *(fmt.format(*r).rstrip() for r in cells)])


def _state_rows(process: ProcessDefinition, lang: str) -> list[list[str]]:
    rows = []

    def walk(state: State, depth: int) -> None:
        marks = []
        if state.id == process.initial or (state.parent and process.state(state.parent).initial == state.id):
            marks.append("initial")
        if state.final:
            marks.append("final")
        if state.checklist:
            marks.append(f"checklist {len(state.checklist)}")
        due = ""
        if state.due:
            due = f"≤ {state.due.duration.short()}" + (f" → {state.due.event}" if state.due.event else "")
        if state.every:
            due = (due + "; " if due else "") + f"{recurrence_text(state.every, lang)} → {state.every.event}"
        rows.append(["  " * depth + state.id, str(state.step or ""), process.label(state, lang), due,
                     ", ".join(marks)])
        for child in process.children(state.id):
            walk(child, depth + 1)

    for top in process.top_level:
        walk(top, 0)
    return rows


def show(process: ProcessDefinition, lang: str | None = None) -> str:
    lang = lang or process.language
    parts = [f"{process.title.get(lang)}  ({process.id} {process.version}; languages "
             f"{', '.join(process.languages)})"]
    if process.description:
        parts.append(process.description.get(lang))
    parts.append("\nStates\n" + table(["state", "step", "label", "deadline", ""], _state_rows(process, lang)))
    t_rows = []
    for t in process.transitions:
        to = "(stays)" if t.target is None else t.target
        extra = []
        if t.set:
            extra.append("sets " + ", ".join(f for f, _ in t.set))
        if t.values:
            extra.append("sets " + ", ".join(f"{f} = {show_value(v)}" for f, v in t.values))
        if t.append:
            extra.append("appends to " + ", ".join(f for f, _ in t.append))
        if t.assign:
            extra.append("assigns " + ", ".join(r for r, _ in t.assign))
        if t.tick:
            extra.append("ticks " + ", ".join(t.tick))
        if t.spawn:
            extra.append(f"opens {t.spawn.process}" + (f" at {t.spawn.start}" if t.spawn.start else ""))
        if t.report:
            extra.append(f"reports {t.report.event} to the parent")
        guard = " and ".join(x for x in ((t.when.source if t.when else ""), (f"guard {t.guard}" if t.guard else ""))
                             if x)
        t_rows.append([t.event, process.label(t, lang), ", ".join(t.sources), to, ", ".join(t.roles) or "anyone",
                       guard, "; ".join(extra)])
    parts.append("\nTransitions\n" + table(["event", "label", "from", "to", "roles", "guard", "effects"], t_rows,
                                           max_width=40))
    if process.roles:
        parts.append("\nRoles\n" + table(["role", "label", "scope"],
                                         [[r.id, process.label(r, lang), r.scope] for r in process.roles]))
    if process.data:
        parts.append("\nData\n" + table(
            ["field", "type", "default", "label"],
            [[f.name, describe(f.type), show_value(f.default) if f.has_default else "", f.label.get(lang)]
             for f in process.data]))
    return "\n".join(parts)


def resolved_yaml(document: dict[str, Any], source: str | None = None) -> str:
    """A resolved process document as YAML that careflow reads back as the same process. Short mappings and
    lists of plain values (labels, role lists) stay on one line, as authors write them."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def short(data: Any) -> bool:
        values = data.values() if isinstance(data, dict) else data
        return all(not isinstance(v, dict | list) for v in values) and len(repr(data)) <= 100

    def mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=short(data))

    def sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=short(data))

    Dumper.add_representer(dict, mapping)
    Dumper.add_representer(list, sequence)
    header = f"# {document.get('id')}: the resolved process" + (f" of {source}" if source else "")
    text = yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)
    return header + "\n" + text.rstrip()
