"""``careflow lsp`` on the command line: pygls stays unloaded until the server starts, and its absence is
explained, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from careflow.cli.main import main


def test_without_pygls_the_command_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # what an install without the extra 'lsp' looks like
    assert main(["lsp"]) == 2
    err = capsys.readouterr().err
    assert err == "careflow lsp: the language server needs pygls: pip install 'careflow[lsp]'\n"


def test_a_negative_debounce_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lsp", "--debounce-ms", "-1"]) == 2
    assert "--debounce-ms must be 0 or more" in capsys.readouterr().err


def test_help_does_not_import_pygls() -> None:
    script = ("import json, sys\nfrom careflow.cli.main import main\n"
              "for words in (['--help'], ['lsp', '--help']):\n"
              "    try:\n        main(words)\n    except SystemExit:\n        pass\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol') "
              "or m.startswith('careflow.lsp'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "--debounce-ms MS" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["careflow.lsp", "careflow.lsp.command"]
