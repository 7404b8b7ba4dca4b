"""A case a handoff opened reporting back to its parent: the parent's event, fired as ``system``.

When a transition with ``report`` fires in a child case, the facade that holds both cases (a store, in
one transaction; ``Case`` when it holds its parent) calls ``report_up``: the parent steps through
``engine.decide`` (kind ``report``, its ``ref`` naming the child's entry), and the child records a
``reported`` entry naming the parent's entry. Both records are pure values, as ``step``'s are.

A refusal in the parent does not undo the child's step: what happened in the child happened (KE did
decide). The parent logs the refusal as a ``denied`` entry (its ``ref`` names the child), and the child's
``reported`` entry carries the refusal's code and message, so both logs show that the report did not
take and a person can act on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from careflow.errors import Refusal
from careflow.model.definition import Report
from careflow.runtime.audit import RawEntry
from careflow.runtime.compiled import SYSTEM, CompiledProcess
from careflow.runtime.effects import raw_entry
from careflow.runtime.engine import decide
from careflow.runtime.fields import (
    E_KIND,
    E_REASON,
    E_TRANSITION,
    S_CASE_ID,
    S_DATA,
    S_LEAF,
    S_LINKS,
    S_SEQ,
    Link,
    RawSnapshot,
)

_new = tuple.__new__


class Reported(NamedTuple):
    """What a report did: the parent's new snapshot and entries (its ``refusal`` when refused), and the
    child's snapshot and its ``reported`` entry."""

    parent: RawSnapshot
    parent_entries: tuple[RawEntry, ...]
    refusal: Refusal | None
    child: RawSnapshot
    child_entry: RawEntry


def parent_link(snap: RawSnapshot) -> Link | None:
    """The link to the case whose handoff opened this one, if any."""
    link: Link
    for link in snap[S_LINKS]:
        if link.kind == "parent":
            return link
    return None


def due_reports(compiled: CompiledProcess, entries: Iterable[RawEntry], parent_process: str
                ) -> list[tuple[Report, RawEntry]]:
    """(report, the entry that causes it) for each transition among ``entries`` that reports to a parent
    of process ``parent_process``."""
    reports = compiled.reports
    if not reports:
        return []
    out = []
    for e in entries:
        if e[E_KIND] in ("fired", "deadline"):
            r = reports.get(e[E_TRANSITION])
            if r is not None and (not r.to or parent_process in r.to):
                out.append((r, e))
    return out


def report_data(report: Report, data: Mapping[str, Any]) -> dict[str, Any]:
    """The parent event's data: this case's fields as ``report.data`` maps them (unset fields left out)."""
    return {target: data[source] for target, source in report.data if data.get(source) is not None}


def report_up(child: CompiledProcess, snap: RawSnapshot, report: Report, cause: RawEntry,
              parent: CompiledProcess, parent_snap: RawSnapshot, now: datetime) -> Reported:
    """Fire ``report.event`` in the parent as ``system`` and record the ``reported`` entry in the child."""
    child_id, parent_id = snap[S_CASE_ID], parent_snap[S_CASE_ID]
    data = report_data(report, snap[S_DATA])
    child_seq, parent_seq = snap[S_SEQ] + 1, parent_snap[S_SEQ] + 1
    ref = {"case_id": child_id, "process_id": child.id, "seq": child_seq}
    new, made, refusal = decide(parent, parent_snap, report.event, SYSTEM, data or None, now, cause[E_REASON],
                                "report", ref)
    entry = reported_entry(child, snap, report.event, data, cause[E_TRANSITION], cause[E_REASON],
                           {"case_id": parent_id, "process_id": parent.id, "seq": parent_seq}, refusal, now)
    return Reported(new, made, refusal, (*snap[:S_SEQ], child_seq), entry)


def reported_entry(child: CompiledProcess, snap: RawSnapshot, event: str, data: Mapping[str, Any],
                   transition: str | None, reason: str | None, ref: Mapping[str, Any], refusal: Refusal | None,
                   now: datetime, code: str | None = None, detail: str | None = None) -> RawEntry:
    """The child's ``reported`` entry (``code``/``detail``: the parent's refusal, when it refused)."""
    if refusal is not None:
        code, detail = refusal.code, "; ".join(refusal.reasons)
    here = child.paths[snap[S_LEAF]]
    return raw_entry(snap[S_SEQ] + 1, now, snap[S_CASE_ID], "reported", SYSTEM.id, SYSTEM.role_list, event, here,
                     here, data, reason, code, detail, ref, transition, child.id, child.version, None, None)


def reported_again(child: CompiledProcess, snap: RawSnapshot, transition: str | None, reason: str | None,
                   ref: Mapping[str, Any], code: str | None, detail: str | None, now: datetime
                   ) -> tuple[RawSnapshot, RawEntry] | str:
    """Replay of a ``reported`` entry: rebuilt from the child's own state; what the parent did (its entry's
    seq, its refusal) is taken as recorded, as the child's log cannot re-decide the parent. Or why not."""
    report = child.reports.get(transition or "")
    if report is None:
        return f"transition '{transition}' reports nothing"
    link = parent_link(snap)
    if link is None or ref.get("case_id") != link.case_id or ref.get("process_id") != link.process_id:
        return "it names a case that is not this case's parent"
    if type(ref.get("seq")) is not int:
        return "it does not name the parent's entry (ref.seq)"
    data = report_data(report, snap[S_DATA])
    entry = reported_entry(child, snap, report.event, data, transition, reason, ref, None, now, code, detail)
    return (*snap[:S_SEQ], snap[S_SEQ] + 1), entry


__all__ = ["Reported", "due_reports", "parent_link", "report_data", "report_up", "reported_again",
           "reported_entry"]
