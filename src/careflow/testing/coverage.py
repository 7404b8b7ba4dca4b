"""Coverage of recorded histories: which states, transitions and decision exits cases really used.

The same bookkeeping serves path generation (what a generated history covers) and
``careflow coverage`` (what real cases never used: dead parts of a process).

Histories are read by ``careflow.history`` (the one reader, which replay uses too). Their entries are the
audit log's own JSON (``from``/``to``/``transition``) or hand-written ones (``from``/``to`` when given, no
``transition``). A move's transition is then found the way the engine would: the candidates for its event
at its source leaf, told apart by their target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from careflow.history.entries import History
from careflow.model.definition import ProcessDefinition
from careflow.runtime.audit import AuditEntry
from careflow.runtime.compiled import CompiledProcess, compile

COVER_KINDS: tuple[str, ...] = ("states", "transitions", "decisions")
_MOVES = ("fired", "deadline")


# -- what a history used ----------------------------------------------------------------------------


def decision_exits(compiled: CompiledProcess) -> dict[str, tuple[str, ...]]:
    """Decision states (leaves where two or more events lead out) -> the transitions leaving them."""
    out: dict[str, tuple[str, ...]] = {}
    for leaf, events in compiled.table.items():
        exits = [(event, p.tid) for event, plans in events.items() for p in plans if not p.internal]
        if len({event for event, _ in exits}) >= 2:
            out[leaf] = tuple(dict.fromkeys(tid for _, tid in exits))
    return out


def decision_key(leaf: str, tid: str) -> str:
    return f"{leaf} -> {tid}"


def all_items(compiled: CompiledProcess, cover: str) -> tuple[str, ...]:
    """Everything ``cover`` asks for: state ids, transition ids, or decision exits."""
    process = compiled.process
    if cover == "states":
        return tuple(s.id for s in process.states)
    if cover == "transitions":
        return tuple(t.id for t in process.transitions)
    if cover == "decisions":
        return tuple(decision_key(leaf, tid) for leaf, tids in decision_exits(compiled).items() for tid in tids)
    raise ValueError(f"cover must be one of {', '.join(COVER_KINDS)}, not {cover!r}")


@attrs.frozen
class Usage:
    """What one history used: states entered and transitions fired (with counts), decision exits taken."""

    states: Counter[str]
    transitions: Counter[str]
    decisions: Counter[str]

    def items(self, cover: str) -> frozenset[str]:
        return frozenset(getattr(self, cover))


def _record(entry: Mapping[str, Any] | AuditEntry) -> Mapping[str, Any]:
    return entry.to_json() if isinstance(entry, AuditEntry) else entry


def usage(compiled: CompiledProcess, entries: Sequence[Mapping[str, Any] | AuditEntry]) -> Usage:
    process = compiled.process
    decisions = decision_exits(compiled)
    states: Counter[str] = Counter()
    transitions: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    for entry in map(_record, entries):
        kind = entry.get("kind")
        target = _leaf(process, entry.get("to", entry.get("target")))
        if kind == "opened" and target:
            states.update((target, *process.ancestors(target)))
            continue
        if kind not in _MOVES:
            continue
        source = _leaf(process, entry.get("from", entry.get("source")))
        tid = entry.get("transition") or _infer(compiled, source, entry.get("event"), target)
        if not isinstance(tid, str):
            continue
        transitions[tid] += 1
        if target and source and target != source:
            ancestors = set(process.ancestors(source))
            states.update(s for s in (target, *process.ancestors(target)) if s not in ancestors)
            if source in decisions:
                taken[decision_key(source, tid)] += 1
        elif target and source and source in decisions and tid in decisions[source]:
            taken[decision_key(source, tid)] += 1  # a self-loop is an exit too
    return Usage(states, transitions, taken)


def _leaf(process: ProcessDefinition, path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    leaf = path.rsplit(".", 1)[-1]
    return leaf if process.has_state(leaf) else None


def _infer(compiled: CompiledProcess, source: str | None, event: Any, target: str | None) -> str | None:
    """The transition a hand-written move took: the one for ``event`` at ``source`` reaching ``target``."""
    if source is None or not isinstance(event, str):
        return None
    plans = compiled.table.get(source, {}).get(event, ())
    matching = [p for p in plans if target is None or p.target_leaf == target]
    return matching[0].tid if matching else None


# -- the report -------------------------------------------------------------------------------------


@attrs.frozen
class CoverageReport:
    """How often recorded cases entered each state and fired each transition; what they never used."""

    process_id: str
    process_version: str
    cases: int
    states: Mapping[str, int]  # every state id -> times entered (0: never)
    transitions: Mapping[str, int]  # every transition id -> times fired
    decisions: Mapping[str, int]  # every decision exit -> times taken

    @staticmethod
    def _percent(counts: Mapping[str, int]) -> float:
        return 100.0 * sum(1 for n in counts.values() if n) / len(counts) if counts else 100.0

    @property
    def state_percent(self) -> float:
        return self._percent(self.states)

    @property
    def transition_percent(self) -> float:
        return self._percent(self.transitions)

    @property
    def decision_percent(self) -> float:
        return self._percent(self.decisions)

    @property
    def unused_states(self) -> tuple[str, ...]:
        return tuple(s for s, n in self.states.items() if not n)

    @property
    def unused_transitions(self) -> tuple[str, ...]:
        return tuple(t for t, n in self.transitions.items() if not n)

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process_id, "version": self.process_version, "cases": self.cases,
            "states": {"percent": round(self.state_percent, 1), "unused": list(self.unused_states),
                       "counts": dict(self.states)},
            "transitions": {"percent": round(self.transition_percent, 1),
                            "unused": list(self.unused_transitions), "counts": dict(self.transitions)},
            "decisions": {"percent": round(self.decision_percent, 1),
                          "unused": [d for d, n in self.decisions.items() if not n], "counts": dict(self.decisions)},
        }

    def format(self) -> str:
        """A table per kind: every state and transition with its count, unused ones marked."""
        lines = [f"{self.process_id}@{self.process_version}: {self.cases} case(s)", ""]
        for title, counts, percent in (("states", self.states, self.state_percent),
                                       ("transitions", self.transitions, self.transition_percent),
                                       ("decision exits", self.decisions, self.decision_percent)):
            used = sum(1 for n in counts.values() if n)
            lines.append(f"{title}: {used} of {len(counts)} used ({percent:.1f} %)")
            width = max((len(k) for k in counts), default=0)
            for key, n in counts.items():
                lines.append(f"  {key:<{width}}  {n:>5}" + ("  never used" if not n else ""))
            lines.append("")
        return "\n".join(lines).rstrip()


def history_coverage(process: ProcessDefinition | CompiledProcess,
             histories: Iterable[Sequence[Mapping[str, Any] | AuditEntry] | History]) -> CoverageReport:
    """Count what ``histories`` used of ``process`` (entries lists, or ``History`` objects from
    ``careflow.history.read_history``)."""
    compiled = process if isinstance(process, CompiledProcess) else compile(process)
    states = dict.fromkeys(all_items(compiled, "states"), 0)
    transitions = dict.fromkeys(all_items(compiled, "transitions"), 0)
    decisions = dict.fromkeys(all_items(compiled, "decisions"), 0)
    cases = 0
    for history in histories:
        entries = history.records() if isinstance(history, History) else history
        used = usage(compiled, entries)
        cases += 1
        for counts, seen in ((states, used.states), (transitions, used.transitions), (decisions, used.decisions)):
            for key, n in seen.items():
                if key in counts:
                    counts[key] += n
    return CoverageReport(compiled.id, compiled.version, cases, states, transitions, decisions)
