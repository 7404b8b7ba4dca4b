"""Fuzzing the loader: whatever goes in, ``validate_text`` returns diagnostics and ``loads`` raises only
``DefinitionError``; nothing is slow, and every location lies inside the text."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careflow.definitions.loader import loads, validate_text
from careflow.errors import CODES, DefinitionError, Diagnostic
from careflow.model.definition import ProcessDefinition
from tests.support import CORPUS

MINIMAL_TEXT = (CORPUS / "valid" / "minimal.yaml").read_text(encoding="utf-8")
MINIMAL_DOC: dict[str, Any] = yaml.safe_load(MINIMAL_TEXT)
MINIMAL_LINES = MINIMAL_TEXT.splitlines(keepends=True)
BOUND = 2.0  # seconds per call
KNOWN = ["minimal", "psht"]  # skip search-path discovery in every call: it is not what is fuzzed here

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@pytest.fixture(autouse=True, scope="module")
def _warm() -> None:
    """Import jsonschema and friends once, so the first example is not charged for it."""
    validate_text(MINIMAL_TEXT)


def check(text: str | bytes) -> None:
    start = time.perf_counter()
    result = validate_text(text, "fuzz.yaml", known_processes=KNOWN)
    elapsed = time.perf_counter() - start
    assert elapsed < BOUND, f"validate_text took {elapsed:.2f} s"
    assert isinstance(result.diagnostics, tuple)
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    # \r\n counts twice: an upper bound. +2: libyaml puts "end of stream" on the line after a last line
    # that has no line break (a one-line "[" is reported at 2:1)
    last_line = sum(decoded.count(c) for c in "\n\r\x85\u2028\u2029") + 2
    for d in result.diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.code in CODES, d
        assert d.severity in ("error", "warning")
        assert isinstance(d.message, str) and d.message
        assert d.location.file == "fuzz.yaml"
        if d.location.line is not None:
            assert 1 <= d.location.line <= last_line, d.format()
            assert d.location.column is None or d.location.column >= 1, d.format()
        d.format()
        d.to_json()
    if result.definition is not None:
        assert not result.errors
    start = time.perf_counter()
    try:
        process = loads(text, "fuzz.yaml", known_processes=KNOWN)
    except DefinitionError as exc:
        assert exc.diagnostics, "a DefinitionError must hold its diagnostics"
        assert result.definition is None
    else:
        assert isinstance(process, ProcessDefinition)
        assert result.definition is not None
    assert time.perf_counter() - start < BOUND


# -- unstructured input ---------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check(text)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    check(data)


YAML_ALPHABET = st.sampled_from([*"abc:-[]{},&*!|>'\"#?%@` \n\t0123456789.~", "\n  ", ": ", "- ", "<<"])


@FUZZ
@given(st.lists(YAML_ALPHABET, max_size=120).map("".join))
def test_yaml_punctuation(text: str) -> None:
    check(text)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=25)


@FUZZ
@given(json_like)
def test_random_json_like(value: Any) -> None:
    check(yaml.safe_dump(value, allow_unicode=True))


TOP_KEYS = ["careflow", "id", "version", "title", "description", "sources", "language", "languages", "extends",
            "roles", "data", "events", "initial", "states", "transitions"]


@FUZZ
@given(st.dictionaries(st.sampled_from(TOP_KEYS), json_like, max_size=10))
def test_random_process_shaped(doc: dict[str, Any]) -> None:
    check(yaml.safe_dump(doc, allow_unicode=True))


# -- mutations of the valid minimal process -------------------------------------------------------


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


ALL_PATHS = [p for p in _paths(MINIMAL_DOC) if p]
KEY_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], str)]
NAMES = st.sampled_from(["label", "states", "from", "to", "intake", "work", "closed", "nurse", "system", "x",
                         "score", "notes", "identity", "P7D", "", "Intake", "__class__", "planning"])
replacement = scalars | json_like | NAMES | st.lists(NAMES, max_size=3) | st.dictionaries(NAMES, json_like, max_size=3)


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@FUZZ
@given(st.data())
def test_structural_mutations(data: st.DataObject) -> None:
    doc = copy.deepcopy(MINIMAL_DOC)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = _parent(doc, path)
        op = data.draw(st.sampled_from(["delete", "retype", "rename", "duplicate"]), label="op")
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "retype":
            parent[key] = data.draw(replacement, label="value")
        elif op == "rename" and isinstance(parent, dict):
            new = data.draw(NAMES | st.text(max_size=8), label="new key")
            parent[new] = parent.pop(key)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@FUZZ
@given(st.data())
def test_text_mutations(data: st.DataObject) -> None:
    lines = list(MINIMAL_LINES)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        i = data.draw(st.integers(0, len(lines)), label="line")
        op = data.draw(st.sampled_from(["insert", "delete", "replace_char", "indent", "dedent", "swap"]),
                       label="op")
        if op == "insert":
            lines.insert(i, data.draw(st.text(max_size=40) | YAML_ALPHABET, label="text") + "\n")
        elif i < len(lines):
            line = lines[i]
            if op == "delete":
                del lines[i]
            elif op == "replace_char" and line.strip():
                j = data.draw(st.integers(0, len(line) - 1), label="col")
                lines[i] = line[:j] + data.draw(YAML_ALPHABET | st.characters(), label="char") + line[j + 1:]
            elif op == "indent":
                lines[i] = " " * data.draw(st.integers(1, 3), label="spaces") + line
            elif op == "dedent":
                lines[i] = line[1:] if line.startswith(" ") else line
            elif op == "swap" and i + 1 < len(lines):
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
    check("".join(lines))


@FUZZ
@given(st.sampled_from(KEY_PATHS), replacement)
def test_every_value_replaced(path: tuple[Any, ...], value: Any) -> None:
    doc = copy.deepcopy(MINIMAL_DOC)
    _parent(doc, path)[path[-1]] = value
    check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60))
def test_random_guards(expr: str) -> None:
    doc = copy.deepcopy(MINIMAL_DOC)
    doc["transitions"][3]["when"] = expr
    check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


GUARD_TOKENS = st.sampled_from(
    ["consent", "score", "priority", "notes", "meeting", "now", "event.coordinator_id", "event.score", "len",
     "sum", "mean", "min", "max", "abs", "round", "days_since", "days_until", "(", ")", "[", "]", ",", ".",
     "and", "or", "not", "in", "not in", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%",
     "**", "0", "1", "-1", "2.5", "10", '"low"', '"high"', '"x"', "''", "true", "false", "null", "True", "None",
     "[0]", "[-1]", "__class__", "lambda", ":", "if", "else", "for", "x", "'2026-01-01'", "1e309"])


@FUZZ
@given(st.lists(GUARD_TOKENS, min_size=1, max_size=12).map(" ".join))
def test_token_guards(expr: str) -> None:
    doc = copy.deepcopy(MINIMAL_DOC)
    doc["transitions"][0]["when"] = expr  # this transition takes event data (score, coordinator_id)
    check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
