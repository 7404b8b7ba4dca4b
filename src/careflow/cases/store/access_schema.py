"""The access log's tables (migration 2 of both relational stores; see ``migrations``).

``careflow_access`` is append-only like ``careflow_audit``: triggers refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE). ``careflow_access_heads`` holds each case's last access seq and hash; it moves
with every read, so it cannot be append-only, and a deleted last entry shows as a head past the chain.
"""

from __future__ import annotations

SQLITE_ACCESS: tuple[str, ...] = (
    """CREATE TABLE careflow_access (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,         -- 1, 2, ... per case
        hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        time INTEGER NOT NULL,        -- microseconds since 1970 UTC
        actor TEXT NOT NULL,
        purpose TEXT NOT NULL,
        action TEXT NOT NULL,         -- load, get, history, snapshot, export, query, overdue, verify
        origin TEXT NOT NULL,         -- person, program, system
        entry TEXT NOT NULL,          -- the entry's JSON, which the hash covers
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX careflow_access_actor ON careflow_access (actor, time)",
    "CREATE INDEX careflow_access_purpose ON careflow_access (purpose, time)",
    """CREATE TRIGGER careflow_access_no_update BEFORE UPDATE ON careflow_access
       BEGIN SELECT RAISE(ABORT, 'careflow_access is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER careflow_access_no_delete BEFORE DELETE ON careflow_access
       BEGIN SELECT RAISE(ABORT, 'careflow_access is append-only: DELETE refused'); END""",
    """CREATE TABLE careflow_access_heads (
        case_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        head TEXT NOT NULL
    ) WITHOUT ROWID""",
)

POSTGRES_ACCESS: tuple[str, ...] = (
    """CREATE TABLE careflow_access (
        case_id text NOT NULL,
        seq bigint NOT NULL,
        hash text NOT NULL,
        prev_hash text NOT NULL,
        time timestamptz NOT NULL,
        actor text NOT NULL,
        purpose text NOT NULL,
        action text NOT NULL,
        origin text NOT NULL,
        entry text NOT NULL,
        PRIMARY KEY (case_id, seq)
    )""",
    "CREATE INDEX careflow_access_actor ON careflow_access (actor, time)",
    "CREATE INDEX careflow_access_purpose ON careflow_access (purpose, time)",
    """CREATE FUNCTION careflow_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'careflow_access is append-only: % refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER careflow_access_no_change BEFORE UPDATE OR DELETE ON careflow_access
       FOR EACH ROW EXECUTE FUNCTION careflow_access_append_only()""",
    """CREATE TRIGGER careflow_access_no_truncate BEFORE TRUNCATE ON careflow_access
       FOR EACH STATEMENT EXECUTE FUNCTION careflow_access_append_only()""",
    """CREATE TABLE careflow_access_heads (
        case_id text PRIMARY KEY,
        seq bigint NOT NULL,
        head text NOT NULL
    )""",
)

__all__ = ["POSTGRES_ACCESS", "SQLITE_ACCESS"]
