"""Build a frozen ProcessDefinition from a read document, checking every reference.

The builder runs even when the schema found problems, so that an author sees all of them at once;
it trusts nothing about the document's shape and skips what the schema has already reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careflow.definitions.deadlines import check_deadline_events, state_deadlines
from careflow.definitions.retention import field_retention, params_retention, process_retention
from careflow.errors import Diagnostic, SourceLocation, did_you_mean, pointer_join
from careflow.model.datatypes import DATA_KINDS, DataField, DataType
from careflow.model.definition import (
    LANGUAGES,
    ChecklistItem,
    Event,
    ProcessDefinition,
    Role,
    SourceRef,
    State,
    Transition,
)
from careflow.model.durations import Duration
from careflow.model.frozen import freeze
from careflow.model.limits import LIMIT_DEFAULTS, Limits
from careflow.model.marks import Mark, SourceMap
from careflow.model.text import EMPTY_TEXT, Text
from careflow.model.values import case_data_problem, describe, finite, value_problem

# Which top-level section a reference check depends on.
_DEPENDS_ON = {"CF104": "/states", "CF113": "/states", "CF115": "/states", "CF105": "/roles", "CF119": "/roles",
               "CF108": "/data", "CF114": "/transitions", "CF401": "/data", "CF402": "/data", "CF405": "/data",
               "CF407": "/data"}


# Names that guard expressions give their own meaning.
_RESERVED_NAMES = frozenset({"now", "event", "true", "false", "null", "and", "or", "not", "in"})


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Builder:
    """One use: ``Builder(doc, marks, file).build()`` -> (definition or None, diagnostics)."""

    def __init__(self, doc: Any, marks: Mapping[str, Mark], file: str | None,
                 broken: frozenset[str] = frozenset()) -> None:
        self.doc = _d(doc)
        # Top-level sections the schema found to be of the wrong kind: references into them are
        # not reported again, since every one would be a follow-on error.
        self.blind = {code for code, section in _DEPENDS_ON.items() if section in broken}
        self.marks = marks
        self.file = file
        self.source_map = SourceMap(dict(marks), file)
        self.diagnostics: list[Diagnostic] = []
        self.language = _s(self.doc.get("language")) or "nb"
        self.states: dict[str, State] = {}
        self.state_order: list[str] = []
        self.state_pointer: dict[str, str] = {}
        self.fields: dict[str, DataField] = {}
        self.roles: dict[str, Role] = {}
        self.untyped: set[str] = set()  # data fields with a 'type' the schema refused
        self.retention: Duration | None = None  # the process's ``retention:`` (definitions/retention.py)
        # The definition as far as it could be built, even with errors: the semantic checks run on
        # the parts that errors do not touch, so that every problem is reported at once.
        self.draft: ProcessDefinition | None = None

    # -- helpers ----------------------------------------------------------------------------------

    def report(self, code: str, message: str, pointer: str, hint: str | None = None, *, value: bool = False,
               severity: str = "error") -> None:
        if code in self.blind:
            return
        loc: SourceLocation = self.source_map.locate(pointer, value=value)
        if loc.file is None and self.file is not None:
            loc = SourceLocation(self.file, loc.line, loc.column, loc.pointer)
        self.diagnostics.append(Diagnostic(code, message, loc, hint, severity))  # type: ignore[arg-type]

    def text(self, value: Any) -> Text:
        if isinstance(value, str):
            return Text.of({self.language: value}, self.language)
        if isinstance(value, dict):
            return Text.of({k: v for k, v in value.items() if k in LANGUAGES and isinstance(v, str)},
                           self.language)
        return EMPTY_TEXT

    # -- the whole document -----------------------------------------------------------------------

    def build(self) -> ProcessDefinition | None:
        doc = self.doc
        languages = tuple(x for x in _l(doc.get("languages")) if x in LANGUAGES) or (self.language,)
        if self.language not in languages:
            languages = (self.language, *languages)
        self.build_roles(_d(doc.get("roles")))
        self.build_data(_d(doc.get("data")))
        for sid, sdoc in _d(doc.get("states")).items():
            self.build_state(sid, sdoc, None, "/states")
        initial = self.top_initial(doc.get("initial"))
        events = self.build_events(_d(doc.get("events")))
        transitions = self.build_transitions(_l(doc.get("transitions")))
        check_deadline_events(self, transitions, events)
        params_retention(self, doc.get("transitions"))
        self.retention = process_retention(self, doc)
        if initial is None:
            return None
        try:
            self.draft = self.assemble(initial, languages, events, transitions)
        except (TypeError, ValueError, KeyError):  # only when the file already has errors: they say why
            return None
        return None if any(d.is_error for d in self.diagnostics) else self.draft

    def assemble(self, initial: str, languages: tuple[str, ...], events: list[Event],
                 transitions: list[Transition]) -> ProcessDefinition:
        doc = self.doc
        return ProcessDefinition(
            id=str(doc.get("id")),
            version=str(doc.get("version")),
            title=self.text(doc.get("title")),
            description=self.text(doc.get("description")),
            sources=tuple(SourceRef(str(s.get("title")), _s(s.get("ref")), _s(s.get("url")), _s(s.get("note")))
                          for s in map(_d, _l(doc.get("sources")))),
            language=self.language,
            languages=languages,
            extends=_s(doc.get("extends")),
            initial=initial,
            states=tuple(self.states[s] for s in self.state_order),
            transitions=tuple(transitions),
            roles=tuple(self.roles.values()),
            data=tuple(self.fields.values()),
            events=tuple(events),
            path=self.file,
            source_map=self.source_map,
            limits=_limits(_d(doc.get("limits"))),
            retention=self.retention,
        )

    def build_roles(self, roles: dict[str, Any]) -> None:
        for rid, rdoc in roles.items():
            rdoc = _d(rdoc)
            self.roles[rid] = Role(rid, self.text(rdoc.get("label")), self.text(rdoc.get("description")),
                                   "case" if rdoc.get("scope") == "case" else "global",
                                   pointer_join("/roles", rid))

    def data_type(self, doc: Any) -> DataType:
        doc = _d(doc)
        kind = doc.get("type") if doc.get("type") in DATA_KINDS else "string"

        def num(key: str) -> float | None:
            v = doc.get(key)
            return v if isinstance(v, int | float) and not isinstance(v, bool) else None

        def whole(key: str) -> int | None:
            v = doc.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        enum = doc.get("enum")
        return DataType(
            kind=str(kind),
            nullable=doc.get("nullable") is True,
            enum=tuple(freeze(enum)) if isinstance(enum, list) and enum else None,
            minimum=num("minimum"), maximum=num("maximum"),
            min_length=whole("minLength"), max_length=whole("maxLength"),
            format=_s(doc.get("format")) if kind == "string" else None,
            items=self.data_type(doc["items"]) if kind == "array" and isinstance(doc.get("items"), dict) else None,
            min_items=whole("minItems"), max_items=whole("maxItems"), unique_items=doc.get("uniqueItems") is True,
            properties=tuple((k, self.data_type(v)) for k, v in _d(doc.get("properties")).items()),
            required=tuple(x for x in _l(doc.get("required")) if isinstance(x, str)),
        )

    def data_field(self, name: str, doc: Any, pointer: str) -> DataField:
        doc = _d(doc)
        dtype = self.data_type(doc)
        has_default = "default" in doc
        default = doc.get("default")
        # a type the schema already refused (e.g. 'bool') would make every default a knock-on error
        if has_default and doc.get("type", "string") in DATA_KINDS:
            problem = value_problem(dtype, default) or case_data_problem(default)
            if problem:
                self.report("CF112", f"the default of '{name}' {problem}", pointer_join(pointer, "default"),
                            f"give a default that is {describe(dtype)}", value=True)
        for key in ("minimum", "maximum"):  # inf, NaN or past a float: no limit a value can be held to
            bound = doc.get(key)
            if isinstance(bound, int | float) and not isinstance(bound, bool) and not finite(bound):
                self.report("CF107", f"'{key}' of '{name}' must be a finite number, not {bound!r}",
                            pointer_join(pointer, key), "write a number, or leave the limit out", value=True)
        if dtype.enum is not None:
            for i, option in enumerate(dtype.enum):
                problem = value_problem(attrs_evolve_enumless(dtype), option)
                if problem:
                    self.report("CF107", f"enum value {i + 1} of '{name}' {problem}",
                                pointer_join(pointer, "enum", i), f"every value of 'enum' must be {describe(dtype)}",
                                value=True)
        return DataField(name, dtype, freeze(default), has_default, self.text(doc.get("label")),
                         self.text(doc.get("description")), pointer)

    def build_data(self, data: dict[str, Any]) -> None:
        for name, fdoc in data.items():
            if name in _RESERVED_NAMES:
                self.report("CF107", f"'{name}' is a reserved word in guards and cannot name a data field",
                            pointer_join("/data", name), f"rename it, e.g. '{name}_value'")
            field = self.data_field(name, fdoc, pointer_join("/data", name))
            self.fields[name] = attrs_evolve(field, retention=field_retention(self, fdoc, field.pointer))
            if _d(fdoc).get("type", "string") not in DATA_KINDS:
                self.untyped.add(name)

    # -- states -----------------------------------------------------------------------------------

    def build_state(self, sid: str, doc: Any, parent: State | None, base: str) -> None:
        pointer = pointer_join(base, sid)
        doc = _d(doc)
        if sid in self.states:
            first = self.source_map.locate(self.state_pointer[sid])
            self.report("CF111", f"state '{sid}' is defined twice", pointer,
                        f"state ids are unique in a process; the first is at line {first.line}; rename one")
            return
        path = f"{parent.path}.{sid}" if parent else sid
        children_doc = _d(doc.get("states"))
        initial = _s(doc.get("initial"))
        final = doc.get("final") is True
        if children_doc and final:
            self.report("CF116", f"compound state '{sid}' cannot be final", pointer_join(pointer, "final"),
                        "mark one of its children final instead")
        if children_doc and initial is None:
            self.report("CF115", f"compound state '{sid}' needs 'initial'", pointer,
                        f"add initial: {next(iter(children_doc))}")
        elif children_doc and initial not in children_doc:
            self.report("CF115", f"initial state '{initial}' is not a child of '{sid}'",
                        pointer_join(pointer, "initial"), did_you_mean(str(initial), children_doc, "child"),
                        value=True)
        elif not children_doc and initial is not None:
            self.report("CF115", f"state '{sid}' has 'initial' but no child states", pointer_join(pointer, "initial"),
                        "remove 'initial', or add 'states'")
        due, every = state_deadlines(self, sid, doc, pointer, final)
        checklist = tuple(
            ChecklistItem(item, self.text(_d(idoc).get("label")), pointer_join(pointer, "checklist", item))
            for item, idoc in _d(doc.get("checklist")).items())
        step = doc.get("step")
        state = State(
            id=sid, path=path, parent=parent.id if parent else None, children=tuple(children_doc),
            initial=initial if initial in children_doc else (next(iter(children_doc), None)),
            final=final and not children_doc,
            step=step if isinstance(step, int) and not isinstance(step, bool) else None,
            label=self.text(doc.get("label")), description=self.text(doc.get("description")),
            due=due, checklist=checklist, pointer=pointer, every=every)
        self.states[sid] = state
        self.state_order.append(sid)
        self.state_pointer[sid] = pointer
        for cid, cdoc in children_doc.items():
            self.build_state(cid, cdoc, state, pointer_join(pointer, "states"))
        # a duplicate child was skipped: keep children consistent with what exists
        kept = tuple(c for c in state.children if self.states.get(c) is not None
                     and self.states[c].parent == sid)
        if kept != state.children:
            self.states[sid] = State(**{**_asdict(state), "children": kept})

    def top_initial(self, initial: Any) -> str | None:
        top = [s for s in self.state_order if self.states[s].parent is None]
        if not isinstance(initial, str):
            return None  # the schema reported it
        if initial not in top:
            inner = initial in self.states
            self.report("CF115", f"initial state '{initial}' is not a top-level state", "/initial",
                        (f"name its top-level state '{self.states[initial].path.split('.')[0]}' instead"
                         if inner else did_you_mean(initial, top, "state")), value=True)
            return None
        return initial

    def ref(self, name: Any, pointer: str) -> str | None:
        """A state reference: an id, or a dotted path that ends in one."""
        if not isinstance(name, str):
            return None
        sid = name.rsplit(".", 1)[-1]
        if sid in self.states and (sid == name or self.states[sid].path.endswith(name)):
            return sid
        self.report("CF104", f"unknown state '{name}'", pointer, did_you_mean(sid, self.states, "state"),
                    value=True)
        return None

    # -- events and transitions -------------------------------------------------------------------

    def build_events(self, events: dict[str, Any]) -> list[Event]:
        return [Event(eid, self.text(_d(edoc).get("label")), self.text(_d(edoc).get("description")),
                      pointer_join("/events", eid)) for eid, edoc in events.items()]

    def build_transitions(self, items: list[Any]) -> list[Transition]:
        from careflow.definitions.transition_builder import TransitionBuilder

        ids: dict[str, int] = {}
        built = (TransitionBuilder(self, index, _d(raw), ids).build() for index, raw in enumerate(items))
        return [t for t in built if t is not None]


    # -- structure helpers (before the definition exists) -----------------------------------------

    def ancestors(self, sid: str) -> list[str]:
        out, parent = [], self.states[sid].parent
        while parent is not None:
            out.append(parent)
            parent = self.states[parent].parent
        return out

    def descendants(self, sid: str) -> list[str]:
        out, stack = [], list(self.states[sid].children)
        while stack:
            c = stack.pop()
            if c in self.states:
                out.append(c)
                stack.extend(self.states[c].children)
        return out


def _asdict(state: State) -> dict[str, Any]:
    import attrs

    return attrs.asdict(state, recurse=False)


def attrs_evolve_enumless(dtype: DataType) -> DataType:
    evolved: DataType = attrs_evolve(dtype, enum=None)
    return evolved


def attrs_evolve(value: Any, **changes: Any) -> Any:
    import attrs

    return attrs.evolve(value, **changes)


def scope_fields(process: ProcessDefinition, transition: Transition) -> dict[str, DataType]:
    """The event data a transition takes, with types: params, set/append sources and assign fields."""
    fields: dict[str, DataType] = {f.name: f.type for f in transition.params}
    for target, source in transition.set:
        fields[source] = process.field(target).type
    for target, source in transition.append:
        items = process.field(target).type.items
        fields[source] = items if items is not None else DataType("string")
    for _, source in transition.assign:
        fields[source] = DataType("string", min_length=1)
    return fields


def _limits(doc: dict[str, Any]) -> Limits:
    """``limits:``; the schema holds each to a whole number from 1 to its default (others are ignored here)."""
    return Limits(**{k: v for k, v in doc.items()
                     if k in LIMIT_DEFAULTS and type(v) is int and 1 <= v <= LIMIT_DEFAULTS[k]})

