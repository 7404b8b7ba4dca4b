"""Hostile command lines (issue 11, the command line): each with its exit code and a fragment of its message.

None gives a traceback or an internal error; every line printed is printable (ids are escaped, so nothing
fakes a line or steers the terminal); and afterwards the store still verifies (``audit verify``). Run
in-process through ``careflow.cli.main.main``; arguments that are not UTF-8 arrive as lone surrogates, as
Python decodes them (one subprocess test passes real bytes).

Exit codes: 2 a usage error (found while reading the arguments: nothing is opened, fired or logged), 1 the
input has problems, 0 done (a bad ``CAREFLOW_PATH`` entry is a warning).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from careflow.cases.store import base as store_base
from careflow.cases.store import units as store_units
from careflow.cases.store.seal import Sealer
from careflow.cases.store.sql import ROW_COLUMNS, row_from
from careflow.cases.store.sqlite import DIALECT as SQLITE
from careflow.cli.main import main
from careflow.definitions.loader import refresh
from careflow.runtime import changes as runtime_changes

EVIL_IDS = ("evil\nfake 0 case(s)", "\x1b[2J\x1b[Hclear", "cr\rover", "rtl\u202etxt", "back\\slash",
            "sep\u2028x", "bell\x07", "csi\x9b31m")
LONG = "a" * 300


class Hostile(NamedTuple):
    name: str
    argv: tuple[str, ...]
    code: int
    fragment: str
    setup: str = ""  # a key of SETUPS
    env: tuple[tuple[str, str], ...] = ()
    absent: str = ""  # must appear nowhere in the output
    untouched: bool = False  # the case p1 still has its one entry


def _case_file(process_id: object) -> Callable[[Path, str], None]:
    def write(tmp: Path, db: str) -> None:
        (tmp / "case.json").write_text(json.dumps({"process_id": process_id, "case_id": "imported"}))
    return write


def _text_file(text: str) -> Callable[[Path, str], None]:
    def write(tmp: Path, db: str) -> None:
        (tmp / "case.json").write_text(text)
    return write


def _evil_cases(tmp: Path, db: str) -> None:
    # New ids with control characters are refused (CF955); a store written before that limit may hold them,
    # and the command line must still print them escaped. So the store is made as such an old one was.
    targets = [(store_base, "check_case_id"), (store_base, "check_stored_id"), (store_units, "check_stored_id"),
               (runtime_changes, "open_problem")]
    real = [getattr(module, name) for module, name in targets]
    for module, name in targets[:3]:
        setattr(module, name, lambda case_id: case_id)
    setattr(runtime_changes, "open_problem", lambda compiled, case_id, actor, data, reason: (None, data))  # noqa: B010
    try:
        for case_id in EVIL_IDS:  # in triage, which has a deadline
            assert main(["case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", case_id]) == 0
            assert main(["case", "fire", case_id, "record_consent", "--store", db, "--as", "ann:nurse", "--data",
                         "consent_to_referral=true"]) == 0
            assert main(["case", "fire", case_id, "submit_referral", "--store", db, "--as", "rita:referrer",
                         "--data", "referrer_kind=gp", "--data", "referral_channel=dips"]) == 0
    finally:
        for (module, name), function in zip(targets, real, strict=True):
            setattr(module, name, function)


def _tampered_row(tmp: Path, db: str, reseal: bool = False) -> None:
    conn = sqlite3.connect(tmp / "cases.db")
    conn.execute("UPDATE careflow_cases SET process_id = '/etc/passwd' WHERE case_id = 'p1'")
    if reseal:  # the unkeyed seal recomputed, as an attacker who knows its format would: the id is still no path
        found = conn.execute(f"SELECT {ROW_COLUMNS} FROM careflow_cases WHERE case_id = 'p1'").fetchone()
        seal = Sealer().seal(row_from(found, SQLITE))
        conn.execute("UPDATE careflow_cases SET seal = ? WHERE case_id = 'p1'", (seal,))
    conn.commit()
    conn.close()


SETUPS: dict[str, Callable[[Path, str], None]] = {
    "evil": _evil_cases,
    "tampered": _tampered_row,
    "tampered-resealed": lambda tmp, db: _tampered_row(tmp, db, reseal=True),
    "shadow": _case_file("/etc/shadow"),
    "passwd": _case_file("/etc/passwd"),
    "dotdot": _case_file("../../../../etc/passwd"),
    "suffix": _case_file("psht.yaml"),
    "relative": _case_file("./psht"),
    "home": _case_file("~/psht"),
    "int": _case_file(42),
    "null": _case_file(None),
    "list": _case_file(["psht"]),
    "object": _case_file({"id": "psht"}),
    "upper": _case_file("PSHT"),
    "newline": _case_file("psht\n"),
    "ansi": _case_file("\x1b[2Jpsht"),
    "empty": _case_file(""),
    "long": _case_file("p" * 65),
    "unknown": _case_file("nope"),
    "no_id": _text_file('{"case_id": "x"}'),
    "array": _text_file("[1, 2]"),
    "not_json": _text_file("{not json"),
    "devnull": _text_file(""),
}

FIRE = ("case", "fire", "p1", "triage_overdue", "--store", "{db}")
SYSTEM_ID = "deadline runner's id"
SYSTEM_ROLE = "the role 'system' is the deadline runner's"
NOT_ID = "error CF981: "
STORE = ("--store", "{db}")
READ = ("--purpose", "hostile-input test")  # the reading commands require a purpose

CASES: list[Hostile] = [
    # -- nobody acts as the system but the deadline runner ------------------------------------------------
    Hostile("fire as system:system", (*FIRE, "--as", "system:system"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire as system:system,nurse", (*FIRE, "--as", "system:system,nurse"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire as system", (*FIRE, "--as", "system"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire as SYSTEM", (*FIRE, "--as", "SYSTEM:system"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire as ' system '", (*FIRE, "--as", " system :system"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire as sYsTeM:nurse", (*FIRE, "--as", "sYsTeM:nurse"), 2, SYSTEM_ID, untouched=True),
    Hostile("fire with the system role", (*FIRE, "--as", "bob:system"), 2, SYSTEM_ROLE, untouched=True),
    Hostile("fire with the system role among others", (*FIRE, "--as", "bob:nurse,system"), 2, SYSTEM_ROLE,
            untouched=True),
    Hostile("fire with the SYSTEM role", (*FIRE, "--as", "bob:SYSTEM"), 2, SYSTEM_ROLE, untouched=True),
    Hostile("open as the system", ("case", "open", "psht", *STORE, "--as", "system:system", "--id", "s1"), 2,
            SYSTEM_ID),
    Hostile("show as the system", ("case", "show", "p1", *STORE, *READ, "--as", "system:system"), 2, SYSTEM_ID),
    Hostile("show with no purpose", ("case", "show", "p1", *STORE), 2, "required: --purpose"),
    Hostile("show with a blank purpose", ("case", "show", "p1", *STORE, "--purpose", " \t "), 2,
            "the purpose must not be empty"),
    Hostile("a purpose with a forged line", ("case", "history", "p1", *STORE, "--purpose", "care\nerror CF000: x"), 2,
            "a line break"),
    Hostile("a purpose with an escape", ("case", "export", "p1", *STORE, "--purpose", "\x1b[2Jcare"), 2,
            "control character", absent="\x1b"),
    Hostile("a huge purpose", ("case", "list", *STORE, "--purpose", "p" * 100_000), 2, "longer than 500 characters"),
    Hostile("access log of an escaped id", ("audit", "access", "evil\nfake 0 read(s)", *STORE), 1, "CF955", "evil"),
    Hostile("access log of a NUL id", ("audit", "access", "a\x00b", *STORE), 1, "CF955"),
    # -- who acts: the form of --as -------------------------------------------------------------------------
    Hostile("empty actor", (*FIRE, "--as", ""), 2, "give ACTOR", untouched=True),
    Hostile("roles without an actor", (*FIRE, "--as", ":nurse"), 2, "give ACTOR", untouched=True),
    Hostile("a blank actor", (*FIRE, "--as", "   :nurse"), 2, "give ACTOR", untouched=True),
    Hostile("an upper-case role", (*FIRE, "--as", "bob:Nurse"), 2, "'Nurse' is not a role name", untouched=True),
    Hostile("a role with a shell", (*FIRE, "--as", "bob:nurse;rm -rf /"), 2, "is not a role name",
            untouched=True),
    Hostile("a role with an escape", (*FIRE, "--as", "bob:\x1b[31mred"), 2, "'\\u001b[31mred' is not a role",
            untouched=True),
    Hostile("a role with a newline", (*FIRE, "--as", "bob:nurse\nerror: forged"), 2,
            "'nurse\\nerror: forged' is not a role name", untouched=True),
    Hostile("a very long role", (*FIRE, "--as", "bob:" + "r" * 100), 2, "is not a role name", untouched=True),
    Hostile("--as missing", FIRE, 2, "the following arguments are required: --as", untouched=True),
    # -- a process id from data is an id, never a path ------------------------------------------------------
    Hostile("import process /etc/shadow", ("case", "import", "{tmp}/case.json", *STORE), 1,
            NOT_ID + "'/etc/shadow' is not a process id", "shadow", absent="root:"),
    Hostile("import process /etc/passwd", ("case", "import", "{tmp}/case.json", *STORE), 1,
            NOT_ID + "'/etc/passwd'", "passwd", absent="root:"),
    Hostile("import process ../../etc/passwd", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "dotdot",
            absent="root:"),
    Hostile("import process psht.yaml", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "suffix"),
    Hostile("import process ./psht", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "relative"),
    Hostile("import process ~/psht", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "home"),
    Hostile("import process 42", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID + "'42'", "int"),
    Hostile("import process null", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID + "'None'", "null"),
    Hostile("import process a list", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "list"),
    Hostile("import process an object", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "object"),
    Hostile("import process PSHT", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID + "'PSHT'", "upper"),
    Hostile("import process with a newline", ("case", "import", "{tmp}/case.json", *STORE), 1,
            NOT_ID + "'psht\\n'", "newline"),
    Hostile("import process with an escape", ("case", "import", "{tmp}/case.json", *STORE), 1,
            NOT_ID + "'\\x1b[2Jpsht'", "ansi"),
    Hostile("import process empty", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID + "''", "empty"),
    Hostile("import process too long", ("case", "import", "{tmp}/case.json", *STORE), 1, NOT_ID, "long"),
    Hostile("import process unknown", ("case", "import", "{tmp}/case.json", *STORE), 1,
            "error CF010: no process named 'nope'", "unknown"),
    Hostile("import without a process id", ("case", "import", "{tmp}/case.json", *STORE), 1,
            "cannot read a case from", "no_id"),
    Hostile("import a JSON array", ("case", "import", "{tmp}/case.json", *STORE), 1, "cannot read a case from",
            "array"),
    Hostile("import text that is not JSON", ("case", "import", "{tmp}/case.json", *STORE), 1, "not JSON", "not_json"),
    Hostile("import an empty file", ("case", "import", "{tmp}/case.json", *STORE), 1, "not JSON",
            "devnull"),
    Hostile("import a file that is not there", ("case", "import", "{tmp}/missing.json", *STORE), 1,
            "cannot read a case from"),
    Hostile("import a directory", ("case", "import", "{tmp}", *STORE), 1, "cannot read a case from"),
    Hostile("a stored row naming /etc/passwd", ("case", "show", "p1", *STORE, *READ), 1,
            'CF961: case \'p1\' was changed outside careflow: process_id: stored "/etc/passwd"', "tampered",
            absent="root:"),
    Hostile("a stored row naming /etc/passwd, its seal recomputed", ("case", "show", "p1", *STORE, *READ), 1,
            "'/etc/passwd' is not a process id", "tampered-resealed", absent="root:"),
    # -- ids are printed escaped ----------------------------------------------------------------------------
    Hostile("open an id with a newline", ("case", "open", "psht", *STORE, "--as", "ann:nurse", "--id",
                                          "x\nopened forged"), 1, "case id"),
    Hostile("open an id that clears the screen", ("case", "open", "psht", *STORE, "--as", "ann:nurse", "--id",
                                                  "\x1b[2J"), 1, "case id"),
    Hostile("list escaped ids", ("case", "list", *STORE, *READ), 0, "evil\\nfake 0 case(s)", "evil"),
    Hostile("list the carriage return", ("case", "list", *STORE, *READ), 0, "cr\\rover", "evil"),
    Hostile("list the bidi override", ("case", "list", *STORE, *READ), 0, "rtl\\u202etxt", "evil"),
    Hostile("list the backslash", ("case", "list", *STORE, *READ), 0, "back\\\\slash", "evil"),
    Hostile("list the C1 escape", ("case", "list", *STORE, *READ), 0, "csi\\u009b31m", "evil"),
    # an old store's id outside today's limit is listed and verified, but refused by id (CF955), escaped
    Hostile("history of an escaped id", ("case", "history", "evil\nfake 0 case(s)", *STORE, *READ), 1, "CF955",
            "evil"),
    Hostile("history as JSON lines", ("case", "history", "\x1b[2J\x1b[Hclear", *STORE, *READ, "--format", "jsonl"),
            1,
            "CF955", "evil"),
    Hostile("show an escaped id", ("case", "show", "sep\u2028x", *STORE, *READ), 1, "CF955", "evil"),
    Hostile("export an escaped id", ("case", "export", "bell\x07", *STORE, *READ), 1, "CF955", "evil"),
    Hostile("due lists escaped ids", ("due", *STORE, "--at", "2099-01-01"), 0, "evil\\nfake 0 case(s)", "evil"),
    Hostile("due --fire names them escaped", ("due", *STORE, "--at", "2099-01-01", "--fire"), 1, "CF955", "evil"),
    Hostile("audit verify names them escaped", ("audit", "verify", *STORE, "-v"), 1, "rtl\\u202etxt      ", "evil"),
    Hostile("a limit past every database's integers", ("case", "list", *STORE, *READ, "--limit", "9" * 20), 2,
            "the limit must be from 0 to"),
    Hostile("a negative access log limit", ("audit", "access", "p1", *STORE, "--limit", "-1"), 2,
            "the limit must be from 0 to"),
    Hostile("a redaction reason past the limit", ("case", "redact", "p1", "--field", "x", "--reason", "r" * 5000,
                                                  *STORE, "--as", "rita:records_officer"), 1, "CF510",
            untouched=True),
    Hostile("an unknown id with a forged line", ("case", "show", "no\nerror CF000: forged", *STORE, *READ), 1,
            "CF955"),
    Hostile("an event with an escape", ("case", "fire", "p1", "\x1b[31mred", *STORE, "--as", "ann:nurse"), 1,
            "refused (invalid-event)"),
    Hostile("an event with a newline", ("case", "fire", "p1", "a\nb", *STORE, "--as", "ann:nurse"), 1,
            "refused (invalid-event)"),
    Hostile("a reason with a forged line", ("case", "fire", "p1", "record_consent", *STORE, "--as", "ann:nurse",
                                            "--data", "consent_to_referral=true", "--reason", "ok\n   9  forged"),
            0, "p1: record_consent -> referral (version 2)"),
    # -- arguments that are not UTF-8 text --------------------------------------------------------------------
    Hostile("an event that is not UTF-8", ("case", "fire", "p1", "\udcff", *STORE, "--as", "ann"), 2,
            "the argument '\\udcff' is not UTF-8 text", untouched=True),
    Hostile("a case id that is not UTF-8", ("case", "open", "psht", *STORE, "--as", "ann", "--id", "a\udce9"), 2,
            "is not UTF-8 text"),
    Hostile("an actor that is not UTF-8", (*FIRE, "--as", "\udcc3:nurse"), 2, "is not UTF-8 text",
            untouched=True),
    Hostile("a store that is not UTF-8", ("case", "list", *READ, "--store", "sqlite:///\udcff.db"), 2,
            "is not UTF-8 text"),
    Hostile("a file that is not UTF-8", ("validate", "\udcff.yaml"), 2, "is not UTF-8 text"),
    # -- CAREFLOW_PATH ----------------------------------------------------------------------------------------
    Hostile("a path entry over 255 bytes", ("list",), 0, "longer than 255 bytes",
            env=(("CAREFLOW_PATH", LONG),)),
    Hostile("a path entry that is a file", ("show", "psht"), 0, "warning CF980: CAREFLOW_PATH entry '/etc/passwd' "
            "skipped: it is not a directory", env=(("CAREFLOW_PATH", "/etc/passwd"),)),
    Hostile("a path entry below a file", ("validate", "psht"), 0, "it cannot be read (Not a directory)",
            env=(("CAREFLOW_PATH", "/etc/passwd/x"),)),
    Hostile("a path entry that does not exist", ("case", "open", "psht", *STORE, "--as", "ann:nurse"), 0,
            "skipped: it does not exist", env=(("CAREFLOW_PATH", "{tmp}/missing"),)),
    Hostile("a path entry with a newline", ("list",), 0, "entry 'a\\nwarning CF980 forged' skipped",
            env=(("CAREFLOW_PATH", "a\nwarning CF980 forged"),)),
    Hostile("a path entry with an escape", ("list",), 0, "\\x1b[2J' skipped",
            env=(("CAREFLOW_PATH", "{tmp}/\x1b[2J"),)),
    Hostile("a path longer than the system allows", ("list",), 0, "File name too long",
            env=(("CAREFLOW_PATH", "/" + "d/" * 3000),)),
    Hostile("a path of many bad entries", ("list",), 0, "'/dev/null' skipped: it is not a directory",
            env=(("CAREFLOW_PATH", os.pathsep.join([LONG, "/dev/null", "", "{tmp}/nope"])),)),
    # -- other arguments --------------------------------------------------------------------------------------
    Hostile("data without =", (*FIRE[:4], *STORE, "--as", "ann:nurse", "--data", "novalue"), 1,
            "--data 'novalue': write KEY=VALUE", untouched=True),
    Hostile("data without a key", (*FIRE[:4], *STORE, "--as", "ann:nurse", "--data", "=1"), 1,
            "write KEY=VALUE", untouched=True),
    Hostile("data with an escape and no =", (*FIRE[:4], *STORE, "--as", "ann:nurse", "--data", "\x1b[2J"), 1,
            "--data '\\u001b[2J': write KEY=VALUE", untouched=True),
    Hostile("a date that is not one", ("due", *STORE, "--at", "yesterday"), 2, "'yesterday' is not an ISO date"),
    Hostile("a date with an escape", ("due", *STORE, "--at", "2024\x1b[2J"), 2, "'2024\\u001b[2J' is not an ISO"),
    Hostile("retries that are not a number", (*FIRE, "--as", "ann:nurse", "--retries", "many"), 2,
            "invalid int value", untouched=True),
    Hostile("an unknown command", ("frobnicate\x1b[31m",), 2, "invalid choice"),
    Hostile("an unknown option with an escape", ("case", "list", *STORE, *READ, "--x\x1b[2J"), 2,
            "unrecognized arguments: --x\\u001b[2J"),
    Hostile("a history format that does not exist", ("case", "history", "p1", *STORE, *READ, "--format", "xml"), 2,
            "invalid choice: 'xml'"),
    Hostile("an unknown store", ("case", "list", *READ, "--store", "mysql://localhost/x"), 1, "unknown store URL"),
    Hostile("a store that is not there", ("case", "list", *READ, "--store", "sqlite:///{tmp}/nowhere/x.db"), 1,
            "no careflow database"),
    Hostile("a process that is a directory", ("show", "/etc"), 1, "this is a directory, not a file"),
    Hostile("a process that never ends", ("validate", "/dev/zero"), 1, "this is not a regular file"),
    Hostile("a process id with an escape", ("show", "\x1b[31mpsht"), 1, "no process named '\\u001b[31mpsht'"),
    Hostile("replay of a path with an escape", ("replay", "psht", "{tmp}/\x1b[2J"), 2,
            "no such file or directory: {tmp}/\\u001b[2J"),
    Hostile("paths of length 0", ("paths", "psht", "--max-length", "0"), 2, "--max-length must be at least 1"),
    Hostile("render into a missing directory", ("render", "psht", "-f", "dot", "-o", "{tmp}/no/\x1b[2J.dot"), 1,
            "cannot write {tmp}/no/\\u001b[2J.dot"),
]


@pytest.fixture(autouse=True)
def _fresh_search_path() -> None:
    refresh()


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's exit, or a message for Python to print and exit 1 with
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            return 1
        return int(exc.code or 0)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Store files made once and copied for each test: the case p1 just opened, and the same with the cases
    of ``EVIL_IDS`` in triage."""
    made = {}
    for name in ("plain", "evil"):
        folder = tmp_path_factory.mktemp(name)
        db = f"sqlite:///{folder}/cases.db"
        assert main(["case", "open", "psht", "--store", db, "--as", "ann:nurse", "--id", "p1"]) == 0
        if name == "evil":
            _evil_cases(folder, db)
        made[name] = folder / "cases.db"
    return made


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_command_line(case: Hostile, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch, stores: dict[str, Path]) -> None:
    db = f"sqlite:///{tmp_path}/cases.db"
    shutil.copyfile(stores["evil" if case.setup == "evil" else "plain"], tmp_path / "cases.db")
    if case.setup and case.setup != "evil":
        SETUPS[case.setup](tmp_path, db)
    capsys.readouterr()
    for key, value in case.env:
        monkeypatch.setenv(key, value.replace("{tmp}", str(tmp_path)))
    code = _run([word.replace("{db}", db).replace("{tmp}", str(tmp_path)) for word in case.argv])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Traceback" not in printed and "internal error" not in printed
    assert code == case.code, printed
    assert case.fragment.replace("{tmp}", str(tmp_path)) in printed, printed
    assert all(line.isprintable() for line in printed.split("\n")), printed
    if case.absent:
        assert case.absent not in printed
    monkeypatch.delenv("CAREFLOW_PATH", raising=False)
    if case.untouched:
        assert main(["case", "history", "p1", "--store", db, "--format", "jsonl", *READ]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 1
    # a tampered store, and an old store whose ids today's rules refuse (they no longer replay), fail verify
    if case.setup not in ("tampered", "tampered-resealed", "evil"):
        assert main(["audit", "verify", "--store", db]) == 0, capsys.readouterr()
    if case.argv[:2] == ("case", "import"):  # a refused import stores nothing
        assert main(["case", "list", "--store", db, *READ]) == 0 and "imported" not in capsys.readouterr().out


def test_as_many_hostile_command_lines_as_the_issue_asks() -> None:
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)


def test_real_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    """A shell passes bytes: one that is not UTF-8 is a usage error, not a traceback."""
    db = f"sqlite:///{tmp_path}/cases.db".encode()
    result = subprocess.run([sys.executable, "-m", "careflow.cli.main", "case", "open", "psht", "--store", db,
                             "--as", b"ann:nurse", "--id", b"\xff\xfe"], capture_output=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert b"the argument '\\udcff\\udcfe' is not UTF-8 text" in result.stderr
