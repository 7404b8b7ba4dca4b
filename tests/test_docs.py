"""Every example in docs/ is loaded: full processes validate strictly, fragments read as safe YAML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careflow.definitions.loader import validate_text
from careflow.definitions.yamlsafe import read_yaml
from tests.support import DOCS, ROOT

README = ROOT / "README.md"
_BLOCK = re.compile(r"```(yaml|python)\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str, str]]:
    found = []
    for path in [README, *sorted(DOCS.rglob("*.md"))]:
        for i, m in enumerate(_BLOCK.finditer(path.read_text("utf-8"))):
            found.append((f"{path.name}#{i}", m.group(1), m.group(2)))
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize(("name", "lang", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_doc_example_loads(name: str, lang: str, text: str) -> None:
    if lang == "python":
        compile(text, name, "exec")  # syntax only: python examples are exercised by the API tests
        return
    if text.startswith("careflow: 1"):
        result = validate_text(text, name)
        assert result.ok(strict=True), "\n".join(d.format() for d in result.diagnostics)
    else:
        doc = read_yaml(text, name)
        assert not doc.diagnostics, [d.format() for d in doc.diagnostics]


def test_there_are_examples() -> None:
    assert sum(1 for _, lang, t in EXAMPLES if lang == "yaml" and t.startswith("careflow: 1")) >= 2


def test_readme_python_examples_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    # the README's Python blocks continue one another, as a reader runs them
    blocks = [t for name, lang, t in EXAMPLES if name.startswith("README") and lang == "python"]
    assert blocks
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks), "utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# -- claims backed by tests, and examples that run ---------------------------------------------------------

_NAMED_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
_SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
CLAIMS = [DOCS / "stores.md", DOCS / "history.md"]


def _defined_tests(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text("utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test")}


@pytest.mark.parametrize("doc", [*DOCS.glob("*.md"), README], ids=lambda p: p.name)
def test_every_test_the_docs_name_exists(doc: Path) -> None:
    for file, name in _NAMED_TEST.findall(doc.read_text("utf-8")):
        assert (ROOT / file).is_file(), f"{doc.name} names {file}, which does not exist"
        assert name in _defined_tests(ROOT / file), f"{doc.name} names {file}::{name}, which does not exist"


@pytest.mark.parametrize("doc", CLAIMS, ids=lambda p: p.name)
def test_every_detection_claim_names_its_test(doc: Path) -> None:
    text = doc.read_text("utf-8")
    tables = [t for t in re.split(r"\n\n", text) if "| without a checkpoint | with a checkpoint | test |" in t]
    assert tables, f"{doc.name} has no 'what is detected' table"
    for table in tables:
        rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
        assert rows
        for row in rows:
            assert _NAMED_TEST.search(row.rsplit("|", 2)[-2]), f"{doc.name}: no test named for: {row[:80]}"


def test_the_checkpoint_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The Python example in stores.md runs as written, then every ``careflow`` line of the sh examples of
    stores.md and history.md, in order, over a store and a history folder made first."""
    import shlex

    from careflow.cases.case import Case
    from careflow.cli.main import main
    from careflow.definitions.loader import load
    from careflow.history import dumps_jsonl
    from careflow.runtime.compiled import Actor

    monkeypatch.chdir(tmp_path)
    python = [t for _, lang, t in EXAMPLES if lang == "python" and t.startswith("# run by tests/test_docs.py")]
    assert python
    import subprocess
    import sys

    for i, block in enumerate(python):
        script = tmp_path / f"example_{i}.py"
        script.write_text(block, "utf-8")
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    psht, nurse = load("psht"), Actor("nora", {"nurse"})
    assert main(["case", "open", "psht", "--store", "sqlite:///cases.db", "--as", "nora:nurse", "--id", "p-1"]) == 0
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "psht-1.jsonl").write_text(dumps_jsonl(Case.open(psht, "psht-1", actor=nurse).history))
    lines = [line for doc in CLAIMS for block in _SH_BLOCK.findall(doc.read_text("utf-8"))
             for line in block.splitlines() if line.startswith("careflow ")]
    assert len(lines) >= 5
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, (line, capsys.readouterr())
