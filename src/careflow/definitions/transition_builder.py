"""Build one Transition from its document, checking every name it uses (part of the builder)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from careflow.definitions.builder import _d, _l, _s
from careflow.errors import did_you_mean, pointer_join
from careflow.model.datatypes import DataField, DataType
from careflow.model.definition import SYSTEM_ROLE, Expression, Report, Spawn, Transition
from careflow.model.frozen import freeze
from careflow.model.values import describe, value_problem

if TYPE_CHECKING:
    from careflow.definitions.builder import Builder

#: a ``set`` value that is one name is the event field of that name; anything else is an expression
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TransitionBuilder:
    """One use: ``TransitionBuilder(builder, index, doc, ids).build()``."""

    def __init__(self, builder: Builder, index: int, doc: dict[str, Any], ids: dict[str, int]) -> None:
        self.b = builder
        self.index = index
        self.doc = doc
        self.ids = ids  # transition id -> the line it was first used on
        self.pointer = pointer_join("/transitions", index)
        self.event_fields: dict[str, DataType] = {}  # event data this transition takes, with types

    def at(self, *tokens: str | int) -> str:
        return pointer_join(self.pointer, *tokens)

    def build(self) -> Transition | None:
        doc = self.doc
        event = _s(doc.get("event"))
        if event is None:
            return None  # the schema reported it
        sources = self.sources()
        target = self.target(event)
        roles = self.roles()
        params = {n: self.b.data_field(n, f, self.at("params", n)) for n, f in _d(doc.get("params")).items()}
        self.event_fields.update({n: f.type for n, f in params.items()})
        sets, appends = self.field_updates()
        values = self.values()
        assigns = self.assigns()
        requires = self.requires()
        computed = self.computed()
        ticks = self.ticks(sources)
        spawn = self.spawn()
        report = self.report()
        when = None
        if isinstance(doc.get("when"), str):
            when = Expression(doc["when"], self.at("when"))
            self.compile_when(when, self.event_fields)
        tid = self.transition_id(event, sources)
        if not sources:
            return None
        return Transition(
            index=self.index, id=tid, event=event, sources=tuple(sources), target=target, roles=tuple(roles),
            when=when, guard=_s(doc.get("guard")), requires=tuple(requires), params=tuple(params.values()),
            set=tuple(sets), compute=tuple(computed), append=tuple(appends), values=tuple(values),
            assign=tuple(assigns), tick=tuple(ticks), spawn=spawn, report=report,
            skip_checklist=doc.get("skip_checklist") is True,
            kind=_s(doc.get("kind")), label=self.b.text(doc.get("label")),
            description=self.b.text(doc.get("description")), pointer=self.pointer)

    # -- where from, where to, who ----------------------------------------------------------------

    def sources(self) -> list[str]:
        raw = self.doc.get("from")
        names = [raw] if isinstance(raw, str) else _l(raw)
        out = []
        for i, name in enumerate(names):
            sid = self.b.ref(name, self.at("from") if isinstance(raw, str) else self.at("from", i))
            if sid is not None:
                out.append(sid)
        for sid in out:
            if self.b.states[sid].final:
                self.b.report("CF116", f"final state '{sid}' cannot have outgoing transitions", self.at("from"),
                              "remove the transition or make the state non-final")
        return out

    def target(self, event: str) -> str | None:
        doc = self.doc
        internal = doc.get("internal") is True
        if doc.get("remove") is not None:
            self.b.report("CF107", "'remove' is only meaningful in a file that 'extends' another", self.at("remove"),
                          "delete the transition instead of marking it 'remove'")
        if "to" in doc and internal:
            self.b.report("CF107", "an internal transition stays in its state and cannot have 'to'", self.at("to"),
                          "remove 'to', or remove 'internal: true'")
        elif "to" in doc:
            return self.b.ref(doc.get("to"), self.at("to"))
        elif not internal:
            self.b.report("CF102", f"transition {self.index + 1} (event '{event}') needs 'to' or 'internal: true'",
                          self.pointer, "add to: <state id>, or internal: true to stay in the same state")
        return None

    def roles(self) -> list[str]:
        out = []
        known = [*self.b.roles, SYSTEM_ROLE]
        for i, rid in enumerate(_l(self.doc.get("roles"))):
            if not isinstance(rid, str):
                continue  # the schema reported it
            if rid in known:
                out.append(rid)
            else:
                self.b.report("CF105", f"unknown role '{rid}'", self.at("roles", i),
                              did_you_mean(rid, known, "role") or "declare it under 'roles:'", value=True)
        return out

    def compile_when(self, when: Expression, event_fields: dict[str, DataType], field: DataType | None = None
                     ) -> None:
        """Check a guard, or (``field`` given) a computed ``set`` value for a field of that type."""
        from careflow.definitions.expression_types import ANY
        from careflow.definitions.expressions import Scope, compile_guard, compile_value

        # a field whose type the schema refused is checked as "any": its uses are not knock-on errors
        scope = Scope(data={n: ANY if n in self.b.untyped else f.type for n, f in self.b.fields.items()},
                      event=dict(event_fields))
        if "CF402" in self.b.blind:
            return
        mark = self.b.source_map.get(when.pointer)
        if field is None:
            problems = compile_guard(when.source, scope, pointer=when.pointer, mark=mark, file=self.b.file)[1]
        else:
            problems = compile_value(when.source, scope, field, pointer=when.pointer, mark=mark, file=self.b.file)[1]
        self.b.diagnostics.extend(problems)

    # -- what it changes --------------------------------------------------------------------------

    def field_pairs(self, key: str) -> list[tuple[str, str, str]]:
        """``set``/``append``/``spawn.data``/``report.data``: a list of names or a mapping -> (target, source,
        pointer)."""
        nested = key in ("spawn", "report")
        value = _d(self.doc.get(key)).get("data") if nested else self.doc.get(key)
        base = self.at(key, "data") if nested else self.at(key)
        if isinstance(value, list):
            return [(v, v, pointer_join(base, i)) for i, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, dict):
            return [(k, v, pointer_join(base, k)) for k, v in value.items() if isinstance(v, str)]
        return []

    def case_field(self, name: str, pointer: str, what: str) -> DataField | None:
        if name in self.b.fields:
            return self.b.fields[name]
        self.b.report("CF108", f"{what} names '{name}', which is not a declared data field", pointer,
                      did_you_mean(name, self.b.fields, "data field") or "declare it under 'data:'", value=True)
        return None

    def field_updates(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        sets = []
        self.to_compute: list[tuple[str, Expression]] = []
        for target, source, p in self.field_pairs("set"):
            field = self.case_field(target, p, "'set'")
            if field is not None and not _NAME.fullmatch(source):  # an expression: computed (see ``computed``)
                self.to_compute.append((target, Expression(source, p)))
            elif field is not None:
                sets.append((target, source))
                self.event_fields[source] = field.type
        appends = []
        for target, source, p in self.field_pairs("append"):
            field = self.case_field(target, p, "'append'")
            if field is None:
                continue
            if field.type.kind != "array" or field.type.items is None:
                self.b.report("CF101", f"'append' needs a list field with 'items', and '{target}' is "
                              f"{describe(field.type)}", p, "use 'set' to replace a value", value=True)
                continue
            appends.append((target, source))
            self.event_fields[source] = field.type.items
        return sets, appends

    def computed(self) -> list[tuple[str, Expression]]:
        """``set`` values that are expressions, type-checked against their fields once every event field
        of the transition is known."""
        for target, expression in self.to_compute:
            self.compile_when(expression, self.event_fields, self.b.fields[target].type)
        return self.to_compute

    def values(self) -> list[tuple[str, Any]]:
        out = []
        for name, value in _d(self.doc.get("values")).items():
            p = self.at("values", name)
            field = self.case_field(name, p, "'values'")
            if field is None:
                continue
            problem = value_problem(field.type, value)
            if problem:
                self.b.report("CF101", f"the value for '{name}' {problem}", p,
                              f"give a value that is {describe(field.type)}; yes/no are text: write true or false",
                              value=True)
            else:
                out.append((name, freeze(value)))
        return out

    def assigns(self) -> list[tuple[str, str]]:
        out = []
        for role_id, source in _d(self.doc.get("assign")).items():
            p = self.at("assign", role_id)
            if isinstance(source, str):  # event data even when the role is wrong: no follow-on errors
                self.event_fields[source] = DataType("string", min_length=1)
            if role_id not in self.b.roles:
                self.b.report("CF105", f"unknown role '{role_id}' in 'assign'", p,
                              did_you_mean(role_id, self.b.roles, "role") or "declare it with scope: case")
            elif self.b.roles[role_id].scope != "case":
                self.b.report("CF119", f"role '{role_id}' is global, so it cannot be assigned per case", p,
                              f"declare it with scope: case under roles: {role_id}")
            elif isinstance(source, str):
                out.append((role_id, source))
        return out

    def requires(self) -> list[str]:
        out = []
        for i, name in enumerate(_l(self.doc.get("requires"))):
            if not isinstance(name, str):
                continue
            if name in self.event_fields:
                out.append(name)
            else:
                self.b.report("CF108", f"'requires' names '{name}', which this transition does not take",
                              self.at("requires", i), did_you_mean(name, self.event_fields, "event field")
                              or "add it to 'set', 'append', 'assign' or 'params'", value=True)
        return out

    def ticks(self, sources: list[str]) -> list[str]:
        # items of the source states, their ancestors (still inside) and their descendants (the current leaf)
        scope = {item.id for s in sources for a in (s, *self.b.ancestors(s), *self.b.descendants(s))
                 for item in self.b.states[a].checklist}
        out = []
        for i, item in enumerate(_l(self.doc.get("tick"))):
            if not isinstance(item, str):
                continue
            if item in scope:
                out.append(item)
            else:
                self.b.report("CF113", f"'{item}' is not a checklist item of the state(s) this transition is from",
                              self.at("tick", i), did_you_mean(item, scope, "item"), value=True)
        return out

    def spawn(self) -> Spawn | None:
        sdoc = _d(self.doc.get("spawn"))
        process = _s(sdoc.get("process"))
        if process is None:
            return None
        pairs = [(target, source) for target, source, p in self.field_pairs("spawn")
                 if self.case_field(source, p, "'spawn'") is not None]
        return Spawn(process, tuple(pairs), self.b.text(sdoc.get("label")), self.at("spawn"), _s(sdoc.get("start")))

    def report(self) -> Report | None:
        rdoc = _d(self.doc.get("report"))
        event = _s(rdoc.get("event"))
        if event is None:
            return None
        pairs = [(target, source) for target, source, p in self.field_pairs("report")
                 if self.case_field(source, p, "'report'") is not None]
        to = tuple(p for p in _l(rdoc.get("to")) if isinstance(p, str))
        return Report(event, tuple(pairs), to, self.at("report"))

    def transition_id(self, event: str, sources: list[str]) -> str:
        tid = _s(self.doc.get("id"))
        line = self.b.source_map.locate(self.pointer).line or 0
        if tid is None:
            base = f"{event}@{sources[0] if sources else '?'}"
            tid, n = base, 2
            while tid in self.ids:  # several guarded transitions of one event from one state
                tid, n = f"{base}#{n}", n + 1
        elif tid in self.ids:
            self.b.report("CF117", f"transition id '{tid}' is used twice", self.at("id"),
                          f"the first is on line {self.ids[tid]}; ids must be unique", value=True)
        self.ids.setdefault(tid, line)
        return tid
