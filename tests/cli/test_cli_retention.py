"""``careflow retention`` over a SQLite store: a dry run by default, ``--apply`` removes, exit codes, JSON,
and hostile input (a usage error, never a traceback, nothing changed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.clock import ManualClock
from tests.cases.test_retention import KEPT, NURSE, PHONE, SECRET, closed_case
from tests.cli.test_cli_cases import READ, cf
from tests.support import PROCESSES

FILE = str(PROCESSES / "kept.yaml")


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Cases closed in 2010 (everything due), 2020 (the phone due) and last week (nothing due), and one open."""
    url = f"sqlite:///{tmp_path}/cases.db"
    clock = ManualClock(datetime(2010, 1, 1, tzinfo=UTC))
    with open_store(url, processes=[KEPT], clock=clock) as s:
        closed_case(s, clock, "c2010", datetime(2010, 3, 1, tzinfo=UTC))
        closed_case(s, clock, "c2020", datetime(2020, 3, 1, tzinfo=UTC))
        closed_case(s, clock, "recent", datetime.now(UTC) - timedelta(days=7))
        s.create(Case.open(KEPT, "open", actor=NURSE, clock=clock))
    return url


def _versions(db: str) -> dict[str, int]:
    with open_store(db, processes=[KEPT], log_reads=False) as s:
        return {i.case_id: i.version for i in s.query()}


def test_a_dry_run_lists_and_changes_nothing(capsys: pytest.CaptureFixture[str], db: str) -> None:
    before = _versions(db)
    code, out, err = cf(capsys, "retention", "--store", db, "--process", FILE)
    assert code == 0 and not err
    lines = out.splitlines()
    assert [line.split()[:5] for line in lines[1:-1]] == [
        ["c2010", "kept", "2010-03-01", "P10Y", "process"], ["c2010", "kept", "2010-03-01", "P2Y", "phone"],
        ["c2020", "kept", "2020-03-01", "P2Y", "phone"]]
    assert lines[-1] == "3 due in 2 case(s) (dry run: nothing changed; --apply removes them)"
    assert _versions(db) == before


def test_apply_removes_then_finds_nothing(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = cf(capsys, "retention", "--store", db, "--process", FILE, "--apply")
    assert code == 0 and "removed 2 value(s), entry seq 3" in out
    assert out.endswith("3 removed, 0 failed, in 2 case(s)\n")
    code, out, _ = cf(capsys, "case", "export", "c2010", "--store", db, "--process", FILE, *READ)
    assert SECRET not in out and PHONE not in out
    code, out, _ = cf(capsys, "case", "history", "c2010", "--store", db, "--process", FILE, *READ)
    assert "reason: retention P10Y of process kept (closed 2010-03-01)" in out and "notes, phone [removed]" in out
    code, out, _ = cf(capsys, "retention", "--store", db, "--process", FILE, "--apply", "--format", "json")
    assert code == 0 and json.loads(out) == {"items": [], "applied": 0, "applied_run": True, "cases": 0, "due": 0,
                                             "failed": 0}
    code, out, _ = cf(capsys, "audit", "verify", "--store", db, "--process", FILE)
    assert code == 0 and "0 broken" in out


def test_json_and_at(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = cf(capsys, "retention", "--store", db, "--process", FILE, "--at", "2013-01-01", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["due"] == 1 and doc["items"][0]["field"] == "phone"
    assert doc["items"][0]["reason"] == "retention P2Y of field phone in process kept (closed 2010-03-01)"


def test_a_failure_exits_1_and_the_rest_are_done(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = cf(capsys, "retention", "--store", db, "--process", FILE, "--apply", "--as", "nora:nurse")
    assert code == 1 and out.count("FAILED CF") == 3 and "records_officer" in out
    code, out, _ = cf(capsys, "retention", "--store", db, "--process", FILE, "--apply", "--as",
                      "rita:records_officer")
    assert code == 0 and "3 removed, 0 failed" in out


@pytest.mark.parametrize("argv", [
    ["--as", "system"], ["--as", "ann:system"], ["--at", "yesterday"], ["--at", "2026-13-45"],
    ["--apply", "--at", "2999-01-01"], ["--format", "xml"], ["--as", "ann:Nurse\x1b[31m"], ["--at", "\u0660" * 10]])
def test_hostile_input_is_a_usage_error_and_changes_nothing(capsys: pytest.CaptureFixture[str], db: str,
                                                             argv: list[str]) -> None:
    before = _versions(db)
    with pytest.raises(SystemExit) as caught:
        code, _, err = cf(capsys, "retention", "--store", db, "--process", FILE, *argv)
        raise SystemExit(code)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "\x1b" not in err
    assert _versions(db) == before


def test_a_store_that_is_not_there(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = cf(capsys, "retention", "--store", f"sqlite:///{tmp_path}/none.db")
    assert code == 1 and "CF956" in err and not out and not (tmp_path / "none.db").exists()


def test_the_auditor_steps_in_records_md_run(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/records.md, "How an auditor checks a redacted case": its keygen and every line of its sh block
    run as written, in order, over a psht case with a value; each says what the page says it says."""
    import re
    import shlex

    from tests.support import DOCS

    monkeypatch.chdir(tmp_path)
    text = (DOCS / "records.md").read_text("utf-8").split("## How an auditor checks a redacted case", 1)[1]
    (block,) = re.findall(r"```sh\n(.*?)```", text, re.S)
    keygen = re.search(r"`(careflow audit keygen [^`]+)`", text)
    assert keygen is not None
    store = "sqlite:///cases.db"
    assert cf(capsys, "case", "open", "psht", "--store", store, "--as", "nora:nurse", "--id", "p-17")[0] == 0
    assert cf(capsys, "case", "fire", "p-17", "record_consent", "--store", store, "--as", "nora:nurse",
              "--data", "consent_to_referral=true")[0] == 0
    outputs = []
    for line in [keygen.group(1), *block.strip().splitlines()]:
        code, out, err = cf(capsys, *shlex.split(line)[1:])
        assert code == 0, (line, out, err)
        outputs.append(out)
    _, _, _, verified, history, access = outputs
    assert "0 broken" in verified and "against the checkpoint" in verified
    assert "redacted" in history and "consent_to_referral [fjernet]" in history
    assert "reason: erasure request 2026-41" in history
    assert re.search(r"rita +records_officer +person +redact +erasure request 2026-41", access)
    assert re.search(r"una +auditor +person +history +internal control 2026-11", access)
