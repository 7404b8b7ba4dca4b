"""The command line records who read a case and why, and ``careflow audit access`` shows and verifies it,
on SQLite and the real PostgreSQL."""

from __future__ import annotations

import json

import pytest

from careflow.cli.main import main
from tests.cases.test_store import raw_sql


def cf(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.out, captured.err


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> str:
    """A store holding psht case p1 in triage (a deadline pending), on each durable backend."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    assert cf(capsys, "case", "open", "psht", "--store", url, "--as", "ann:nurse", "--id", "p1")[0] == 0
    assert cf(capsys, "case", "fire", "p1", "record_consent", "--store", url, "--as", "ann:nurse", "--data",
              "consent_to_referral=true")[0] == 0
    assert cf(capsys, "case", "fire", "p1", "submit_referral", "--store", url, "--as", "rita:referrer", "--data",
              "referrer_kind=gp", "--data", "referral_channel=dips")[0] == 0
    return url


def test_reading_commands_record_who_and_why(capsys: pytest.CaptureFixture[str], db: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "kari")
    assert cf(capsys, "case", "show", "p1", "--store", db, "--as", "dag:doctor", "--purpose", "assessment")[0] == 0
    assert cf(capsys, "case", "history", "p1", "--store", db, "--purpose", "complaint 2026-17")[0] == 0
    assert cf(capsys, "case", "export", "p1", "--store", db, "--as", "siri:secretary", "--purpose", "transfer")[0] == 0
    assert cf(capsys, "case", "list", "--store", db, "--as", "dag:doctor", "--purpose", "ward round")[0] == 0
    assert cf(capsys, "due", "--store", db, "--at", "2027-01-01")[0] == 0
    code, out, _ = cf(capsys, "audit", "access", "p1", "--store", db, "--format", "json")
    assert code == 0
    rows = [(e["actor"], e["roles"], e["action"], e["purpose"], e["origin"]) for e in json.loads(out)]
    assert rows == [("dag", ["doctor"], "load", "assessment", "person"),
                    ("kari", [], "history", "complaint 2026-17", "person"),
                    ("siri", ["secretary"], "export", "transfer", "person"),
                    ("dag", ["doctor"], "query", "ward round", "person"),
                    ("system", ["system"], "overdue", "deadlines", "system")]
    code, out, _ = cf(capsys, "audit", "access", "p1", "--store", db)
    assert code == 0 and "complaint 2026-17" in out and "5 read(s)" in out
    code, out, _ = cf(capsys, "audit", "access", "--store", db, "--actor", "dag", "--purpose", "ward round")
    assert code == 0 and "1 read(s)" in out and "query" in out
    code, out, _ = cf(capsys, "audit", "access", "--store", db, "--since", "2999-01-01")
    assert code == 0 and "0 read(s)" in out
    code, out, _ = cf(capsys, "audit", "access", "--store", db, "--verify", "-v")
    assert code == 0 and "p1: ok (5 reads)" in out and "1 access chain(s) verified, 0 broken" in out


def test_audit_access_verify_finds_an_edited_row(capsys: pytest.CaptureFixture[str], db: str) -> None:
    for purpose in ("treatment", "billing"):
        cf(capsys, "case", "show", "p1", "--store", db, "--as", "eve:nurse", "--purpose", purpose)
    if db.startswith("sqlite"):
        raw_sql(db, "DROP TRIGGER careflow_access_no_update")
    else:
        raw_sql(db, "DROP TRIGGER careflow_access_no_change ON careflow_access")
    raw_sql(db, "UPDATE careflow_access SET entry = replace(entry, 'billing', 'treatment') WHERE seq = 2")
    code, out, _ = cf(capsys, "audit", "access", "p1", "--store", db, "--verify")
    assert code == 1
    assert "p1: BROKEN (hash-mismatch) first broken entry: seq 2" in out and "1 broken" in out


def test_audit_access_of_an_unknown_store_or_case(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    code, _, err = cf(capsys, "audit", "access", "p1", "--store", f"sqlite:///{tmp_path}/none.db")
    assert code == 1 and "no careflow database" in err
    with pytest.raises(SystemExit) as usage:
        main(["audit", "access", "--store", "sqlite:///x.db", "--format", "xml"])
    assert usage.value.code == 2
