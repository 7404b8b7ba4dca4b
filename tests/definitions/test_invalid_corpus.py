"""The invalid corpus: one problem per file, each reported once, at the place an author must look.

Every file in ``corpus/invalid`` is ``corpus/valid/minimal.yaml`` with one mistake and starts with
a header line ``# expect: CF104 20:34`` (code, line:column of the one diagnostic), optionally
followed by ``hint: <text the hint must contain>``. Files that would be too large or too slow to
commit (alias bombs, 50 MB, 10,000-deep nesting) are generated here in ``tmp_path``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from careflow.definitions.loader import load, loads, validate, validate_text
from careflow.errors import CODES, DefinitionError, Diagnostic
from careflow.model.definition import ProcessDefinition
from tests.support import CORPUS

INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))
HEADER = re.compile(r"# expect: (CF\d{3}) (\d+):(\d+)(?: hint: (.+))?$")
SLOW = 5.0  # seconds: generous, the generated bombs must be refused at once, not after expanding


@pytest.fixture(autouse=True)
def _search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``extends: minimal`` and ``spawn: minimal`` find the valid corpus (and nothing else local)."""
    monkeypatch.setenv("CAREFLOW_PATH", str(CORPUS / "valid"))


def _expectation(path: Path) -> tuple[str, int, int, str | None]:
    first = path.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    m = HEADER.match(first)
    assert m, f"{path.name}: the first line must be '# expect: CFxxx line:col', not {first!r}"
    return m[1], int(m[2]), int(m[3]), m[4]


def _show(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> str:
    return "\n".join(d.format() for d in diagnostics) or "(no diagnostics)"


def _load_outcome(path: Path, *, strict: bool = False) -> ProcessDefinition | DefinitionError:
    """``load``'s result or its DefinitionError; any other exception fails the test."""
    try:
        return load(path, strict=strict)
    except DefinitionError as exc:
        return exc
    except Exception as exc:  # pragma: no cover - the point of the test
        pytest.fail(f"load({path.name}) raised {type(exc).__name__}: {exc}")


# -- the corpus itself ----------------------------------------------------------------------------


def test_minimal_is_valid_strict() -> None:
    result = validate(CORPUS / "valid" / "minimal.yaml")
    assert result.diagnostics == (), _show(result.diagnostics)
    assert result.ok(strict=True)
    assert load(CORPUS / "valid" / "minimal.yaml", strict=True).id == "minimal"


def test_corpus_is_big_and_covers_the_codes() -> None:
    assert len(INVALID) >= 66
    codes = {_expectation(p)[0] for p in INVALID}
    wanted = {"CF001", "CF002", "CF003", "CF007", "CF008", "CF101", "CF102", "CF103", "CF104", "CF105",
              "CF106", "CF107", "CF108", "CF109", "CF110", "CF111", "CF112", "CF113", "CF114", "CF115",
              "CF116", "CF117", "CF118", "CF119", "CF201", "CF202", "CF203", "CF204", "CF206", "CF207",
              "CF208", "CF301", "CF401", "CF402", "CF403", "CF404", "CF405", "CF406", "CF407"}
    assert wanted <= codes, f"no corpus file for {sorted(wanted - codes)}"
    assert codes <= set(CODES)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_file(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, line, column, hint = _expectation(path)
    monkeypatch.chdir(tmp_path)  # a file that tried to run a shell command would leave its mark here
    result = validate(path)
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    got = [(d.code, d.location.line, d.location.column) for d in result.diagnostics]
    assert got == [(code, line, column)], f"{path.name}:\n{_show(result.diagnostics)}"
    (d,) = result.diagnostics
    assert d.location.file == str(path)
    assert d.message and d.name == CODES[code]
    if hint is not None:
        assert d.hint is not None and hint in d.hint, f"hint {d.hint!r} lacks {hint!r}"

    outcome = _load_outcome(path)
    if d.is_error:
        assert result.definition is None
        assert isinstance(outcome, DefinitionError), f"load({path.name}) accepted an invalid file"
        assert outcome.diagnostics == [d]
        assert outcome.errors == [d]
    else:  # a warning: accepted, unless strict
        assert isinstance(outcome, ProcessDefinition)
        strict = _load_outcome(path, strict=True)
        assert isinstance(strict, DefinitionError) and strict.warnings == [d]
    assert list(tmp_path.iterdir()) == []


def test_python_tag_is_not_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def fake_system(*args: object) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(os, "system", fake_system)
    monkeypatch.chdir(tmp_path)
    path = CORPUS / "invalid" / "tag_python_object_apply.yaml"
    assert "!!python/object/apply:os.system" in path.read_text(encoding="utf-8")
    result = validate(path)
    assert [d.code for d in result.diagnostics] == ["CF003"]
    assert "!!python/object/apply:os.system" in result.diagnostics[0].message
    with pytest.raises(DefinitionError):
        load(path)
    assert calls == []
    assert not (tmp_path / "careflow-pwned.txt").exists()


def test_unknown_key_hints_say_did_you_mean() -> None:
    typos = [p for p in INVALID if p.stem.startswith("unknown_key_")]
    assert len(typos) >= 4
    for path in typos:
        (d,) = validate(path).diagnostics
        assert d.code == "CF103" and d.hint and d.hint.startswith("did you mean"), d.format()


# -- generated: too big or too slow to commit -----------------------------------------------------


def _timed_single(text: str | bytes | Path, code: str) -> Diagnostic:
    start = time.perf_counter()
    result = validate(text) if isinstance(text, Path) else validate_text(text, "bomb.yaml")
    elapsed = time.perf_counter() - start
    assert [d.code for d in result.diagnostics] == [code], _show(result.diagnostics)
    assert elapsed < SLOW, f"took {elapsed:.1f} s"
    assert result.definition is None
    return result.diagnostics[0]


def _laughs(levels: int, width: int) -> str:
    lines = ["careflow: 1", "lol0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_alias_count() -> None:
    d = _timed_single(_laughs(9, 10), "CF004")  # 10**9 strings if expanded
    assert d.location.line is not None


def test_alias_bomb_node_count() -> None:
    # only 40 aliases (under the alias limit) but 10**5 nodes when expanded
    _timed_single(_laughs(5, 10), "CF004")


def test_alias_bomb_through_loads() -> None:
    start = time.perf_counter()
    with pytest.raises(DefinitionError) as info:
        loads(_laughs(9, 10))
    assert [d.code for d in info.value.diagnostics] == ["CF004"]
    assert time.perf_counter() - start < SLOW


def test_fifty_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.write(b"careflow: 1\nid: huge\n")
        f.truncate(50 * 1024 * 1024)  # sparse: instant, and takes no disk
    d = _timed_single(path, "CF006")
    assert d.location.file == str(path)
    with pytest.raises(DefinitionError):
        load(path)


def test_large_text_and_bytes() -> None:
    text = "careflow: 1\n" + "#" * (3 * 1024 * 1024) + "\n"
    _timed_single(text, "CF006")
    _timed_single(text.encode(), "CF006")


@pytest.mark.parametrize("style", ["flow_seq", "flow_map", "block_seq", "mixed"])
def test_ten_thousand_deep(style: str) -> None:
    n = 10_000
    text = {
        "flow_seq": "careflow: 1\nstates: " + "[" * n + "]" * n + "\n",
        "flow_map": "careflow: 1\nstates: " + "{a: " * n + "1" + "}" * n + "\n",
        "block_seq": "careflow: 1\nstates:\n  " + "- " * n + "x\n",
        "mixed": "careflow: 1\nstates:\n  " + "- " * (n // 2) + "[" * (n // 2) + "x" + "]" * (n // 2) + "\n",
    }[style]
    d = _timed_single(text, "CF005")
    assert d.location.line is not None


def test_deep_nesting_through_aliases() -> None:
    # 40 levels written out, aliased into 40 more: deep only after expansion
    lines = ["careflow: 1", "a: &a " + "[" * 40 + "]" * 40, "b: " + "[" * 40 + "*a" + "]" * 40]
    _timed_single("\n".join(lines) + "\n", "CF005")


# -- every diagnostic helps: a hint, items counted from 1, the format's words ---------------------


def test_every_diagnostic_in_the_corpus_has_a_hint() -> None:
    bare = [d.format() for path in INVALID for d in validate(path).diagnostics if not d.hint]
    assert bare == [], "diagnostics without a hint:\n" + "\n".join(bare)


def test_transitions_are_counted_from_one_and_named_by_event() -> None:
    (d,) = validate(CORPUS / "invalid" / "missing_transition_to.yaml").diagnostics
    assert "transition 4 (event 'hold')" in d.message, d.format()
    (d,) = validate(CORPUS / "invalid" / "type_requires_string.yaml").diagnostics
    assert "transition 1 (event 'submit')" in d.message, d.format()


def test_messages_use_the_formats_words_not_pythons() -> None:
    python_words = re.compile(r"\b(True|False|None)\b|(?<!\w)\(\)")
    for path in INVALID:
        for d in validate(path).diagnostics:
            assert not python_words.search(d.message), d.format()
    (d,) = validate(CORPUS / "invalid" / "bad_values_yes.yaml").diagnostics
    assert d.message.endswith('must be true or false, not "yes"'), d.format()


def test_a_refused_data_type_adds_no_knock_on_errors() -> None:
    (d,) = validate(CORPUS / "invalid" / "bad_data_type_bool.yaml").diagnostics
    assert d.code == "CF107" and '"bool"' in d.message
