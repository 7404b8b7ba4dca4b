"""The fast schema checker agrees with jsonschema on every document we can think of."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.definitions.loader import bundled_processes, find_process
from careflow.definitions.schema_check import process_schema
from careflow.definitions.schema_fast import compile_schema
from careflow.definitions.yamlsafe import read_yaml, read_yaml_file
from tests.support import CORPUS

VALIDATOR = jsonschema.Draft202012Validator(process_schema())
FAST = compile_schema(process_schema())


def agree(doc: Any) -> None:
    assert FAST is not None
    assert FAST(doc) == VALIDATOR.is_valid(doc)


def test_the_process_schema_compiles() -> None:
    assert FAST is not None


@pytest.mark.parametrize("pid", bundled_processes())
def test_bundled_are_valid_for_both(pid: str) -> None:
    doc = read_yaml_file(find_process(pid)).value
    assert FAST is not None and FAST(doc) and VALIDATOR.is_valid(doc)


@pytest.mark.parametrize("path", sorted(CORPUS.rglob("*.yaml")), ids=lambda p: p.stem)
def test_corpus_files_agree(path: Path) -> None:
    doc = read_yaml(path.read_bytes(), str(path))
    if not doc.fatal:
        agree(doc.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "a", "nb", "xx", "P14D", "l0_s1", "Bad-Id", "1.0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["label", "nb", "en", "type", "to", "from", "event", "states", "x", "final", "step"]),
        inner, max_size=3),
    max_leaves=12)

MINIMAL = yaml.safe_load((CORPUS / "valid" / "minimal.yaml").read_text("utf-8"))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), json_values)
def test_mutations_of_a_valid_process_agree(data: st.DataObject, value: Any) -> None:
    doc = copy.deepcopy(MINIMAL)
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    agree(doc)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_documents_agree(value: Any) -> None:
    agree(value)
