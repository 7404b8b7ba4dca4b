"""The command line and row seals: the key file from ``$CAREFLOW_SEAL_KEY_FILE``, CF961 for an edited row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from careflow.cases.store.seal import KEY_FILE_VARIABLE
from tests.cli.test_cli_cases import cf
from tests.support import PROCESSES

TRIAGE = str(PROCESSES / "triage_seal.yaml")


def test_an_edited_case_is_refused_with_cf961(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "seal.key"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.setenv(KEY_FILE_VARIABLE, str(key))
    db = f"sqlite:///{tmp_path}/cases.db"
    common = ("--store", db, "--process", TRIAGE, "--as", "nina:nurse")
    assert cf(capsys, "case", "open", TRIAGE, *common, "--id", "t1")[0] == 0
    assert cf(capsys, "case", "fire", "t1", "assess", *common, "--data", "score=3")[0] == 0
    with sqlite3.connect(tmp_path / "cases.db") as conn:
        conn.execute("""UPDATE careflow_cases SET snapshot = replace(snapshot, '"score":3', '"score":9')""")
    code, _, err = cf(capsys, "case", "fire", "t1", "urgent", *common)
    assert code == 1 and "CF961" in err and "data.score: stored 9, the log gives 3" in err
    monkeypatch.delenv(KEY_FILE_VARIABLE)
    code, _, err = cf(capsys, "case", "list", "--store", db, "--purpose", "cli test")
    assert code == 1 and "sealed with a key, and none was given" in err and KEY_FILE_VARIABLE in err
