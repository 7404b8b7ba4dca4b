"""``careflow case …``, ``careflow due`` and ``careflow audit verify`` over a SQLite store (bundled psht).

More of ``careflow audit`` is in test_audit.py."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from careflow.cli.cases import parse_data
from careflow.cli.main import main

READ = ("--purpose", "cli test")  # the reading commands record who read and why


def cf(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cases.db"


def test_data_values_are_json_when_they_parse() -> None:
    assert parse_data(["a=true", "b=3", 'c="x"', "d=plain text", "e=[1]", "f=null", "g=k=v"]) == {
        "a": True, "b": 3, "c": "x", "d": "plain text", "e": [1], "f": None, "g": "k=v"}


def test_a_case_through_the_cli(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    code, out, _ = cf(capsys, "case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", "p1")
    assert code == 0 and "opened p1 (psht@1.0) in referral, version 1" in out
    code, out, _ = cf(capsys, "case", "fire", "p1", "record_consent", "--store", db, "--as", "ann:nurse",
                      "--data", "consent_to_referral=true", "--reason", "signed form")
    assert code == 0 and "p1: record_consent -> referral (version 2)" in out
    code, out, _ = cf(capsys, "case", "fire", "p1", "submit_referral", "--store", db, "--as", "rita:referrer",
                      "--data", "referrer_kind=gp", "--data", "referral_channel=dips")
    assert code == 0 and "-> triage (version 3)" in out
    code, out, _ = cf(capsys, "case", "show", "p1", "--store", db, "--as", "ann:nurse", *READ)
    assert code == 0
    assert "state    triage" in out and "deadline 20" in out and "allowed for ann:" in out
    assert '"referrer_kind": "gp"' in out
    code, out, _ = cf(capsys, "case", "history", "p1", "--store", db, *READ)
    assert code == 0 and "signed form" in out and "referral -> triage" in out
    code, out, _ = cf(capsys, "case", "history", "p1", "--store", db, "--format", "jsonl", *READ)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in lines] == [0, 1, 2] and lines[1]["reason"] == "signed form"
    code, out, _ = cf(capsys, "case", "list", "--store", db, "--state", "triage", *READ)
    assert code == 0 and "p1" in out and "1 case(s)" in out
    code, out, _ = cf(capsys, "due", "--store", db)
    assert code == 0 and "0 case(s) due" in out
    code, out, _ = cf(capsys, "due", "--store", db, "--at", "2099-01-01", "--fire")
    assert code == 0 and "p1" in out and "fired triage_overdue as system" in out and "1 case(s) due" in out
    code, out, _ = cf(capsys, "audit", "verify", "--store", db, "-v")
    assert code == 0 and re.search(r"^p1 +4  ok$", out, re.M) and "1 case(s) verified, 0 broken" in out
    code, exported, _ = cf(capsys, "case", "export", "p1", "--store", db, *READ)
    assert code == 0 and json.loads(exported)["case_id"] == "p1"
    (tmp_path / "p1.json").write_text(exported)
    other = f"sqlite:///{tmp_path}/other.db"
    code, out, _ = cf(capsys, "case", "import", str(tmp_path / "p1.json"), "--store", other)
    assert code == 0 and "imported p1 (psht@1.0) in triage, 4 entries" in out
    assert cf(capsys, "case", "export", "p1", "--store", other, *READ)[1] == exported


def test_refusal_exits_1_and_is_recorded(capsys: pytest.CaptureFixture[str], db: str) -> None:
    cf(capsys, "case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", "p1")
    code, _, err = cf(capsys, "case", "fire", "p1", "submit_referral", "--store", db, "--as", "ann:nurse")
    assert code == 1 and "refused (role-denied)" in err and "recorded" in err
    assert "denied" in cf(capsys, "case", "history", "p1", "--store", db, *READ)[1]


def test_default_store_from_env_or_working_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREFLOW_STORE", raising=False)
    assert cf(capsys, "case", "open", "psht", "--as", "ann:nurse", "--id", "a")[0] == 0
    assert (tmp_path / "careflow.db").exists()
    monkeypatch.setenv("CAREFLOW_STORE", f"sqlite:///{tmp_path}/env.db")
    assert cf(capsys, "case", "open", "psht", "--as", "ann:nurse", "--id", "b")[0] == 0
    assert "b " in cf(capsys, "case", "list", *READ)[1]
    assert cf(capsys, "case", "show", "a", *READ)[0] == 1  # not in the env store


def test_bad_stores_are_clear_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    newer = tmp_path / "newer.db"
    cf(capsys, "case", "open", "psht", "--store", f"sqlite:///{newer}", "--as", "ann:nurse", "--id", "x")
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO careflow_schema VALUES (42, 'future', 'x')")
    conn.commit()
    conn.close()
    cases = [
        (f"sqlite:///{garbage}", "not a SQLite database"),
        ("mysql://localhost/cases", "unknown store URL"),
        ("postgresql://postgres@127.0.0.1:1/test", "cannot connect to PostgreSQL"),
        (f"sqlite:///{newer}", "schema version 42"),
        (f"sqlite:///{tmp_path}/missing.db", "no careflow database"),
    ]
    for url, message in cases:
        code, _, err = cf(capsys, "case", "show", "x", "--store", url, *READ)
        assert code == 1 and message in err and "hint:" in err, (url, err)
    assert garbage.read_bytes() == b"not a database at all" * 100


def test_audit_verify_names_the_first_broken_entry(capsys: pytest.CaptureFixture[str], db: str,
                                                   tmp_path: Path) -> None:
    cf(capsys, "case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", "p1")
    cf(capsys, "case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", "p2")
    for _ in range(3):
        cf(capsys, "case", "fire", "p1", "record_consent", "--store", db, "--as", "ann:nurse",
           "--data", "consent_to_referral=true")
    conn = sqlite3.connect(tmp_path / "cases.db")
    conn.execute("DROP TRIGGER careflow_audit_no_update")
    conn.execute("UPDATE careflow_audit SET entry = replace(entry, '\"ann\"', '\"eve\"') "
                 "WHERE case_id = 'p1' AND seq = 2")
    conn.commit()
    conn.close()
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    assert code == 1
    assert re.search(r"^p1 +4  BROKEN   content-changed at seq 2: ", out, re.M), out
    assert "2 case(s) verified, 1 broken" in out
    assert cf(capsys, "audit", "verify", "--store", db, "--case", "p2")[0] == 0


def test_importing_the_cli_module_stays_light() -> None:
    code = ("import sys, careflow.cli.cases; "
            "print(sorted(m for m in ('sqlite3', 'psycopg', 'careflow.cases.store.base', 'careflow.cases.case', "
            "'networkx') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.stdout.strip() == "[]"
