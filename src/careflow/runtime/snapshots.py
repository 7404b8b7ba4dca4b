"""A snapshot's JSON form: what ``Case.to_json`` writes besides its history, and what stores keep.

One encoder and one decoder, so a case's JSON and a stored row can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from careflow.model.frozen import freeze
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.data import to_json_value
from careflow.runtime.fields import Link, RawSnapshot, Snapshot, Timer, snapshot_of


def snapshot_json(compiled: CompiledProcess, s: RawSnapshot) -> dict[str, Any]:
    """The snapshot as plain JSON types (state as a dotted path, times as ISO-8601)."""
    return {
        "case_id": s[0], "process_id": compiled.id, "process_version": compiled.version,
        "state": compiled.paths[s[1]], "leaf": s[1], "seq": s[7], "data": to_json_value(s[2]),
        "roles": dict(s[4]), "ticks": [list(t) for t in s[3]],
        "timers": [_timer_json(t) for t in s[5]],
        "links": [list(link) for link in s[6]],
    }


def snapshot_from_json(obj: Mapping[str, Any]) -> Snapshot:
    """The snapshot ``snapshot_json`` encoded (``KeyError``/``ValueError``/``TypeError`` if malformed)."""
    return snapshot_of((
        obj["case_id"], obj["leaf"], {str(k): freeze(v) for k, v in obj["data"].items()},
        tuple((str(a), str(b)) for a, b in obj["ticks"]), {str(k): str(v) for k, v in obj["roles"].items()},
        tuple(_timer(t) for t in obj["timers"]),
        tuple(Link(kind, pid, cid, int(seq)) for kind, pid, cid, seq in obj["links"]),
        int(obj["seq"]),
    ))


def _timer_json(t: Timer) -> list[Any]:
    """[state, due_at, event, fired], and for a recurring deadline also [anchor, occurrence]: a snapshot
    without recurring deadlines is written exactly as before they existed."""
    if t.anchor is None:
        return [t.state, t.due_at.isoformat(), t.event, t.fired]
    return [t.state, t.due_at.isoformat(), t.event, t.fired, t.anchor.isoformat(), t.occurrence]


def _timer(t: Any) -> Timer:
    if len(t) == 4:
        state, when, event, fired = t
        return Timer(state, datetime.fromisoformat(when), event, bool(fired))
    state, when, event, fired, anchor, done = t
    return Timer(state, datetime.fromisoformat(when), event, bool(fired), datetime.fromisoformat(anchor), int(done))
