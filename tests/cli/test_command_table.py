"""The ``careflow`` command as a table: lazy subcommands, one error formatter, replay's summary, render's inputs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from careflow.cli.commands import COMMANDS, command
from careflow.cli.console import HISTORY_NAMES, format_error
from careflow.cli.main import main
from careflow.cli.replay import summary
from careflow.errors import CareflowError, Diagnostic, HistoryFileError, ProcessNotFound, SourceLocation
from careflow.history import HISTORY_SUFFIXES
from tests.support import HISTORIES

PSHT_HISTORIES = HISTORIES / "psht"
DECLINED = PSHT_HISTORIES / "declined-by-triage.yaml"


# -- the table ------------------------------------------------------------------------------------------


def test_every_command_in_the_table_has_its_functions() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    assert names == ["validate", "list", "show", "schema", "render", "replay", "paths", "coverage", "case", "due",
                     "retention", "audit", "lsp", "explain"]
    for cmd in COMMANDS:
        module = importlib.import_module(cmd.module)
        assert callable(getattr(module, cmd.add)) and callable(getattr(module, cmd.run)), cmd.name
        assert command(cmd.name) is cmd
    assert command("nope") is None


def _modules_after(code: str) -> list[str]:
    """The command-line modules (and heavy libraries) loaded after running ``code`` in a fresh interpreter."""
    script = (f"import json, sys\nfrom careflow.cli.main import main\n{code}\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('careflow.cli.') or m in "
              "('networkx', 'jsonschema', 'graphviz', 'careflow.history'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_help_imports_no_subcommand_module() -> None:
    loaded = _modules_after("try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert loaded == ["careflow.cli.commands", "careflow.cli.console", "careflow.cli.main"]


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after("try:\n    main(['render', '--help'])\nexcept SystemExit:\n    pass")
    assert loaded == ["careflow.cli.commands", "careflow.cli.console", "careflow.cli.main", "careflow.cli.render"]


def test_the_history_names_in_help_are_the_readers_suffixes() -> None:
    assert ", ".join(f"*{s}" for s in HISTORY_SUFFIXES) == HISTORY_NAMES


# -- one error formatter -----------------------------------------------------------------------------------


def test_one_formatter_for_located_and_plain_errors() -> None:
    located = HistoryFileError([Diagnostic("CF001", "not JSON: Expecting value", SourceLocation("h.jsonl", 2, 1)),
                                Diagnostic("CF102", "'actor' is required", SourceLocation("h.jsonl", 3))], "h.jsonl")
    assert format_error(located).splitlines() == ["h.jsonl:2:1: error CF001 yaml-syntax: not JSON: Expecting value",
                                                  "h.jsonl:3: error CF102 missing-property: 'actor' is required"]
    assert format_error(ProcessNotFound("nope")) == "error CF010: no process named 'nope'"
    assert format_error(CareflowError("plain")) == "error CF000: plain"
    assert format_error(ValueError("x")) == "error: x"


@pytest.mark.parametrize(("argv", "code"), [
    (["show", "no_such_process"], 1),
    (["render", "no_such_process"], 1),
    (["paths", "no_such_process"], 1),
    (["coverage", "no_such_process", str(DECLINED)], 1),
    (["replay", "no_such_process", str(DECLINED)], 2),
])
def test_every_command_words_an_error_the_same_way(argv: list[str], code: int,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error CF010: no process named 'no_such_process'") and "Traceback" not in err


@pytest.mark.parametrize("argv", [["render", "psht", "--stats"], ["render", "psht", "--case"], ["coverage", "psht"],
                                  ["replay", "psht"]])
def test_unreadable_histories_are_reported_alike(argv: list[str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {kind: opened, roles: [system]}\n", "utf-8")
    assert main([*argv, str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:1:3: error CF102 missing-property: 'actor' is required" in captured.out + captured.err


# -- replay's summary ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("counts", "said"), [
    ((1, 0, 0), "1 history: replayed"),
    ((0, 1, 0), "1 history: diverged"),
    ((0, 0, 1), "1 history: unreadable"),
    ((2, 1, 0), "3 histories: 2 replayed, 1 diverged"),
    ((1, 1, 1), "3 histories: 1 replayed, 1 diverged, 1 unreadable"),
])
def test_replay_summary_says_it_plainly(counts: tuple[int, int, int], said: str) -> None:
    assert summary(*counts, 0.012) == f"{said} in 0.01 s"
    assert summary(*counts, 2.0).endswith(" in 2.0 s")


def test_a_single_diverging_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(DECLINED.read_text("utf-8").replace("    to: declined", "    to: triage"), "utf-8")
    assert main(["replay", "psht", str(wrong)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "[wrong-target]" in lines[0]
    assert lines[-1].startswith("1 history: diverged in ")
    assert main(["replay", "psht", str(DECLINED)]) == 0
    assert capsys.readouterr().out.startswith("1 history: replayed in ")


# -- render --stats takes what replay takes -----------------------------------------------------------------


def test_render_stats_reads_yaml_jsonl_and_directories(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(f) for f in PSHT_HISTORIES.iterdir())
    assert any(f.endswith(".yaml") for f in files) and any(f.endswith(".jsonl") for f in files)
    assert main(["replay", "psht", *files]) == 0
    capsys.readouterr()
    assert main(["render", "psht", "--lang", "en", "--stats", *files]) == 0
    by_files = capsys.readouterr().out
    assert f"n = {len(files)} cases" in by_files
    assert main(["render", "psht", "--lang", "en", "--stats", str(PSHT_HISTORIES)]) == 0
    assert capsys.readouterr().out == by_files
    assert main(["render", "psht", "--lang", "en", "--stats", str(DECLINED)]) == 0
    one = capsys.readouterr().out
    assert "n = " not in one and "× 1" in one  # one case: counts, not cases


def test_render_case_draws_a_hand_written_history(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "psht", "--lang", "en", "--case", str(DECLINED)]) == 0
    dot = capsys.readouterr().out
    current = next(line for line in dot.splitlines() if line.lstrip().startswith('"declined" ['))
    assert 'color="#7e22ce"' in current  # where the case is now
    assert '"referral" -> "triage" [color="#7e22ce"' in dot and '"triage" -> "declined" [color="#7e22ce"' in dot


def test_render_stats_without_history_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "psht", "--stats", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: no history files ({HISTORY_NAMES}) found\n"
    assert main(["render", "psht", "--stats", str(tmp_path / "missing.jsonl")]) == 1
    assert "error CF009 unreadable-file: cannot read the file" in capsys.readouterr().err
