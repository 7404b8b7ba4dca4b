"""The input boundary: everything that enters a case is normalised and checked here, before the step or
the audit log sees it.

- events: an event name (``texts.event_problem``); actors: an ``Actor`` with a good id and roles;
  reasons: bounded text in valid Unicode; data: plain JSON (``json_problem``) within the process's
  ``limits`` (``careflow.model.limits``); times: aware datetimes.
- ``screen`` judges a fire. It returns the data to use (a clean copy) or a ``Screened`` refusal whose
  recorded forms are safe: the event, actor id, roles and reason as given when they are good, else
  ``texts.describe`` of them, and as data only ``{"<refused>": code, "<problem>": message}``. The step
  records that as a ``denied`` entry (``engine.decide``). Replay re-decides the entry from what was
  recorded; the reserved data keys make ``screen`` refuse it again with the recorded code and message,
  and every recorded form screens to itself, so the entry replays identically.
- ``open_problem``, ``assign_problem`` and ``time_problem`` judge the calls that record nothing when refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from careflow.errors import Refusal
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE
from careflow.model.limits import Limits
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.texts import (
    DESCRIBED,
    actor_problem,
    describe,
    event_problem,
    id_problem,
    reason_problem,
    safe_text,
    shown,
    type_name,
)

#: The data keys of a recorded boundary refusal (no field may be named so: names are ``[a-z][a-z0-9_]*``).
REFUSED_KEY, PROBLEM_KEY = "<refused>", "<problem>"
#: Refusal codes of the boundary (``careflow.errors.limits``).
CODES = frozenset({"invalid-event", "invalid-actor", "invalid-reason", "invalid-value", "over-limit",
                   "invalid-input"})
#: Longest recorded problem message (messages quote only described values, so they stay well below).
PROBLEM_LENGTH = 1_000
_ATOMS = (bool, type(None))
_CONTAINER_BYTES = 2
_SCALAR_BYTES = 8


class Screened(NamedTuple):
    """A refused fire: the refusal, and what the ``denied`` entry records instead of what was sent."""

    refusal: Refusal
    event: str
    actor_id: str
    roles: tuple[str, ...]
    reason: str | None
    data: dict[str, str]


class DataProblem(Exception):
    """Raised inside ``clean`` to stop at the first problem: ``code`` and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def screen(compiled: CompiledProcess, event: Any, actor: Any, data: Any, reason: Any
           ) -> Screened | Mapping[str, Any] | None:
    """The data to fire with (a clean copy, or None for none), or the ``Screened`` refusal."""
    limits = compiled.limits
    recorded = _recorded_refusal(data)
    if recorded is not None:
        return _screened(compiled, event, actor, reason, *recorded)
    problem = None if type(event) is str and event in compiled.declared else event_problem(event, limits)
    if problem is not None:
        return _screened(compiled, event, actor, reason, "invalid-event", problem)
    problem = _actor_problem(actor, limits)
    if problem is not None:
        return _screened(compiled, event, actor, reason, "invalid-actor", problem)
    problem = reason_problem(reason, limits)
    if problem is not None:
        return _screened(compiled, event, actor, reason, "invalid-reason", problem)
    if data is None:
        return None
    try:
        return clean_data(data, limits)
    except DataProblem as exc:
        return _screened(compiled, event, actor, reason, exc.code, str(exc))


def _actor_problem(actor: Any, limits: Limits) -> str | None:
    if type(actor) is not Actor:
        return f"the actor must be an Actor, not {shown(actor)}"
    if actor.fault is not None:
        return actor.fault
    if not limits.tightened or (actor.id == SYSTEM_ACTOR and actor.roles <= {SYSTEM_ROLE}):
        return None  # the deadline clock acts whatever the process's limits
    return actor_problem(actor.id, actor.roles, limits)


def _recorded_refusal(data: Any) -> tuple[str, str] | None:
    """(code, message) when ``data`` is a recorded boundary refusal (what replay passes back)."""
    if type(data) is not dict or len(data) != 2:
        return None
    code, problem = data.get(REFUSED_KEY), data.get(PROBLEM_KEY)
    if code in CODES and type(problem) is str and 0 < len(problem) <= PROBLEM_LENGTH and problem.isprintable():
        return code, problem
    return None


def _screened(compiled: CompiledProcess, event: Any, actor: Any, reason: Any, code: str, message: str) -> Screened:
    limits = compiled.limits
    message = message if len(message) <= PROBLEM_LENGTH and message.isprintable() else describe(message)
    good_event = type(event) is str and (event in compiled.declared or event_problem(event, limits) is None)
    event_text = event if good_event else describe(event)
    if type(actor) is Actor:
        actor_id = actor.id if id_problem(actor.id, limits.actor_length, "") is None else describe(actor.id)
        roles = _recorded_roles(actor.roles, limits)
    else:
        actor_id, roles = f"<{type_name(actor)}>", ()
    reason_text = reason if reason_problem(reason, limits) is None else describe(reason)
    refusal = Refusal(code, message, (message,))
    return Screened(refusal, event_text, actor_id, roles, reason_text, {REFUSED_KEY: code, PROBLEM_KEY: message})


def _recorded_roles(roles: frozenset[Any], limits: Limits) -> tuple[str, ...]:
    if len(roles) > limits.roles:
        return (f"<{len(roles)} roles>",)
    return tuple(sorted({r if id_problem(r, limits.role_length, "") is None else describe(r) for r in roles}))


# -- data ---------------------------------------------------------------------------------------------


def clean_data(data: Any, limits: Limits) -> dict[str, Any]:
    """``data`` as a plain dict of plain JSON values (a copy), or ``DataProblem``: the first problem."""
    if not isinstance(data, Mapping):
        raise DataProblem("invalid-value", f"data must be a mapping of field names to values, not {shown(data)}")
    budget = [limits.data_bytes]
    try:
        out = _clean(data, limits, budget, 1, "")
    except DataProblem:
        raise
    except RecursionError:
        raise DataProblem("over-limit", f"data is nested deeper than {limits.data_depth} levels") from None
    except Exception as exc:  # a hostile mapping or sequence that fails when read
        raise DataProblem("invalid-value", f"data cannot be read: {type_name(exc)}") from None
    assert isinstance(out, dict)
    return out


def _clean(value: Any, limits: Limits, budget: list[int], depth: int, where: str) -> Any:
    kind = type(value)
    if kind is str:
        _spend(budget, len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass")), limits)
        if not safe_text(value):
            raise DataProblem("invalid-value", f"{_at(where)}text holds a NUL or a lone surrogate")
        return value
    if kind is int:
        _spend(budget, _SCALAR_BYTES, limits)
        if -limits.integer_bound <= value <= limits.integer_bound:
            return value
        raise DataProblem("invalid-value", f"{_at(where)}an integer is beyond +/-{limits.integer_bound}")
    if kind is float:
        _spend(budget, _SCALAR_BYTES, limits)
        if math.isfinite(value):
            return value
        raise DataProblem("invalid-value", f"{_at(where)}numbers must be finite, not {value!r}")
    if kind in _ATOMS:
        _spend(budget, _SCALAR_BYTES, limits)
        return value
    if depth > limits.data_depth:
        raise DataProblem("over-limit", f"{_at(where)}data is nested deeper than {limits.data_depth} levels")
    if kind is list or kind is tuple:
        _spend(budget, _CONTAINER_BYTES, limits)
        return [_clean(v, limits, budget, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        _spend(budget, _CONTAINER_BYTES, limits)
        out: dict[str, Any] = {}
        for key, item in list(value.items()):
            if type(key) is not str or not safe_text(key):
                raise DataProblem("invalid-value", f"{_at(where)}keys must be text in valid Unicode, not "
                                                   f"{shown(key)}")
            _spend(budget, len(key), limits)
            out[key] = _clean(item, limits, budget, depth + 1, f"{where}.{key}" if where else key)
        return out
    raise DataProblem("invalid-value", f"{_at(where)}{shown(value)} is not a JSON value (text, number, "
                                       "true/false, null, list or mapping)")


def _spend(budget: list[int], cost: int, limits: Limits) -> None:
    budget[0] -= cost
    if budget[0] < 0:
        raise DataProblem("over-limit", f"data is larger than {limits.data_bytes} bytes")


def _at(where: str) -> str:
    return f"at {describe(where) if len(where) <= DESCRIBED else '<a deep path>'}: " if where else ""


# -- the calls that record nothing when refused ------------------------------------------------------------


def open_problem(compiled: CompiledProcess, case_id: Any, actor: Any, data: Any, reason: Any
                 ) -> tuple[Refusal | None, dict[str, Any] | None]:
    """Opening a case: (refusal, None), or (None, the clean data to open with)."""
    limits = compiled.limits
    if type(case_id) is not str or not case_id or not case_id.isprintable():
        return _refusal("invalid-input", "the case id must be non-empty printable text, not "
                                         f"{shown(case_id)}"), None
    problem = _actor_problem(actor, limits)
    if problem is not None:
        return _refusal("invalid-actor", problem), None
    problem = reason_problem(reason, limits)
    if problem is not None:
        return _refusal("invalid-reason", problem), None
    if data is None:
        return None, None
    try:
        return None, clean_data(data, limits)
    except DataProblem as exc:
        return _refusal(exc.code, str(exc)), None


def assign_problem(compiled: CompiledProcess, role: Any, person: Any, actor: Any, reason: Any) -> Refusal | None:
    """Giving a case role: None, or why not (the role itself is checked by ``changes.assign``)."""
    limits = compiled.limits
    problem = id_problem(role, limits.role_length, "the role")
    if problem is not None:
        return _refusal("invalid-input", problem)
    if person is not None:
        problem = id_problem(person, limits.actor_length, "the person id")
        if problem is not None:
            return _refusal("invalid-actor", problem)
    problem = _actor_problem(actor, limits)
    if problem is not None:
        return _refusal("invalid-actor", problem)
    problem = reason_problem(reason, limits)
    return _refusal("invalid-reason", problem) if problem is not None else None


def records_problem(compiled: CompiledProcess, actor: Any, reason: Any, now: Any) -> Refusal | None:
    """A redaction or correction (``runtime.records``): None, or why not, before anything is recorded."""
    limits = compiled.limits
    problem = _actor_problem(actor, limits)
    if problem is not None:
        return _refusal("invalid-actor", problem)
    problem = reason_problem(reason, limits)
    if problem is not None:
        return _refusal("invalid-reason", problem)
    return time_problem(now)


def time_problem(now: Any) -> Refusal | None:
    """None for a time the runtime accepts: a ``datetime`` with a UTC offset."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        return _refusal("invalid-input", f"the time must be a datetime with a UTC offset, not {shown(now)}")
    return None


def _refusal(code: str, message: str) -> Refusal:
    return Refusal(code, message, (message,))


__all__ = ["CODES", "PROBLEM_KEY", "REFUSED_KEY", "DataProblem", "Screened", "assign_problem", "clean_data",
           "open_problem", "records_problem", "screen", "time_problem"]
