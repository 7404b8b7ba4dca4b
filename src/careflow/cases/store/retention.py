"""Retention in a store: which values of closed cases are due for removal, and their removal as logged
redactions (docs/records.md, "Retention").

``due_items`` walks the store a batch of cases at a time (``_scan``, as verification does: memory stays
bounded by the batch), and for every closed case finds

- when it closed: the time of the entry that took it into a final state and after which it stayed in
  one (``runtime.retention.closing``);
- which values it still keeps (``careflow_values``), each under its rule: the data field's own
  ``retention``, else the process's;
- which rules are due at ``at``: one ``RetentionItem`` per rule, naming the keys and (seq, key) values.

A case whose values are all gone, or whose rules are not due, yields nothing: a second run finds
nothing new. The cases a batch looks at are recorded in the access log as system reads (``retention``).

``apply_items`` redacts each item through the store's redaction (``records.redact``): one transaction per
item, a ``redacted`` entry whose ``ref.retention`` names the rule; the database is scrubbed every
``SCRUB_EVERY`` redactions and when the run ends. By default the actor is the system,
whose authority is the rule itself (``runtime.retention.problem``); an actor given instead needs the
records role, as for any redaction. A case that fails (a refusal, a damaged row) is reported as a
``RetentionFailure`` and the run goes on.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from careflow.cases.store.access import system
from careflow.cases.store.scan import AuditRecord, CaseRecord
from careflow.errors import CareflowError, RedactionRefused
from careflow.model.definition import SYSTEM_ROLE
from careflow.runtime.compiled import SYSTEM, Actor, CompiledProcess
from careflow.runtime.retention import closing, due

if TYPE_CHECKING:
    from careflow.cases.store.base import BaseStore

#: How the retention run is recorded in the access log.
SCANNER = system("retention")
#: Redactions between two scrubs of the database (SQLite: the WAL checkpointed and truncated). Each
#: redaction is committed on its own; the scrub, which costs most, runs once per this many and at the end.
SCRUB_EVERY = 500


class RetentionItem(NamedTuple):
    """Values of one closed case due under one rule: ``rule`` (e.g. ``P10Y``) of the process (``field``
    None) or of data field ``field``; ``due`` = ``closed`` + ``rule``; ``fields`` the keys whose values
    are removed, ``values`` the (seq, key) values kept now."""

    case_id: str
    process_id: str
    process_version: str
    closed: datetime
    rule: str
    field: str | None
    due: datetime
    fields: tuple[str, ...]
    values: tuple[tuple[int, str], ...]

    @property
    def reason(self) -> str:
        """The reason the ``redacted`` entry records, naming the rule."""
        whose = f"process {self.process_id}" if self.field is None else \
            f"field {self.field} in process {self.process_id}"
        return f"retention {self.rule} of {whose} (closed {self.closed.date().isoformat()})"

    def ref(self) -> dict[str, Any]:
        """What the ``redacted`` entry's ``ref.retention`` records."""
        return {"rule": self.rule, "field": self.field, "closed": self.closed.isoformat()}


class RetentionApplied(NamedTuple):
    """An item removed: ``seq`` of the ``redacted`` entry, ``values`` the (seq, key) values removed."""

    item: RetentionItem
    seq: int
    values: tuple[tuple[int, str], ...]

    @property
    def case_id(self) -> str:
        return self.item.case_id


class RetentionFailure(NamedTuple):
    """A case the run could not judge or redact: the error's ``code`` and plain ``message``; ``item`` the
    item it was applying (None: the case could not be judged)."""

    case_id: str
    code: str
    message: str
    item: RetentionItem | None = None


def due_items(store: BaseStore, at: datetime) -> Iterator[RetentionItem | RetentionFailure]:
    """Every closed case's values due for removal at ``at``, batch by batch (see the module docstring)."""
    after: str | None = None
    while True:
        with store._guard():
            store._flush()
            batch = store._scan(after)
            closed = [c for c in batch.cases if c.closed is True or c.closed == 1]
            logs: dict[str, list[AuditRecord]] = defaultdict(list)
            wanted = {c.case_id for c in closed}
            for r in batch.audit:
                if r.case_id in wanted:
                    logs[r.case_id].append(r)
            kept = {c.case_id: [(s, k) for s, k, *_ in store._value_rows(c.case_id)] for c in closed}
            store._record(SCANNER, "retention", sorted(wanted))
        for record in closed:
            yield from _judge(store, record, logs[record.case_id], kept[record.case_id], at)
        if batch.last is None:
            return
        after = batch.last


def _judge(store: BaseStore, record: CaseRecord, log: list[AuditRecord], kept: list[tuple[int, str]],
           at: datetime) -> Iterator[RetentionItem | RetentionFailure]:
    if not kept:
        return
    try:
        compiled = store.process(str(record.process_id), str(record.process_version))
        closed = _closing(compiled, log)
    except CareflowError as exc:
        yield RetentionFailure(record.case_id, exc.code, str(exc))
        return
    except (ValueError, TypeError, KeyError) as exc:
        yield RetentionFailure(record.case_id, "CF958", f"the case's log cannot be read: {type(exc).__name__}")
        return
    if closed is None:
        yield RetentionFailure(record.case_id, "CF958", "the case row says closed, but no entry closed it")
        return
    groups: dict[tuple[str, str | None], list[tuple[int, str]]] = defaultdict(list)
    process = compiled.process
    for seq, key in kept:
        rule = process.retention_of(key)
        if rule is not None:
            own = process.has_field(key) and process.field(key).retention is not None
            groups[(rule.text, key if own else None)].append((seq, key))
    for (text, field), values in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or "")):
        rule = process.retention_of(field) if field is not None else process.retention
        assert rule is not None
        when = due(closed, rule)
        if when <= at:
            yield RetentionItem(record.case_id, compiled.id, compiled.version, closed, text, field, when,
                                tuple(sorted({k for _, k in values})), tuple(sorted(values)))


def _closing(compiled: CompiledProcess, log: list[AuditRecord]) -> datetime | None:
    moves = []
    for r in sorted(log, key=lambda r: int(r.seq)):
        entry = json.loads(r.entry)
        target = entry.get("to")
        moves.append((datetime.fromisoformat(entry["time"]),
                      target.rsplit(".", 1)[-1] if isinstance(target, str) else None))
    return closing(moves, compiled.finals)


def apply_items(store: BaseStore, at: datetime | None, actor: Actor | None
                ) -> Generator[RetentionApplied | RetentionFailure]:
    """Redact every item due at ``at`` (default and latest: the store's clock now), as ``actor`` (default:
    the system, whose authority is the rule). ``RedactionRefused`` at once for an ``at`` after now."""
    now = store.clock.now()
    if at is not None and at > now:
        raise RedactionRefused(f"retention cannot be applied ahead of time ({at.isoformat()} is after now, "
                               f"{now.isoformat()})", "list what will be due with a dry run (no --apply)")
    return _apply(store, at or now, actor)


def _apply(store: BaseStore, at: datetime, actor: Actor | None) -> Generator[RetentionApplied | RetentionFailure]:
    from careflow.cases.store.records import redact

    who = SYSTEM if actor is None else actor
    role = SYSTEM_ROLE if actor is None else store.records_role
    unscrubbed = 0
    try:
        for found in due_items(store, at):
            if isinstance(found, RetentionFailure):
                yield found
                continue
            try:
                done = redact(store, found.case_id, list(found.fields), None, who, found.reason, role, None,
                              retention=found.ref(), scrub=False)
            except CareflowError as exc:
                yield RetentionFailure(found.case_id, exc.code, str(exc), found)
                continue
            unscrubbed += 1
            if unscrubbed >= SCRUB_EVERY:
                store._scrub()
                unscrubbed = 0
            yield RetentionApplied(found, done.entry.seq, done.values)
    finally:
        if unscrubbed:
            store._scrub()  # also when the caller stops early: no removed value stays in the WAL


__all__ = ["SCANNER", "RetentionApplied", "RetentionFailure", "RetentionItem", "apply_items", "due_items"]
