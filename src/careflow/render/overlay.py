"""Overlays: what cases did, drawn over a process. Built from history records, never from a store.

A history is read by ``careflow.history`` (any file ``careflow replay`` reads), or given as records:
mappings with ``kind`` (default ``fired``), ``event``, ``from``/``to`` (dotted state paths) and ``time``
(ISO-8601). Only ``opened``, ``fired`` and ``deadline`` records move a case; ``denied`` and the
other kinds never do. A record whose ``to`` equals its ``from`` is a stay (an internal transition):
it neither counts as a visit nor joins the path.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from careflow.history.entries import History
from careflow.model.definition import ProcessDefinition

if TYPE_CHECKING:
    from careflow.render.common import Edge

MOVES: frozenset[str] = frozenset({"opened", "fired", "deadline"})

#: (from state id or None for the opening, to state id, event or None)
Step = tuple[str | None, str, str | None]


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
    def from_case(cls, history: Records) -> Overlay:
        """One case: its current state, the path it took, visit and move counts, time per state."""
        moves = _moves(_records(history))
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
    def from_cases(cls, histories: Iterable[Records]) -> Overlay:
        """Many cases: how many cases made each move, visits in total, median time per state."""
        visits: Counter[str] = Counter()
        edge_cases: Counter[Step] = Counter()
        spans: list[dict[str, list[timedelta]]] = []
        count = 0
        for history in histories:
            count += 1
            moves = _moves(_records(history))
            for frm, to, _, _ in moves:
                visits.update(_entered(frm, to))
            edge_cases.update({(_leaf_or_none(f), _leaf(t), e) for f, t, e, _ in moves})
            spans.append(_durations(moves))
        return cls(visits=visits, edge_counts=edge_cases, median_time=_medians(spans), cases=count)


# -- records ---------------------------------------------------------------------------------------

#: What an overlay is built from: one case's history (read by ``careflow.history``) or its records.
Records = Sequence[Mapping[str, Any]] | History


def _records(history: Records) -> Sequence[Mapping[str, Any]]:
    return history.records() if isinstance(history, History) else history


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
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
    """The moves of one case. A hand-written history may leave out ``from`` (taken to be where the case is)
    and ``to`` (the entry is then not drawn as a move: only replay knows where it led)."""
    out: list[_Move] = []
    here: str | None = None
    for rec in records:
        if rec.get("kind", "fired") not in MOVES:
            continue
        to = rec.get("to", rec.get("target"))
        frm = rec.get("from", rec.get("source", here))
        if not isinstance(to, str) or not to or not (frm is None or isinstance(frm, str)):
            continue
        here = to
        if frm == to:
            continue  # a stay: internal transitions do not move the case
        event = rec.get("event")
        out.append((frm, to, event if isinstance(event, str) else None, parse_time(rec.get("time"))))
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
