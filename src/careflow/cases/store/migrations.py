"""Schema versions and forward migrations, per dialect.

Every database records the migrations applied to it in ``careflow_schema`` (one row per version).
Opening a store applies the missing ones in one transaction (serialised between processes: SQLite's
write lock, a PostgreSQL advisory lock). A database whose version is higher than the newest this
careflow knows was written by a newer careflow and is refused before anything is written: an older
program cannot know which invariants the newer schema relies on.

Migrations are append-only: never edit a released one, add the next version instead.

Version 2 adds the access log (``careflow.cases.store.access_schema``). Version 3 adds
``careflow_values``, the values of committed entries (``careflow.cases.store.values``); entries written
before it keep hashing their raw values. Version 4 adds the rows' seals (``careflow.cases.store.seal``)
and seals every existing row as it stands: it trusts the current rows, so run ``careflow audit verify``
before upgrading. With a seal key given when it runs, the rows are sealed with that key and its
fingerprint recorded.
"""

from __future__ import annotations

from typing import NamedTuple

from careflow.cases.store.access_schema import POSTGRES_ACCESS, SQLITE_ACCESS
from careflow.errors import SchemaTooNew, StoreDamaged, StoreMissing, StoreReadOnly


class Migration(NamedTuple):
    """``reseal``: after the statements, seal every case row as it stands (``SQLStore._reseal_all``)."""

    version: int
    description: str
    statements: tuple[str, ...]
    reseal: bool = False


VERSION_TABLE = "careflow_schema"

SQLITE: tuple[Migration, ...] = (
    Migration(1, "cases, append-only audit", (
        """CREATE TABLE careflow_cases (
            case_id TEXT PRIMARY KEY,
            process_id TEXT NOT NULL,
            process_version TEXT NOT NULL,
            state TEXT NOT NULL,          -- dotted path, e.g. work.w1
            closed INTEGER NOT NULL,
            due_at INTEGER,               -- earliest pending deadline, microseconds since 1970 UTC
            version INTEGER NOT NULL,     -- optimistic concurrency: +1 per commit
            seq INTEGER NOT NULL,         -- seq of the last audit entry
            head TEXT NOT NULL,           -- hash of the last audit entry
            snapshot TEXT NOT NULL        -- the engine's snapshot JSON
        )""",
        "CREATE INDEX careflow_cases_process ON careflow_cases (process_id, process_version, state)",
        "CREATE INDEX careflow_cases_state ON careflow_cases (state)",
        "CREATE INDEX careflow_cases_due ON careflow_cases (due_at) WHERE due_at IS NOT NULL",
        """CREATE TABLE careflow_audit (
            case_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            kind TEXT NOT NULL,
            time TEXT NOT NULL,
            entry TEXT NOT NULL,          -- AuditEntry.to_json()
            PRIMARY KEY (case_id, seq)
        ) WITHOUT ROWID""",
        """CREATE TRIGGER careflow_audit_no_update BEFORE UPDATE ON careflow_audit
           BEGIN SELECT RAISE(ABORT, 'careflow_audit is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER careflow_audit_no_delete BEFORE DELETE ON careflow_audit
           BEGIN SELECT RAISE(ABORT, 'careflow_audit is append-only: DELETE refused'); END""",
    )),
    Migration(2, "access log: who read which case, when and why", SQLITE_ACCESS),
    # Values of committed entries (scheme 2), beside the log: a redaction deletes the row, never an entry.
    # Entries written before this version keep scheme 1 (raw values in the entry): see docs/audit.md.
    Migration(3, "values of committed entries beside the audit log", (
        """CREATE TABLE careflow_values (
            case_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            field TEXT NOT NULL,
            salt TEXT NOT NULL,           -- 16 random bytes, hex
            value TEXT NOT NULL,          -- the value's canonical JSON
            PRIMARY KEY (case_id, seq, field)
        ) WITHOUT ROWID""",
    )),
    Migration(4, "row seals, settings", (
        "ALTER TABLE careflow_cases ADD COLUMN seal TEXT NOT NULL DEFAULT ''",  # see careflow.cases.store.seal
        "CREATE TABLE careflow_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ), reseal=True),
)

POSTGRES: tuple[Migration, ...] = (
    Migration(1, "cases, append-only audit", (
        """CREATE TABLE careflow_cases (
            case_id text PRIMARY KEY,
            process_id text NOT NULL,
            process_version text NOT NULL,
            state text NOT NULL,
            closed boolean NOT NULL,
            due_at timestamptz,
            version bigint NOT NULL,
            seq bigint NOT NULL,
            head text NOT NULL,
            snapshot text NOT NULL      -- text, not jsonb: kept byte for byte (jsonb rewrites numbers)
        )""",
        "CREATE INDEX careflow_cases_process ON careflow_cases (process_id, process_version, state)",
        "CREATE INDEX careflow_cases_state ON careflow_cases (state text_pattern_ops)",
        "CREATE INDEX careflow_cases_due ON careflow_cases (due_at) WHERE due_at IS NOT NULL",
        """CREATE TABLE careflow_audit (
            case_id text NOT NULL,
            seq bigint NOT NULL,
            hash text NOT NULL,
            prev_hash text NOT NULL,
            kind text NOT NULL,
            time timestamptz NOT NULL,
            entry text NOT NULL,
            PRIMARY KEY (case_id, seq)
        )""",
        """CREATE FUNCTION careflow_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'careflow_audit is append-only: % refused', TG_OP
               USING ERRCODE = 'insufficient_privilege';
           END $$""",
        """CREATE TRIGGER careflow_audit_no_change BEFORE UPDATE OR DELETE ON careflow_audit
           FOR EACH ROW EXECUTE FUNCTION careflow_audit_append_only()""",
        """CREATE TRIGGER careflow_audit_no_truncate BEFORE TRUNCATE ON careflow_audit
           FOR EACH STATEMENT EXECUTE FUNCTION careflow_audit_append_only()""",
    )),
    Migration(2, "access log: who read which case, when and why", POSTGRES_ACCESS),
    Migration(3, "values of committed entries beside the audit log", (
        """CREATE TABLE careflow_values (
            case_id text NOT NULL,
            seq bigint NOT NULL,
            field text NOT NULL,
            salt text NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (case_id, seq, field)
        )""",
    )),
    Migration(4, "row seals, settings", (
        "ALTER TABLE careflow_cases ADD COLUMN seal text NOT NULL DEFAULT ''",
        "CREATE TABLE careflow_settings (name text PRIMARY KEY, value text NOT NULL)",
    ), reseal=True),
)


def pending(current: int, migrations: tuple[Migration, ...], where: str) -> list[Migration]:
    """The migrations to apply to a database at ``current``; ``SchemaTooNew`` if it is ahead of us."""
    latest = migrations[-1].version
    if current > latest:
        raise SchemaTooNew(f"{where} has careflow schema version {current}; this careflow knows versions up to "
                           f"{latest}", "upgrade careflow to open it (the database was not changed)")
    return [m for m in migrations if m.version > current]


#: The tables a careflow store has once its first migration ran.
TABLES = ("careflow_cases", "careflow_audit")


def check_tables(version: int, tables: set[str], where: str, *, create: bool, read_only: bool) -> None:
    """Refuse a store whose tables do not fit its recorded version, before anything is written.

    ``tables``: careflow's table names present (``careflow_schema`` included). A store with no careflow
    table at all is initialised only when ``create`` is set (and the database is writable)."""
    present = [t for t in TABLES if t in tables]
    if VERSION_TABLE not in tables and present:
        raise StoreDamaged(f"{where}: table {VERSION_TABLE} is missing, but {', '.join(present)} exist",
                           "restore the database from a backup; careflow did not change it")
    if version == 0 and present:
        raise StoreDamaged(f"{where}: table {VERSION_TABLE} records no schema version, but {', '.join(present)} "
                           "exist (its rows were deleted?)", "restore the database from a backup, or put back "
                           f"the row (1, 'cases, append-only audit', <time>) of {VERSION_TABLE} if the tables "
                           "are intact; careflow did not change it")
    missing = [t for t in TABLES if t not in tables]
    if version > 0 and missing:
        raise StoreDamaged(f"{where}: careflow schema version {version}, but table {', '.join(missing)} is missing",
                           "restore the database from a backup; careflow did not change it")
    if version == 0 and not create:
        raise StoreMissing(f"no careflow database at {where} (nothing was created)",
                           "check the path or CAREFLOW_STORE; a store is created by 'careflow case open' "
                           "or open_store(url, create=True)")
    if version == 0 and read_only:
        raise StoreReadOnly(f"cannot create a careflow store at {where}: the database is read-only",
                            "create the store where this process may write")


def latest(migrations: tuple[Migration, ...]) -> int:
    return migrations[-1].version


__all__ = ["POSTGRES", "SQLITE", "TABLES", "VERSION_TABLE", "Migration", "check_tables", "latest", "pending"]
