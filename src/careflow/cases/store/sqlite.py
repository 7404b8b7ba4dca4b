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

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from careflow.cases.store import CaseInfo
from careflow.cases.store.base import BaseStore
from careflow.cases.store.codec import Change, EntryRow, Row
from careflow.cases.store.migrations import SQLITE, VERSION_TABLE, pending
from careflow.errors import CaseExists, ConcurrentUpdate, StoreError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HINT_DAMAGED = "restore the file from a backup; 'sqlite3 FILE \"PRAGMA integrity_check\"' shows the damage"
_COLUMNS = "case_id, process_id, process_version, state, closed, due_at, version, seq, head"


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // _US


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + micros * _US


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
        raise StoreError(f"{path} is not a SQLite database", "check the path; careflow will not touch this file")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[92:96] == header[24:28]  # the page count is only meaningful when these agree
    # With a WAL file left over, recovery may still be due and the main file legitimately short.
    if valid and pages and not path.with_name(path.name + "-wal").exists() and size < pages * page_size:
        raise StoreError(f"{path} is truncated: {size} bytes, its header says {pages * page_size}", _HINT_DAMAGED)


class SQLiteStore(BaseStore):
    def __init__(self, url: str, *, create: bool = True, **options: Any) -> None:
        super().__init__(url, **options)
        path, opts = parse_url(url)
        self.path = path
        if path.is_dir():
            raise StoreError(f"{path} is a directory", "give the path of a database file")
        if not path.exists():
            if not create:
                raise StoreError(f"no careflow database at {path}", "check the path or CAREFLOW_STORE")
            if not path.parent.is_dir():
                raise StoreError(f"cannot create {path}: directory {path.parent} does not exist",
                                 "create the directory first")
        else:
            check_header(path)
        try:
            timeout = float(opts.get("timeout", "30"))
        except ValueError as exc:
            raise StoreError(f"bad timeout in '{url}'", "timeout is in seconds, e.g. ?timeout=10") from exc
        synchronous = opts.get("synchronous", "NORMAL").upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise StoreError(f"bad synchronous in '{url}'", "use NORMAL (default) or FULL")
        try:
            self._conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
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
            pending(version, SQLITE, str(self.path))
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            if version < SQLITE[-1].version:
                self._migrate()
        except sqlite3.Error as exc:
            raise (self._translate(exc) or StoreError(str(exc))) from exc

    def _schema_version(self) -> int:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if VERSION_TABLE not in tables:
            if tables:
                raise StoreError(f"{self.path} is a SQLite database, but not a careflow one "
                                 f"(it has tables {', '.join(sorted(tables)[:5])})",
                                 "use a separate file for careflow; this one was not changed")
            return 0
        return int(self._conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()[0])

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # serialises migrating processes; the loser sees the new version
        try:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
                         "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            for migration in pending(self._schema_version(), SQLITE, str(self.path)):
                for statement in migration.statements:
                    conn.execute(statement)
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
            return StoreError(f"{self.path} is damaged or not a SQLite database: {text}", _HINT_DAMAGED)
        return StoreError(f"SQLite error on {self.path}: {text}", "check the file, its directory and free space")

    # -- primitives ---------------------------------------------------------------------------------

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _unit_begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")  # read under the write lock: nobody commits in between

    def _unit_write(self, changes: Sequence[Change]) -> None:
        self._apply(changes)

    def _unit_end(self, ok: bool) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT" if ok else "ROLLBACK")

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

    def _read(self, case_id: str, lock: bool) -> Row | None:
        found = self._conn.execute("SELECT case_id, process_id, process_version, version, seq, head, snapshot "
                                   "FROM careflow_cases WHERE case_id = ?", (case_id,)).fetchone()
        return None if found is None else Row(*found)

    def _apply(self, changes: Sequence[Change]) -> None:
        conn = self._conn
        entries: list[EntryRow] = []
        for ch in changes:
            if ch.expected is None:
                try:
                    conn.execute("INSERT INTO careflow_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (ch.case_id, ch.process_id, ch.process_version, ch.state, ch.closed,
                                  _micros(ch.due_at), ch.version, ch.seq, ch.head, ch.snapshot))
                except sqlite3.IntegrityError as exc:
                    raise CaseExists(ch.case_id) from exc
            else:
                cur = conn.execute("UPDATE careflow_cases SET state = ?, closed = ?, due_at = ?, version = ?, "
                                   "seq = ?, head = ?, snapshot = ? WHERE case_id = ? AND version = ?",
                                   (ch.state, ch.closed, _micros(ch.due_at), ch.version, ch.seq, ch.head,
                                    ch.snapshot, ch.case_id, ch.expected))
                if cur.rowcount != 1:
                    row = self._read(ch.case_id, False)
                    raise ConcurrentUpdate(ch.case_id, ch.expected, None if row is None else row.version)
            entries.extend(ch.entries)
        try:
            conn.executemany("INSERT INTO careflow_audit VALUES (?, ?, ?, ?, ?, ?, ?)", entries)
        except sqlite3.IntegrityError as exc:  # a seq already taken: someone else extended this log
            raise ConcurrentUpdate(entries[0].case_id, changes[0].expected or 0, None) from exc

    def _history_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        return self._conn.execute("SELECT seq, hash, prev_hash, entry FROM careflow_audit WHERE case_id = ? "
                                  "ORDER BY seq", (case_id,)).fetchall()

    def _select(self, case_id: str | None, process_id: str | None, state: str | None,
                due_before: datetime | None, closed: bool | None, limit: int | None) -> list[CaseInfo]:
        where: list[str] = []
        args: list[Any] = []
        if case_id is not None:
            where.append("case_id = ?")
            args.append(case_id)
        if process_id is not None:
            where.append("process_id = ?")
            args.append(process_id)
        if state is not None:  # no LIKE: '_' in state ids is a LIKE wildcard
            where.append("(state = ? OR substr(state, 1, ?) = ?)")
            args += [state, len(state) + 1, state + "."]
        if due_before is not None:
            where.append("due_at IS NOT NULL AND due_at <= ?")
            args.append(_micros(due_before))
        if closed is not None:
            where.append("closed = ?")
            args.append(int(closed))
        sql = f"SELECT {_COLUMNS} FROM careflow_cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY due_at, case_id" if due_before is not None else " ORDER BY case_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [CaseInfo(r[0], r[1], r[2], r[3], bool(r[4]), _moment(r[5]), r[6], r[7], r[8])
                for r in self._conn.execute(sql, args)]

    def _case_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT case_id FROM careflow_cases ORDER BY case_id")]


__all__ = ["SQLiteStore", "check_header", "parse_url"]
