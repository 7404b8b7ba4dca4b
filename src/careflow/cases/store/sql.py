"""The SQL both relational stores share: the statements, their parameters and the row mapping.

SQLite and PostgreSQL keep the same two tables (see ``migrations``) and run the same statements;
what differs is small and sits in a ``Dialect``: the placeholder, the locking clause of a read
inside ``transaction()``, the test "state at or below a dotted path", how a time is kept, the
driver's error for a taken key, and how a batch is sent — one statement per row, or one statement
over column arrays. ``SQLStore`` implements the store primitives with them; a backend adds its
connection, transactions and migrations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from careflow.cases.store import CaseInfo
from careflow.cases.store.base import BaseStore
from careflow.cases.store.codec import Change, EntryRow, Row
from careflow.errors import CaseExists, ConcurrentUpdate

INFO_COLUMNS = "case_id, process_id, process_version, state, closed, due_at, version, seq, head"
CASE_COLUMNS = f"{INFO_COLUMNS}, snapshot"
ROW_COLUMNS = "case_id, process_id, process_version, version, seq, head, snapshot"
AUDIT_COLUMNS = "case_id, seq, hash, prev_hash, kind, time, entry"
UPDATED_COLUMNS = "state, closed, due_at, version, seq, head, snapshot"  # the order of ``update_params``

# Written with '?' placeholders; a dialect puts its own in (see ``Dialect.sql``).
READ = f"SELECT {ROW_COLUMNS} FROM careflow_cases WHERE case_id = ?"
HISTORY = "SELECT seq, hash, prev_hash, entry FROM careflow_audit WHERE case_id = ? ORDER BY seq"
CASE_IDS = "SELECT case_id FROM careflow_cases ORDER BY case_id"
LOGGED_IDS = "SELECT DISTINCT case_id FROM careflow_audit ORDER BY case_id"
SELECT = f"SELECT {INFO_COLUMNS} FROM careflow_cases"
INSERT_CASE = f"INSERT INTO careflow_cases ({CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
UPDATE_CASE = ("UPDATE careflow_cases SET state = ?, closed = ?, due_at = ?, version = ?, seq = ?, head = ?, "
               "snapshot = ? WHERE case_id = ? AND version = ?")
INSERT_ENTRY = f"INSERT INTO careflow_audit ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
VALUE_COLUMNS = "case_id, seq, field, salt, value"
INSERT_VALUE = f"INSERT INTO careflow_values ({VALUE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
VALUES = "SELECT seq, field, salt, value FROM careflow_values WHERE case_id = ? ORDER BY seq, field"
DELETE_VALUE = "DELETE FROM careflow_values WHERE case_id = ? AND seq = ? AND field = ?"


def same(value: Any) -> Any:
    return value


class Dialect:
    """What one SQL database does differently; the statements ready in its placeholder style.

    ``columnar``: a batch is one statement over arrays, one per column (``insert_cases``,
    ``update_cases`` returning the ids it updated, ``insert_entries``); otherwise one statement per
    row (``update_cases`` then updates one case, its row count telling whether the version matched).
    """

    def __init__(self, *, param: str, lock: str, state_below: str, below_args: Callable[[str], list[Any]],
                 duplicate: type[Exception], key_detail: Callable[[Exception], str] = str,
                 moment_in: Callable[[datetime], Any] = same, moment_out: Callable[[Any], datetime] = same,
                 columnar: bool = False, insert_cases: str = INSERT_CASE, update_cases: str = UPDATE_CASE,
                 insert_entries: str = INSERT_ENTRY) -> None:
        self.param = param
        self.state_below, self.below_args = state_below, below_args
        self.duplicate, self.key_detail = duplicate, key_detail
        self.moment_in, self.moment_out = moment_in, moment_out
        self.columnar = columnar
        self.read, self.read_locked = self.sql(READ), self.sql(READ) + lock
        self.history, self.case_ids, self.select = self.sql(HISTORY), CASE_IDS, SELECT
        self.insert_cases, self.update_cases = self.sql(insert_cases), self.sql(update_cases)
        self.insert_entries = self.sql(insert_entries)

    def sql(self, text: str) -> str:
        """``text`` with this dialect's placeholder for each '?'."""
        return text if self.param == "?" else text.replace("?", self.param)

    def condition(self, case_id: str | None, process_id: str | None, state: str | None, due_before: datetime | None,
                  closed: bool | None) -> tuple[str, list[Any]]:
        """The WHERE clause ('' for none) and its arguments for the filters given."""
        p = self.param
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("case_id", case_id), ("process_id", process_id), ("closed", closed)):
            if value is not None:
                where.append(f"{column} = {p}")
                args.append(value)
        if state is not None:  # not LIKE: '_' in state ids is a LIKE wildcard
            where.append(self.state_below)
            args += self.below_args(state)
        if due_before is not None:
            where.append(f"due_at IS NOT NULL AND due_at <= {p}")
            args.append(self.moment_in(due_before))
        return (" WHERE " + " AND ".join(where) if where else ""), args


def columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows turned into one list per column (the parameters of a columnar statement)."""
    return [list(column) for column in zip(*rows, strict=True)]


def insert_params(change: Change, dialect: Dialect) -> tuple[Any, ...]:
    """The parameters of ``INSERT_CASE`` for a new case."""
    info = change.info
    due = None if info.due_at is None else dialect.moment_in(info.due_at)
    return (*info[:5], due, *info[6:], change.snapshot)


def update_params(change: Change, dialect: Dialect) -> tuple[Any, ...]:
    """The parameters of ``UPDATE_CASE``: the ``UPDATED_COLUMNS``, then the case id and the expected version."""
    info = change.info
    due = None if info.due_at is None else dialect.moment_in(info.due_at)
    return (info.state, info.closed, due, info.version, info.seq, info.head, change.snapshot, info.case_id,
            change.expected)


def info_from(row: Sequence[Any], dialect: Dialect) -> CaseInfo:
    """A ``CaseInfo`` from a row of ``SELECT``."""
    due = row[5]
    return CaseInfo(row[0], row[1], row[2], row[3], bool(row[4]), None if due is None else dialect.moment_out(due),
                    row[6], row[7], row[8])


class SQLStore(BaseStore):
    """The store primitives in SQL; a backend sets ``dialect`` and ``_conn`` (a DB-API style connection
    whose ``execute`` returns its cursor) and supplies transactions."""

    dialect: ClassVar[Dialect]
    _conn: Any

    def _read(self, case_id: str, lock: bool) -> Row | None:
        d = self.dialect
        found = self._conn.execute(d.read_locked if lock else d.read, (case_id,)).fetchone()
        return None if found is None else Row(*found)

    def _history_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        return list(self._conn.execute(self.dialect.history, (case_id,)).fetchall())

    def _case_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute(self.dialect.case_ids).fetchall()]

    def _value_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        return list(self._conn.execute(self.dialect.sql(VALUES), (case_id,)).fetchall())

    def _remove_values(self, case_id: str, keys: Sequence[tuple[int, str]]) -> None:
        if keys:
            self._conn.cursor().executemany(self.dialect.sql(DELETE_VALUE), [(case_id, s, f) for s, f in keys])

    def _logged_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute(LOGGED_IDS).fetchall()]

    def _select(self, case_id: str | None, process_id: str | None, state: str | None,
                due_before: datetime | None, closed: bool | None, limit: int | None) -> list[CaseInfo]:
        d = self.dialect
        where, args = d.condition(case_id, process_id, state, due_before, closed)
        sql = d.select + where + (" ORDER BY due_at, case_id" if due_before is not None else " ORDER BY case_id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [info_from(r, d) for r in self._conn.execute(sql, args).fetchall()]

    def _apply(self, changes: Sequence[Change]) -> None:
        new = [c for c in changes if c.expected is None]
        old = [c for c in changes if c.expected is not None]
        if new:
            self._insert_cases(new)
        if old:
            updated = self._update_cases(old)
            for c in old:
                if c.case_id not in updated:
                    row = self._read(c.case_id, False)
                    raise ConcurrentUpdate(c.case_id, c.expected or 0, None if row is None else row.version)
        values = [v for c in changes for v in c.values]
        if values:
            self._conn.cursor().executemany(self.dialect.sql(INSERT_VALUE), values)
        entries: list[EntryRow] = [e for c in changes for e in c.entries]
        if not entries:
            return
        d = self.dialect
        try:
            if d.columnar:
                self._conn.execute(d.insert_entries, columns(entries))
            else:
                self._conn.cursor().executemany(d.insert_entries, entries)
        except d.duplicate as exc:  # a seq already taken: someone else extended this log
            raise ConcurrentUpdate(entries[0].case_id, changes[0].expected or 0, None) from exc

    def _insert_cases(self, new: Sequence[Change]) -> None:
        d = self.dialect
        rows = [insert_params(c, d) for c in new]
        batches = [(new, columns(rows))] if d.columnar else [([c], row) for c, row in zip(new, rows, strict=True)]
        for cases, params in batches:
            try:
                self._conn.execute(d.insert_cases, params)
            except d.duplicate as exc:
                detail = d.key_detail(exc)
                raise CaseExists(next((c.case_id for c in cases if f"({c.case_id})" in detail),
                                      cases[0].case_id)) from exc

    def _update_cases(self, old: Sequence[Change]) -> set[str]:
        """Update the rows still at their expected version; the ids of those updated."""
        d = self.dialect
        rows = [update_params(c, d) for c in old]
        if d.columnar:
            return {r[0] for r in self._conn.execute(d.update_cases, columns(rows)).fetchall()}
        return {c.case_id for c, row in zip(old, rows, strict=True)
                if self._conn.execute(d.update_cases, row).rowcount == 1}


__all__ = ["AUDIT_COLUMNS", "CASE_COLUMNS", "INFO_COLUMNS", "ROW_COLUMNS", "UPDATED_COLUMNS", "Dialect", "SQLStore",
           "columns", "info_from", "insert_params", "update_params"]
