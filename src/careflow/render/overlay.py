"""Overlays: what cases did, drawn over a process. Built from history records, never from a store.

A history is a list of records (a JSON array, or JSON Lines) with at least ``kind``, ``event``,
``from``/``to`` (or the audit log's ``source``/``target``: dotted state paths) and ``time``
(ISO-8601). Only ``opened``, ``fired`` and ``deadline`` records move a case; ``denied`` and the
other kinds never do. A record whose ``to`` equals its ``from`` is a stay (an internal transition):
it neither counts as a visit nor joins the path.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from careflow.errors import CareflowError
from careflow.model.definition import ProcessDefinition

if TYPE_CHECKING:
    from careflow.render.common import Edge

MOVES: frozenset[str] = frozenset({"opened", "fired", "deadline"})

#: (from state id or None for the opening, to state id, event or None)
Step = tuple[str | None, str, str | None]


class HistoryError(CareflowError):
    """A history file cannot be read; the message names the file and line."""

    code = ""


def _frozen(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Overlay:
    """Data drawn over a diagram. States are keyed by id (the last segment of a dotted path).

    ``visits`` counts entries into each state, leaves and their enclosing compound states alike;
    ``edge_counts`` counts moves per ``(from leaf, to leaf, event)`` (with ``cases`` > 1 it counts
    the cases that made the move at least once); ``median_time`` is the median time spent per visit.
    """

    visits: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen)
    current: str | None = None
    path: tuple[Step, ...] = ()
    edge_counts: Mapping[Step, int] = attrs.field(factory=dict, converter=_frozen)
    median_time: Mapping[str, timedelta] = attrs.field(factory=dict, converter=_frozen)
    cases: int = 0

    @classmethod
    def from_case(cls, records: Sequence[Mapping[str, Any]]) -> Overlay:
        """One case: its current state, the path it took, visit and move counts, time per state."""
        moves = _moves(records)
        if not moves:
            return cls(cases=1)
        visits: Counter[str] = Counter()
        for frm, to, _, _ in moves:
            visits.update(_entered(frm, to))
        return cls(visits=visits, current=_leaf(moves[-1][1]),
                   path=tuple((_leaf_or_none(f), _leaf(t), e) for f, t, e, _ in moves),
                   edge_counts=Counter((_leaf_or_none(f), _leaf(t), e) for f, t, e, _ in moves),
                   median_time=_medians([_durations(moves)]), cases=1)

    @classmethod
    def from_cases(cls, histories: Iterable[Sequence[Mapping[str, Any]]]) -> Overlay:
        """Many cases: how many cases made each move, visits in total, median time per state."""
        visits: Counter[str] = Counter()
        edge_cases: Counter[Step] = Counter()
        spans: list[dict[str, list[timedelta]]] = []
        count = 0
        for records in histories:
            count += 1
            moves = _moves(records)
            for frm, to, _, _ in moves:
                visits.update(_entered(frm, to))
            edge_cases.update({(_leaf_or_none(f), _leaf(t), e) for f, t, e, _ in moves})
            spans.append(_durations(moves))
        return cls(visits=visits, edge_counts=edge_cases, median_time=_medians(spans), cases=count)


# -- reading --------------------------------------------------------------------------------------


def read_history(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records from a JSON array or a JSON Lines file. Raises ``HistoryError`` naming file and line."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{p}: cannot read the history: {exc}") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HistoryError(f"{p}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        lines = [(i + 1, rec) for i, rec in enumerate(data)]
        where = "record"
    else:
        lines = []
        where = "line"
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                lines.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise HistoryError(f"{p}:{number}:{exc.colno}: not valid JSON: {exc.msg}") from None
    records = []
    for number, rec in lines:
        problem = check_record(rec)
        if problem:
            raise HistoryError(f"{p}: {where} {number}: {problem}")
        records.append(rec)
    return records


def check_record(rec: Any) -> str | None:
    """Why ``rec`` is not a usable history record, or None. Unknown keys are allowed."""
    if not isinstance(rec, dict):
        return f"expected an object, found {type(rec).__name__}"
    kind = rec.get("kind")
    if not isinstance(kind, str):
        return "'kind' is missing or not a string"
    if kind not in MOVES:
        return None  # denied, assigned, spawned, …: kept, but never a move
    target = rec.get("to", rec.get("target"))
    if not isinstance(target, str) or not target:
        return f"a '{kind}' record needs 'to' (a dotted state path)"
    source = rec.get("from", rec.get("source"))
    if source is not None and not isinstance(source, str):
        return "'from' must be a dotted state path or null"
    event = rec.get("event")
    if event is not None and not isinstance(event, str):
        return "'event' must be a string or null"
    if "time" in rec and parse_time(rec["time"]) is None:
        return f"'time' is not an ISO-8601 date-time: {rec['time']!r}"
    return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# -- folding records into moves -------------------------------------------------------------------

_Move = tuple[str | None, str, str | None, datetime | None]  # dotted from, dotted to, event, time


def _moves(records: Sequence[Mapping[str, Any]]) -> list[_Move]:
    out: list[_Move] = []
    for rec in records:
        if rec.get("kind") not in MOVES or check_record(rec) is not None:
            continue
        frm = rec.get("from", rec.get("source"))
        to = str(rec.get("to", rec.get("target")))
        if frm == to:
            continue  # a stay: internal transitions do not move the case
        out.append((frm, to, rec.get("event"), parse_time(rec.get("time"))))
    return out


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _leaf_or_none(path: str | None) -> str | None:
    return _leaf(path) if path else None


def _entered(frm: str | None, to: str) -> list[str]:
    """States entered by a move: the target's path segments the source path did not share."""
    before = frm.split(".") if frm else []
    after = to.split(".")
    shared = 0
    # the leaf itself is always entered, even when the paths agree (a self-loop re-enters it)
    while shared < min(len(before), len(after)) - 1 and before[shared] == after[shared]:
        shared += 1
    return after[shared:]


def _durations(moves: Sequence[_Move]) -> dict[str, list[timedelta]]:
    """Time per visit of every state on the path (leaves and compounds), from timed moves."""
    spans: dict[str, list[timedelta]] = {}
    entered_at: dict[str, datetime] = {}
    for frm, to, _, time in moves:
        if time is None:
            continue
        left = set(frm.split(".")) - set(to.split(".")) if frm else set()
        for state in sorted(left):
            start = entered_at.pop(state, None)
            if start is not None:
                spans.setdefault(state, []).append(time - start)
        for state in _entered(frm, to):
            entered_at[state] = time
    return spans


def _medians(per_case: Sequence[dict[str, list[timedelta]]]) -> dict[str, timedelta]:
    pooled: dict[str, list[timedelta]] = {}
    for spans in per_case:
        for state, values in spans.items():
            pooled.setdefault(state, []).extend(values)
    return {state: timedelta(seconds=statistics.median(v.total_seconds() for v in values))
            for state, values in sorted(pooled.items())}


def short_timedelta(value: timedelta) -> str:
    """'3 d 4 h', '5 h 10 min', '40 min' — two units at most, for a diagram annotation."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (mins, "min")) if n]
    return " ".join(parts[:2]) or "0 min"


def taken(process: ProcessDefinition, overlay: Overlay | None, edge: Edge) -> int:
    """How often (one case) or by how many cases (stats) a drawn arrow was taken.

    A move matches an arrow when its event is the transition's and its source and target lie inside
    the arrow's ends (an arrow from a level covers moves from any of its steps). States the
    definition lacks (a history from another version) are skipped.
    """
    if overlay is None:
        return 0
    total = 0
    for (frm, to, event), n in overlay.edge_counts.items():
        if event != edge.transition.event or frm is None or not process.has_state(frm) or not process.has_state(to):
            continue
        if _within(process, frm, edge.source) and _within(process, to, edge.target):
            total += n
    return total


def _within(process: ProcessDefinition, state_id: str, container: str) -> bool:
    return state_id == container or container in process.ancestors(state_id)
