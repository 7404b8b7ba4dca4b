"""Every id in a process file, where it is defined and where it is used, read from the YAML and its marks.

The index is built from the raw document (not the built definition), so it works on a file with errors
too: hover, completion, go to definition and rename only need the ids and where they stand. Positions
are 0-based lines and code-point columns; the server converts them to the client's units.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import attrs

from careflow.definitions.yaml_positions import value_position
from careflow.definitions.yamlsafe import read_yaml
from careflow.errors import escape_pointer_token
from careflow.model.marks import Mark

STATE, EVENT, ROLE, FIELD, ITEM, PROCESS = "state", "event", "role", "field", "checklist item", "process"

# names in a guard that are not case data fields
GUARD_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "null", "True", "False",
                         "None", "now", "event"})
_GUARD_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|(?P<name>[^\W\d]\w*)""")
_ID_PART = re.compile(r"[a-z][a-z0-9_]*\Z")


class Span(NamedTuple):
    """A piece of one line: 0-based line, start and end columns (code points, end exclusive)."""

    line: int
    start: int
    end: int

    def contains(self, line: int, column: int) -> bool:
        return line == self.line and self.start <= column <= self.end


class Occurrence(NamedTuple):
    """An id where it stands in the file: its kind, name, span, the JSON pointer of the node holding it,
    and whether this is where it is defined (a key under ``states``, ``roles``, ``data``, ``events``)."""

    kind: str
    name: str
    span: Span
    pointer: str
    defines: bool = False


class StateNode(NamedTuple):
    id: str
    pointer: str
    parent: str | None


@attrs.frozen
class DocumentIndex:
    """The ids of one process file. ``readable`` is False when the YAML could not be read at all."""

    file: str | None
    text: str
    doc: Mapping[str, Any]
    marks: Mapping[str, Mark]
    occurrences: tuple[Occurrence, ...]
    states: tuple[StateNode, ...]
    readable: bool = True

    @property
    def language(self) -> str:
        language = self.doc.get("language")
        return language if isinstance(language, str) else "nb"

    @property
    def extends(self) -> str | None:
        base = self.doc.get("extends")
        return base if isinstance(base, str) else None

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under the cursor, if any."""
        return next((o for o in self.occurrences if o.span.contains(line, column)), None)

    def definition(self, kind: str, name: str) -> Occurrence | None:
        """Where ``name`` is defined; an event used only in transitions is "defined" at its first use."""
        found = [o for o in self.occurrences if o.kind == kind and o.name == name]
        return next((o for o in found if o.defines), found[0] if kind == EVENT and found else None)

    def uses(self, kind: str, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.kind == kind and o.name == name]

    def ids(self, kind: str) -> list[str]:
        """The ids of ``kind`` this file defines (events: declared or used), in document order."""
        found = (o.name for o in self.occurrences if o.kind == kind and (o.defines or kind == EVENT))
        return list(dict.fromkeys(found))

    def node(self, pointer: str) -> Any:
        """The raw value at ``pointer`` (None if there is none)."""
        value: Any = self.doc
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(value, dict):
                value = value.get(token)
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                return None
        return value


def build_index(text: str, file: str | None = None) -> DocumentIndex:
    """The index of ``text``; an unreadable or non-mapping file gives an empty, unreadable index."""
    read = read_yaml(text, file)
    if read.fatal or not isinstance(read.value, dict):
        return DocumentIndex(file, text, {}, {}, (), (), readable=False)
    collector = _Collector(read.marks)
    collector.document(read.value)
    return DocumentIndex(file, text, read.value, read.marks, tuple(collector.found), tuple(collector.states))


class _Collector:
    """Walks the raw document once, recording each id with its span."""

    def __init__(self, marks: Mapping[str, Mark]) -> None:
        self.marks = marks
        self.found: list[Occurrence] = []
        self.states: list[StateNode] = []

    # spans
    def key(self, kind: str, name: str, pointer: str, defines: bool = False) -> None:
        mark = self.marks.get(pointer)
        if mark is not None:
            span = Span(mark.line - 1, mark.column - 1, mark.column - 1 + len(name))
            self.found.append(Occurrence(kind, name, span, pointer, defines))

    def value(self, kind: str, value: Any, pointer: str, offset: int = 0, name: str | None = None) -> None:
        """``value`` (or the part ``name`` of it at ``offset``) as an occurrence of ``kind``."""
        mark = self.marks.get(pointer)
        name = name if name is not None else value
        if mark is None or not isinstance(name, str) or not name:
            return
        line, column = value_position(mark, offset)
        self.found.append(Occurrence(kind, name, Span(line - 1, column - 1, column - 1 + len(name)), pointer))

    def values(self, kind: str, value: Any, pointer: str) -> None:
        """A name or a list of names."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.value(kind, item, f"{pointer}/{i}")
        else:
            self.value(kind, value, pointer)

    def keys(self, kind: str, value: Any, pointer: str, defines: bool = False) -> None:
        if isinstance(value, dict):
            for name in value:
                self.key(kind, name, f"{pointer}/{escape_pointer_token(name)}", defines)

    # the document
    def document(self, doc: dict[str, Any]) -> None:
        self.value(PROCESS, doc.get("id"), "/id")
        self.value(PROCESS, doc.get("extends"), "/extends")
        self.value(STATE, doc.get("initial"), "/initial")
        self.keys(ROLE, doc.get("roles"), "/roles", defines=True)
        self.keys(FIELD, doc.get("data"), "/data", defines=True)
        self.keys(EVENT, doc.get("events"), "/events", defines=True)
        self.state_tree(doc.get("states"), "/states", None)
        transitions = doc.get("transitions")
        if isinstance(transitions, list):
            for i, transition in enumerate(transitions):
                if isinstance(transition, dict):
                    self.transition(transition, f"/transitions/{i}")

    def state_tree(self, states: Any, pointer: str, parent: str | None) -> None:
        if not isinstance(states, dict):
            return
        for state_id, state in states.items():
            here = f"{pointer}/{escape_pointer_token(state_id)}"
            self.key(STATE, state_id, here, defines=True)
            self.states.append(StateNode(state_id, here, parent))
            if isinstance(state, dict):
                self.value(STATE, state.get("initial"), f"{here}/initial")
                self.value(EVENT, state.get("on_due"), f"{here}/on_due")
                self.value(EVENT, state.get("on_every"), f"{here}/on_every")
                self.keys(ITEM, state.get("checklist"), f"{here}/checklist", defines=True)
                self.state_tree(state.get("states"), f"{here}/states", state_id)

    def transition(self, t: dict[str, Any], pointer: str) -> None:
        self.transition_id(t.get("id"), f"{pointer}/id")
        self.value(EVENT, t.get("event"), f"{pointer}/event")
        self.values(STATE, t.get("from"), f"{pointer}/from")
        self.value(STATE, t.get("to"), f"{pointer}/to")
        self.values(ROLE, t.get("roles"), f"{pointer}/roles")
        self.values(ITEM, t.get("tick"), f"{pointer}/tick")
        for key in ("set", "append", "requires"):  # a list names case fields; a mapping's keys do
            given = t.get(key)
            if isinstance(given, dict):
                self.keys(FIELD, given, f"{pointer}/{key}")
            else:
                self.values(FIELD, given, f"{pointer}/{key}")
        self.keys(FIELD, t.get("values"), f"{pointer}/values")
        self.keys(ROLE, t.get("assign"), f"{pointer}/assign")
        spawn = t.get("spawn")
        if isinstance(spawn, dict):
            self.value(PROCESS, spawn.get("process"), f"{pointer}/spawn/process")
        when = t.get("when")
        if isinstance(when, str):
            for offset, name in guard_names(when):
                self.value(FIELD, when, f"{pointer}/when", offset, name)

    def transition_id(self, value: Any, pointer: str) -> None:
        """``event@first-source``: the event and the state inside a transition's id."""
        if not isinstance(value, str) or value.count("@") != 1:
            return
        event, source = value.split("@")
        if _ID_PART.match(event) and _ID_PART.match(source):
            self.value(EVENT, value, pointer, 0, event)
            self.value(STATE, value, pointer, len(event) + 1, source)


def guard_names(source: str) -> Iterator[tuple[int, str]]:
    """(offset, name) of each case data field a guard reads: not words, functions, strings or ``event.x``."""
    for m in _GUARD_TOKEN.finditer(source):
        name = m.group("name")
        if name is None or name in GUARD_WORDS:
            continue
        before = source[:m.start()].rstrip()
        after = source[m.end():].lstrip()
        if before.endswith(".") or after.startswith("("):
            continue  # a property of an object field, or a function
        yield m.start(), name
