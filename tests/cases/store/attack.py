"""Editing a store the way an attacker with database access would: triggers dropped first, then plain SQL.

PostgreSQL runs as the schema's owner (who can drop the triggers); SQLite as whoever can write the file.
``forge`` makes the rows of a whole, consistent log with careflow's own code, as an attacker could.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from careflow.cases.case import Case
from careflow.cases.store.codec import change, entry_row
from careflow.cases.store.seal import Sealer
from careflow.cases.store.sql import insert_params

DROP_SQLITE = ("DROP TRIGGER IF EXISTS careflow_audit_no_update", "DROP TRIGGER IF EXISTS careflow_audit_no_delete")
DROP_PG = ("DROP TRIGGER IF EXISTS careflow_audit_no_change ON careflow_audit",
           "DROP TRIGGER IF EXISTS careflow_audit_no_truncate ON careflow_audit")


def attack(url: str, sql: str, *args: Any) -> list[Any]:
    """Run ``sql`` (``?`` placeholders) behind careflow's back, the audit triggers dropped first."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            for drop in DROP_SQLITE:
                conn.execute(drop)
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()
    import psycopg

    from careflow.cases.store.postgres import parse_url

    conninfo, schema, _ = parse_url(url)
    with psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}") as pg:
        for drop in DROP_PG:
            pg.execute(drop)
        cur = pg.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []


def forge(url: str, case: Case) -> None:
    """Replace the stored case ``case.case_id`` — row and every audit row — by ``case``, consistently."""
    if url.startswith("sqlite"):
        from careflow.cases.store.sqlite import DIALECT
    else:
        from careflow.cases.store.postgres import DIALECT
    made = change(case.compiled, case.snapshot, case.history, 1, None)
    made = made._replace(seal=Sealer().seal(made.row()))  # the attacker knows the format: an unkeyed seal fits
    attack(url, "DELETE FROM careflow_audit WHERE case_id = ?", case.case_id)
    attack(url, "DELETE FROM careflow_cases WHERE case_id = ?", case.case_id)
    attack(url, "INSERT INTO careflow_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", *insert_params(made, DIALECT))
    for entry in case.history:
        attack(url, "INSERT INTO careflow_audit VALUES (?, ?, ?, ?, ?, ?, ?)", *entry_row(entry))
    attack(url, "DELETE FROM careflow_values WHERE case_id = ?", case.case_id)
    for value in made.values:  # the kept values of the forged entries, beside them
        attack(url, "INSERT INTO careflow_values VALUES (?, ?, ?, ?, ?)", *value)


def case_row(url: str, case_id: str) -> list[Any]:
    """Every column of a case row, to put back later (a tail cut with the case row fixed)."""
    return list(attack(url, "SELECT * FROM careflow_cases WHERE case_id = ?", case_id)[0])


def put_row(url: str, row: list[Any]) -> None:
    attack(url, "DELETE FROM careflow_cases WHERE case_id = ?", row[0])
    attack(url, "INSERT INTO careflow_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", *row)
