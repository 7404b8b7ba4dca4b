"""The process schema as an editor sees it: described, with examples, accepting `extends` files, and
agreeing with a generic validator (check-jsonschema) on the bundled processes and the docs' examples."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from careflow.definitions.loader import bundled_dir
from careflow.definitions.schema_check import process_schema
from careflow.model.durations import Duration

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "src" / "careflow" / "definitions" / "process.schema.json"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
_BLOCK = re.compile(r"```yaml\n(careflow: 1\n.*?)```", re.S)


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, schema) of every property definition, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield f"{path}/{name}", sub
                    yield from _properties(sub, f"{path}/{name}")
            elif key != "if":  # a condition's properties are tests, not definitions
                yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, path)


def test_every_property_has_a_description_and_examples() -> None:
    found = list(_properties(process_schema()))
    assert len(found) >= 74
    bare = [path for path, sub in found if not (isinstance(sub, dict) and sub.get("description"))]
    assert bare == [], f"properties without a description: {bare}"
    no_examples = [path for path, sub in found if not sub.get("examples")]
    assert no_examples == [], f"properties without examples: {no_examples}"


def test_the_top_level_sections_say_what_they_hold() -> None:
    top = process_schema()["properties"]
    for key in ("sources", "roles", "data", "events", "states", "transitions"):
        assert len(top[key]["description"]) > 40, key


def test_every_enum_explains_its_values() -> None:
    def enums(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list) and all(isinstance(v, str) for v in node["enum"]):
                yield node
            for value in node.values():
                yield from enums(value)
        elif isinstance(node, list):
            for item in node:
                yield from enums(item)

    found = list(enums(process_schema()))
    assert len(found) >= 6
    for node in found:
        assert len(node.get("enumDescriptions", [])) == len(node["enum"]), node


@pytest.mark.parametrize(("text", "ok"), [("P14D", True), ("P2W", True), ("P1M", True), ("PT48H", True),
                                          ("P1M15D", True), ("P1Y", True), ("4 weeks", False), ("14", False),
                                          ("P", False), ("PT", False), ("P2.5D", False), ("p14d", False)])
def test_the_duration_pattern_accepts_what_careflow_accepts(text: str, ok: bool) -> None:
    pattern = process_schema()["$defs"]["state"]["properties"]["due"]["pattern"]
    assert (re.search(pattern, text) is not None) == ok == (Duration.parse(text) is not None)


def _check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def _doc_examples(tmp_path: Path) -> list[Path]:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, m in enumerate(_BLOCK.finditer(doc.read_text(encoding="utf-8"))):
            path = tmp_path / f"{doc.stem}_{i}.yaml"
            path.write_text(m.group(1), encoding="utf-8")
            out.append(path)
    return out


def test_bundled_processes_and_doc_examples_pass_check_jsonschema(tmp_path: Path) -> None:
    files = [*sorted(bundled_dir().glob("*.yaml")), *_doc_examples(tmp_path)]
    assert len(files) >= 5
    assert any("extends:" in f.read_text(encoding="utf-8") for f in files), "the docs' extends example is checked"
    done = _check(files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_refuses_what_careflow_refuses(tmp_path: Path) -> None:
    minimal = (ROOT / "tests" / "corpus" / "valid" / "minimal.yaml").read_text(encoding="utf-8")
    words = tmp_path / "words.yaml"
    words.write_text(minimal.replace("due: P7D", "due: 4 weeks"), encoding="utf-8")
    no_title = tmp_path / "no_title.yaml"
    no_title.write_text(minimal.replace("title: {nb: Minimal prosess, en: Minimal process}\n", ""), encoding="utf-8")
    for path in (words, no_title):
        done = _check([path])
        assert done.returncode == 1, path.name


def test_an_extends_file_needs_only_its_own_keys(tmp_path: Path) -> None:
    variant = tmp_path / "variant.yaml"
    variant.write_text('careflow: 1\nid: minimal_variant\nversion: "1.0-v"\nextends: minimal\n'
                       "roles:\n  auditor: {label: Revisor}\n", encoding="utf-8")
    done = _check([variant])
    assert done.returncode == 0, done.stdout + done.stderr
