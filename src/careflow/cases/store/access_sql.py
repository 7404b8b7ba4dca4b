"""The access log's primitives in SQL (``careflow.cases.store.access_log``), for SQLite and PostgreSQL.

SQLite appends under its write lock: read the heads, write the rows whose head did not move, move the
heads, commit. PostgreSQL appends in one statement: it moves each head only where it is still the one
the row was sealed on (``ON CONFLICT … WHERE``) and inserts the rows of the heads it moved, so two
servers reading one case never fork its chain; the loser reads the head again and retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from careflow.cases.store.access import AccessRow
from careflow.cases.store.access_log import AccessLog
from careflow.cases.store.ids import shown
from careflow.cases.store.sql import Dialect
from careflow.errors import StoreDamaged

ACCESS_COLUMNS = "case_id, seq, hash, prev_hash, time, actor, purpose, action, origin, entry"
_INSERT = f"INSERT INTO careflow_access ({ACCESS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_MOVE = ("INSERT INTO careflow_access_heads (case_id, seq, head) VALUES (?, ?, ?) "
         "ON CONFLICT (case_id) DO UPDATE SET seq = excluded.seq, head = excluded.head")
_IDS = "SELECT case_id FROM careflow_access UNION SELECT case_id FROM careflow_access_heads ORDER BY 1"
_CHUNK = 500  # ids per IN (...) list: below every SQLite's limit of parameters
_PG_APPEND = (
    "WITH x AS (SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::timestamptz[], "
    f"%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS x({ACCESS_COLUMNS})), "
    "h AS (INSERT INTO careflow_access_heads AS a (case_id, seq, head) SELECT case_id, seq, hash FROM x "
    "ON CONFLICT (case_id) DO UPDATE SET seq = excluded.seq, head = excluded.head WHERE a.seq = excluded.seq - 1 "
    "RETURNING a.case_id) "
    f"INSERT INTO careflow_access ({ACCESS_COLUMNS}) SELECT x.* FROM x JOIN h USING (case_id) RETURNING case_id")


class SQLAccess(AccessLog):
    """The access primitives over a DB-API connection (``_conn``) and the store's ``dialect``."""

    dialect: ClassVar[Dialect]
    _conn: Any

    def _access_heads(self, case_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        p = self.dialect.param
        heads: dict[str, tuple[int, str]] = {}
        for start in range(0, len(case_ids), _CHUNK):
            chunk = list(case_ids[start:start + _CHUNK])
            marks = ", ".join([p] * len(chunk))
            sql = f"SELECT case_id, seq, head FROM careflow_access_heads WHERE case_id IN ({marks})"
            heads.update({r[0]: (int(r[1]), r[2]) for r in self._conn.execute(sql, chunk).fetchall()})
        return heads

    def _access_append(self, rows: Sequence[AccessRow]) -> set[str]:
        try:
            return self._append(rows)
        except self.dialect.duplicate as exc:  # an entry past the case's head: the head was edited or deleted
            cases = ", ".join(sorted({shown(r.case_id) for r in rows})[:5])
            raise StoreDamaged(f"the access log of {cases} holds entries past its head, so the read cannot be "
                               "recorded (nothing was read)", "'careflow audit access CASE --verify' names what "
                               "changed; restore the access tables from a backup") from exc
        except Exception as exc:
            mapped = self._translate(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _append(self, rows: Sequence[AccessRow]) -> set[str]:
        """Under the write lock: only the rows whose case's head is still where they were sealed."""
        self._begin()
        try:
            heads = self._access_heads([r.case_id for r in rows])
            fresh = [r for r in rows if heads.get(r.case_id, (0, ""))[0] == r.seq - 1]
            moment = self.dialect.moment_in
            cur = self._conn.cursor()
            cur.executemany(self.dialect.sql(_INSERT), [(*r[:4], moment(r.time), *r[5:]) for r in fresh])
            cur.executemany(self.dialect.sql(_MOVE), [(r.case_id, r.seq, r.hash) for r in fresh])
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return {r.case_id for r in fresh}

    def _access_rows(self, case_id: str | None, actor: str | None, purpose: str | None, since: datetime | None,
                     limit: int | None) -> list[AccessRow]:
        d = self.dialect
        where, args = [], []
        for column, value in (("case_id", case_id), ("actor", actor), ("purpose", purpose)):
            if value is not None:
                where.append(f"{column} = {d.param}")
                args.append(value)
        if since is not None:
            where.append(f"time >= {d.param}")
            args.append(d.moment_in(since))
        sql = f"SELECT {ACCESS_COLUMNS} FROM careflow_access" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY seq" if case_id is not None else " ORDER BY time, case_id, seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [AccessRow._make((*r[:4], d.moment_out(r[4]), *r[5:])) for r in self._conn.execute(sql, args).fetchall()]

    def _access_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute(_IDS).fetchall()]


class PGAccess(SQLAccess):
    """PostgreSQL: one statement per batch of reads (see the module docstring)."""

    def _append(self, rows: Sequence[AccessRow]) -> set[str]:
        params = [list(column) for column in zip(*rows, strict=True)]
        return {r[0] for r in self._conn.execute(_PG_APPEND, params).fetchall()}


__all__ = ["ACCESS_COLUMNS", "PGAccess", "SQLAccess"]
