"""The embedded default: one SQLite file, WAL mode, safe across processes on one machine.

WAL lets readers run beside the one writer; ``synchronous=NORMAL`` in WAL mode keeps every committed
transaction across a crash of the process (SIGKILL) and the database consistent across a power cut,
which may lose the last transactions. A read–step–commit takes the write lock first (``BEGIN
IMMEDIATE``), so two processes never decide on the same version; the busy timeout makes the second
wait instead of failing.

Nothing is written before the file is known to be a careflow database of a version we understand:
the header is checked (not SQLite, truncated), then the schema version, and only then WAL mode and
migrations.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from careflow.cases.store.access_sql import SQLAccess
from careflow.cases.store.codec import Change
from careflow.cases.store.migrations import SQLITE, TABLES, VERSION_TABLE, check_tables, pending
from careflow.cases.store.scan import AuditRecord, Batch, CaseRecord, batch_of, scan_sql, upto
from careflow.cases.store.sql import Dialect, SQLStore
from careflow.errors import NotAStore, StoreDamaged, StoreError, StoreMissing, StoreReadOnly

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HINT_DAMAGED = "restore the file from a backup; 'sqlite3 FILE \"PRAGMA integrity_check\"' shows the damage"


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


def _moment(micros: int) -> datetime:
    return _EPOCH + micros * _US


_BOUND = "CAST(? AS TEXT)"


def _lenient(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _raw(case_id: str) -> bytes:
    return case_id.encode("utf-8", "surrogateescape")


def _case_record(row: tuple[Any, ...]) -> CaseRecord:
    due = row[5]
    if type(due) is int:
        with suppress(OverflowError):  # else left as stored: verify reports it
            due = _moment(due)
    case_id = row[0] if isinstance(row[0], str) else _lenient(row[0]) if isinstance(row[0], bytes) else str(row[0])
    return CaseRecord._make((case_id, *row[1:5], due, *row[6:]))


# Times are kept as microseconds since 1970 UTC; the write lock is taken by BEGIN IMMEDIATE, so a
# read needs no locking clause.
DIALECT = Dialect(param="?", lock="", state_below="(state = ? OR substr(state, 1, ?) = ?)",
                  below_args=lambda state: [state, len(state) + 1, state + "."],
                  duplicate=sqlite3.IntegrityError, moment_in=_micros, moment_out=_moment)


def parse_url(url: str) -> tuple[Path, dict[str, str]]:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (SQLAlchemy's convention), with options."""
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise StoreError(f"bad SQLite URL '{url}'",
                         "write sqlite:///relative/cases.db or sqlite:////absolute/path/cases.db")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(options) - {"timeout", "synchronous"}
    if unknown:
        raise StoreError(f"unknown SQLite URL option(s): {', '.join(sorted(unknown))}",
                         "known options: timeout (seconds), synchronous (NORMAL or FULL)")
    return Path(unquote(parts.path[1:])), options


def check_header(path: Path) -> None:
    """Refuse files that are not SQLite databases, or are shorter than their header says (truncated)."""
    size = path.stat().st_size
    if size == 0:
        return  # SQLite treats an empty file as an empty database
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise NotAStore(f"{path} is not a SQLite database", "check the path; careflow will not touch this file")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[92:96] == header[24:28]  # the page count is only meaningful when these agree
    # With a WAL file left over, recovery may still be due and the main file legitimately short.
    if valid and pages and not path.with_name(path.name + "-wal").exists() and size < pages * page_size:
        raise StoreDamaged(f"{path} is truncated: {size} bytes, its header says {pages * page_size}", _HINT_DAMAGED)


def inspect_path(path: Path, create: bool) -> bool:
    """Refuse what cannot be a careflow store before SQLite opens it (a FIFO would hang, a directory or
    a text file is not ours); True when the store may only be read (a read-only file, directory or mount)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not create:
            raise StoreMissing(f"no careflow database at {path} (nothing was created)",
                               "check the path or CAREFLOW_STORE; a store is created by 'careflow case open' "
                               "or open_store(url, create=True)") from None
        if not path.parent.is_dir():
            raise StoreError(f"cannot create {path}: directory {path.parent} does not exist",
                             "create the directory first") from None
        if not os.access(path.parent, os.W_OK):
            raise StoreReadOnly(f"cannot create {path}: directory {path.parent} is read-only",
                                "create the store where this process may write") from None
        return False
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror}", "check the path and its permissions") from exc
    if stat.S_ISDIR(mode):
        raise NotAStore(f"{path} is a directory", "give the path of a database file")
    if not stat.S_ISREG(mode):
        raise NotAStore(f"{path} is not a regular file", "give the path of a database file")
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read {path}: permission denied", "check the file's permissions")
    if path.stat().st_size == 0 and not create:
        raise StoreMissing(f"{path} is an empty file, not a careflow database (it was not changed)",
                           "give the path of a careflow store; to make one in this file, open a case with "
                           "'careflow case open' or use open_store(url, create=True)")
    check_header(path)
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def connect(path: Path, timeout: float, read_only: bool) -> sqlite3.Connection:
    """A connection; a read-only store is opened ``mode=ro``, or, where SQLite cannot make its shared-memory
    file (a read-only directory) and no write-ahead log is pending, as immutable."""
    def open_uri(target: str, uri: bool) -> sqlite3.Connection:
        return sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=uri)

    if not read_only:
        return open_uri(str(path), False)
    base = "file:" + quote(str(path.absolute()))
    conn = open_uri(base + "?mode=ro", True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if path.with_name(path.name + "-wal").exists():
            raise
    return open_uri(base + "?mode=ro&immutable=1", True)


class SQLiteStore(SQLAccess, SQLStore):
    dialect = DIALECT
    _conn: sqlite3.Connection

    def __init__(self, url: str, *, create: bool = True, **options: Any) -> None:
        super().__init__(url, **options)
        path, opts = parse_url(url)
        self.path = path
        self.create_ok = create
        self.read_only = inspect_path(path, create)
        try:
            timeout = float(opts.get("timeout", "30"))
        except ValueError as exc:
            raise StoreError(f"bad timeout in '{url}'", "timeout is in seconds, e.g. ?timeout=10") from exc
        synchronous = opts.get("synchronous", "NORMAL").upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise StoreError(f"bad synchronous in '{url}'", "use NORMAL (default) or FULL")
        try:
            self._conn = connect(path, timeout, self.read_only)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}", "check the path and its permissions") from exc
        try:
            self._open(synchronous)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, synchronous: str) -> None:
        try:
            version = self._schema_version()  # a read: refuses foreign, damaged and newer files unchanged
            todo = pending(version, SQLITE, str(self.path))
            if todo and version and self.read_only:
                raise StoreReadOnly(f"{self.path} has careflow schema version {version} and needs an upgrade, "
                                    "but it is read-only", "open it once where it may be written")
            if not self.read_only:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute(f"PRAGMA synchronous={synchronous}")
                # Freed space is zeroed as it is freed, so an old snapshot or a redacted value does not linger
                # in a page's free area (docs/records.md); _scrub empties the WAL after a redaction.
                self._conn.execute("PRAGMA secure_delete=ON")
                if todo:
                    self._migrate()
            if version or not self.read_only:
                self._check_key(str(self.path), not self.read_only)
        except sqlite3.Error as exc:
            raise (self._translate(exc) or StoreError(str(exc))) from exc

    def _schema_version(self) -> int:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ours = {t for t in tables if t in (VERSION_TABLE, *TABLES)}
        if tables and not ours:
            raise NotAStore(f"{self.path} is a SQLite database, but not a careflow one "
                            f"(it has tables {', '.join(sorted(tables)[:5])})",
                            "use a separate file for careflow; this one was not changed")
        version = 0
        if VERSION_TABLE in tables:
            version = int(self._conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()[0])
        check_tables(version, ours, str(self.path), create=self.create_ok, read_only=self.read_only)
        return version

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # serialises migrating processes; the loser sees the new version
        try:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
                         "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            for migration in pending(self._schema_version(), SQLITE, str(self.path)):
                for statement in migration.statements:
                    conn.execute(statement)
                if migration.reseal:
                    self._reseal_all()
                conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, ?, ?)",
                             (migration.version, migration.description, datetime.now(UTC).isoformat()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()

    def _translate(self, exc: Exception) -> StoreError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(f"{self.path} is busy: {text}", "another process holds the write lock; retry, or "
                              "raise the busy timeout (?timeout=SECONDS)")
        if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
            return StoreDamaged(f"{self.path} is damaged or not a SQLite database: {text}", _HINT_DAMAGED)
        if "no such table" in text:
            return StoreDamaged(f"{self.path} lost part of careflow's schema: {text}", _HINT_DAMAGED)
        if "readonly" in text or "read-only" in text:
            return self._read_only()
        return StoreError(f"SQLite error on {self.path}: {text}", "check the file, its directory and free space")

    # -- primitives ---------------------------------------------------------------------------------

    def _read_only(self) -> StoreReadOnly:
        return StoreReadOnly(f"{self.path} is read-only: cases can be read, not changed",
                             "write through a store opened where the file and its directory are writable")

    def _begin(self) -> None:
        if self.read_only:
            raise self._read_only()
        self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _unit_begin(self) -> None:
        if self.read_only:
            raise self._read_only()
        self._conn.execute("BEGIN IMMEDIATE")  # read under the write lock: nobody commits in between

    def _unit_write(self, changes: Sequence[Change]) -> None:
        self._apply(changes)

    def _unit_end(self, ok: bool) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT" if ok else "ROLLBACK")

    def _scan(self, after: str | None, only: str | None = None) -> Batch:
        # Text is decoded leniently here (a flipped byte must not stop verification: verify reports it),
        # and ids are bound as bytes cast to TEXT, so an id with invalid UTF-8 still bounds a range.
        conn = self._conn
        factory, conn.text_factory = conn.text_factory, _lenient
        try:
            with self._reading():
                if only is not None:
                    one, logged = scan_sql(None, None, "?", True)
                    return Batch([_case_record(r) for r in conn.execute(one, (only,))],
                                 [AuditRecord(*r) for r in conn.execute(logged, (only,))], None)
                first = () if after is None else (_raw(after),)
                cases = [_case_record(r) for r in conn.execute(scan_sql(after, None, _BOUND)[0], first)]
                last = upto(cases)
                bounds = first + (() if last is None else (_raw(last),))
                audit = [AuditRecord(*r) for r in conn.execute(scan_sql(after, last, _BOUND)[1], bounds)]
        finally:
            conn.text_factory = factory
        return batch_of(after, cases, audit)

    def _scrub(self) -> None:
        """After a redaction: copy the WAL into the file and truncate it, so no old frame keeps a value."""
        if not self._tx:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        if self._tx or self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")  # WAL: the first read fixes a snapshot for the whole block
        try:
            yield
        finally:
            self._conn.execute("COMMIT")


__all__ = ["SQLiteStore", "check_header", "parse_url"]
