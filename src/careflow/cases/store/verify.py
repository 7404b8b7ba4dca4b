"""Verification of a stored case: its audit rows against their columns, the hash chain, the case row
and, on request, a replay. Every store runs this one check (``BaseStore.verify``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from careflow.cases.case import Case
from careflow.cases.store import CaseCheck
from careflow.cases.store.codec import Row, case_text
from careflow.errors import HistoryError
from careflow.runtime.audit import AuditEntry, verify_chain
from careflow.runtime.compiled import CompiledProcess


def check_case(row: Row, rows: Sequence[tuple[int, str, str, str]], process: Callable[[], CompiledProcess] | None
               ) -> CaseCheck:
    """The verdict on one stored case: its audit rows (up to the row's ``seq``) read, their columns
    compared with the entries, the hash chain recomputed, its end compared with the case row, and —
    with ``process`` (what finds the case's process) — the log replayed."""
    cid = row.case_id
    entries: list[AuditEntry] = []
    for seq, hash_, prev, text in rows:
        try:
            entry = AuditEntry.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            return CaseCheck(cid, False, len(rows), seq, "unreadable", f"entry seq {seq} cannot be read: {exc}")
        if (entry.seq, entry.hash, entry.prev_hash) != (seq, hash_, prev):
            return CaseCheck(cid, False, len(rows), seq, "columns-changed",
                             f"entry seq {seq}: its seq/hash/prev_hash columns differ from the entry itself")
        entries.append(entry)
    result = verify_chain(entries)
    if not result:
        index = result.index or 0
        return CaseCheck(cid, False, len(rows), rows[index][0], result.problem,
                         f"entry seq {rows[index][0]}: {result.message} ({result.problem})")
    if not entries or entries[-1].hash != row.head or entries[-1].seq != row.seq:
        return CaseCheck(cid, False, len(rows), None, "head-mismatch",
                         f"the case row (seq {row.seq}) does not end where its log ends (log cut short?)")
    if process is not None:
        try:
            Case.from_json(process(), case_text(row, rows))
        except HistoryError as exc:
            at = rows[exc.index][0] if exc.index is not None and exc.index < len(rows) else None
            return CaseCheck(cid, False, len(rows), at, "replay", f"replay: {exc}")
    return CaseCheck(cid, True, len(rows))


__all__ = ["check_case"]
