"""Snapshots and entries to and from the text a store keeps.

The snapshot form is ``careflow.runtime.snapshots`` — the same encoder ``Case.to_json`` uses around the
history — so a stored case exports to, and imports from, the case JSON unchanged. Decoding freezes
the data values the way the engine's validators do (``model.freeze``), which makes the round trip
exact: a decoded snapshot equals the one that was encoded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from careflow.cases.case import FORMAT
from careflow.cases.store import CaseInfo
from careflow.cases.store.values import ValueRow, value_rows
from careflow.errors import HistoryError, StoreError
from careflow.runtime.audit import AuditEntry, canonical, committed, cook
from careflow.runtime.changes import due_at
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.fields import RawSnapshot
from careflow.runtime.snapshots import snapshot_from_json, snapshot_json

_new = tuple.__new__


class Row(NamedTuple):
    """A case row as read from a store: every column (``seal``: see ``careflow.cases.store.seal``)."""

    case_id: str
    process_id: str
    process_version: str
    version: int
    seq: int
    head: str
    snapshot: str  # the snapshot JSON
    state: str = ""
    closed: bool = False
    due_at: datetime | None = None
    seal: str = ""


class EntryRow(NamedTuple):
    """An audit row: the entry's JSON (``AuditEntry.to_json``) plus the columns verification reads."""

    case_id: str
    seq: int
    hash: str
    prev_hash: str
    kind: str
    time: str
    entry: str


class Change(NamedTuple):
    """One case's part of a commit: its new row (indexed columns and snapshot JSON) and the entries it
    appends. ``expected`` is the version the change was based on (None: a new case, inserted)."""

    info: CaseInfo
    snapshot: str
    entries: tuple[EntryRow, ...]
    expected: int | None
    seal: str = ""  # filled in when the snapshot text is final (``units``), just before the write
    values: tuple[ValueRow, ...] = ()  # the kept values of committed entries (``careflow_values``)

    @property
    def case_id(self) -> str:
        return self.info.case_id

    def row(self) -> Row:
        """The case row as a read after this change would return it."""
        info = self.info
        return Row(info.case_id, info.process_id, info.process_version, info.version, info.seq, info.head,
                   self.snapshot, info.state, info.closed, info.due_at, self.seal)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def entry_row(entry: AuditEntry) -> EntryRow:
    """The stored row of a sealed entry: its JSON is the canonical text the hash covers plus ``hash``
    (the same object ``AuditEntry.to_json`` gives)."""
    assert entry.hash is not None and entry.prev_hash is not None, "entries are stored sealed"
    return _row(entry, canonical(entry).decode("utf-8"))


def _row(entry: AuditEntry, text: str) -> EntryRow:
    return EntryRow(entry.case_id, entry.seq, entry.hash or "", entry.prev_hash or "", entry.kind,
                    entry.time.isoformat(), f'{text[:-1]},"hash":"{entry.hash}"}}')


def seal_rows(entries: Sequence[AuditEntry], head: str) -> tuple[list[AuditEntry], list[EntryRow]]:
    """``entries`` sealed onto the chain ending in ``head``, and their rows.

    ``audit.seal`` would give the same entries (the suite checks it) but throws the canonical text
    away; the store needs that text for the row, and encoding is most of the cost of a commit, so
    it is encoded once here: the hash is SHA-256 of ``audit.canonical``, as ``audit`` documents.
    """
    sealed, rows = [], []
    for entry in entries:
        made = committed(entry)
        body = made[:17]  # every field but prev_hash, hash and commits (tuple.__new__: no _replace cost)
        text = canonical(_new(AuditEntry, (*body, head, None, made[19])))
        digest = hashlib.sha256(text).hexdigest()
        done = cook((*body, head, digest, made[19]))
        head = digest
        sealed.append(done)
        rows.append(_row(done, text.decode("utf-8")))
    return sealed, rows


def change(compiled: CompiledProcess, snap: RawSnapshot, entries: Sequence[AuditEntry], version: int,
           expected: int | None, encode: bool = True, rows: Sequence[EntryRow] | None = None) -> Change:
    """The row values for ``snap`` after ``entries`` (sealed, oldest first; ``rows``: their rows if
    already made). ``encode=False`` leaves the snapshot text empty, for a caller that encodes it
    later (once per case per batch)."""
    info = CaseInfo(snap[0], compiled.id, compiled.version, compiled.paths[snap[1]], snap[1] in compiled.finals,
                    due_at(snap) if snap[5] else None, version, snap[7], entries[-1].hash or "")
    return Change(info, dumps(snapshot_json(compiled, snap)) if encode else "",
                  tuple(rows) if rows is not None else tuple(entry_row(e) for e in entries), expected,
                  values=value_rows(entries))


def decode(row: Row) -> RawSnapshot:
    try:
        return snapshot_from_json(json.loads(row.snapshot))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"the stored snapshot of case '{row.case_id}' cannot be read: {exc!r}",
                         "run 'careflow audit verify --case ID'; restore the database from a backup") from exc


def case_text(row: Row, rows: Sequence[tuple[int, str, str, str]]) -> str:
    """The case JSON (``Case.to_json``'s form) from a stored row and its audit rows, without re-parsing."""
    snap = row.snapshot
    if not snap.startswith("{"):
        raise HistoryError(f"case '{row.case_id}': the stored snapshot is not a JSON object")
    history = ",".join(r[3] for r in rows)
    head = json.dumps(row.head)
    return f'{{"format":{json.dumps(FORMAT)},{snap[1:-1]},"head":{head},"history":[{history}]}}'


__all__ = ["Change", "EntryRow", "Row", "case_text", "change", "decode", "dumps", "entry_row", "seal_rows",
           "snapshot_from_json", "snapshot_json"]
