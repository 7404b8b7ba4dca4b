"""Verification of one stored case, reporting every problem found, never stopping at the first.

Per case: every audit row read (its text UTF-8, its JSON an entry) and its columns (seq, hash, prev_hash,
kind, time, case_id) compared with the entry; the hash chain recomputed over the whole canonical entry,
seq gaps and rows past the case row's head found; the case row compared with what its log implies
(head, seq, version bounds, process, and — from the snapshot the log replays to, or the stored one with
``replay=False`` — state, closed and due_at); with a checkpoint head, the log compared with it. Every
store runs this one check (``BaseStore.verify_cases``); what the values are is never assumed: a column
an attacker filled with something else is a problem of that case, not an exception.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from careflow.cases.case import Case
from careflow.cases.store import CaseCheck, Problem
from careflow.cases.store.codec import Row, case_text, decode
from careflow.cases.store.scan import AuditRecord, Batch, CaseRecord
from careflow.cases.store.seal import Sealer
from careflow.errors import CareflowError
from careflow.history.checkpoint import Head, since
from careflow.runtime.audit import GENESIS, JSON_FIELDS, AuditEntry, entry_hash
from careflow.runtime.changes import due_at
from careflow.runtime.compiled import CompiledProcess
from careflow.runtime.fields import RawSnapshot

Finder = Callable[[str, str], CompiledProcess]
_KEYS = frozenset(JSON_FIELDS)
_KEYS_WITH_VALUES = _KEYS | {"values"}  # a committed entry's kept values, put back beside it (not hashed)
_VALUES = ',"values":'


def verify_batches(batches: Iterable[Batch], process: Finder | None, replay: bool,
                   heads: Mapping[str, Head], sealer: Sealer | None = None) -> Iterator[CaseCheck]:
    """One verdict per case in ``batches`` (audit rows whose case row is gone included), then one per case
    of the checkpoint ``heads`` that was not seen at all (deleted: case row and every audit row)."""
    remaining = dict(heads)
    for batch in batches:
        logs: dict[str, list[AuditRecord]] = {}
        for row in batch.audit:
            logs.setdefault(_text_id(row.case_id), []).append(row)
        records = {r.case_id: r for r in batch.cases}
        for case_id in sorted(records.keys() | logs.keys()):
            head = remaining.pop(case_id, None)
            try:
                yield check_case(case_id, records.get(case_id), logs.get(case_id, []), process, replay, head, sealer)
            except Exception as exc:
                yield CaseCheck.of(case_id, len(logs.get(case_id, [])),
                                   [Problem("unreadable", f"cannot be checked: {type(exc).__name__}: {exc}")])
    for case_id, head in sorted(remaining.items()):
        yield CaseCheck.of(case_id, 0, [Problem("checkpoint-deleted", f"the checkpoint saw {head.entries} entries; "
                                                "the case row and every audit row are gone")])


def _sealed_row(record: CaseRecord) -> Row:
    """The ``Row`` a seal covers, from a scanned case row (values of the wrong type stay: they fail the seal)."""
    return Row(record.case_id, record.process_id, record.process_version, record.version, record.seq, record.head,
               record.snapshot, record.state, record.closed, record.due_at, record.seal)


def _text_id(value: Any) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape") \
        if isinstance(value, bytes) else str(value)


def check_case(case_id: str, record: CaseRecord | None, audit: Sequence[AuditRecord], process: Finder | None,
               replay: bool = True, head: Head | None = None, sealer: Sealer | None = None) -> CaseCheck:
    """The verdict on one case: ``record`` its case row (None: gone), ``audit`` its audit rows by seq,
    ``process`` what finds its process (None: skip the checks that need it), ``head`` its checkpoint head,
    ``sealer`` what checks the row's seal (None: not checked)."""
    problems: list[Problem] = []
    entries = [_entry(row, case_id, problems) for row in audit]
    _chain(audit, entries, problems)
    if record is None:
        problems.append(Problem("row-missing", f"the case row is gone, but {len(audit)} audit entries remain"))
    else:
        _row(record, audit, entries, problems, process, replay)
        row_found = any(p.seq is None for p in problems)
        if sealer is not None and not row_found and not sealer.check(_sealed_row(record)):
            # what the column checks cannot see (a version moved within its bounds, a wrong key)
            problems.append(Problem("seal-mismatch", "the case row does not match its seal: its snapshot or a column "
                                    "was changed outside careflow (or it was sealed with another key)", None, "seal"))
    if head is not None:
        found = since(head, len(audit), _hash_at(audit, entries, head.entries - 1))
        if found is not None:
            problems.append(Problem(found[0], found[1], head.entries - 1 if found[0] != "checkpoint-truncated"
                                    else None))
    return CaseCheck.of(case_id, len(audit), problems)


class Read(NamedTuple):
    """What verification needs of an entry, read from its JSON without building an ``AuditEntry`` (most of
    the cost of reading one); ``body`` is the whole JSON object, for the rare row that needs re-encoding."""

    seq: Any
    time: datetime
    case_id: Any
    kind: Any
    process_id: Any
    process_version: Any
    prev_hash: Any
    hash: Any
    body: dict[str, Any]


def _read(text: Any) -> Read:
    if not isinstance(text, str):
        raise ValueError(f"the entry column holds {type(text).__name__}, not text")
    text.encode("utf-8")  # a byte that is not UTF-8 was read as a lone surrogate: UnicodeEncodeError
    body = json.loads(text)
    if not isinstance(body, dict) or (body.keys() != _KEYS and body.keys() != _KEYS_WITH_VALUES):
        raise ValueError("not an audit entry (its keys differ)")
    if not isinstance(body["time"], str):
        raise ValueError("its 'time' is not a string")
    return Read(body["seq"], datetime.fromisoformat(body["time"]), body["case_id"], body["kind"], body["process_id"],
                body["process_version"], body["prev_hash"], body["hash"], body)


def _entry(row: AuditRecord, case_id: str, problems: list[Problem]) -> Read | None:
    """The entry of an audit row, its columns compared with it (None: unreadable, and said so)."""
    seq = row.seq if type(row.seq) is int else None
    try:
        entry = _read(row.entry)
    except UnicodeEncodeError:
        problems.append(Problem("unreadable", f"entry seq {seq}: its text is not valid UTF-8", seq, "entry"))
        return None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problems.append(Problem("unreadable", f"entry seq {seq} cannot be read: {exc}", seq, "entry"))
        return None
    for column, stored, expected in (("seq", row.seq, entry.seq), ("hash", row.hash, entry.hash),
                                     ("prev_hash", row.prev_hash, entry.prev_hash), ("kind", row.kind, entry.kind),
                                     ("case_id", row.case_id, entry.case_id)):
        if stored != expected or type(stored) is not type(expected):
            problems.append(Problem("columns-changed", f"entry seq {seq}: its {column} column "
                                    f"({_shown(stored)}) differs from the entry ({_shown(expected)})", seq, column))
    if not _same_time(row.time, entry.time, entry.body["time"]):
        problems.append(Problem("columns-changed", f"entry seq {seq}: its time column ({_shown(row.time)}) "
                                f"differs from the entry ({entry.time.isoformat()})", seq, "time"))
    return entry


def _same_time(stored: Any, expected: datetime, text: str) -> bool:
    """A time column kept as a time (PostgreSQL) is the same instant; kept as text (SQLite), the same text."""
    if isinstance(stored, datetime):
        return stored.tzinfo is not None and stored == expected
    return bool(stored == text)


def _shown(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _chain(audit: Sequence[AuditRecord], entries: Sequence[Read | None], problems: list[Problem]) -> None:
    """Gaps in seq, entries that do not match their hash, links that do not point at the entry before."""
    expected: Any = 0
    prev: str | None = GENESIS
    for row, entry in zip(audit, entries, strict=True):
        seq = row.seq if type(row.seq) is int else None
        if row.seq != expected:
            problems.append(Problem("sequence-gap", f"audit row seq {_shown(row.seq)} where {expected} follows",
                                    seq, "seq"))
        expected = seq + 1 if seq is not None else None
        if entry is None:
            prev = None  # unknown: the next link cannot be judged
            continue
        if not _hash_ok(row.entry, entry):
            problems.append(Problem("content-changed", f"entry seq {seq} does not match its hash: its content "
                                    "was changed", seq))
        if prev is not None and entry.prev_hash != prev:
            problems.append(Problem("link-broken", f"entry seq {seq} does not point at the entry before it", seq,
                                    "prev_hash"))
        prev = entry.hash


def _hash_ok(text: str, entry: Read) -> bool:
    """Whether ``entry`` (read from ``text``) matches its hash. A row as careflow writes it is the canonical
    text plus its ``hash`` member, so it is hashed as read (as replay does with canonical JSON lines: a
    match cannot be wrong); any other layout is re-encoded."""
    needle = f',"hash":"{entry.hash}"'
    at = text.find(needle) if isinstance(entry.hash, str) else -1
    tail = text[at + len(needle):]
    if tail.startswith(_VALUES):  # the kept values go last, after the hash, which does not cover them
        tail = "}"
    if at >= 0 and hashlib.sha256((text[:at] + tail).encode("utf-8")).hexdigest() == entry.hash:
        return True
    try:
        return bool(entry_hash(AuditEntry.from_json(entry.body)) == entry.hash)
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


def _hash_at(audit: Sequence[AuditRecord], entries: Sequence[Read | None], seq: int) -> str | None:
    for row, entry in zip(audit, entries, strict=True):
        if row.seq == seq:
            return entry.hash if entry is not None else row.hash if isinstance(row.hash, str) else None
    return None


def _row(record: CaseRecord, audit: Sequence[AuditRecord], entries: Sequence[Read | None],
         problems: list[Problem], process: Finder | None, replay: bool) -> None:
    """The case row against its log: past-head rows, head and seq, version, process, then the snapshot."""
    top = record.seq if type(record.seq) is int else -1
    logged = [(row, e) for row, e in zip(audit, entries, strict=True) if not (type(row.seq) is int and row.seq > top)]
    for row in audit:
        if type(row.seq) is int and row.seq > top:
            problems.append(Problem("past-head", f"audit row seq {row.seq} is past the case row's head (seq "
                                    f"{_shown(record.seq)}): the case could never be written again", row.seq))
    last = logged[-1][1] if logged else None
    if last is None or last.hash != record.head or last.seq != record.seq:
        problems.append(Problem("head-mismatch", f"the case row (seq {_shown(record.seq)}, head "
                                f"{_shown(record.head)}) does not end where its log ends (log cut short?)",
                                None, "head"))
    if type(record.version) is not int or not 1 <= record.version <= len(logged):
        problems.append(Problem("row-differs", f"the case row's version ({_shown(record.version)}) is not "
                                f"between 1 and its {len(logged)} entries", None, "version"))
    first = entries[0] if entries else None
    if first is not None and (record.process_id, record.process_version) != (first.process_id,
                                                                              first.process_version):
        problems.append(Problem("row-differs", f"the case row runs on {_shown(record.process_id)}@"
                                f"{_shown(record.process_version)}, its log on {first.process_id}@"
                                f"{first.process_version}", None, "process_id"))
    if process is None or any(p.code in ("row-differs",) and p.column == "process_id" for p in problems):
        return
    try:
        compiled = process(record.process_id, record.process_version)
    except (CareflowError, TypeError, ValueError) as exc:
        problems.append(Problem("process-unloadable", f"its process {_shown(record.process_id)}@"
                                f"{_shown(record.process_version)} cannot be loaded: {str(exc).splitlines()[0]}",
                                None, "process_id"))
        return
    chain_ok = not any(p.seq is not None or p.code == "head-mismatch" for p in problems)
    snap = _snapshot(record, [(r, e) for r, e in logged], compiled, replay and chain_ok, problems)
    if snap is not None:
        _columns(record, snap, compiled, problems)


def _snapshot(record: CaseRecord, logged: list[tuple[AuditRecord, Read | None]], compiled: CompiledProcess,
              replay: bool, problems: list[Problem]) -> RawSnapshot | None:
    """The snapshot the case row's columns must agree with: the one the log replays to (``replay``), else
    the stored one. None when there is none (said so)."""
    if not all(isinstance(v, str) for v in (record.process_id, record.process_version, record.head, record.snapshot)):
        problems.append(Problem("unreadable", "the case row holds values that are not text", None, "snapshot"))
        return None
    row = Row(record.case_id, record.process_id, record.process_version, record.version, record.seq, record.head,
              record.snapshot)
    if replay:
        try:
            rows = [(r.seq, r.hash, r.prev_hash, r.entry) for r, _ in logged]
            return Case.from_json(compiled, case_text(row, rows)).snapshot
        except CareflowError as exc:
            index = getattr(exc, "index", None)
            at = logged[index][0].seq if isinstance(index, int) and index < len(logged) else None
            problems.append(Problem("replay", f"the log does not replay to the stored case: "
                                              f"{str(exc).splitlines()[0]}", at))
            return None
    try:
        return decode(row)
    except CareflowError:
        problems.append(Problem("unreadable", "the stored snapshot cannot be read", None, "snapshot"))
        return None


def _columns(record: CaseRecord, snap: RawSnapshot, compiled: CompiledProcess, problems: list[Problem]) -> None:
    """state, closed and due_at of the case row against ``snap``."""
    try:
        implied = (compiled.paths[snap[1]], snap[1] in compiled.finals, due_at(snap) if snap[5] else None)
    except (KeyError, IndexError, TypeError, ValueError):
        problems.append(Problem("unreadable", "the stored snapshot names a state its process does not have",
                                None, "snapshot"))
        return
    for column, stored, expected in zip(("state", "closed", "due_at"), (record.state, record.closed, record.due_at),
                                        implied, strict=True):
        same = stored == expected and (column != "closed" or type(stored) in (bool, int))
        if not same:
            shown = expected.isoformat() if isinstance(expected, datetime) else repr(expected)
            problems.append(Problem("row-differs", f"the case row's {column} ({_shown(stored)}) is not what its "
                                    f"log leads to ({shown})", None, column))


__all__ = ["Finder", "check_case", "verify_batches"]
