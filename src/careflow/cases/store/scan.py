"""Reading a whole store for verification: case rows and audit rows, a batch of case ids at a time.

Verification must read what an attacker may have written, so nothing here assumes a column holds what
careflow wrote: values are kept as the driver gives them (``Any``) and judged by ``verify``. A batch is
the next ``limit`` case rows in the database's order of ``case_id`` after the last id seen, plus every
audit row whose case id falls in the same range — so audit rows whose case row is gone (orphans) come
with the batch their id sorts into. Memory stays bounded by the batch size (times the longest log).
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: Case rows per batch.
BATCH = 500

CASE_SCAN = ("SELECT case_id, process_id, process_version, state, closed, due_at, version, seq, head, snapshot, "
             "seal FROM careflow_cases")
AUDIT_SCAN = "SELECT case_id, seq, hash, prev_hash, kind, time, entry FROM careflow_audit"


class CaseRecord(NamedTuple):
    """A case row, every column as stored (see the module docstring)."""

    case_id: str
    process_id: Any
    process_version: Any
    state: Any
    closed: Any
    due_at: Any
    version: Any
    seq: Any
    head: Any
    snapshot: Any
    seal: Any = ""


class AuditRecord(NamedTuple):
    """An audit row, every column as stored."""

    case_id: str
    seq: Any
    hash: Any
    prev_hash: Any
    kind: Any
    time: Any
    entry: Any


class Batch(NamedTuple):
    """Case rows and audit rows of one range of case ids; ``last``: where the next batch starts (None: done)."""

    cases: list[CaseRecord]
    audit: list[AuditRecord]
    last: str | None


def scan_sql(after: str | None, upto: str | None, bound: str, only: bool = False) -> tuple[str, str]:
    """The case and audit statements of one batch: ids after ``after`` (``bound`` is how a dialect writes
    the parameter), the audit rows up to ``upto`` too (None: to the end); ``only``: one case id instead."""
    if only:
        return (f"{CASE_SCAN} WHERE case_id = {bound}", f"{AUDIT_SCAN} WHERE case_id = {bound} ORDER BY seq")
    where = f" WHERE case_id > {bound}" if after is not None else ""
    cases = f"{CASE_SCAN}{where} ORDER BY case_id LIMIT {BATCH}"
    audit = AUDIT_SCAN + where
    if upto is not None:
        audit += (" AND" if where else " WHERE") + f" case_id <= {bound}"
    return cases, audit + " ORDER BY case_id, seq"


def upto(cases: list[CaseRecord]) -> str | None:
    """The last case id of a full batch (None: this batch is the last; its audit range has no end)."""
    return cases[-1].case_id if len(cases) >= BATCH else None


def batch_of(after: str | None, cases: list[CaseRecord], audit: list[AuditRecord]) -> Batch:
    last = upto(cases)
    return Batch(cases, audit, None if last == after else last)  # no progress (cannot happen): stop


__all__ = ["AUDIT_SCAN", "BATCH", "CASE_SCAN", "AuditRecord", "Batch", "CaseRecord", "batch_of", "scan_sql", "upto"]
