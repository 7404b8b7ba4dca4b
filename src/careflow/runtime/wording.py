"""A refusal in the words a case worker reads: the process's own labels, in the requested language.

``worded`` turns a ``Refusal`` (data, with English reasons for logs and developers) into one or two
sentences in nn, nb or en (other languages read the English sentence around their own labels):
which step an event belongs to and what must happen first, which roles may do it, which items are
still open, which data is missing. It is pure: the same refusal always reads the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from careflow.errors import Refusal
from careflow.errors.refusals import pick
from careflow.model.definition import SYSTEM_ROLE
from careflow.runtime.compiled import Actor, CompiledProcess

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "q": "“{}”", "step": "step {}", "or": " or ", "none": "no role here", "yes": "yes", "no": "no",
        "system": "the system (a deadline)",
        "unset": "not recorded",
        "not_yet": "{event} is not possible yet: it comes at {where}. First: {first}.",
        "not_here": "{event} is not possible at {here}, and this case cannot get there from here.",
        "possible": " Possible here: {possible}.",
        "closed": "The case is closed ({here}): nothing more can be done in it.",
        "role": "Only {roles} can do {event}; you have {mine}.",
        "guard": "{event} is not possible now: {why}.",
        "missing": "{event} needs: {fields}.",
        "checklist": "{event} would leave these items at {here} open: {items}.",
        "invalid": "The data for {event} was not accepted: {detail}.",
        "other": "{event} was not accepted: {detail}.",
    },
    "nn": {
        "q": "«{}»", "step": "steg {}", "or": " eller ", "none": "inga rolle her", "yes": "ja", "no": "nei",
        "system": "systemet (ein frist)",
        "unset": "ikkje registrert",
        "not_yet": "{event} er ikkje mogleg enno: det kjem i {where}. Først: {first}.",
        "not_here": "{event} er ikkje mogleg i {here}, og saka kan ikkje kome dit herifrå.",
        "possible": " Mogleg her: {possible}.",
        "closed": "Saka er avslutta ({here}): ingenting meir kan gjerast i ho.",
        "role": "Berre {roles} kan gjere {event}; du har {mine}.",
        "guard": "{event} er ikkje mogleg no: {why}.",
        "missing": "{event} treng: {fields}.",
        "checklist": "{event} ville la desse punkta i {here} stå opne: {items}.",
        "invalid": "Opplysningane til {event} vart ikkje godtekne: {detail}.",
        "other": "{event} vart ikkje godteken: {detail}.",
    },
    "nb": {
        "q": "«{}»", "step": "trinn {}", "or": " eller ", "none": "ingen rolle her", "yes": "ja", "no": "nei",
        "system": "systemet (en frist)",
        "unset": "ikke registrert",
        "not_yet": "{event} er ikke mulig ennå: det kommer i {where}. Først: {first}.",
        "not_here": "{event} er ikke mulig i {here}, og saken kan ikke komme dit herfra.",
        "possible": " Mulig her: {possible}.",
        "closed": "Saken er avsluttet ({here}): ingenting mer kan gjøres i den.",
        "role": "Bare {roles} kan gjøre {event}; du har {mine}.",
        "guard": "{event} er ikke mulig nå: {why}.",
        "missing": "{event} trenger: {fields}.",
        "checklist": "{event} ville latt disse punktene i {here} stå åpne: {items}.",
        "invalid": "Opplysningene til {event} ble ikke godtatt: {detail}.",
        "other": "{event} ble ikke godtatt: {detail}.",
    },
}
_FIELD_REASON = re.compile(r"^([a-z][a-z0-9_]*) is (false|true|not set)$")


class _Words:
    """The labels of one process in one language."""

    def __init__(self, compiled: CompiledProcess, lang: str | None) -> None:
        self.process = compiled.process
        self.lang = lang or self.process.language
        self.p = _PHRASES.get(self.lang, _PHRASES["en"])

    def q(self, text: str) -> str:
        return self.p["q"].format(text)

    def event(self, event: str) -> str:
        e = self.process.event(event)
        if e.label:
            return self.q(e.label.get(self.lang))
        labelled = next((t for t in self.process.transitions if t.event == event and t.label), None)
        return self.q(labelled.label.get(self.lang) if labelled is not None else event)

    def state(self, leaf: str, quoted: bool = True) -> str:
        s = self.process.state(leaf)
        label = s.label.get(self.lang) if s.label else leaf
        text = self.q(label) if quoted else _task(label)
        return f"{text} ({self.p['step'].format(s.step)})" if s.step is not None else text

    def where(self, leaf: str) -> str:
        s = self.process.state(leaf)
        label = self.q(s.label.get(self.lang) if s.label else leaf)
        return f"{self.p['step'].format(s.step)}, {label}" if s.step is not None else label

    def role(self, role: str) -> str:
        if role == SYSTEM_ROLE:
            return self.p["system"]
        has = self.process.has_role(role) and self.process.role(role).label
        return self.q(self.process.role(role).label.get(self.lang)) if has else role

    def field(self, name: str) -> str:
        if self.process.has_field(name) and self.process.field(name).label:
            return self.q(self.process.field(name).label.get(self.lang))
        for t in self.process.transitions:
            for param in t.params:
                if param.name == name and param.label:
                    return self.q(param.label.get(self.lang))
            for target, source in (*t.set, *t.append):
                if source == name:
                    return self.field(target) if target != name else name
        return name

    def listed(self, items: Iterable[str], word: str = "and") -> str:
        values = list(items)
        if word == "or" and len(values) > 1:
            return ", ".join(values[:-1]) + self.p["or"] + values[-1]
        return ", ".join(values)

    def why(self, reason: str) -> str:
        found = _FIELD_REASON.match(reason)
        if found is None or not self.process.has_field(found.group(1)):
            return reason
        value = {"false": self.p["no"], "true": self.p["yes"], "not set": self.p["unset"]}[found.group(2)]
        return f"{self.field(found.group(1))}: {value}"


def _task(label: str) -> str:
    """A step's label as the rest of a sentence: 'Share the concern …' -> 'share the concern …'."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def worded(compiled: CompiledProcess, leaf: str, event: str, refusal: Refusal, actor: Actor,
           lang: str | None = None) -> str:
    """``refusal`` of ``event`` by ``actor`` in a case at ``leaf``, in ``lang`` (default: the process's)."""
    w = _Words(compiled, lang)
    p, code = w.p, refusal.code
    name = w.event(event)
    if code == "event-not-allowed":
        if refusal.first is not None and refusal.where is not None:
            text = p["not_yet"].format(event=name, where=w.where(refusal.where), first=w.state(leaf, quoted=False))
        else:
            text = p["not_here"].format(event=name, here=w.state(leaf))
        if refusal.possible:
            text += p["possible"].format(possible=w.listed(w.event(e) for e in refusal.possible))
        return text
    if code == "case-closed":
        return p["closed"].format(here=w.state(leaf))
    if code == "role-denied":
        mine = [w.role(r) for r in sorted(actor.roles)]
        return p["role"].format(roles=w.listed((w.role(r) for r in refusal.roles), "or"), event=name,
                                mine=w.listed(mine) if mine else p["none"])
    if code == "guard-failed":
        return p["guard"].format(event=name, why="; ".join(w.why(r) for r in refusal.reasons))
    if code == "missing-data":
        return p["missing"].format(event=name, fields=w.listed(w.field(f) for f in refusal.fields))
    if code == "checklist-open":
        labels = [w.q(pick(texts, w.lang) or item) for item, texts in zip(refusal.items, refusal.labels, strict=False)]
        return p["checklist"].format(event=name, here=w.state(leaf), items=w.listed(labels))
    if code == "invalid-data":
        detail = f"{w.field(refusal.field)}: {refusal.message}" if refusal.field else refusal.message
        return p["invalid"].format(event=name, detail=detail)
    return p["other"].format(event=name, detail=refusal.message)


__all__ = ["worded"]
