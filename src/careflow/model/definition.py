"""Frozen definitions: a process, its states, transitions, roles, data fields and labels.

Values only: no I/O, no YAML, no graph library. The loader builds these once; everything
else reads them. Every element keeps the JSON pointer it came from, so later checks can
point back into the author's file through ``ProcessDefinition.source_map``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, NamedTuple

import attrs

from careflow.errors import SourceLocation

LANGUAGES: tuple[str, ...] = ("nn", "nb", "en", "sv")
FORMAT_VERSION = 1
SYSTEM_ROLE = "system"
SYSTEM_ACTOR = "system"


# -- immutable JSON values ------------------------------------------------------------------------


class FrozenMap(Mapping[str, Any]):
    """An immutable, hashable mapping (for defaults and other JSON values inside definitions)."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items: dict[str, Any] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._items.items())))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


def freeze(value: Any) -> Any:
    """JSON value -> immutable equivalent (dict -> FrozenMap, list -> tuple)."""
    if isinstance(value, Mapping):
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Immutable JSON value -> fresh mutable copy (FrozenMap -> dict, tuple -> list)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


# -- labels ---------------------------------------------------------------------------------------


@attrs.frozen
class Text:
    """A text in several languages. ``get`` falls back to the default, then to any text."""

    by_language: tuple[tuple[str, str], ...] = ()
    default_language: str = "nb"

    @classmethod
    def of(cls, texts: Mapping[str, str], default_language: str = "nb") -> Text:
        return cls(tuple(sorted(texts.items())), default_language)

    def get(self, language: str | None = None) -> str:
        found = dict(self.by_language)
        for lang in (language, self.default_language):
            if lang and lang in found:
                return found[lang]
        return next(iter(found.values()), "")

    def has(self, language: str) -> bool:
        return any(lang == language for lang, _ in self.by_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.by_language)

    def __bool__(self) -> bool:
        return bool(self.by_language)


EMPTY_TEXT = Text()


# -- durations ------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@attrs.frozen
class Duration:
    """An ISO-8601 duration such as ``P14D`` or ``P1M2W``. Years and months are calendar units."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0  # weeks are folded into days
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration | None:
        """The duration, or None when ``text`` is not an ISO-8601 duration we support."""
        m = _DURATION.match(text) if isinstance(text, str) else None
        if not m:
            return None
        g = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
        return cls(
            text,
            years=g["years"],
            months=g["months"],
            days=g["weeks"] * 7 + g["days"],
            seconds=g["hours"] * 3600 + g["minutes"] * 60 + g["seconds"],
        )

    @property
    def fixed(self) -> timedelta:
        """The part without calendar units."""
        return timedelta(days=self.days, seconds=self.seconds)

    def short(self) -> str:
        """A compact human form for diagrams: '14 d', '2 mo', '3 h'."""
        parts = []
        for value, unit in ((self.years, "y"), (self.months, "mo"), (self.days, "d")):
            if value:
                parts.append(f"{value} {unit}")
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            if h:
                parts.append(f"{h} h")
            if rest:
                parts.append(f"{rest // 60} min")
        return " ".join(parts) or "0 d"


# -- data -----------------------------------------------------------------------------------------

DATA_KINDS: tuple[str, ...] = ("boolean", "integer", "number", "string", "array", "object")
STRING_FORMATS: tuple[str, ...] = ("date", "date-time")


@attrs.frozen
class DataType:
    """The supported subset of JSON Schema for case and event data."""

    kind: str  # one of DATA_KINDS
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None  # for strings: "date" or "date-time"
    items: DataType | None = None  # for arrays
    min_items: int | None = None
    max_items: int | None = None
    properties: tuple[tuple[str, DataType], ...] = ()  # for objects
    required: tuple[str, ...] = ()

    def property(self, name: str) -> DataType | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None

    def describe(self) -> str:
        base = self.kind
        if self.kind == "string" and self.format:
            base = self.format
        if self.kind == "array" and self.items is not None:
            base = f"array of {self.items.describe()}"
        return base + (" or null" if self.nullable else "")


@attrs.frozen
class DataField:
    """A declared case data field or event parameter."""

    name: str
    type: DataType
    default: Any = None  # frozen JSON value; None means "not set"
    has_default: bool = False
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    pointer: str = ""


# -- roles, states, transitions -------------------------------------------------------------------


@attrs.frozen
class Role:
    """A role. ``scope == "case"`` roles are held per case (the stafettholder, the coordinator)."""

    id: str
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    scope: str = "global"  # "global" | "case"
    pointer: str = ""


@attrs.frozen
class ChecklistItem:
    id: str
    label: Text = EMPTY_TEXT
    pointer: str = ""


@attrs.frozen
class Deadline:
    """``due``: counted from entering the state; ``event`` is raised when it is missed."""

    duration: Duration
    event: str | None = None
    pointer: str = ""


@attrs.frozen
class State:
    """A state. Compound states have ``children`` and an ``initial`` child; ids are unique per process."""

    id: str
    path: str  # dotted, from the root: "level_1.l1_consent"
    parent: str | None = None
    children: tuple[str, ...] = ()
    initial: str | None = None
    final: bool = False
    step: int | None = None
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    due: Deadline | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    pointer: str = ""

    @property
    def compound(self) -> bool:
        return bool(self.children)


@attrs.frozen
class Spawn:
    """A handoff: open a linked case in ``process``, carrying ``data`` (target field <- source field)."""

    process: str
    data: tuple[tuple[str, str], ...] = ()
    label: Text = EMPTY_TEXT
    pointer: str = ""


@attrs.frozen
class Expression:
    """A guard expression as written; ``pointer`` locates it in the source map."""

    source: str
    pointer: str = ""


@attrs.frozen
class Transition:
    """One transition. ``target is None`` for internal transitions (stay, update data, tick items)."""

    index: int
    id: str
    event: str
    sources: tuple[str, ...]  # state ids (compound = any state inside)
    target: str | None = None
    roles: tuple[str, ...] = ()  # empty: any actor
    when: Expression | None = None
    guard: str | None = None  # name of a registered Python guard
    requires: tuple[str, ...] = ()  # event data that must be supplied
    params: tuple[DataField, ...] = ()  # event data declared only for this event
    set: tuple[tuple[str, str], ...] = ()  # (case field, event field): replace
    append: tuple[tuple[str, str], ...] = ()  # (case array field, event field): append one item
    values: tuple[tuple[str, Any], ...] = ()  # (case field, fixed frozen value): e.g. a flag set to true
    assign: tuple[tuple[str, str], ...] = ()  # (case-scoped role, event field with the person id)
    tick: tuple[str, ...] = ()  # checklist items this transition ticks
    spawn: Spawn | None = None
    skip_checklist: bool = False
    kind: str | None = None  # rendering hint: forward | back | exit | escalate | internal
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    pointer: str = ""

    @property
    def internal(self) -> bool:
        return self.target is None


@attrs.frozen
class Event:
    """An event's name and labels (declared under ``events:`` or taken from a transition)."""

    id: str
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    pointer: str = ""


@attrs.frozen
class SourceRef:
    title: str
    ref: str | None = None
    url: str | None = None
    note: str | None = None


# -- source positions -----------------------------------------------------------------------------


class Mark(NamedTuple):
    """Where a JSON pointer's key and value start in a file (1-based lines and columns).

    A NamedTuple, not an attrs class: the YAML reader makes one per node, and this is the
    cheapest immutable record to build.
    """

    file: str | None
    line: int
    column: int
    value_line: int
    value_column: int
    style: str | None = None  # scalar style of the value: None (plain), "'", '"', "|", ">"
    # The value's source text, kept only where it differs from the value (quoted, folded or
    # multi-line scalars), so that a column inside the value can be found in the file.
    raw: str | None = None


@attrs.frozen(eq=False)
class SourceMap:
    """JSON pointer -> Mark, for every node of the document(s) a definition came from."""

    marks: Mapping[str, Mark] = attrs.field(factory=dict)
    file: str | None = None

    def get(self, pointer: str) -> Mark | None:
        """The mark of ``pointer``, or of its nearest ancestor that has one."""
        p = pointer
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return None
            p = p.rsplit("/", 1)[0]

    def locate(self, pointer: str, value: bool = False) -> SourceLocation:
        """A SourceLocation for ``pointer``: its key's position, or its value's with ``value=True``."""
        mark = self.get(pointer)
        if mark is None:
            return SourceLocation(self.file, None, None, pointer)
        if value:
            return SourceLocation(mark.file, mark.value_line, mark.value_column, pointer)
        return SourceLocation(mark.file, mark.line, mark.column, pointer)


# -- the process ----------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class ProcessDefinition:
    """A whole process. Built once by the loader; never mutated."""

    id: str
    version: str
    title: Text
    language: str
    languages: tuple[str, ...]
    initial: str  # id of the root's initial state
    states: tuple[State, ...]  # every state, depth first in document order
    transitions: tuple[Transition, ...]
    roles: tuple[Role, ...] = ()
    data: tuple[DataField, ...] = ()
    events: tuple[Event, ...] = ()
    description: Text = EMPTY_TEXT
    sources: tuple[SourceRef, ...] = ()
    extends: str | None = None
    format: int = FORMAT_VERSION
    path: str | None = None  # the file it was loaded from, if any
    source_map: SourceMap = attrs.field(factory=SourceMap, repr=False)
    _state_index: dict[str, State] = attrs.field(init=False, repr=False)
    _role_index: dict[str, Role] = attrs.field(init=False, repr=False)
    _data_index: dict[str, DataField] = attrs.field(init=False, repr=False)
    _event_index: dict[str, Event] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_state_index", {s.id: s for s in self.states})
        object.__setattr__(self, "_role_index", {r.id: r for r in self.roles})
        object.__setattr__(self, "_data_index", {f.name: f for f in self.data})
        object.__setattr__(self, "_event_index", {e.id: e for e in self.events})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProcessDefinition):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (self.id, self.version, self.title, self.language, self.languages, self.initial,
                self.states, self.transitions, self.roles, self.data, self.events, self.description,
                self.sources, self.extends, self.format)

    # lookups
    def state(self, state_id: str) -> State:
        return self._state_index[state_id]

    def has_state(self, state_id: str) -> bool:
        return state_id in self._state_index

    def role(self, role_id: str) -> Role:
        return self._role_index[role_id]

    def has_role(self, role_id: str) -> bool:
        return role_id in self._role_index

    def field(self, name: str) -> DataField:
        return self._data_index[name]

    def has_field(self, name: str) -> bool:
        return name in self._data_index

    def event(self, event_id: str) -> Event:
        return self._event_index.get(event_id) or Event(event_id)

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    # structure
    def top_level(self) -> tuple[State, ...]:
        return tuple(s for s in self.states if s.parent is None)

    def children(self, state_id: str) -> tuple[State, ...]:
        return tuple(self._state_index[c] for c in self._state_index[state_id].children)

    def ancestors(self, state_id: str) -> tuple[str, ...]:
        """The state's ancestors, nearest first (not including itself)."""
        out = []
        parent = self._state_index[state_id].parent
        while parent is not None:
            out.append(parent)
            parent = self._state_index[parent].parent
        return tuple(out)

    def leaves(self) -> tuple[State, ...]:
        return tuple(s for s in self.states if not s.children)

    def descendants(self, state_id: str) -> tuple[str, ...]:
        """Every state inside ``state_id`` (not itself), depth first."""
        out: list[str] = []
        stack = list(reversed(self._state_index[state_id].children))
        while stack:
            sid = stack.pop()
            out.append(sid)
            stack.extend(reversed(self._state_index[sid].children))
        return tuple(out)

    def resolve_entry(self, state_id: str) -> str:
        """The leaf entered when ``state_id`` is entered (following initial children)."""
        state = self._state_index[state_id]
        while state.children:
            state = self._state_index[state.initial or state.children[0]]
        return state.id

    @property
    def initial_leaf(self) -> str:
        return self.resolve_entry(self.initial)

    def final_states(self) -> tuple[State, ...]:
        return tuple(s for s in self.states if s.final)

    def case_roles(self) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.scope == "case")

    def label(self, element: State | Role | Event | Transition | ChecklistItem, language: str | None = None
              ) -> str:
        """The element's label in ``language`` (or the default), falling back to its id or event."""
        text = element.label.get(language or self.language) if element.label else ""
        if text:
            return text
        if isinstance(element, Transition):
            return self.event(element.event).label.get(language or self.language) or element.event
        return element.id
