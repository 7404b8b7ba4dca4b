"""``careflow case redact`` over a SQLite store (bundled psht, language nb)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careflow.cli.main import main
from tests.cli.test_cli_cases import READ, cf


@pytest.fixture
def db(tmp_path: Path) -> str:
    store = f"sqlite:///{tmp_path}/cases.db"
    assert main(["case", "open", "psht", "--store", store, "--as", "ann:nurse", "--id", "p1"]) == 0
    assert main(["case", "fire", "p1", "record_consent", "--store", store, "--as", "ann:nurse",
                 "--data", "consent_to_referral=true"]) == 0
    assert main(["case", "fire", "p1", "submit_referral", "--store", store, "--as", "rita:referrer", "--data",
                 "referrer_kind=gp", "--data", "referral_channel=dips", "--data",
                 "referral_reason=Per Hansen, 12 år, bekymring frå skulen"]) == 0
    return store


def test_redact_through_the_cli(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, out, _ = cf(capsys, "case", "redact", "p1", "--field", "referral_reason", "--reason", "innsynskrav",
                      "--store", db, "--as", "rita:records_officer")
    assert code == 0 and "redacted 2 value(s) of case p1" in out and "referral_reason@2" in out
    assert "[fjernet]" in out and "case data [fjernet]: referral_reason" in out
    code, out, _ = cf(capsys, "case", "history", "p1", "--store", db, *READ)
    assert code == 0 and "referral_reason [fjernet]" in out and "redacted" in out
    code, out, _ = cf(capsys, "case", "export", "p1", "--store", db, *READ)
    assert code == 0 and "Per Hansen" not in out and json.loads(out)["data"]["referral_reason"] is None
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    assert code == 0 and "0 broken" in out


def test_redact_without_the_role_is_refused_and_logged(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, _, err = cf(capsys, "case", "redact", "p1", "--field", "referral_reason", "--reason", "x",
                      "--store", db, "--as", "ann:nurse")
    assert code == 1 and "records_officer" in err
    code, out, _ = cf(capsys, "case", "history", "p1", "--store", db, "--format", "jsonl", *READ)
    last = json.loads(out.splitlines()[-1])
    assert (last["kind"], last["event"], last["code"], last["actor"]) == ("denied", "redact", "role-denied", "ann")
    code, out, _ = cf(capsys, "case", "export", "p1", "--store", db, *READ)
    assert "Per Hansen" in out


def test_redact_arguments_are_checked(capsys: pytest.CaptureFixture[str], db: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["case", "redact", "p1", "--field", "x", "--entries", "a,b", "--reason", "r", "--store", db,
              "--as", "rita:records_officer"])
    assert caught.value.code == 2
    code, _, err = cf(capsys, "case", "redact", "p1", "--field", "nope", "--reason", "r", "--store", db,
                      "--as", "rita:records_officer")
    assert code == 1 and "CF975" in err


def test_a_removed_value_is_named_in_the_process_language() -> None:
    from careflow.render.common import word

    assert [word("removed", lang) for lang in ("nn", "nb", "en", "sv")] == [
        "[fjerna]", "[fjernet]", "[removed]", "[borttaget]"]


def test_a_checkpoint_taken_before_a_redaction_still_verifies(capsys: pytest.CaptureFixture[str], db: str,
                                                              tmp_path: Path) -> None:
    """docs/records.md, 'How an auditor checks a redacted case', with the commands it names."""
    key, pub, point = tmp_path / "key", tmp_path / "key.pub", tmp_path / "before.json"
    assert main(["audit", "keygen", "--private", str(key), "--public", str(pub)]) == 0
    assert main(["audit", "checkpoint", "--store", db, "--key", str(key), "-o", str(point)]) == 0
    assert main(["case", "redact", "p1", "--field", "referral_reason", "--reason", "r", "--store", db,
                 "--as", "rita:records_officer"]) == 0
    capsys.readouterr()
    code, _, _ = cf(capsys, "audit", "verify", "--store", db, "--checkpoint", str(point), "--public-key", str(pub))
    assert code == 0


def test_correct_through_the_cli(capsys: pytest.CaptureFixture[str], db: str) -> None:
    capsys.readouterr()
    code, out, _ = cf(capsys, "case", "correct", "p1", "--field", "referral_reason", "--value", "skulen meldte",
                      "--reason", "feil i tilvisinga", "--store", db, "--as", "rita:records_officer")
    assert code == 0 and "corrected referral_reason of case p1" in out and "referral_reason@2" in out
    code, out, _ = cf(capsys, "case", "export", "p1", "--store", db, *READ)
    body = json.loads(out)
    assert "Per Hansen" not in out and body["data"]["referral_reason"] == "skulen meldte"
    assert body["history"][-1]["kind"] == "corrected"
    code, _, err = cf(capsys, "case", "correct", "p1", "--field", "referral_reason", "--value", "[1]",
                      "--reason", "r", "--store", db, "--as", "rita:records_officer")
    assert code == 1 and "referral_reason" in err
    code, out, _ = cf(capsys, "audit", "verify", "--store", db)
    assert code == 0 and "0 broken" in out
