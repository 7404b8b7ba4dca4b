"""The ``careflow`` command: exit codes, text and JSON output, list, show, schema, and a light ``--help``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from careflow.cli.main import main
from careflow.definitions.loader import load
from tests.support import BUNDLED, CORPUS

MINIMAL = CORPUS / "valid" / "minimal.yaml"
INVALID = CORPUS / "invalid"


@pytest.fixture(autouse=True)
def _search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREFLOW_PATH", str(CORPUS / "valid"))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` with argparse's SystemExit turned into its code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- validate -------------------------------------------------------------------------------------


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(MINIMAL)], capsys)
    assert code == 0
    assert f"{MINIMAL}: ok (0 error(s), 0 warning(s))" in out


def test_validate_by_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "minimal"], capsys)
    assert code == 0 and "ok" in out


def test_validate_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID / "unknown_target.yaml"
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 1
    assert f"{path}:53:9: error CF104 unknown-target: unknown state 'folow_up' [/transitions/2/to]" in out
    assert "    hint: did you mean 'follow_up'?" in out
    assert f"{path}: FAILED (1 error(s), 0 warning(s))" in out


def test_validate_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(["validate", str(tmp_path / "nope.yaml")], capsys)
    assert code == 1 and "CF010" in out


@pytest.mark.parametrize("argv", [["validate"], ["validate", "--bogus", str(MINIMAL)], ["--bogus"], [],
                                  ["no-such-command"], ["validate", "--format", "xml", str(MINIMAL)],
                                  ["show"], ["show", "psht", "--lang", "de"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert "usage:" in (err + out)


def test_strict_turns_a_warning_into_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID / "unused_role.yaml"
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 0
    assert "warning CF207 unused-role" in out and "ok (0 error(s), 1 warning(s))" in out
    code, out, _ = run(["validate", "--strict", str(path)], capsys)
    assert code == 1 and "FAILED (0 error(s), 1 warning(s))" in out


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    bad = INVALID / "bad_duration.yaml"
    code, out, _ = run(["validate", "--format", "json", str(MINIMAL), str(bad)], capsys)
    assert code == 1
    data = json.loads(out)
    assert [(r["file"], r["valid"], r["process"]) for r in data] == [(str(MINIMAL), True, "minimal"),
                                                                    (str(bad), False, None)]
    assert data[0]["diagnostics"] == []
    (d,) = data[1]["diagnostics"]
    assert {k: d[k] for k in ("code", "line", "column", "pointer", "severity")} == {
        "code": "CF109", "line": 25, "column": 10, "pointer": "/states/intake/due", "severity": "error"}
    assert "P14D" in d["hint"] and d["message"] and d["name"] == "bad-duration"


def test_json_format_strict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "--format", "json", "--strict", str(INVALID / "unused_role.yaml")], capsys)
    assert code == 1
    (result,) = json.loads(out)
    assert result["valid"] is False and result["diagnostics"][0]["severity"] == "warning"


def test_directories(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "--strict", str(CORPUS / "valid")], capsys)
    assert code == 0
    assert "minimal.yaml: ok" in out
    code, out, _ = run(["validate", str(INVALID)], capsys)
    assert code == 1
    n = len(list(INVALID.glob("*.yaml")))
    assert f" of {n} valid" in out
    # the corpus' warnings pass without --strict, and nothing else does
    warnings_only = sum("ok (0 error(s)" in line for line in out.splitlines())
    assert 0 < warnings_only < n


def test_validate_a_bundled_directory(capsys: pytest.CaptureFixture[str]) -> None:
    processes = BUNDLED
    code, out, _ = run(["validate", str(processes)], capsys)
    assert code == 0, out


# -- list, show, schema ---------------------------------------------------------------------------


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["list"], capsys)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "psht" in lines and "[bundled]" in lines["psht"]
    assert "minimal" in lines and "[CAREFLOW_PATH]" in lines["minimal"]
    assert "Minimal prosess" in lines["minimal"]  # the default language's title
    code, out, _ = run(["list", "--lang", "en"], capsys)
    assert "Minimal process" in out


def test_show_psht_nynorsk(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["show", "psht", "--lang", "nn"], capsys)
    assert code == 0
    process = load("psht")
    assert "nn" in process.languages
    assert process.title.get("nn") in out
    shown = 0
    for state in process.states:
        label = " ".join(state.label.get("nn").split())
        assert state.label.has("nn")
        if len(label) <= 40:  # long cells are shortened with '…'
            assert label in out, label
            shown += 1
    assert shown >= 3
    nb_only = [s for s in process.states if s.label.get("nb") != s.label.get("nn") and len(s.label.get("nb")) <= 40]
    assert nb_only, "psht should have some label that differs between nb and nn"
    assert any(s.label.get("nb") not in out for s in nb_only)


def test_show_by_path_and_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["show", str(MINIMAL), "--lang", "en"], capsys)
    assert code == 0 and "Minimal process" in out and "Planning" in out
    code, out, err = run(["show", str(INVALID / "unknown_target.yaml")], capsys)
    assert code == 1 and "CF104" in err and "Traceback" not in err
    code, out, err = run(["show", "no_such_process"], capsys)
    assert code == 1 and "CF010" in err


def test_schema_is_a_valid_draft_2020_12_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema
    import yaml

    code, out, _ = run(["schema"], capsys)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # and it accepts the minimal process
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(MINIMAL.read_text("utf-8"))))
    assert errors == []


# -- subprocesses ---------------------------------------------------------------------------------


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from careflow.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted(m for m in ('networkx', 'jsonschema', 'yaml', 'graphviz', 'transitions') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: careflow" in proc.stdout
    heavy = proc.stdout.split("HEAVY", 1)[1]
    assert "networkx" not in heavy and "jsonschema" not in heavy, heavy


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "careflow"
    assert script.exists()
    ok = subprocess.run([str(script), "validate", "--strict", str(MINIMAL)], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([str(script), "validate", str(INVALID / "bad_duration.yaml")], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "CF109" in bad.stdout
    usage = subprocess.run([str(script), "validate"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr
