"""Retention as the runtime judges it: when a closed case's values are due for removal, and whether a
redaction by the system is one that a retention rule allows.

A case closes with the entry that takes it into a final state (``closing``); a value of key ``k`` is
due when ``closing + retention_of(k) <= at``, the duration added in calendar arithmetic
(``clock.add_calendar``: P10Y from 29 February lands on 28 February). ``retention_of`` is the data
field's own ``retention`` if it has one, else the process's.

The system holds no records role. Its authority to redact is the rule itself: a ``redacted`` entry by
the system carries ``ref.retention`` (``rule``, ``field`` or null, ``closed``), and ``problem`` says why
it is not allowed — the actor is not the system, the case is not closed, a value named is under
another rule, or the rule is not due at the entry's time. Replay asks the same question again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from careflow.clock import add_calendar
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE
from careflow.model.durations import Duration
from careflow.runtime.compiled import Actor, CompiledProcess


def due(closed: datetime, rule: Duration) -> datetime:
    """The moment a value kept for ``rule`` after ``closed`` is due for removal."""
    return add_calendar(closed, rule.years, rule.months, rule.days, rule.seconds)


def closing(entries: Iterable[tuple[datetime, str | None]], finals: frozenset[str]) -> datetime | None:
    """When the case closed: the time of the entry that took it into a final state and after which it
    stayed in one (``entries``: each entry's time and target leaf, in order); None while it is open."""
    closed: datetime | None = None
    for when, target in entries:
        if target is None:
            continue
        closed = (when if closed is None else closed) if target in finals else None
    return closed


def rule_of(ref: Mapping[str, Any]) -> tuple[str, str | None, str] | None:
    """The (rule, field, closed) a recorded retention names, None when malformed."""
    rule, field, closed = ref.get("rule"), ref.get("field"), ref.get("closed")
    if type(rule) is not str or type(closed) is not str or not (field is None or type(field) is str):
        return None
    return rule, field, closed


def problem(compiled: CompiledProcess, leaf: str, keys: Iterable[str], actor: Actor, now: datetime,
            retention: Mapping[str, Any] | None) -> str | None:
    """Why the system may not redact the values of ``keys`` at ``now`` under ``retention``; None: it may."""
    if actor.id != SYSTEM_ACTOR or SYSTEM_ROLE not in actor.roles:
        return f"only the system redacts by retention without the records role, not '{actor.id}'"
    named = rule_of(retention) if retention is not None else None
    if named is None:
        return "a redaction by the system must name the retention rule it applies"
    rule, field, closed_text = named
    if leaf not in compiled.finals:
        return "the case is not closed: retention counts from closing"
    process = compiled.process
    for key in set(keys):
        declared = process.retention_of(key)
        if declared is None or declared.text != rule or (field is not None and key != field):
            return f"the value of '{key}' is not kept under the rule 'retention {rule}'"
    try:
        closed = datetime.fromisoformat(closed_text)
    except ValueError:
        return f"'{closed_text}' is not a closing time"
    if closed.tzinfo is None or due(closed, Duration.parse(rule) or Duration("P0D")) > now:
        return f"retention {rule} from closing at {closed_text} is not due at {now.isoformat()}"
    return None


__all__ = ["closing", "due", "problem", "rule_of"]
