"""What a store checks before it acts on a case row, and, when the check fails, which field is wrong.

``row_problem`` is the check: the row's seal (``careflow.cases.store.seal``) and, when the audit rows are
at hand, that the log does not go on past the row's head. It is cheap when the row is intact (one
digest over text the store already read); only a failed check pays for ``first_difference``, which
compares the columns with what the snapshot implies and, when they agree, replays the log and names
the first snapshot field that differs from the replay (``data.score: stored 9, the log gives 3``).

Pure functions: the store reads the rows, this module judges them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from careflow.cases.store.codec import Row, dumps
from careflow.cases.store.seal import Sealer
from careflow.errors import CareflowError
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.snapshots import snapshot_from_json, snapshot_json

AuditRows = Sequence[tuple[int, str, str, str]]  # (seq, hash, prev_hash, entry JSON), by seq
Problem = tuple[str, str]  # (field, what is wrong with it)


def past_head(row: Row, rows: AuditRows) -> Problem | None:
    """Audit rows beyond the row's ``seq``: appended behind careflow's back (a fire would collide with them)."""
    beyond = [r[0] for r in rows if r[0] > row.seq]
    if not beyond:
        return None
    return "audit", (f"{len(beyond)} audit row(s) past the head: the case row ends at seq {row.seq}, "
                     f"the log goes on to seq {max(beyond)}")


Resolve = Callable[[str, str], CompiledProcess]  # finds a process by id and version (``BaseStore.process``)


def row_problem(row: Row, rows: AuditRows | None, sealer: Sealer, process: Resolve | None = None) -> Problem | None:
    """None when ``row`` may be acted on; else (field, detail) of the first inconsistency.

    ``rows``: the case's audit rows when the caller read them (then rows past the head are found too, and
    a broken seal is explained from them); ``process``: finds a process, to replay the log with the one
    the snapshot names."""
    if not sealer.check(row):
        return first_difference(row, rows, process)
    return past_head(row, rows) if rows is not None else None


def first_difference(row: Row, rows: AuditRows | None, process: Resolve | None) -> Problem:
    """The first field of a row whose seal does not match that disagrees with the snapshot or the log."""
    try:
        return _first_difference(row, rows, process)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        return "snapshot", f"cannot be read ({type(exc).__name__})"  # a hostile snapshot: still refused


def _first_difference(row: Row, rows: AuditRows | None, process: Resolve | None) -> Problem:
    stored = json.loads(row.snapshot)
    snap = snapshot_from_json(stored)
    compiled = _process(process, stored)
    found = _columns(row, stored, snap, compiled)
    if found is None and rows is not None:
        found = _head(row, rows)
        if found is None and compiled is not None:
            found = _replayed(row, rows, stored, compiled)
    return found or ("version", f"stored {row.version}: every other field agrees with the snapshot and the log, "
                                "so the version or the seal itself was changed")


def _process(process: Resolve | None, stored: dict[str, Any]) -> CompiledProcess | None:
    pid, version = stored.get("process_id"), stored.get("process_version")
    if process is None or not isinstance(pid, str) or not isinstance(version, str):
        return None
    try:
        return process(pid, version)
    except CareflowError:
        return None


def _shown(value: Any) -> str:
    shown = value.isoformat() if isinstance(value, datetime) else value
    return json.dumps(shown, ensure_ascii=False, default=repr)[:80]


def _columns(row: Row, stored: dict[str, Any], snap: Any, compiled: CompiledProcess | None) -> Problem | None:
    from careflow.runtime.changes import due_at

    implied: list[tuple[str, Any, Any]] = [
        ("case_id", row.case_id, stored.get("case_id")), ("process_id", row.process_id, stored.get("process_id")),
        ("process_version", row.process_version, stored.get("process_version")),
        ("state", row.state, stored.get("state")),
    ]
    if compiled is not None and snap.leaf in compiled.paths:
        implied += [("state", row.state, compiled.paths[snap.leaf]),
                    ("closed", row.closed, snap.leaf in compiled.finals)]
    implied += [("due_at", row.due_at, due_at(snap)), ("seq", row.seq, snap.seq)]
    for name, column, expected in implied:
        if column != expected:
            return name, f"stored {_shown(column)}, the snapshot gives {_shown(expected)}"
    return None


def _head(row: Row, rows: AuditRows) -> Problem | None:
    if not rows:
        return "seq", f"stored {row.seq}, but the case has no audit rows"
    last = rows[-1]
    if last[0] > row.seq:
        return past_head(row, rows)
    if last[0] != row.seq:
        return "seq", f"stored {row.seq}, the log ends at seq {last[0]}"
    if last[1] != row.head:
        return "head", f"stored {row.head[:16]}…, the log's last entry is {last[1][:16]}…"
    return None


def _replayed(row: Row, rows: AuditRows, stored: dict[str, Any], compiled: CompiledProcess) -> Problem | None:
    from careflow.history.replay import replay

    try:
        result = replay(compiled, [json.loads(r[3]) for r in rows])
    except (ValueError, CareflowError) as exc:
        return "audit", f"the log cannot be read: {exc}"
    if result.snapshot is None or result.divergence is not None:
        reason = result.divergence.reason if result.divergence is not None else "it does not replay"
        return "audit", f"the log does not replay: {reason}"
    return _differs("", stored, json.loads(dumps(snapshot_json(compiled, result.snapshot))))


def _differs(path: str, stored: Any, logged: Any) -> Problem | None:
    """The first place where ``stored`` (the row's snapshot) and ``logged`` (the replay's) differ."""
    if isinstance(stored, dict) and isinstance(logged, dict):
        for key in [*logged, *(k for k in stored if k not in logged)]:
            if key not in stored or key not in logged:
                return f"{path}{key}", f"stored {_shown(stored.get(key))}, the log gives {_shown(logged.get(key))}"
            found = _differs(f"{path}{key}.", stored[key], logged[key])
            if found is not None:
                return found
        return None
    if isinstance(stored, list) and isinstance(logged, list) and len(stored) == len(logged):
        for i, (a, b) in enumerate(zip(stored, logged, strict=True)):
            found = _differs(f"{path[:-1]}[{i}].", a, b)
            if found is not None:
                return found
        return None
    if stored != logged or type(stored) is not type(logged):
        return path[:-1], f"stored {_shown(stored)}, the log gives {_shown(logged)}"
    return None


__all__ = ["AuditRows", "Problem", "Resolve", "first_difference", "past_head", "row_problem"]
