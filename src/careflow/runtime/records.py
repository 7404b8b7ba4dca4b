"""Records duties as steps: a redaction, a correction, and a recorded transition taken as given.

``redact`` is pure like ``engine.step``: it returns a ``Step`` whose entry records the redaction (who,
why, which values by seq and key, never the values) and whose snapshot no longer holds the case data
named in ``cleared``; or, for an actor without the records role, the ``denied`` entry that records the
attempt. ``correct`` records a ``corrected`` entry carrying the new value and naming the old values it
replaces. Removing the values themselves is the store's part (``careflow_values``).

``take_recorded`` is what replay does with a ``fired`` entry it cannot decide again because values it
needs were removed: the recorded transition's effects are applied with the data that is left, and its
guards, roles and required data are not checked again (the hash chain and every value kept still are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from careflow.errors import InvalidData, Refusal
from careflow.model.definition import SYSTEM_ROLE
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.data import safe_json
from careflow.runtime.effects import apply, raw_entry
from careflow.runtime.engine import Step
from careflow.runtime.fields import S_CASE_ID, S_DATA, S_LEAF, S_SEQ, RawSnapshot, snapshot_of
from careflow.runtime.retention import problem as retention_problem

#: The role that may redact when the store is not told otherwise.
RECORDS_ROLE = "records_officer"
#: The event names a refused redaction or correction is recorded under (``denied`` entries name an event).
REDACT_EVENT = "redact"
CORRECT_EVENT = "correct"

_new = tuple.__new__


def redact(compiled: CompiledProcess, snap: RawSnapshot, values: Sequence[tuple[int, str]], cleared: Sequence[str],
           actor: Actor, now: datetime, reason: str | None, role: str = RECORDS_ROLE,
           retention: Mapping[str, Any] | None = None) -> Step:
    """The redaction of ``values`` ((seq, key) pairs) by ``actor``: a ``redacted`` entry, and the snapshot
    with the case data ``cleared`` set to null; a ``denied`` entry when ``actor`` lacks ``role``.

    ``retention`` (rule, field, closed): the redaction applies a retention rule, recorded in the entry's
    ``ref``. With ``role`` ``system`` the rule is the authority (``runtime.retention.problem``)."""
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    named = tuple(sorted(set(values)))
    kept = {} if retention is None else {"retention": dict(retention)}
    if role == SYSTEM_ROLE:
        why = retention_problem(compiled, snap[S_LEAF], (k for _, k in named), actor, now, retention)
        message = None if why is None else f"'{actor.id}' may not redact: {why}"
    else:
        message = None if role in actor.roles else f"'{actor.id}' may not redact: the role '{role}' is needed"
    if message is not None:
        refusal = Refusal("role-denied", message, (message,), roles=(role,))
        ref = {"records": REDACT_EVENT, "role": role, "values": named, **kept}
        entry = raw_entry(seq, now, snap[S_CASE_ID], "denied", actor.id, actor.role_list, REDACT_EVENT, here, here,
                          None, reason, refusal.code, refusal.message, ref, None, compiled.id, compiled.version,
                          None, None)
        return _new(Step, (snapshot_of((*snap[:S_SEQ], seq)), (entry,), refusal))
    data = dict(snap[S_DATA])
    for key in cleared:
        if key in data:
            data[key] = None
    ref = {"records": REDACT_EVENT, "role": role, "values": named, "cleared": tuple(sorted(set(cleared))), **kept}
    entry = raw_entry(seq, now, snap[S_CASE_ID], "redacted", actor.id, actor.role_list, None, here, here, None,
                      reason, None, None, ref, None, compiled.id, compiled.version, None, None)
    return _new(Step, (snapshot_of((snap[0], snap[1], data, *snap[3:S_SEQ], seq)), (entry,), None))


def correct(compiled: CompiledProcess, snap: RawSnapshot, field: str, value: Any, values: Sequence[tuple[int, str]],
            actor: Actor, now: datetime, reason: str | None, role: str = RECORDS_ROLE) -> Step:
    """The correction of case data ``field`` to ``value`` by ``actor``: a ``corrected`` entry that carries
    the new value (checked against the field's declared type) and names the older values ``values``
    removed; a ``denied`` entry when ``actor`` lacks ``role`` or the value does not fit the field."""
    seq = snap[S_SEQ] + 1
    here = compiled.paths[snap[S_LEAF]]
    ref = {"records": CORRECT_EVENT, "role": role, "values": tuple(sorted(set(values)))}
    refusal: Refusal | None = None
    validate = compiled.validators.get(field)
    if role not in actor.roles:
        message = f"'{actor.id}' may not correct: the role '{role}' is needed"
        refusal = Refusal("role-denied", message, (message,), roles=(role,))
    elif validate is None:
        message = f"'{field}' is not a data field of process '{compiled.id}'"
        refusal = Refusal("invalid-data", message, (message,), field=field)
    else:
        try:
            value = validate(value)
        except InvalidData as err:
            refusal = err.refusal
    if refusal is not None:
        entry = raw_entry(seq, now, snap[S_CASE_ID], "denied", actor.id, actor.role_list, CORRECT_EVENT, here, here,
                          {field: safe_json(value)}, reason, refusal.code, refusal.message, ref, None, compiled.id,
                          compiled.version, None, None)
        return _new(Step, (snapshot_of((*snap[:S_SEQ], seq)), (entry,), refusal))
    data = {**snap[S_DATA], field: value}
    entry = raw_entry(seq, now, snap[S_CASE_ID], "corrected", actor.id, actor.role_list, None, here, here,
                      {field: value}, reason, None, None, ref, None, compiled.id, compiled.version, None, None)
    return _new(Step, (snapshot_of((snap[0], snap[1], data, *snap[3:S_SEQ], seq)), (entry,), None))


def redaction_of(ref: Mapping[str, Any]) -> tuple[list[tuple[int, str]], list[str], str]:
    """The values, cleared keys and role a recorded redaction names (``ValueError`` if malformed)."""
    values = ref.get("values")
    cleared = ref.get("cleared", ())
    role = ref.get("role")
    if not isinstance(values, list | tuple) or not isinstance(cleared, list | tuple) or not isinstance(role, str):
        raise ValueError("a redaction's ref needs 'values', 'cleared' and 'role'")
    pairs = []
    for item in values:
        if not (isinstance(item, list | tuple) and len(item) == 2 and type(item[0]) is int and type(item[1]) is str):
            raise ValueError("a redaction names values as [seq, key] pairs")
        pairs.append((item[0], item[1]))
    return pairs, [str(k) for k in cleared], role


def take_recorded(compiled: CompiledProcess, snap: RawSnapshot, event: str, transition: str | None, actor: Actor,
                  roles: tuple[str, ...], data: Mapping[str, Any] | None, now: datetime, reason: str | None,
                  kind: str = "fired", ref: Mapping[str, Any] | None = None
                  ) -> tuple[RawSnapshot, tuple[Any, ...], None] | Refusal:
    """The recorded transition ``transition`` on ``event`` applied without deciding it again."""
    plans = compiled.table[snap[S_LEAF]].get(event, ())
    plan = next((p for p in plans if p.tid == transition), None)
    if plan is None:
        message = f"the recorded transition '{transition}' is not possible here"
        return Refusal("event-not-allowed", message, (message,))
    return apply(compiled, plan, snap, actor, roles, dict(data or {}), now, reason, kind, ref, snap[S_SEQ] + 1)


__all__ = ["CORRECT_EVENT", "RECORDS_ROLE", "REDACT_EVENT", "correct", "redact", "redaction_of", "take_recorded"]
