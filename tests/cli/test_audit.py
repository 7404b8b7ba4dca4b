"""``careflow audit verify|checkpoint|keygen`` and ``careflow replay --checkpoint`` (SQLite store, bundled psht)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.cli.main import main
from careflow.history import dumps_jsonl
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor
from tests.cases.store.attack import attack


def cf(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A store of three psht cases: p1 (4 entries), p2 and p3 (1 entry each)."""
    url = f"sqlite:///{tmp_path}/cases.db"
    for case_id in ("p1", "p2", "p3"):
        assert cf(capsys, "case", "open", "psht", "--store", url, "--as", "ann:nurse", "--id", case_id)[0] == 0
    for _ in range(3):
        cf(capsys, "case", "fire", "p1", "record_consent", "--store", url, "--as", "ann:nurse",
           "--data", "consent_to_referral=true")
    return url


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    private, public = str(tmp_path / "k.pem"), str(tmp_path / "k.pub")
    code, out, _ = cf(capsys, "audit", "keygen", "--private", private, "--public", public)
    assert code == 0 and "key sha256:" in out
    return private, public


def test_verify_prints_a_table_of_every_problem_and_exits_1(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    assert code == 0 and out.splitlines()[-1] == "3 case(s) verified, 0 broken, 0 problem(s)"
    attack(db, "UPDATE careflow_cases SET state = 'closed', closed = 1 WHERE case_id = 'p2'")
    attack(db, "UPDATE careflow_audit SET kind = 'denied' WHERE case_id = 'p1' AND seq = 1")
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    lines = out.splitlines()
    assert code == 1 and lines[0].split() == ["case", "entries", "verdict", "problems"]
    assert lines[1].startswith("p1") and "BROKEN   columns-changed at seq 1 [kind]" in lines[1]
    assert any("row-differs [state]" in line for line in lines)
    assert any("row-differs [closed]" in line for line in lines)
    assert lines[-1] == "3 case(s) verified, 2 broken, 3 problem(s)"
    assert cf(capsys, "audit", "verify", "--store", db, "--case", "p3")[0] == 0


def test_verify_as_json(capsys: pytest.CaptureFixture[str], db: str) -> None:
    attack(db, "UPDATE careflow_cases SET state = 'triage' WHERE case_id = 'p3'")
    code, out, _ = cf(capsys, "audit", "verify", "--store", db, "--format", "json", "--no-replay")
    report = json.loads(out)
    assert code == 1 and (report["verified"], report["broken"], report["checkpoint"]) == (3, 1, None)
    [p3] = [c for c in report["cases"] if not c["ok"]]
    assert p3["case_id"] == "p3" and p3["problems"] == [
        {"code": "row-differs", "column": "state", "seq": None, "message": p3["problems"][0]["message"]}]


def test_a_bad_row_is_reported_escaped_and_the_rest_still_checked(capsys: pytest.CaptureFixture[str],
                                                                  db: str) -> None:
    attack(db, "UPDATE careflow_cases SET process_id = 'no_such' WHERE case_id = 'p1'")
    attack(db, "INSERT INTO careflow_audit SELECT 'ghost\x1b[2J', seq, hash, prev_hash, kind, time, entry "
               "FROM careflow_audit WHERE case_id = 'p2'")
    attack(db, "UPDATE careflow_cases SET closed = 1 WHERE case_id = 'p3'")
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    assert code == 1 and "ghost\\u001b[2J" in out and "\x1b" not in out
    assert "4 case(s) verified, 3 broken" in out and "row-differs [closed]" in out


def test_checkpoint_then_verify_finds_a_cut_tail_and_a_deleted_case(capsys: pytest.CaptureFixture[str], db: str,
                                                                   keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = keys
    out_file = str(tmp_path / "cp.json")
    code, out, _ = cf(capsys, "audit", "checkpoint", "--store", db, "--key", private, "-o", out_file)
    assert code == 0 and "checkpoint of 3 case(s), 6 entries" in out
    assert cf(capsys, "audit", "verify", "--store", db, "--checkpoint", out_file, "--public-key", public)[0] == 0
    attack(db, "DELETE FROM careflow_audit WHERE case_id = 'p2'")
    attack(db, "DELETE FROM careflow_cases WHERE case_id = 'p2'")
    code, out, _ = cf(capsys, "audit", "verify", "--store", db, "--checkpoint", out_file, "--public-key", public)
    assert code == 1 and "checkpoint-deleted" in out and "p2" in out
    assert cf(capsys, "audit", "verify", "--store", db)[0] == 0  # without the checkpoint: nothing left to see


def test_a_checkpoint_that_does_not_verify_is_a_clear_error(capsys: pytest.CaptureFixture[str], db: str,
                                                            keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = keys
    out_file = tmp_path / "cp.json"
    cf(capsys, "audit", "checkpoint", "--store", db, "--key", private, "-o", str(out_file))
    out_file.write_text(out_file.read_text().replace('"p1",4', '"p1",3'))
    code, _, err = cf(capsys, "audit", "verify", "--store", db, "--checkpoint", str(out_file), "--public-key", public)
    assert code == 1 and "error CF965" in err and "digest" in err
    code, _, err = cf(capsys, "audit", "verify", "--store", db, "--checkpoint", str(out_file))
    assert code == 2 and "--public-key" in err
    code, _, err = cf(capsys, "audit", "checkpoint", "--store", db, "--key", public, "-o", str(out_file))
    assert code == 1 and "error CF966" in err
    code, _, err = cf(capsys, "audit", "keygen", "--private", private, "--public", str(tmp_path / "new.pub"))
    assert code == 1 and "never overwritten" in err


def test_replay_checkpoint_finds_a_dropped_last_entry(capsys: pytest.CaptureFixture[str], psht: ProcessDefinition,
                                                      keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = keys
    nurse = Actor("ann", {"nurse"})
    case = Case.open(psht, "h1", actor=nurse)
    case.fire("record_consent", nurse, {"consent_to_referral": True})
    history = tmp_path / "h1.jsonl"
    history.write_text(dumps_jsonl(case.history))
    cp = str(tmp_path / "cp.json")
    assert cf(capsys, "audit", "checkpoint", "--history", str(history), "--key", private, "-o", cp)[0] == 0
    assert cf(capsys, "replay", "psht", str(history), "--checkpoint", cp, "--public-key", public)[0] == 0
    history.write_text(history.read_text().splitlines(keepends=True)[0])
    assert cf(capsys, "replay", "psht", str(history))[0] == 0  # a shorter chain is still a chain
    code, out, _ = cf(capsys, "replay", "psht", str(history), "--checkpoint", cp, "--public-key", public)
    assert code == 1 and "[checkpoint-truncated]" in out


def test_the_store_file_is_only_read(capsys: pytest.CaptureFixture[str], db: str, keys: tuple[str, str],
                                     tmp_path: Path) -> None:
    path = db.removeprefix("sqlite:///")
    before = sqlite3.connect(path).execute("SELECT count(*) FROM careflow_audit").fetchone()
    cf(capsys, "audit", "checkpoint", "--store", db, "--key", keys[0], "-o", str(tmp_path / "cp.json"))
    assert sqlite3.connect(path).execute("SELECT count(*) FROM careflow_audit").fetchone() == before


def test_due_writes_a_checkpoint_every_n_minutes(capsys: pytest.CaptureFixture[str], db: str,
                                                 keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = keys
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    due = ("due", "--store", db, "--fire", "--checkpoint-every", "60", "--key", private, "--checkpoint-dir",
           str(folder))
    code, out, _ = cf(capsys, *due)
    assert code == 0 and "checkpoint written to" in out
    code, out, _ = cf(capsys, *due)
    assert code == 0 and "no checkpoint due yet" in out
    [written] = folder.iterdir()
    assert cf(capsys, "audit", "verify", "--store", db, "--checkpoint", str(written), "--public-key", public)[0] == 0
    assert cf(capsys, "due", "--store", db, "--checkpoint-every", "1")[0] == 2


def test_checkpoint_every_is_due_by_the_age_of_the_newest(db: str, keys: tuple[str, str], tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from careflow.cases.store import open_store
    from careflow.cases.store.checkpoints import checkpoint_every
    from careflow.history.checkpoint import load_private_key

    key = load_private_key(keys[0])
    now = datetime.now(UTC)
    with open_store(db, create=False) as store:
        assert checkpoint_every(store, key, tmp_path, timedelta(minutes=10), now) is not None
        assert checkpoint_every(store, key, tmp_path, timedelta(minutes=10), now + timedelta(minutes=9)) is None
        assert checkpoint_every(store, key, tmp_path, timedelta(minutes=10), now + timedelta(minutes=11)) is not None
    assert len(list(tmp_path.glob("checkpoint-*.json"))) == 2
