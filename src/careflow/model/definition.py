"""Frozen definitions: a process, its states, transitions, roles, data fields and labels.

Values only: no I/O, no YAML, no graph library. The loader builds these once; everything
else reads them. Every element keeps the JSON pointer it came from, so later checks can
point back into the author's file through ``ProcessDefinition.source_map``.
"""

from __future__ import annotations

from typing import Any

import attrs

from careflow.model.datatypes import DataField
from careflow.model.durations import Duration
from careflow.model.limits import DEFAULT_LIMITS, Limits
from careflow.model.marks import SourceMap
from careflow.model.text import EMPTY_TEXT, Text

LANGUAGES: tuple[str, ...] = ("nn", "nb", "en", "sv")
FORMAT_VERSION = 1
SYSTEM_ROLE = "system"
SYSTEM_ACTOR = "system"


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
class Recurrence:
    """``every``: a deadline that recurs while the case stays in the state. Occurrence ``k`` (from 1) falls
    at entry + ``k`` × ``period`` in calendar arithmetic, anchored on the entry so month ends do not drift;
    ``event`` is raised for it. ``until`` (a duration from the entry) and ``count`` end the series."""

    period: Duration
    event: str
    until: Duration | None = None
    count: int | None = None
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
    every: Recurrence | None = None

    @property
    def compound(self) -> bool:
        return bool(self.children)


@attrs.frozen
class Spawn:
    """A handoff: open a linked case in ``process``, carrying ``data`` (target field <- source field),
    starting in state ``start`` (None: the child's ``initial``)."""

    process: str
    data: tuple[tuple[str, str], ...] = ()
    label: Text = EMPTY_TEXT
    pointer: str = ""
    start: str | None = None


@attrs.frozen
class Report:
    """A report back: when the transition fires in a case a handoff opened, ``event`` is fired in the
    parent case (as ``system``), with ``data`` (parent event field <- this case's data field). ``to``
    names the parent processes it is for (empty: any parent)."""

    event: str
    data: tuple[tuple[str, str], ...] = ()
    to: tuple[str, ...] = ()
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
    compute: tuple[tuple[str, Expression], ...] = ()  # (case field, expression): a computed ``set`` value
    append: tuple[tuple[str, str], ...] = ()  # (case array field, event field): append one item
    values: tuple[tuple[str, Any], ...] = ()  # (case field, fixed frozen value): e.g. a flag set to true
    assign: tuple[tuple[str, str], ...] = ()  # (case-scoped role, event field with the person id)
    tick: tuple[str, ...] = ()  # checklist items this transition ticks
    spawn: Spawn | None = None
    report: Report | None = None
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
    limits: Limits = DEFAULT_LIMITS  # what its cases accept from callers (``limits:``; docs/limits.md)
    #: How long a closed case's data is kept, counted from closing (``retention:``; docs/records.md).
    retention: Duration | None = None
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
                self.sources, self.extends, self.format, self.limits, self.retention)

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

    def retention_of(self, key: str) -> Duration | None:
        """How long values of ``key`` are kept after closing: the data field's own ``retention``, else the
        process's (None: kept; a key that is not a data field, e.g. event data, follows the process)."""
        field = self._data_index.get(key)
        return field.retention if field is not None and field.retention is not None else self.retention

    def event(self, event_id: str) -> Event:
        return self._event_index.get(event_id) or Event(event_id)

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    # structure
    @property
    def deadline_events(self) -> frozenset[str]:
        """The events the deadline clock raises: every ``on_due`` and ``on_every``."""
        return frozenset({s.due.event for s in self.states if s.due and s.due.event}
                         | {s.every.event for s in self.states if s.every})

    @property
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

    @property
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

    @property
    def final_states(self) -> tuple[State, ...]:
        return tuple(s for s in self.states if s.final)

    @property
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
