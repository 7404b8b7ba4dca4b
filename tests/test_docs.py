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
