"""The access log: who read a case, when, what and why, in a hash chain of its own per case.

A read never touches a case's audit log or its row: each read appends one ``AccessEntry`` to the
case's access chain (table ``careflow_access``, append-only like ``careflow_audit``) and moves the
case's access head (``careflow_access_heads``), so a deleted last entry is found as well as an edited
or deleted one inside the chain. One chain per case, not per store: readers of different cases never
wait for each other.

Canonical form of an entry (what its ``hash`` covers): the entry's JSON object without ``hash``
(``prev_hash`` included), keys sorted, no whitespace, ``ensure_ascii=False``, UTF-8 — as for audit
entries. The first entry of a case has ``prev_hash`` ``GENESIS``.

Who reads is a ``Reader``: built by ``person`` (a named actor with a required purpose, checked like
any input at the boundary), ``program`` (the identity a store records for reads that name no reader)
or ``system`` (reads by careflow itself: the deadline runner, verification).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from careflow.cases.store import CaseCheck
from careflow.errors import InvalidReader
from careflow.runtime.audit import GENESIS
from careflow.runtime.compiled import Actor
from careflow.runtime.texts import describe, shown

#: Characters in a purpose (the reason a person gives for a read): printable text, one line.
PURPOSE_LENGTH = 500
#: Who a reader is: a named person (or service) with a purpose, the store's configured identity for
#: reads that name nobody, or careflow itself.
ORIGINS = ("person", "program", "system")
#: What a read was (``export`` loads the case too, but is recorded once, as an export).
ACTIONS = ("load", "get", "history", "snapshot", "export", "query", "overdue", "verify", "checkpoint", "redact",
           "retention")
#: The identity a store records when the program configured none.
PROGRAM_ACTOR = "program"
UNSTATED = "not stated"


class Reader(NamedTuple):
    """Who reads and why, as recorded. Build one with ``person``, ``program`` or ``system``."""

    actor: str
    roles: tuple[str, ...]  # sorted
    purpose: str
    origin: str


def purpose_problem(purpose: Any) -> str | None:
    """None for a purpose: non-empty printable text (no control character or line break), bounded."""
    if type(purpose) is not str:
        return f"the purpose must be text, not {shown(purpose)}"
    if not purpose.strip():
        return "the purpose must not be empty: say why the case is read (a text or a code)"
    if len(purpose) > PURPOSE_LENGTH:
        return f"the purpose is longer than {PURPOSE_LENGTH} characters ({len(purpose)})"
    if not purpose.isprintable():
        return f"the purpose {shown(purpose)} holds a control character, a line break or invalid Unicode"
    return None


def person(actor: Actor, purpose: str) -> Reader:
    """A named reader: ``actor`` (an ``Actor``, checked like one that fires) and a stated ``purpose``.

    Raises ``InvalidReader`` (CF965) for anything else, before anything is read."""
    if type(actor) is not Actor:
        raise InvalidReader(f"the reader must be an Actor, not {shown(actor)}")
    if actor.fault is not None:
        raise InvalidReader(actor.fault)
    problem = purpose_problem(purpose)
    if problem is not None:
        raise InvalidReader(problem)
    return Reader(actor.id, actor.role_list, purpose.strip(), "person")


def program(actor: Actor | None = None, purpose: str | None = None) -> Reader:
    """What a store records for a read that names no reader: the program's configured identity
    (``open_store(..., identity=actor, purpose=...)``), else actor ``program`` and purpose ``not stated``."""
    named = person(actor if actor is not None else Actor(PROGRAM_ACTOR), purpose or UNSTATED)
    return named._replace(origin="program")


def system(purpose: str) -> Reader:
    """A read by careflow itself (``purpose``: e.g. ``deadlines``, ``verification``)."""
    return Reader("system", ("system",), purpose, "system")


class AccessEntry(NamedTuple):
    """One read of one case: ``seq`` counts from 1 per case; ``hash`` chains it to ``prev_hash``."""

    case_id: str
    seq: int
    time: datetime
    actor: str
    roles: tuple[str, ...]
    purpose: str
    action: str
    origin: str
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "seq": self.seq, "time": self.time.isoformat(), "actor": self.actor,
                "roles": list(self.roles), "purpose": self.purpose, "action": self.action, "origin": self.origin,
                "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AccessEntry:
        return cls(obj["case_id"], obj["seq"], datetime.fromisoformat(obj["time"]), obj["actor"],
                   tuple(obj["roles"]), obj["purpose"], obj["action"], obj["origin"], obj["prev_hash"], obj["hash"])


class AccessRow(NamedTuple):
    """An access row as stored: the indexed columns and the entry's JSON (which the hash covers)."""

    case_id: str
    seq: int
    hash: str
    prev_hash: str
    time: datetime
    actor: str
    purpose: str
    action: str
    origin: str
    entry: str


def canonical(obj: dict[str, Any]) -> str:
    body = {k: v for k, v in obj.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(obj).encode("utf-8", "surrogatepass")).hexdigest()


def seal(case_id: str, head: tuple[int, str] | None, when: datetime, reader: Reader, action: str) -> AccessRow:
    """The next access row of ``case_id`` after ``head`` (its (seq, hash); None: the first read)."""
    seq, prev = head if head is not None else (0, GENESIS)
    when = when.astimezone(UTC)
    obj = {"case_id": case_id, "seq": seq + 1, "time": when.isoformat(), "actor": reader.actor,
           "roles": list(reader.roles), "purpose": reader.purpose, "action": action, "origin": reader.origin,
           "prev_hash": prev}
    obj["hash"] = sealed = digest(obj)
    return AccessRow(case_id, seq + 1, sealed, prev, when, reader.actor, reader.purpose, action,
                     reader.origin, json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def entry_of(row: AccessRow) -> AccessEntry:
    return AccessEntry.from_json(json.loads(row.entry))


def check_chain(case_id: str, rows: Sequence[AccessRow], head: tuple[int, str] | None) -> CaseCheck:
    """The verdict on one case's access chain: every row's hash recomputed from its entry, its columns
    equal to its entry, seqs 1, 2, … linked by ``prev_hash``, and the last one equal to the head."""
    prev, expected = GENESIS, 1
    for row in rows:
        problem = _row_problem(case_id, row, expected, prev)
        if problem is not None:
            return CaseCheck(case_id, False, len(rows), row.seq, *problem)
        prev, expected = row.hash, expected + 1
    last = (expected - 1, prev) if rows else None
    if head != last:
        said = "no head" if head is None else f"head seq {head[0]}"
        found = "no entry" if last is None else f"the last entry is seq {last[0]}"
        return CaseCheck(case_id, False, len(rows), None, "head-mismatch",
                         f"the access head says {said}, but {found} (entries deleted or the head edited)")
    return CaseCheck(case_id, True, len(rows))


def _row_problem(case_id: str, row: AccessRow, expected: int, prev: str) -> tuple[str, str] | None:
    if row.seq != expected:
        return "gap", f"expected access entry seq {expected}, found {row.seq} (entries deleted?)"
    try:
        obj = json.loads(row.entry)
        entry = AccessEntry.from_json(obj)
    except (ValueError, KeyError, TypeError) as exc:
        return "unreadable", f"the entry cannot be read: {describe(str(exc))}"
    if digest(obj) != obj.get("hash") or entry.hash != row.hash:
        return "hash-mismatch", "the entry's hash does not match its content (edited)"
    if entry.prev_hash != prev or row.prev_hash != prev:
        return "chain-broken", "prev_hash does not link to the entry before (an entry was replaced or removed)"
    columns = (row.case_id, row.seq, row.prev_hash, row.time, row.actor, row.purpose, row.action, row.origin)
    if columns != (case_id, entry.seq, entry.prev_hash, entry.time, entry.actor, entry.purpose, entry.action,
                   entry.origin):
        return "column-mismatch", "a column of the row differs from the hashed entry (edited)"
    return None


__all__ = ["ACTIONS", "ORIGINS", "PURPOSE_LENGTH", "AccessEntry", "AccessRow", "Reader", "check_chain", "entry_of",
           "person", "program", "purpose_problem", "seal", "system"]
