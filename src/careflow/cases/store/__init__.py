"""Durable case stores behind one small protocol: ``memory:``, ``sqlite:///cases.db``, ``postgresql://…``.

A store keeps, per case, the engine's snapshot JSON (exact round trip) plus indexed columns (process
id/version, state, due time, version), and the sealed audit entries as append-only rows. Every
change is one transaction: the new snapshot and its entries, or nothing. Every case has a version;
a commit based on a stale version raises ``ConcurrentUpdate`` and writes nothing.

This module only defines the protocol, its result rows and ``open_store`` (the errors live in
``careflow.errors``): the backends (and sqlite3 / psycopg) are imported when a store is opened, so
``careflow --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from careflow.errors import StoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from careflow.cases.case import Case
    from careflow.cases.store.access import AccessEntry
    from careflow.cases.store.reader import CaseReader
    from careflow.cases.store.records import Redaction
    from careflow.cases.store.retention import RetentionApplied, RetentionFailure, RetentionItem
    from careflow.clock import Clock
    from careflow.history.checkpoint import Checkpoint
    from careflow.model.definition import ProcessDefinition
    from careflow.runtime.audit import AuditEntry
    from careflow.runtime.compiled import Actor, CompiledProcess

#: The store used when none is given: ``$CAREFLOW_STORE`` or this.
DEFAULT_URL = "sqlite:///careflow.db"

#: Finds a process by id and version (default: ``careflow.definitions.loader.load(id)`` with a version check).
ProcessResolver = Callable[[str, str], "ProcessDefinition | CompiledProcess"]


class CaseInfo(NamedTuple):
    """A case's indexed columns (no history): what listing and querying return, and the indexed half
    of what a commit writes (``codec.Change``)."""

    case_id: str
    process_id: str
    process_version: str
    state: str
    closed: bool
    due_at: datetime | None
    version: int
    seq: int
    head: str


class Fired(NamedTuple):
    """What ``store.fire``/``store.tick`` committed: the new ``version``, ``state`` and sealed ``entries``;
    ``spawned``: ids of the cases opened by handoffs (created in the same transaction)."""

    case_id: str
    version: int
    state: str
    entries: tuple[AuditEntry, ...]
    spawned: tuple[str, ...] = ()
    attempts: int = 1


class Problem(NamedTuple):
    """One thing wrong with a stored case: a short ``code`` (e.g. ``row-differs``, ``content-changed``),
    the ``seq`` of the audit row it is about (None: the case row or the case as a whole), the ``column``
    that disagrees (None: the whole row or entry), and a plain ``message``."""

    code: str
    message: str
    seq: int | None = None
    column: str | None = None


class CaseCheck(NamedTuple):
    """``verify``'s verdict for one case. ``problems``: everything found, in the order checked; when broken,
    ``seq``, ``problem`` (its code) and ``message`` repeat the first of them."""

    case_id: str
    ok: bool
    entries: int
    seq: int | None = None
    problem: str | None = None
    message: str = ""
    problems: tuple[Problem, ...] = ()

    @classmethod
    def of(cls, case_id: str, entries: int, problems: Sequence[Problem] = ()) -> CaseCheck:
        """The verdict on ``case_id`` from all its ``problems`` (none: intact)."""
        if not problems:
            return cls(case_id, True, entries)
        first = problems[0]
        return cls(case_id, False, entries, first.seq, first.code, first.message, tuple(problems))


class CaseStore(Protocol):
    """What every store offers. All writes are atomic; ``fire`` and ``save`` check versions."""

    url: str
    #: Whether reads are recorded in the access log (False: ``log_reads=False``, or a read-only store).
    logs_reads: bool

    def create(self, case: Case) -> int:
        """Store a new case with its whole log; returns its version (1). ``CaseExists`` if taken."""

    def load(self, case_id: str) -> Case:
        """The case, its log verified and replayed (``HistoryError`` if it does not). The store
        remembers the version it loaded, for ``save``."""

    def save(self, case: Case, spawned: Sequence[Case] = ()) -> int:
        """Commit what happened to a loaded case since it was loaded (its new entries and snapshot),
        plus cases its handoffs spawned; returns the new version or raises ``ConcurrentUpdate``."""

    def fire(self, case_id: str, event: str, actor: Actor, data: Mapping[str, Any] | None = None,
             reason: str | None = None, *, now: datetime | None = None, retries: int = 0) -> Fired:
        """Read, run the pure step, commit — retried on fresh state up to ``retries`` times when the
        case changed in between. A refusal is committed as a ``denied`` entry and then raised."""

    def tick(self, case_id: str, now: datetime | None = None, *, retries: int = 0) -> Fired:
        """Fire the deadlines of ``case_id`` that are due at ``now``."""

    def get(self, case_id: str) -> CaseInfo: ...

    def snapshot(self, case_id: str) -> dict[str, Any]:
        """The stored snapshot JSON (what ``Case.to_json`` writes besides the history)."""

    def export(self, case_id: str, indent: int | None = 2) -> str:
        """The case JSON, as ``Case.to_json`` writes it."""

    def version(self, case: Case) -> int | None:
        """The stored version ``case`` was loaded or last saved at (None: not from this store)."""

    def register(self, process: ProcessDefinition | CompiledProcess) -> CompiledProcess:
        """Make a process (version) known, so its cases load without the resolver."""

    def overdue(self, at: datetime | None = None) -> list[CaseInfo]:
        """Open cases with a pending deadline at or before ``at`` (default: now), earliest first."""

    def query(self, *, process_id: str | None = None, state: str | None = None, due_before: datetime | None = None,
              closed: bool | None = None, limit: int | None = None) -> list[CaseInfo]:
        """Cases by process, dotted state (a prefix ``work`` also matches ``work.w1``) or deadline."""

    def history(self, case_id: str) -> tuple[AuditEntry, ...]: ...

    def process(self, process_id: str, version: str) -> CompiledProcess:
        """The compiled process a case runs on (registered, or found by the resolver / search path)."""

    def redact(self, case_id: str, fields: Sequence[str], entries: Iterable[int] | None = None, *, actor: Actor,
               reason: str, now: datetime | None = None) -> Redaction:
        """Remove the values of ``fields`` (at the seqs ``entries``, or everywhere) from the case's log and
        snapshot, keeping their commitments; records a ``redacted`` entry (docs/records.md)."""

    def correct(self, case_id: str, field: str, value: Any, *, actor: Actor, reason: str,
                now: datetime | None = None) -> Redaction:
        """Set case data ``field`` to ``value`` with a ``corrected`` entry; its older values are removed."""

    def retention_due(self, at: datetime | None = None) -> Iterator[RetentionItem | RetentionFailure]:
        """The values of closed cases due for removal at ``at`` (default: now) under the processes'
        ``retention``: one item per case and rule, streamed; changes no case (docs/records.md)."""

    def apply_retention(self, at: datetime | None = None, *, actor: Actor | None = None
                        ) -> Generator[RetentionApplied | RetentionFailure]:
        """Redact what ``retention_due`` lists, one logged redaction per item (as the system, or ``actor``
        with the records role); a case that fails is reported and the run goes on."""

    def verify_cases(self, case_id: str | None = None, *, replay: bool = True,
                     checkpoint: Checkpoint | None = None) -> Iterator[CaseCheck]:
        """Check every case (or one), never stopping at a bad one: each audit row against its entry, the
        hash chain, gaps and rows past the head, the case row against its log (and, with ``replay``, the
        log replayed), audit rows whose case row is gone; with a verified ``checkpoint``, also that every
        case it names still extends the log it signed (see docs/stores.md, "What is detected")."""

    def checkpoint(self, key: Ed25519PrivateKey, *, created: datetime | None = None) -> Checkpoint:
        """A checkpoint of every case (entry count and head hash from its audit rows), signed with ``key``
        (Ed25519, ``careflow.history.checkpoint.load_private_key``); ``StoreError`` if a log does not verify."""

    def reader(self, actor: Actor, purpose: str) -> CaseReader:
        """A view whose reads (load, get, history, snapshot, export, query, overdue) are recorded in the
        access log as ``actor`` reading for ``purpose`` (required). ``InvalidReader`` for a bad one."""

    def system_reader(self, purpose: str) -> CaseReader:
        """A view whose reads are recorded as careflow's own (the deadline runner)."""

    def access_log(self, case_id: str | None = None, *, actor: str | None = None, purpose: str | None = None,
                   since: datetime | None = None, limit: int | None = None) -> list[AccessEntry]:
        """The recorded reads of a case (or of all cases), filtered by reader, purpose and time."""

    def verify_access(self, case_id: str | None = None) -> Iterator[CaseCheck]:
        """Recompute the access chains (one case or all); one ``CaseCheck`` per case."""

    def reseal(self, new_key: bytes | None) -> int:
        """Seal every case row with ``new_key`` (start using a key, rotate it, or stop), after checking
        each row's current seal; returns the number of rows (see docs/stores.md)."""

    def transaction(self, lock: Iterable[str] = ()) -> AbstractContextManager[CaseStore]:
        """Group many ``fire``/``create``/``save`` calls into one transaction (all or nothing).

        ``lock``: the cases the block will change, locked up front in id order (PostgreSQL), so blocks
        over the same cases wait for each other instead of restarting (see docs/stores.md)."""

    def close(self) -> None: ...

    def __enter__(self) -> CaseStore: ...

    def __exit__(self, *exc: object) -> None:
        """Close the store (``with open_store(url) as store: ...``)."""


def store_url(url: str | None = None) -> str:
    """``url``, else ``$CAREFLOW_STORE``, else ``sqlite:///careflow.db``."""
    return url or os.environ.get("CAREFLOW_STORE") or DEFAULT_URL


def open_store(url: str | None = None, *, create: bool = True, processes: Iterable[Any] = (),
               resolver: ProcessResolver | None = None, clock: Clock | None = None, identity: Actor | None = None,
               purpose: str | None = None, log_reads: bool = True, seal_key: bytes | None = None,
               records_role: str = "records_officer") -> CaseStore:
    """Open the store at ``url`` (see ``store_url``), applying pending schema migrations.

    - ``memory:`` — in this process only (tests);
    - ``sqlite:///relative/cases.db``, ``sqlite:////absolute/cases.db`` — the embedded default;
    - ``postgresql://user@host:5432/db?schema=careflow`` — several application servers.

    ``create``: whether a store may be initialised here — a missing SQLite file (its directory must
    exist), an empty file, a PostgreSQL schema without careflow's tables. With ``create=False`` (what
    every reading tool and the CLI's read commands use) those raise ``StoreMissing`` and nothing is
    written. Either way a file that is not a careflow store (a directory, a text file, another
    program's SQLite database) is refused unchanged (``NotAStore``), a damaged store raises
    ``StoreDamaged``, and a read-only database opens for reading (writes raise ``StoreReadOnly``).
    ``processes`` are definitions (or compiled processes) the store's cases run on; others are found
    with ``resolver`` (default: the process search path, version checked).

    Every read is recorded in the store's access log (docs/records.md). ``identity`` and ``purpose``:
    what a read that names no reader (``store.load`` rather than ``store.reader(actor, purpose).load``)
    records (default: actor ``program``, purpose ``not stated``). ``log_reads=False`` records no read
    (benchmarks; a store whose reads are logged elsewhere).
    ``records_role``: the role an actor needs to redact or correct (docs/records.md).
    ``seal_key``: the application's key for the rows' seals (HMAC-SHA256; default: the file
    ``$CAREFLOW_SEAL_KEY_FILE`` names, else none: plain SHA-256). Every case row is sealed, and a row that
    does not match its seal is refused with ``TamperedCase`` before anything acts on it (see "What a store
    checks before it acts" in docs/stores.md). A keyed store opened without its key, or with another,
    raises ``StoreError``; the key itself is never stored.
    """
    url = store_url(url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if seal_key is None:
        from careflow.cases.store.seal import key_from_environment

        seal_key = key_from_environment()
    options: dict[str, Any] = {"processes": processes, "resolver": resolver, "clock": clock, "identity": identity,
                               "purpose": purpose, "log_reads": log_reads, "seal_key": seal_key,
                               "records_role": records_role}
    if scheme == "memory":
        from careflow.cases.store.memory import MemoryStore

        return MemoryStore(url, **options)
    if scheme == "sqlite":
        from careflow.cases.store.sqlite import SQLiteStore

        return SQLiteStore(url, create=create, **options)
    if scheme in ("postgresql", "postgres"):
        from careflow.cases.store.postgres import PostgresStore

        return PostgresStore(url, create=create, **options)
    raise StoreError(f"unknown store URL '{url}'",
                     "use memory:, sqlite:///path/cases.db or postgresql://user@host:port/db")


__all__ = ["DEFAULT_URL", "CaseCheck", "CaseInfo", "CaseStore", "Fired", "Problem", "open_store", "store_url"]
