"""A redacted value is gone from the database itself: the raw bytes of the SQLite file (and its WAL), and a
``pg_dump`` of the PostgreSQL schema. Old (schema-1) logs keep verifying; hypothesis: whatever the value,
once redacted it appears nowhere, and the chain always verifies."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.clock import ManualClock
from careflow.errors import RedactionRefused
from careflow.runtime.audit import GENESIS, seal_plain
from careflow.runtime.compiled import Actor
from careflow.runtime.records import RECORDS_ROLE
from tests.cases.relay import ANN, BOB, RELAY_C, new_case, started
from tests.support import PG_BASE

OFFICER = Actor("rita", {RECORDS_ROLE})
SECRET = "Kari Nordmann 24019912345 bor i Storgata 1"


def _fill(url: str, clock: ManualClock) -> None:
    with open_store(url, processes=[RELAY_C], clock=clock) as s:
        for n in range(3):
            started(s, clock, f"k{n}")
        s.fire("k1", "note", BOB, {"tags": SECRET, "score": 3})
        for _ in range(5):  # later fires rewrite the snapshot that holds the value: no stale copy may remain
            s.fire("k1", "note", BOB, {"tags": "ok"})


def _raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_sqlite_file_holds_no_redacted_value(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "cases.db"
    url = f"sqlite:///{path}"
    _fill(url, clock)
    assert SECRET.encode() in _raw(path)
    with open_store(url, processes=[RELAY_C], clock=clock) as s:
        s.redact("k1", ["tags"], actor=OFFICER, reason="erasure request")
        assert SECRET.encode() not in _raw(path)  # before close: secure_delete and the WAL truncated
        assert all(c.ok for c in s.verify_cases())
    assert SECRET.encode() not in _raw(path)
    with open_store(url, processes=[RELAY_C], clock=clock) as s:
        assert s.load("k1").verify_chain() and all(c.ok for c in s.verify_cases())


def _pg_dump(schema: str) -> bytes:
    return subprocess.run(["pg_dump", "--dbname", PG_BASE, "--schema", schema, "--no-owner"],
                          check=True, capture_output=True, timeout=120).stdout


def test_pg_dump_holds_no_redacted_value(pg_url: str, clock: ManualClock) -> None:
    schema = pg_url.rsplit("schema=", 1)[1]
    _fill(pg_url, clock)
    assert SECRET.encode() in _pg_dump(schema)
    with open_store(pg_url, processes=[RELAY_C], clock=clock) as s:
        s.redact("k1", ["tags"], actor=OFFICER, reason="erasure request")
        assert all(c.ok for c in s.verify_cases())
    dump = _pg_dump(schema)
    assert SECRET.encode() not in dump and b"careflow_values" in dump


def _scheme_one(case: Case) -> str:
    """``case`` as careflow wrote it before schema 2: every entry hashes its raw values."""
    body = json.loads(case.to_json())
    head, history = GENESIS, []
    for entry in case.history:
        sealed = seal_plain(entry, head)
        head = sealed.hash or GENESIS
        history.append(sealed.to_json())
    body.update(history=history, head=head)
    return json.dumps(body)


def test_a_migrated_store_keeps_its_old_logs(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    case = new_case(clock, "old", consent=True)
    case.fire("note", ANN, {"tags": SECRET})
    with open_store(url, processes=[RELAY_C], clock=clock) as s:
        s.create(Case.from_json(RELAY_C, _scheme_one(case), clock=clock))
    with sqlite3.connect(path) as conn:  # back to before commitments, as a store written by an older careflow
        conn.execute("DROP TABLE careflow_values")
        conn.execute("ALTER TABLE careflow_cases DROP COLUMN seal")
        conn.execute("DROP TABLE careflow_settings")
        conn.execute("DELETE FROM careflow_schema WHERE version >= 3")
    conn.close()
    with open_store(url, processes=[RELAY_C], clock=clock) as s:  # migrates: values (3), then seals (4)
        assert all(c.ok for c in s.verify_cases()) and s.history("old")[1].commits is None
        s.fire("old", "note", ANN, {"tags": "new value"})
        assert s.history("old")[-1].commits is not None  # new entries are committed
        with pytest.raises(RedactionRefused, match="schema 1"):
            s.redact("old", ["tags"], actor=OFFICER, reason="r")
        s.redact("old", ["tags"], [s.history("old")[-1].seq], actor=OFFICER, reason="r")
        assert all(c.ok for c in s.verify_cases()) and s.load("old").verify_chain()


def _holds(value: Any, obj: Any) -> bool:
    if type(obj) is type(value) and obj == value:
        return True
    if isinstance(obj, dict):
        return any(_holds(value, v) for v in obj.values())
    if isinstance(obj, list):
        return any(_holds(value, v) for v in obj)
    return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
                      .map(lambda t: f"v-{t}"), min_size=1, max_size=4),
       score=st.floats(allow_nan=False, allow_infinity=False))
def test_redacted_values_never_appear_again(values: list[str], score: float) -> None:
    clock = ManualClock()
    with open_store("memory:", processes=[RELAY_C], clock=clock) as s:
        started(s, clock)
        for value in values:
            s.fire("k1", "note", BOB, {"tags": value, "score": score})
        s.redact("k1", ["tags", "score"], actor=OFFICER, reason="retention period ended")
        exported = json.loads(s.export("k1"))
        gone: list[Any] = [*values, score]
        for value in gone:
            assert not _holds(value, exported["data"])
            assert not any(_holds(value, e["data"]) or _holds(value, e.get("values", {}))
                           for e in exported["history"])
        assert all(c.ok for c in s.verify_cases()) and s.load("k1").verify_chain()


def test_a_value_deleted_behind_careflows_back_is_reported(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "cases.db"
    url = f"sqlite:///{path}"
    _fill(url, clock)
    with sqlite3.connect(path) as conn:  # no 'redacted' entry records this removal
        conn.execute("DELETE FROM careflow_values WHERE case_id = 'k1' AND field = 'tags' AND value LIKE '%Kari%'")
    conn.close()
    with open_store(url, processes=[RELAY_C], clock=clock) as s:
        checks = {c.case_id: c for c in s.verify_cases()}
        assert checks["k0"].ok and not checks["k1"].ok
        assert "no 'redacted' entry records its removal" in checks["k1"].message
