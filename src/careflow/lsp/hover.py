"""Hover: what an id under the cursor is, in the file's language; guard types; durations in words.

Answers come from the raw document (and its ``extends`` bases), so they work while the file has errors.
"""

from __future__ import annotations

from typing import Any

from careflow.lsp.bases import file_index, find_definition, process_file
from careflow.lsp.index import EVENT, FIELD, PROCESS, ROLE, STATE, DocumentIndex, Occurrence, Span, guard_names
from careflow.model.durations import Duration


def text_in(value: Any, language: str) -> str:
    """A label or description in ``language``, else in any language it has."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get(language)
        if isinstance(found, str):
            return found
        return next((v for v in value.values() if isinstance(v, str)), "")
    return ""


def duration_in_words(text: str) -> str | None:
    """``P14D`` -> "14 days", ``P1M2W`` -> "1 month 2 weeks", ``PT48H`` -> "48 hours"; None if not one."""
    duration = Duration.parse(text)
    if duration is None:
        return None
    weeks, days = (duration.days // 7, 0) if "W" in text and duration.days % 7 == 0 else (0, duration.days)
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    amounts = ((duration.years, "year"), (duration.months, "month"), (weeks, "week"), (days, "day"),
               (hours, "hour"), (minutes, "minute"), (seconds, "second"))
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in amounts if n]
    return " ".join(words) or "no time at all"


def type_in_words(field: Any) -> str:
    """A data field's type as the format says it: "boolean", "date or null", "array of integer", …"""
    if not isinstance(field, dict):
        return "unknown type"
    kind = field.get("type")
    words = str(kind) if kind else "any type"
    if kind == "string" and isinstance(field.get("format"), str):
        words = field["format"]
    if kind == "array" and isinstance(field.get("items"), dict):
        words = f"array of {type_in_words(field['items'])}"
    if isinstance(field.get("enum"), list):
        words += ", one of " + ", ".join(f"`{v}`" for v in field["enum"])
    if field.get("nullable") is True:
        words += " or null"
    return words


def hover(index: DocumentIndex, bases: list[DocumentIndex], line: int, column: int) -> tuple[str, Span] | None:
    """Markdown for the position, and the span it is about."""
    found = index.at(line, column)
    if found is not None:
        text = describe(index, bases, found)
        return (text, found.span) if text else None
    return _value_hover(index, bases, line, column)


def describe(index: DocumentIndex, bases: list[DocumentIndex], found: Occurrence) -> str | None:
    if found.kind == PROCESS:
        return _process(found.name, index.language)
    defined = find_definition([index, *bases], found.kind, found.name)
    if defined is None:
        return f"**{found.kind}** `{found.name}`: not defined in this file" + (" or its base" if bases else "")
    home, definition = defined
    node = home.node(definition.pointer)
    node = node if isinstance(node, dict) else {}
    language = index.language
    head = f"**{found.kind}** `{found.name}`"
    label = text_in(node.get("label"), language)
    parts = [f"{head}: {label}" if label else head]
    description = text_in(node.get("description"), language)
    if description:
        parts.append(description)
    parts.extend(_details(home, found.kind, found.name, node))
    if home is not index:
        parts.append(f"*from the base process `{home.doc.get('id')}`*")
    return "\n\n".join(parts)


def _details(home: DocumentIndex, kind: str, name: str, node: dict[str, Any]) -> list[str]:
    if kind == STATE:
        return _state_details(home, name, node)
    if kind == FIELD:
        default = f"; starts as `{_yaml_word(node['default'])}`" if "default" in node else ""
        return [f"type: {type_in_words(node)}{default}"]
    if kind == ROLE:
        scope = node.get("scope", "global")
        return ["held per case (given by `assign`)" if scope == "case" else "a role the actor has in every case"]
    if kind == EVENT:
        users = [o for o in home.uses(EVENT, name) if o.pointer.endswith("/event")]
        return [f"used by {len(users)} transition{'' if len(users) == 1 else 's'}"] if users else []
    return []


def _state_details(home: DocumentIndex, name: str, node: dict[str, Any]) -> list[str]:
    out: list[str] = []
    state = next((s for s in home.states if s.id == name), None)
    facts = []
    if isinstance(node.get("step"), int):
        facts.append(f"step {node['step']}")
    if state is not None and state.parent:
        facts.append(f"inside `{state.parent}`")
    if isinstance(node.get("states"), dict):
        initial = node.get("initial")
        facts.append(f"compound; enters `{initial}` first" if isinstance(initial, str) else "compound")
    if node.get("final") is True:
        facts.append("final")
    if facts:
        out.append(", ".join(facts))
    due = node.get("due")
    words = duration_in_words(due) if isinstance(due, str) else None
    if words:
        then = f"; then the event `{node['on_due']}`" if isinstance(node.get("on_due"), str) else ""
        out.append(f"due: {words} after entering it{then}")
    every = node.get("every")
    words = duration_in_words(every) if isinstance(every, str) else None
    if words:
        then = f", raising `{node['on_every']}`" if isinstance(node.get("on_every"), str) else ""
        ends = [f"at most {node['count']} times"] if isinstance(node.get("count"), int) else []
        until = node.get("until")
        until_words = duration_in_words(until) if isinstance(until, str) else None
        ends += [f"until {until_words} after entering it"] if until_words else []
        out.append(f"every: {words}, counted from entering it{then}" + (f" ({', '.join(ends)})" if ends else ""))
    return out


def _process(process_id: str, language: str) -> str:
    path = process_file(process_id)
    if path is None:
        return f"**process** `{process_id}`: not found on the search path (CAREFLOW_PATH, plug-ins, bundled)"
    base = file_index(path)
    title = text_in(base.doc.get("title"), language) if base is not None else ""
    return f"**process** `{process_id}`" + (f": {title}" if title else "") + f"\n\n{path}"


def _value_hover(index: DocumentIndex, bases: list[DocumentIndex], line: int, column: int) -> tuple[str, Span] | None:
    """Hover on a value that holds no id: a duration, or a guard as a whole (the types it reads)."""
    for pointer, mark in index.marks.items():
        key = pointer.rsplit("/", 1)[-1]
        if key not in ("due", "every", "until", "when", "retention") or mark.line - 1 != line:
            continue
        value = index.node(pointer)
        if not isinstance(value, str):
            continue
        span = Span(mark.line - 1, mark.column - 1, mark.value_column - 1 + len(value) + 2 * bool(mark.style))
        if not span.contains(line, column):
            continue
        if key in _DURATION_WORDS:
            words = duration_in_words(value)
            return (f"**{key}** `{value}`: {_DURATION_WORDS[key].format(words=words)}" if words else
                    f"`{value}` is not an ISO-8601 duration: write e.g. `P14D` (14 days) or `P2W`"), span
        return _guard_types([index, *bases], value), span
    return None


_DURATION_WORDS = {
    "due": "{words} after entering the state",
    "every": "every {words}, counted on the calendar from entering the state, while the case stays in it",
    "until": "no occurrence of `every` later than {words} after entering the state",
    "retention": "values kept {words} after the case closes, then removed by `careflow retention --apply`",
}


def _guard_types(indexes: list[DocumentIndex], guard: str) -> str:
    data: dict[str, Any] = {}
    for index in reversed(indexes):  # the file's own declarations win over its bases'
        declared = index.doc.get("data")
        data.update(declared if isinstance(declared, dict) else {})
    names = list(dict.fromkeys(name for _, name in guard_names(guard)))
    rows = [f"- `{name}`: {type_in_words(data[name]) if name in data else 'not a declared data field'}"
            for name in names]
    return "**guard** `" + guard + "`" + ("\n\n" + "\n".join(rows) if rows else "")


def _yaml_word(value: Any) -> str:
    """A value as the format spells it (``true``, ``null``, ``[]``), not Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_word(v) for v in value) + "]"
    return str(value)

