"""The one place that opens the child case a handoff's ``spawned`` entry names (``Case`` and the stores)."""

from __future__ import annotations

from datetime import datetime

from careflow.errors import refusal_error
from careflow.runtime.audit import AuditEntry
from careflow.runtime.changes import Opening, open_case
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.fields import Link


def open_child(parent: CompiledProcess, parent_id: str, spawned: AuditEntry, now: datetime
               ) -> tuple[CompiledProcess, Opening]:
    """The child's compiled process and its opening, as the parent's ``spawned`` entry says: same actor,
    reason and carried data, linked back to the parent's entry. The data was checked when the parent
    stepped, so a refusal here is a broken definition: it raises."""
    ref = spawned.ref or {}
    child = parent.spawn_targets[ref["process_id"]].compiled()
    opening = open_case(child, ref["case_id"], Actor(spawned.actor, spawned.roles), spawned.data, now,
                        parent=Link("parent", parent.id, parent_id, spawned.seq), reason=spawned.reason,
                        start=ref.get("start"), carried=tuple(sorted(spawned.data)))
    if opening.refusal is not None:
        raise refusal_error(opening.refusal)
    return child, opening


__all__ = ["open_child"]
