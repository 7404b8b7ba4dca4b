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
from contextlib import suppress
from datetime import datetime
from typing import Any, ClassVar

from careflow.cases.store import CaseInfo
from careflow.cases.store.base import BaseStore
from careflow.cases.store.codec import Change, EntryRow, Row
from careflow.cases.store.seal import KEY_FILE_VARIABLE, Sealer, key_problem
from careflow.errors import CaseExists, ConcurrentUpdate, StoreError, TamperedCase

INFO_COLUMNS = "case_id, process_id, process_version, state, closed, due_at, version, seq, head"
CASE_COLUMNS = f"{INFO_COLUMNS}, snapshot, seal"
ROW_COLUMNS = "case_id, process_id, process_version, version, seq, head, snapshot, state, closed, due_at, seal"
AUDIT_COLUMNS = "case_id, seq, hash, prev_hash, kind, time, entry"
UPDATED_COLUMNS = "state, closed, due_at, version, seq, head, snapshot, seal"  # the order of ``update_params``

# Written with '?' placeholders; a dialect puts its own in (see ``Dialect.sql``).
READ = f"SELECT {ROW_COLUMNS} FROM careflow_cases WHERE case_id = ?"
HISTORY = "SELECT seq, hash, prev_hash, entry FROM careflow_audit WHERE case_id = ? ORDER BY seq"
CASE_IDS = "SELECT case_id FROM careflow_cases ORDER BY case_id"
LOGGED_IDS = "SELECT DISTINCT case_id FROM careflow_audit ORDER BY case_id"
SELECT = f"SELECT {INFO_COLUMNS} FROM careflow_cases"
INSERT_CASE = f"INSERT INTO careflow_cases ({CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
UPDATE_CASE = ("UPDATE careflow_cases SET state = ?, closed = ?, due_at = ?, version = ?, seq = ?, head = ?, "
               "snapshot = ?, seal = ? WHERE case_id = ? AND version = ?")
# The migration that seals existing rows reads them a page at a time, in id order.
ROWS_AFTER = f"SELECT {ROW_COLUMNS} FROM careflow_cases WHERE case_id > ? ORDER BY case_id LIMIT 1000"
SET_SEAL = "UPDATE careflow_cases SET seal = ? WHERE case_id = ?"
KEY_SETTING = "seal_key_fingerprint"  # in careflow_settings: the fingerprint of a keyed store's seal key
DROP_KEY = "DELETE FROM careflow_settings WHERE name = ?"
READ_KEY = "SELECT value FROM careflow_settings WHERE name = ?"
WRITE_KEY = "INSERT INTO careflow_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
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


def past_head_error(change: Change) -> TamperedCase:
    """A write of ``change`` found its first entry's seq already taken although the case row was at the
    version read: audit rows were appended past the head behind careflow's back."""
    seq = change.entries[0].seq
    return TamperedCase(change.case_id, "audit", f"an audit row already holds seq {seq}, past the head "
                                                 f"(seq {seq - 1}): the log was extended outside careflow")


def columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows turned into one list per column (the parameters of a columnar statement)."""
    return [list(column) for column in zip(*rows, strict=True)]


def insert_params(change: Change, dialect: Dialect) -> tuple[Any, ...]:
    """The parameters of ``INSERT_CASE`` for a new case."""
    info = change.info
    due = None if info.due_at is None else dialect.moment_in(info.due_at)
    return (*info[:5], due, *info[6:], change.snapshot, change.seal)


def update_params(change: Change, dialect: Dialect) -> tuple[Any, ...]:
    """The parameters of ``UPDATE_CASE``: the ``UPDATED_COLUMNS``, then the case id and the expected version."""
    info = change.info
    due = None if info.due_at is None else dialect.moment_in(info.due_at)
    return (info.state, info.closed, due, info.version, info.seq, info.head, change.snapshot, change.seal,
            info.case_id, change.expected)


def row_from(found: Sequence[Any], dialect: Dialect) -> Row:
    """A ``Row`` from a row of ``READ`` (``ROW_COLUMNS``). A value of the wrong type (SQLite keeps what it
    is given) is kept as it is: its seal cannot match, so the store refuses the row (``TamperedCase``)."""
    closed, due = found[8], found[9]
    if due is not None:
        with suppress(TypeError, ValueError, OverflowError):
            due = dialect.moment_out(due)
    return Row(found[0], found[1], found[2], found[3], found[4], found[5], found[6], found[7],
               bool(closed) if closed in (0, 1) else closed, due, found[10])


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
        return None if found is None else row_from(found, d)

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
            sql += f" LIMIT {min(int(limit), 2**62)}"  # within every database's integer range
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
        except d.duplicate as exc:  # the rows were ours (versions matched), yet a seq is taken: rows past the head
            raise self._past_head([c for c in changes if c.entries], d.key_detail(exc)) from exc

    def _past_head(self, changes: Sequence[Change], detail: str) -> TamperedCase:
        """The error for audit rows found past the head of one of ``changes`` (which one: the driver's key
        detail says, else the case whose stored rows differ from the ones being written)."""
        culprit = next((c for c in changes if f"({c.case_id}, " in detail), None)
        if culprit is None and len(changes) > 1 and not self.dialect.columnar:  # SQLite: the transaction goes on
            for c in changes:
                ours = {e.seq: e.hash for e in c.entries}
                found = self._conn.execute(self.dialect.sql("SELECT seq, hash FROM careflow_audit WHERE case_id = ? "
                                                            "AND seq >= ?"), (c.case_id, min(ours))).fetchall()
                if any(ours.get(seq) != h for seq, h in found):
                    culprit = c
                    break
        return past_head_error(culprit or changes[0])

    def _reseal_all(self) -> None:
        """Seal every case row as it stands (the migration that adds seals: it trusts the current rows),
        and record the key's fingerprint when there is a key."""
        self._reseal_rows(self.sealer, False)
        if self.sealer.fingerprint is not None:
            self._conn.execute(self.dialect.sql(WRITE_KEY), (KEY_SETTING, self.sealer.fingerprint))

    def _reseal_rows(self, new: Sealer, check: bool) -> int:
        """Give every case row ``new``'s seal, a page at a time in id order; with ``check``, each row's
        current seal is checked first (``TamperedCase``). The caller holds the transaction."""
        d, last, count = self.dialect, "", 0
        while True:
            rows = [row_from(r, d) for r in self._conn.execute(d.sql(ROWS_AFTER), (last,)).fetchall()]
            if not rows:
                return count
            for row in rows if check else ():
                self._check(row)
            self._conn.cursor().executemany(d.sql(SET_SEAL), [(new.seal(r), r.case_id) for r in rows])
            last, count = rows[-1].case_id, count + len(rows)

    def reseal(self, new_key: bytes | None) -> int:
        """Seal every case row with ``new_key`` instead of the store's key (start using a key, change it,
        or stop using one), in one transaction; returns the number of rows. Each row's current seal is
        checked first: a row that fails raises ``TamperedCase`` and nothing changes. Run ``careflow audit
        verify`` first, too: the seal does not prove that a row agrees with its log."""
        new = Sealer(new_key)
        with self._guard():
            if self._tx:
                raise StoreError("reseal runs in a transaction of its own", "call it outside store.transaction()")
            self._begin()
            try:
                count = self._reseal_rows(new, True)
                self._conn.execute(self.dialect.sql(DROP_KEY), (KEY_SETTING,))
                if new.fingerprint is not None:
                    self._conn.execute(self.dialect.sql(WRITE_KEY), (KEY_SETTING, new.fingerprint))
                self._commit()
            except BaseException:
                self._rollback()
                raise
        self.sealer = new
        return count

    def _check_key(self, where: str, writable: bool) -> None:
        """Refuse to open a keyed store without its key (or with another), or an unkeyed one that has
        cases with a key; a new keyed store records its key's fingerprint."""
        d = self.dialect
        for attempt in (1, 2):
            found = self._conn.execute(d.sql(READ_KEY), (KEY_SETTING,)).fetchone()
            has_cases = self._conn.execute("SELECT 1 FROM careflow_cases LIMIT 1").fetchone() is not None
            problem = key_problem(self.sealer, None if found is None else found[0], has_cases)
            if problem is not None:
                raise StoreError(f"{where}: {problem}", "give the store's key (open_store(url, seal_key=...) or "
                                 f"${KEY_FILE_VARIABLE}); see 'What a store checks before it acts' in docs/stores.md")
            if found is not None or not self.sealer.keyed or not writable or attempt == 2:
                return
            self._conn.execute(d.sql(WRITE_KEY), (KEY_SETTING, self.sealer.fingerprint))  # then read it back

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
           "columns", "info_from", "insert_params", "past_head_error", "row_from", "update_params"]
