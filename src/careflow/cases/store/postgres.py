"""PostgreSQL (psycopg 3): several application servers sharing the cases.

A fire is two round trips: read the row (autocommit), then one statement that updates the row only
if its version is still the one read and, in the same statement (so the same transaction), appends
the audit rows. Under READ COMMITTED a concurrent commit makes the version test fail rather than
overwrite: the caller gets ``ConcurrentUpdate`` (and ``fire(retries=N)`` re-decides on fresh state).
Inside ``transaction()`` rows are read ``FOR UPDATE`` instead, so a batch never fails late.

``?schema=NAME`` in the URL puts careflow's tables in that schema (created on first open).
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus

from careflow.cases.store.access_sql import PGAccess
from careflow.cases.store.cache import RowCache
from careflow.cases.store.codec import Change, Row
from careflow.cases.store.ids import shown
from careflow.cases.store.migrations import POSTGRES, TABLES, VERSION_TABLE, check_tables, pending
from careflow.cases.store.scan import AuditRecord, Batch, CaseRecord, batch_of, scan_sql, upto
from careflow.cases.store.sql import (
    AUDIT_COLUMNS,
    CASE_COLUMNS,
    UPDATE_CASE,
    UPDATED_COLUMNS,
    Dialect,
    SQLStore,
    columns,
    past_head_error,
    row_from,
    update_params,
)
from careflow.errors import ConcurrentUpdate, LockConflict, StoreDamaged, StoreError, StoreReadOnly

# The write statements take their parameters in binary (%b): text arrays of entry JSON would otherwise be
# quoted and escaped character by character on the client, which cost more than the round trip.
# The batch forms send one array per column (unnest) instead of one statement per row.
_NOWAIT_PAUSES = (0.0, 0.002, 0.005, 0.01, 0.02, 0.04)  # seconds: at most ~80 ms before the locks are retaken
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_INSERT = (
    f"INSERT INTO careflow_cases ({CASE_COLUMNS}) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::bool[], %s::timestamptz[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[])")
_UPDATE = (  # parameters as sql.update_params gives them
    "UPDATE careflow_cases c SET state = x.state, closed = x.closed, due_at = x.due_at, version = x.version, "
    "seq = x.seq, head = x.head, snapshot = x.snapshot, seal = x.seal "
    "FROM unnest(%b::text[], %b::bool[], %b::timestamptz[], %b::bigint[], %b::bigint[], %b::text[], %b::text[], "
    f"%b::text[], %b::text[], %b::bigint[]) AS x({UPDATED_COLUMNS}, case_id, expected) "
    "WHERE c.case_id = x.case_id AND c.version = x.expected RETURNING c.case_id")
_AUDIT_INSERT = (
    f"INSERT INTO careflow_audit ({AUDIT_COLUMNS}) "
    "SELECT x.case_id, x.seq, x.hash, x.prev_hash, x.kind, x.time::timestamptz, x.entry "
    "FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[]) "
    f"AS x({AUDIT_COLUMNS})")
# One fire in one statement: the update, only if the version is still the one read, and the audit rows
# (none are written when the update matched no row). Parameters: sql.update_params, then the entries.
_FIRE_HEAD = (f"WITH u AS ({UPDATE_CASE.replace('?', '%b')} RETURNING case_id) "
              f"INSERT INTO careflow_audit ({AUDIT_COLUMNS}) SELECT u.case_id, ")
_FIRE = (_FIRE_HEAD + "x.seq, x.hash, x.prev_hash, x.kind, x.time::timestamptz, x.entry "
         "FROM u, unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[]) "
         "AS x(seq, hash, prev_hash, kind, time, entry)")
_FIRE_ONE = _FIRE_HEAD + "%b, %b, %b, %b, %s::timestamptz, %b FROM u"  # one entry: scalars beat 1-element arrays
# The same with the values kept beside committed entries, still one statement (then the statement's row
# count is the values inserted). Parameters: as above, then the value rows' columns but case_id.
_VALUES_TAIL = (") INSERT INTO careflow_values (case_id, seq, field, salt, value) "
                "SELECT u.case_id, x.seq, x.field, x.salt, x.value FROM u, "
                "unnest(%b::bigint[], %b::text[], %b::text[], %b::text[]) AS x(seq, field, salt, value)")
_WITH_VALUES = {
    sql: sql.replace(") INSERT INTO careflow_audit", "), a AS (INSERT INTO careflow_audit", 1) + _VALUES_TAIL
    for sql in (_FIRE, _FIRE_ONE)}


def _key_detail(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    return (diag.message_detail if diag is not None else None) or ""  # "Key (case_id)=(k1) already exists."


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)  # the server hands times back in the session's zone


DIALECT = Dialect(param="%s", lock=" FOR UPDATE", state_below="(state = %s OR starts_with(state, %s))",
                  below_args=lambda state: [state, state + "."], duplicate=pgerrors.UniqueViolation,
                  key_detail=_key_detail, moment_out=_utc, columnar=True, insert_cases=_INSERT,
                  update_cases=_UPDATE, insert_entries=_AUDIT_INSERT)


def parse_url(url: str) -> tuple[str, str | None, str]:
    """(conninfo for psycopg, schema or None, the URL without its password for messages)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and not _SCHEMA.fullmatch(schema):
        raise StoreError(f"bad schema name '{schema}' in the store URL", "use lower-case letters, digits and '_'")
    rest = [(k, v) for k, v in query if k != "schema"]
    if not any(k == "connect_timeout" for k, _ in rest):
        rest.append(("connect_timeout", "5"))  # an unreachable server is an error, not a hang
    conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
    shown = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@") if parts.password else
                           parts.netloc, query=urlencode([(k, v) for k, v in query if k != "password"]))
    return conninfo, schema, urlunsplit(shown)


class PostgresStore(PGAccess, SQLStore):
    dialect = DIALECT
    _conn: psycopg.Connection[Any]

    def __init__(self, url: str, *, create: bool = True, **options: Any) -> None:
        super().__init__(url, **options)
        conninfo, self.schema, self.shown = parse_url(url)
        self._rows = RowCache()  # rows this connection committed last (see _step_row), bounded by bytes
        self._cached = False
        self._held: dict[str, int] = {}  # inside transaction(): the cases locked FOR UPDATE, at their version
        self._top: str | None = None  # the greatest id in _held: locks are taken in id order (see _read)
        self._flushed = False  # inside transaction(): changes already sent (the locks can no longer be retaken)
        extra = {}
        if self.schema:  # kept with any options the URL gives (e.g. -c default_transaction_read_only=on)
            given = parse_qsl(urlsplit(url).query)
            extra["options"] = " ".join([*(v for k, v in given if k == "options"), f"-c search_path={self.schema}"])
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True, **extra)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.shown}: {str(exc).strip()}",
                             "is the server running and reachable? check host, port, database, user and "
                             "password (and pg_hba.conf)") from exc
        except Exception as exc:  # psycopg's URL parser raises ProgrammingError/ValueError-like errors
            raise StoreError(f"bad PostgreSQL URL '{self.shown}': {exc}",
                             "write postgresql://user@host:5432/dbname[?schema=NAME]") from exc
        try:
            self._open(create)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, create: bool) -> None:
        try:
            version = self._schema_version()
            pending(version, POSTGRES, self.shown)
            found = self._conn.execute("SELECT t FROM unnest(%s::text[]) t WHERE to_regclass(t) IS NOT NULL",
                                       ([VERSION_TABLE, *TABLES],)).fetchall()
            where = f"{self.shown} (schema {self.schema or 'on the search path'})"
            check_tables(version, {r[0] for r in found}, where, create=create, read_only=False)
            if version < POSTGRES[-1].version:
                self._migrate()
            self._check_key(where, True)
        except psycopg.Error as exc:
            raise (self._translate(exc) or StoreError(str(exc))) from exc

    def _schema_version(self) -> int:
        found = self._conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()
        if not found or not found[0]:
            return 0
        row = self._conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        conn = self._conn
        with conn.transaction():
            # Serialise migrating servers; the key names the schema, so separate schemas do not wait.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(f"careflow:{self.schema}".encode()),))
            if self.schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version integer PRIMARY KEY, "
                         "description text NOT NULL, applied_at timestamptz NOT NULL)")
            for migration in pending(self._schema_version(), POSTGRES, self.shown):
                for statement in migration.statements:
                    conn.execute(statement)
                if migration.reseal:
                    self._reseal_all()
                conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (%s, %s, %s)",
                             (migration.version, migration.description, datetime.now(UTC)))

    def close(self) -> None:
        self._conn.close()

    def _translate(self, exc: Exception) -> StoreError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        text = str(exc).strip()
        if isinstance(exc, pgerrors.InsufficientPrivilege):
            return StoreError(f"PostgreSQL refused: {text}", "see docs/stores.md for the roles careflow needs")
        if isinstance(exc, pgerrors.ReadOnlySqlTransaction):
            return StoreReadOnly(f"PostgreSQL at {self.shown} is read-only here: {text}",
                                 "cases can be read, not changed; write through the primary server or a role "
                                 "whose transactions are not read-only")
        if isinstance(exc, pgerrors.UndefinedTable):
            return StoreDamaged(f"PostgreSQL at {self.shown} lost part of careflow's schema: {text}",
                                "restore the schema from a backup")
        if isinstance(exc, pgerrors.LockNotAvailable):
            return LockConflict(f"PostgreSQL at {self.shown}: {text}", "retry the transaction")
        if isinstance(exc, pgerrors.DeadlockDetected | pgerrors.SerializationFailure):
            return StoreError(f"PostgreSQL aborted the transaction: {text}", "retry the transaction")
        if isinstance(exc, psycopg.OperationalError):
            return StoreError(f"lost the connection to PostgreSQL at {self.shown}: {text}",
                              "check the server; open the store again")
        return StoreError(f"PostgreSQL error at {self.shown}: {text}", "check the server log")

    # -- primitives ---------------------------------------------------------------------------------

    def _in_tx(self) -> bool:
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def _begin(self) -> None:
        self._held.clear()
        self._top, self._flushed = None, False
        self._conn.execute("BEGIN")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self._in_tx():
            self._conn.execute("ROLLBACK")

    def _step_row(self, case_id: str) -> Row:
        # The row this connection last committed for the case saves the read round trip when the
        # same server keeps working on a case; if anyone else committed since, the version check
        # fails and the step is decided again on a fresh read (base._cycle, not counted as a retry).
        row = None if self._tx else self._rows.get(case_id)
        self._cached = row is not None
        return row if row is not None else self._row(case_id)

    def _forget(self, changes: Sequence[Change]) -> None:
        for ch in changes:
            self._rows.pop(ch.case_id)

    def _unit_write(self, changes: Sequence[Change]) -> None:
        try:
            self._write_now(changes)
        except BaseException:
            self._forget(changes)
            raise

    def _write_now(self, changes: Sequence[Change]) -> None:
        if len(changes) == 1 and changes[0].expected is not None:
            ch = changes[0]
            e, v = ch.entries, ch.values
            head = update_params(ch, DIALECT)
            if len(e) == 1:
                sql, params = _FIRE_ONE, (*head, *e[0][1:])
            else:
                sql, params = _FIRE, (*head, *columns(e)[1:])  # the entries' columns but case_id
            if v:
                sql, params = _WITH_VALUES[sql], (*params, *columns(v)[1:])
            try:
                cur = self._conn.execute(sql, params)
            except pgerrors.UniqueViolation as exc:  # the update matched (one statement): rows past the head
                raise past_head_error(ch) from exc
            if cur.rowcount != (len(v) if v else len(e)):
                row = self._read(ch.case_id, False)
                stale = ConcurrentUpdate(ch.case_id, ch.expected or 0, None if row is None else row.version)
                stale.cached = self._cached
                raise stale
            self._rows.put(ch.row())
            return
        self._begin()
        self._apply(changes)
        self._commit()

    def _apply(self, changes: Sequence[Change]) -> None:
        self._forget(changes)
        self._flushed = self._flushed or bool(self._tx)
        super()._apply(sorted(changes, key=lambda ch: ch.case_id))  # inserts lock keys in id order too

    # -- lock order ---------------------------------------------------------------------------------
    # Inside transaction() a case is locked (FOR UPDATE) when the block first reads it. Waiting for a
    # lock only on ids above every id already held cannot close a cycle, so blocks cannot deadlock
    # each other. A case that sorts below one already held is tried without waiting (NOWAIT); if
    # another block holds it, and nothing of this block was sent yet (writes wait in _pending until
    # commit), every lock is dropped and taken again in id order, and the block goes on unchanged
    # provided none of its cases moved meanwhile (else ConcurrentUpdate: decide again).

    def _read(self, case_id: str, lock: bool) -> Row | None:
        if not (lock and self._tx):
            return super()._read(case_id, lock)
        if self._top is None or case_id > self._top:
            row = super()._read(case_id, True)
        else:
            row = self._read_out_of_order(case_id)
        if row is not None:
            self._held[case_id] = row.version
            self._top = case_id if self._top is None or case_id > self._top else self._top
        return row

    def _read_out_of_order(self, case_id: str) -> Row | None:
        conn = self._conn
        conn.execute("SAVEPOINT careflow_lock")  # a refused NOWAIT must not abort the whole block
        for pause in _NOWAIT_PAUSES:  # the holder is often just finishing: a short poll spares a restart
            time.sleep(pause)
            try:
                found = conn.execute(self.dialect.read_locked + " NOWAIT", (case_id,)).fetchone()
            except pgerrors.LockNotAvailable:
                conn.execute("ROLLBACK TO SAVEPOINT careflow_lock")
                continue
            conn.execute("RELEASE SAVEPOINT careflow_lock")
            return None if found is None else row_from(found, self.dialect)
        if self._flushed:
            raise LockConflict(f"case {shown(case_id)} is locked by another transaction, and this one already "
                               "sent changes to cases after it in id order (nothing is committed)",
                               "retry the transaction, or name its cases in store.transaction(lock=[...])")
        conn.execute("ROLLBACK")  # nothing was sent: dropping the locks loses nothing
        self._conn.execute("BEGIN")
        held, self._held, self._top = self._held, {}, None
        row = None
        for one in sorted([*held, case_id]):
            found = super()._read(one, True)  # in id order: this wait cannot deadlock
            if one == case_id:
                row = found
            elif found is None or found.version != held[one]:
                raise ConcurrentUpdate(one, held[one], None if found is None else found.version)
            else:
                self._held[one] = held[one]
            self._top = one
        return row

    def _unit_end(self, ok: bool) -> None:
        if not ok and self._in_tx():
            self._conn.execute("ROLLBACK")

    def _scan(self, after: str | None, only: str | None = None) -> Batch:
        with self._reading():
            if only is not None:
                one, logged = scan_sql(None, None, "%s", True)
                return Batch([CaseRecord(*r) for r in self._conn.execute(one, (only,))],
                             [AuditRecord(*r) for r in self._conn.execute(logged, (only,))], None)
            first = () if after is None else (after,)
            cases = [CaseRecord(*r) for r in self._conn.execute(scan_sql(after, None, "%s")[0], first)]
            last = upto(cases)
            bounds = first + (() if last is None else (last,))
            audit = [AuditRecord(*r) for r in self._conn.execute(scan_sql(after, last, "%s")[1], bounds)]
        return batch_of(after, cases, audit)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        if self._tx or self._in_tx():
            yield
            return
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")


__all__ = ["PostgresStore", "parse_url"]
