"""A store on a read-only file, directory or mount: every read works, every write is refused with
``StoreReadOnly`` (CF959), and nothing is written. Root ignores file modes, so as root the store is
bind-mounted read-only in a private mount namespace (``unshare -m``); otherwise the modes are cleared.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from careflow.cli.main import main
from tests.support import ROOT

_PROBE: bool | None = None


def _can_mount() -> bool:
    global _PROBE
    if _PROBE is None:
        _PROBE = os.geteuid() != 0 or (shutil.which("unshare") is not None and subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount --bind -o ro / / 2>/dev/null || mount -o remount,bind,ro / /"],
            capture_output=True).returncode == 0)
    return _PROBE


def _run(target: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``argv`` with ``target`` (a file or a directory) read-only."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    if os.geteuid() == 0:
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        argv = ["unshare", "-m", "sh", "-c", script, str(target), *argv]
    else:
        for path in [target, *(target.iterdir() if target.is_dir() else [])]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


@pytest.fixture
def stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A directory holding cases.db with psht case k1 (a deadline pending) and no WAL left over."""
    if not _can_mount():
        pytest.skip("cannot make a read-only mount here")
    folder = tmp_path / "ro"
    folder.mkdir()
    url = f"sqlite:///{folder}/cases.db"
    assert main(["case", "open", "psht", "--store", url, "--as", "ann:nurse", "--id", "k1"]) == 0
    assert main(["case", "fire", "k1", "record_consent", "--store", url, "--as", "ann:nurse", "--data",
                 "consent_to_referral=true"]) == 0
    assert main(["case", "fire", "k1", "submit_referral", "--store", url, "--as", "rita:referrer", "--data",
                 "referrer_kind=gp", "--data", "referral_channel=dips"]) == 0  # triage: a deadline is pending
    capsys.readouterr()
    return folder


LIBRARY = """
import json, sys
from careflow.cases.store import open_store
from careflow.errors import CareflowError
from careflow.cases.case import Case
from careflow.definitions.loader import load
from careflow.runtime.compiled import Actor
ANN = Actor("ann", {"nurse"})
store = open_store(sys.argv[1], create=False)
try:
    result = eval(sys.argv[2])  # the operation under test, from the parametrized list below (test code)
    print(json.dumps({"ok": repr(result)[:200]}))
except CareflowError as exc:
    print(json.dumps({"code": exc.code, "message": str(exc)}))
"""

OPERATIONS = [
    ("get", "store.get('k1').version", None),
    ("load", "store.load('k1').state", None),
    ("history", "len(store.history('k1'))", None),
    ("snapshot", "store.snapshot('k1')['case_id']", None),
    ("export", "len(store.export('k1'))", None),
    ("query", "[i.case_id for i in store.query()]", None),
    ("overdue", "[i.case_id for i in store.overdue()]", None),
    ("verify", "[c.ok for c in store.verify_cases()]", None),
    ("fire", "store.fire('k1', 'record_consent', ANN, {'consent_to_referral': True})", "CF959"),
    ("tick", "store.tick('k1')", "CF959"),
    ("create", "store.create(Case.open(load('psht'), 'k2', actor=ANN))", "CF959"),
    ("transaction", "store.transaction().__enter__()", "CF959"),
]


@pytest.mark.parametrize(("expression", "code"), [o[1:] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
def test_library_on_a_read_only_directory(stored: Path, expression: str, code: str | None) -> None:
    before = {p.name: p.read_bytes() for p in stored.iterdir()}
    done = _run(stored, [sys.executable, "-c", LIBRARY, f"sqlite:///{stored}/cases.db", expression])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    result = json.loads(done.stdout)
    assert result.get("code") == code, result
    if code:
        assert "read-only" in result["message"] and "hint:" in result["message"]
    assert {p.name: p.read_bytes() for p in stored.iterdir()} == before


CLI = [
    (["case", "show", "k1", "--purpose", "audit"], 0, "state"),
    (["case", "list", "--purpose", "audit"], 0, "1 case(s)"),
    (["case", "history", "k1", "--purpose", "audit"], 0, "opened"),
    (["case", "export", "k1", "--purpose", "audit"], 0, '"history"'),
    (["audit", "verify"], 0, "1 case(s) verified, 0 broken"),
    (["due", "--at", "2099-01-01"], 0, "1 case(s) due"),
    (["due", "--at", "2099-01-01", "--fire"], 1, "read-only"),
    (["case", "fire", "k1", "record_consent", "--as", "ann:nurse"], 1, "read-only"),
    (["case", "open", "psht", "--as", "ann:nurse", "--id", "k2"], 1, "read-only"),
]


@pytest.mark.parametrize(("argv", "status", "fragment"), CLI, ids=[" ".join(c[0][:2]) + str(i) for i, c in
                                                                    enumerate(CLI)])
def test_cli_on_a_read_only_directory(stored: Path, argv: list[str], status: int, fragment: str) -> None:
    done = _run(stored, [sys.executable, "-m", "careflow.cli.main", *argv, "--store", f"sqlite:///{stored}/cases.db"])
    assert done.returncode == status and "Traceback" not in done.stderr, (done.stdout, done.stderr)
    assert fragment in done.stdout + done.stderr


def test_reads_on_a_read_only_store_work_but_cannot_be_recorded(stored: Path) -> None:
    expression = "(store.reader(ANN, 'audit').load('k1').state, store.logs_reads, store.access_log('k1'))"
    done = _run(stored, [sys.executable, "-c", LIBRARY, f"sqlite:///{stored}/cases.db", expression])
    assert json.loads(done.stdout) == {"ok": "('triage', False, [])"}, (done.stdout, done.stderr)


def test_reads_work_with_a_write_ahead_log_left_over(stored: Path, tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    live = sqlite3.connect(stored / "cases.db", isolation_level=None)  # a writer that never checkpointed
    live.execute("PRAGMA wal_autocheckpoint = 0")
    live.execute("UPDATE careflow_cases SET due_at = due_at")  # the change sits in the WAL only
    for name in ("cases.db", "cases.db-wal", "cases.db-shm"):
        shutil.copy(stored / name, crashed / name)
    live.close()
    done = _run(crashed, [sys.executable, "-c", LIBRARY, f"sqlite:///{crashed}/cases.db", "store.load('k1').state"])
    assert done.returncode == 0 and json.loads(done.stdout).get("ok"), (done.stdout, done.stderr)


def test_a_read_only_file_in_a_writable_directory(stored: Path) -> None:
    done = _run(stored / "cases.db", [sys.executable, "-c", LIBRARY, f"sqlite:///{stored}/cases.db",
                                      "[c.ok for c in store.verify_cases()]"])
    assert json.loads(done.stdout) == {"ok": "[True]"}, done.stderr
    done = _run(stored / "cases.db", [sys.executable, "-c", LIBRARY, f"sqlite:///{stored}/cases.db",
                                      "store.tick('k1')"])
    assert json.loads(done.stdout)["code"] == "CF959", done.stderr


def test_no_store_is_created_on_a_read_only_directory(stored: Path) -> None:
    done = _run(stored, [sys.executable, "-m", "careflow.cli.main", "case", "open", "psht", "--as", "ann:nurse",
                         "--store", f"sqlite:///{stored}/new.db"])
    assert done.returncode == 1 and "read-only" in done.stderr and not (stored / "new.db").exists()
