"""Redaction in a store: one transaction records the ``redacted`` entry, updates the snapshot and deletes
the values (and their salts) from ``careflow_values``; then the backend scrubs the freed space.

What is removed: for each field named, the value kept beside every committed entry that holds it (or
only at the seqs named), and the case data in the snapshot when its current value came from one of
those entries (the newest entry that gave the field is among them). The entry's commitment stays, so
the chain verifies; the ``redacted`` entry names the values by seq and key, never the values.

Who may: an actor holding the records role (``records_role`` of the store, ``records_officer`` by
default). Anyone else is refused, and the refusal is logged as a ``denied`` entry, committed before
``RoleDenied`` is raised. Closed cases may be redacted: retention acts on closed cases.

A correction (``store.correct``) is the same transaction with a ``corrected`` entry that carries the new
value (checked against the field's declared type, a ``denied`` entry if it does not fit): every older
value of the field is removed, and the snapshot holds the new one.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from careflow.cases.store.access import PURPOSE_LENGTH, Reader, purpose_problem
from careflow.cases.store.codec import change, decode, seal_rows
from careflow.cases.store.ids import check_stored_id
from careflow.errors import RedactionRefused, refusal_error
from careflow.runtime import records
from careflow.runtime.audit import AuditEntry, cook
from careflow.runtime.boundary import records_problem
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.retention import closing

if TYPE_CHECKING:
    from careflow.cases.store.base import BaseStore
    from careflow.cases.store.retention import RetentionApplied, RetentionFailure, RetentionItem

#: Entry kinds whose data becomes case data (a ``denied`` entry's data never does).
_SETS_DATA = frozenset({"opened", "fired", "deadline", "corrected"})


class Redaction(NamedTuple):
    """What a redaction did: the ``redacted`` entry, the (seq, key) values removed, the case data cleared."""

    case_id: str
    entry: AuditEntry
    values: tuple[tuple[int, str], ...]
    cleared: tuple[str, ...]


def targets(entries: Sequence[AuditEntry], fields: Iterable[str], seqs: Iterable[int] | None, need: bool = True
            ) -> tuple[list[tuple[int, str]], list[str]]:
    """The (seq, key) values to remove and the case data to clear; ``RedactionRefused`` when a named value
    sits in a schema-1 entry, or (``need``) nothing matches."""
    wanted, only = set(fields), None if seqs is None else set(seqs)
    found: list[tuple[int, str]] = []
    newest: dict[str, int] = {}
    for e in entries:
        if e.kind in _SETS_DATA:
            for key in e.data:
                newest[key] = e.seq
        if only is not None and e.seq not in only:
            continue
        if e.commits is None:
            hit = sorted(wanted & set(e.data))
            if hit:
                raise RedactionRefused(
                    f"case '{e.case_id}': entry seq {e.seq} was written before salted commitments (schema 1); its "
                    f"hash covers the value of '{hit[0]}', which cannot be removed without breaking the chain",
                    "see docs/records.md, 'Entries written before schema version 3'")
            continue
        found += [(e.seq, key) for key, _, salt in e.commits if key in wanted and salt is not None]
    if not found and need:
        where = "" if only is None else f" at seq {', '.join(str(s) for s in sorted(only))}"
        raise RedactionRefused(f"no entry holds a value of {', '.join(sorted(wanted))}{where} to remove",
                               "check the field names and seqs with 'careflow case history CASE'")
    removed = set(found)
    cleared = sorted(key for key, seq in newest.items() if (seq, key) in removed)
    return found, cleared


def redact(store: BaseStore, case_id: str, fields: Sequence[str], seqs: Iterable[int] | None, actor: Actor,
           reason: str, role: str, now: datetime | None, correction: tuple[Any] | None = None,
           retention: Mapping[str, Any] | None = None, scrub: bool = True) -> Redaction:
    """``store.redact`` (see the module docstring); with ``correction`` (the new value, of the one field
    named), ``store.correct``: a ``corrected`` entry, and every older value of the field removed; with
    ``retention`` (and role ``system``), a redaction by a retention rule (``cases.store.retention``);
    ``scrub=False``: the caller scrubs the database (``store._scrub()``) once after many redactions.

    The case is read to do it: the read is recorded in the access log (action ``redact``) as ``actor``
    reading for ``reason``."""
    if not isinstance(reason, str) or not reason.strip():
        raise RedactionRefused("a redaction needs a reason", "say why, e.g. --reason 'retention period ended'")
    if not fields:
        raise RedactionRefused("a redaction needs at least one field", "name it with --field NAME")
    refused = None
    with store.transaction(lock=[case_id]):
        row, rows = store._logged(case_id)
        entries = [AuditEntry.from_json(json.loads(r[3])) for r in rows]
        compiled = store.process(row.process_id, row.process_version)
        when = now if now is not None else store.clock.now()
        screened = records_problem(compiled, actor, reason, when)
        if screened is not None:
            raise refusal_error(screened)  # bad input: nothing recorded, as for any call the boundary refuses
        store._record(reader_of(actor, reason), "redact", [case_id])  # recorded when the block ends
        _check_closing(compiled, entries, retention)
        if correction is None:
            found, cleared = targets(entries, fields, seqs)
            new, made, refused = records.redact(compiled, decode(row), found, cleared, actor, when, reason, role,
                                                retention)
        else:
            found, cleared = targets(entries, fields, None, need=False)
            new, made, refused = records.correct(compiled, decode(row), fields[0], correction[0], found, actor,
                                                 when, reason, role)
        sealed, audit_rows = seal_rows([cook(e) for e in made], row.head)
        store._write([change(compiled, new, sealed, row.version + 1, row.version, True, audit_rows)])
        if refused is None:
            store._remove_values(case_id, found)
    if refused is not None:
        raise refusal_error(refused, sealed[0])  # the refusal is committed (a 'denied' entry)
    if store._tx:
        store._scrub_due = True  # inside the caller's transaction: scrubbed once it commits
    elif scrub:
        store._scrub()
    return Redaction(case_id, sealed[0], tuple(found), () if correction is not None else tuple(cleared))



def _check_closing(compiled: CompiledProcess, entries: Sequence[AuditEntry],
                   retention: Mapping[str, Any] | None) -> None:
    """``RedactionRefused`` when a retention names a closing time the case's log does not show."""
    if retention is None:
        return
    closed = closing(((e.time, e.target.rsplit(".", 1)[-1] if e.target else None) for e in entries),
                     compiled.finals)
    if closed is None or retention.get("closed") != closed.isoformat():
        raise RedactionRefused(f"the retention names the closing time {retention.get('closed')!s:.40}, but the "
                               f"case's log shows {'none' if closed is None else closed.isoformat()}",
                               "let careflow find what is due: store.retention_due / careflow retention")


def reader_of(actor: Actor, reason: str) -> Reader:
    """Who a redaction's read is recorded as: ``actor`` (origin ``system`` for the system), reading for the
    redaction's reason (made one printable line of at most ``PURPOSE_LENGTH`` characters)."""
    purpose = reason.strip()
    if purpose_problem(purpose) is not None:
        purpose = "".join(c if c.isprintable() else " " for c in purpose)[:PURPOSE_LENGTH].strip() or "redaction"
    origin = "system" if actor.id == "system" and "system" in actor.roles else "person"
    return Reader(actor.id, actor.role_list, purpose, origin)


class RecordsDuties:
    """``store.redact`` and ``store.correct``, which ``BaseStore`` inherits (see the module docstring)."""

    records_role: str  # the role that may redact or correct (docs/records.md)

    def redact(self, case_id: str, fields: Sequence[str], entries: Iterable[int] | None = None, *, actor: Actor,
               reason: str, now: datetime | None = None) -> Redaction:
        """Remove the values of ``fields`` from the case (see the module docstring)."""
        check_stored_id(case_id)
        return redact(cast("BaseStore", self), case_id, list(fields), entries, actor, reason, self.records_role, now)

    def correct(self, case_id: str, field: str, value: Any, *, actor: Actor, reason: str,
                now: datetime | None = None) -> Redaction:
        """Correct case data ``field`` to ``value``; its older values are removed (``redact``)."""
        check_stored_id(case_id)
        return redact(cast("BaseStore", self), case_id, [field], None, actor, reason, self.records_role, now,
                      (value,))

    def retention_due(self, at: datetime | None = None) -> Iterator[RetentionItem | RetentionFailure]:
        """The values of closed cases due for removal at ``at`` (default: now), one ``RetentionItem`` per case
        and rule, streamed a batch of cases at a time; changes nothing (docs/records.md, "Retention")."""
        from careflow.cases.store.retention import due_items

        store = cast("BaseStore", self)
        return due_items(store, at if at is not None else store.clock.now())

    def apply_retention(self, at: datetime | None = None, *, actor: Actor | None = None
                        ) -> Generator[RetentionApplied | RetentionFailure]:
        """Redact what ``retention_due(at)`` lists, one logged redaction per item, as the system (or
        ``actor``, who needs the records role); a case that fails is reported and the rest go on."""
        from careflow.cases.store.retention import apply_items

        return apply_items(cast("BaseStore", self), at, actor)

__all__ = ["RecordsDuties", "Redaction", "redact", "targets"]
