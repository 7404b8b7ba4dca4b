"""The loader's public API: load, loads, validate, validate_text, find, discover, extends, the cache."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import careflow
from careflow.definitions.loader import (
    bundled_processes,
    discover,
    find_process,
    load,
    loads,
    refresh,
    validate,
    validate_text,
)
from careflow.errors import CODES, DefinitionError, Diagnostic, ProcessNotFound, SearchPathWarning
from careflow.model.definition import ProcessDefinition
from tests.support import CORPUS, process_text

MINIMAL = CORPUS / "valid" / "minimal.yaml"
MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREFLOW_PATH", raising=False)


def _process_text(pid: str, title: str = "T", version: str = "1.0") -> str:
    """minimal.yaml under another id (it spawns itself, so the spawn follows the id)."""
    return (MINIMAL_TEXT.replace("id: minimal", f"id: {pid}")
            .replace("process: minimal", f"process: {pid}")
            .replace("title: {nb: Minimal prosess, en: Minimal process}", f"title: {{nb: {title}, en: {title}}}")
            .replace('version: "1.0"', f'version: "{version}"'))


def _write(directory: Path, pid: str, text: str | None = None, **kw: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pid}.yaml"
    path.write_text(text if text is not None else _process_text(pid, **kw), encoding="utf-8")
    return path


# -- load, loads, validate ------------------------------------------------------------------------


def test_load_bundled_by_id() -> None:
    assert "psht" in bundled_processes()
    process = careflow.load("psht")
    assert isinstance(process, ProcessDefinition)
    assert process.id == "psht"
    assert Path(process.path or "").name == "psht.yaml"
    assert careflow.load("psht") is process  # cached


def test_every_bundled_process_is_valid() -> None:
    problems = {pid: [d.format() for d in validate(pid).errors] for pid in bundled_processes()}
    assert {pid: p for pid, p in problems.items() if p} == {}


def test_load_by_path_and_str_path() -> None:
    process = load(MINIMAL)
    assert process.id == "minimal" and process.version == "1.0"
    assert process.initial == "intake"
    assert process.state("planning").path == "work.planning"
    assert [t.id for t in process.transitions] == ["submit@intake", "intake_overdue@intake", "plan@planning",
                                                   "close@work"]
    assert load(str(MINIMAL)) is process


def test_loads_text_and_bytes() -> None:
    from_text = loads(MINIMAL_TEXT, "inline.yaml")
    from_bytes = loads(MINIMAL_TEXT.encode("utf-8"))
    assert from_text.id == from_bytes.id == "minimal"
    assert from_text.path == "inline.yaml"
    assert from_text.state("closed").final


def test_loads_utf8_bom_and_utf16() -> None:
    assert loads(b"\xef\xbb\xbf" + MINIMAL_TEXT.encode("utf-8")).id == "minimal"
    assert loads(MINIMAL_TEXT.encode("utf-16")).id == "minimal"


def test_load_unknown_id_and_missing_path() -> None:
    with pytest.raises(ProcessNotFound) as info:
        load("pshtt")
    assert "did you mean 'psht'" in str(info.value)
    assert info.value.code == "CF010"
    with pytest.raises(ProcessNotFound):
        load(CORPUS / "nope.yaml")
    with pytest.raises(ProcessNotFound):
        load("some/dir/nope.yaml")


GARBAGE: list[str | bytes] = [
    "", " ", "\n\n", "~", "null", "[]", "{}", "- - -", "42", "'just text'", "careflow: 1", "careflow: [",
    ": :", "? ? ?", "&a [*a]", "*undefined", "a: &x 1\nb: *x", "%YAML 1.1\n---\nx: 1", "%TAG ! tag:x,2000:\n---\n!a 1",
    "---\n---\n---", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2001-12-14",
    "states: !!map [1, 2]", "id: !!int abc", "x: !!float 1e999999", "x: 1" + "0" * 5000,
    "\x00", "\ufeff", "\ud800", "careflow: 1\r\nid: x\r", "\t", "a:\n\t- b", "'unclosed", '"\\x"',
    "{a: 1, a: 2}", "{? [a]: 1}", "<<: {a: 1}", "x: 0o999", "x: 0xZZ",
    b"\xff\xfe\x00", b"\xfe\xff\xd8\x00", b"\x80\x81", b"careflow: 1\nid: \xe9", b"\x00" * 100,
    "transitions: [{from: a}, 5, null, [1]]\nstates: {a: 5, b: [], c: {states: 3}}",
    "states: {a: {states: {a: {}}}}\ninitial: a\ntransitions: []\ndata: {x: {type: array, items: 5}}",
    "extends: 5", "extends: nope", "extends: minimal\nid: minimal",
    "data: {x: {type: object, properties: {y: {type: array, items: {type: object}}}, default: {y: [1]}}}",
    "transitions: [{event: e, from: [], to: x, when: '((((((((((((((((((((((((((((((((((((((((1'}]",
]


@pytest.mark.parametrize("text", GARBAGE, ids=range(len(GARBAGE)))
def test_validate_text_never_raises(text: str | bytes) -> None:
    result = validate_text(text, "garbage.yaml")
    assert result.definition is None
    assert result.errors, "garbage must produce at least one error"
    for d in result.diagnostics:
        assert isinstance(d, Diagnostic) and d.code in CODES
        assert d.location.file == "garbage.yaml"
    with pytest.raises(DefinitionError):
        loads(text)


def test_validate_never_raises_on_bad_paths(tmp_path: Path) -> None:
    assert [d.code for d in validate(tmp_path / "missing.yaml").diagnostics] == ["CF010"]
    assert [d.code for d in validate(tmp_path).diagnostics] == ["CF009"]
    assert [d.code for d in validate("no_such_process").diagnostics] == ["CF010"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    assert [d.code for d in validate(binary).diagnostics] == ["CF009"]
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        assert [d.code for d in validate(fifo).diagnostics] == ["CF009"]  # must not block


def test_definition_error_holds_all_diagnostics_sorted() -> None:
    # three problems, written bottom-up so that sorting matters
    text = (MINIMAL_TEXT.replace("    to: follow_up\n", "    to: folow_up\n")  # CF104, late
            .replace("  consent: {type: boolean, default: false}", '  consent: {type: boolean, default: "no"}')
            .replace('version: "1.0"', "version: 1.0"))
    with pytest.raises(DefinitionError) as info:
        loads(text, "three.yaml")
    exc = info.value
    assert [d.code for d in exc.diagnostics] == ["CF101", "CF112", "CF104"]
    keys = [(d.location.line or 0, d.location.column or 0) for d in exc.diagnostics]
    assert keys == sorted(keys)
    assert exc.errors == exc.diagnostics and exc.warnings == []
    assert "3 error(s)" in str(exc) and "three.yaml" in str(exc)
    assert validate_text(text, "three.yaml").diagnostics == tuple(exc.diagnostics)


def test_definition_error_keeps_warnings_with_errors() -> None:
    text = MINIMAL_TEXT.replace("  coordinator: {scope: case", "  doctor: {label: Lege}\n  coordinator: {scope: case")
    result = validate_text(text, "w.yaml")
    assert {d.code for d in result.warnings} == {"CF207", "CF301"}
    assert result.ok() and not result.ok(strict=True)
    with pytest.raises(DefinitionError) as info:
        loads(text, "w.yaml", strict=True)
    assert info.value.errors == [] and len(info.value.warnings) == len(result.warnings)
    assert "problem(s)" in str(info.value)


def test_format_is_compiler_style() -> None:
    with pytest.raises(DefinitionError) as info:
        loads(MINIMAL_TEXT.replace("    to: follow_up\n", "    to: folow_up\n"), "p.yaml")
    text = info.value.format()
    assert re.fullmatch(r"p\.yaml:52:9: error CF104 unknown-target: unknown state 'folow_up' "
                        r"\[/transitions/2/to\]\n    hint: did you mean 'follow_up'\?", text), text
    d = info.value.diagnostics[0]
    assert str(d.location) == "p.yaml:52:9"
    assert validate_text(MINIMAL_TEXT.replace("    to: follow_up\n", "    to: folow_up\n")
                         ).diagnostics[0].format().startswith("<string>:52:9: error CF104")


def test_json_output() -> None:
    with pytest.raises(DefinitionError) as info:
        loads(MINIMAL_TEXT.replace("    to: follow_up\n", "    to: folow_up\n").replace("P7D", "7d"), "p.yaml")
    data = json.loads(info.value.to_json())
    assert [(d["code"], d["line"], d["column"]) for d in data] == [("CF109", 24, 10), ("CF104", 52, 9)]
    for d in data:
        assert set(d) >= {"code", "name", "severity", "message", "hint", "file", "line", "column", "pointer"}
        assert d["file"] == "p.yaml" and d["severity"] == "error" and d["pointer"].startswith("/")
    assert data[0]["pointer"] == "/states/intake/due" and data[0]["name"] == "bad-duration"


def test_yaml_11_booleans_stay_strings_in_labels() -> None:
    text = MINIMAL_TEXT.replace("closed: {final: true, label: {nb: Avsluttet, en: Closed}}",
                                'closed: {final: true, label: {nb: on, en: "on"}}')
    text = text.replace("planning: {step: 2, label: {nb: Planlegging, en: Planning}}",
                        "planning: {step: 2, label: {nb: yes, en: off}}")
    result = validate_text(text)
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    process = loads(text)
    assert process.state("closed").label.get("nb") == "on"
    assert process.state("closed").label.get("en") == "on"
    assert process.state("planning").label.get("nb") == "yes"
    assert process.state("planning").label.get("en") == "off"


def test_dotted_state_reference_reported_once() -> None:
    # a dotted path is how a state is *shown*; writing one must give one diagnostic, not two at one place
    text = MINIMAL_TEXT.replace("    to: follow_up\n", "    to: work.closed\n")
    result = validate_text(text, "p.yaml")
    assert len(result.diagnostics) == 1, "\n".join(d.format() for d in result.diagnostics)


# -- discovery ------------------------------------------------------------------------------------


def test_careflow_path_discovery_and_shadowing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    a1 = _write(first, "shared", title="First")
    a2 = _write(second, "shared", title="Second")
    only2 = _write(second, "only_second")
    monkeypatch.setenv("CAREFLOW_PATH", os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)]))
    with pytest.warns(SearchPathWarning, match="missing' skipped: it does not exist"):
        found = discover()
    assert found["shared"].path == a1 and found["shared"].origin == "CAREFLOW_PATH"
    assert found["only_second"].path == only2
    assert "psht" in found and found["psht"].origin == "bundled"
    assert find_process("shared") == a1
    assert load("shared").title.get("en") == "First"
    assert validate("only_second").ok()
    monkeypatch.setenv("CAREFLOW_PATH", os.pathsep.join([str(second), str(first)]))
    assert find_process("shared") == a2
    assert load("shared").title.get("en") == "Second"  # the cache knows the search path changed


def test_careflow_path_shadows_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = _write(tmp_path, "psht", title="Local PSHT")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path))
    assert discover()["psht"].origin == "CAREFLOW_PATH"
    assert find_process("psht") == local
    assert load("psht").title.get("en") == "Local PSHT"


def test_yml_suffix_and_other_files_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "alt.yml").write_text(_process_text("alt"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a process", encoding="utf-8")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path))
    found = discover()
    assert found["alt"].path.name == "alt.yml" and "notes" not in found
    assert load("alt").id == "alt"


def _fake_distribution(site: Path, name: str, entry_points: str, package: str, code: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    pkg = site / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(code), encoding="utf-8")


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    _fake_distribution(site, "careflow_fake_plugin", textwrap.dedent("""\
        [careflow.processes]
        fake = careflow_fake_plugin:PROCESSES
        listed = careflow_fake_plugin:more_dirs
        broken = careflow_fake_missing_module:NOTHING
        """), "careflow_fake_plugin", """\
        from pathlib import Path
        PROCESSES = str(Path(__file__).parent / "processes")
        def more_dirs():
            return [Path(__file__).parent / "more"]
        """)
    _write(site / "careflow_fake_plugin" / "processes", "plugged", title="Plugged")
    _write(site / "careflow_fake_plugin" / "processes", "psht", title="Plugin PSHT")
    _write(site / "careflow_fake_plugin" / "more", "plugged_too")
    monkeypatch.syspath_prepend(str(site))  # also invalidates importlib's caches
    monkeypatch.delitem(sys.modules, "careflow_fake_plugin", raising=False)
    refresh()  # plugin directories are read once per process: a newly installed package needs this
    yield site
    sys.modules.pop("careflow_fake_plugin", None)
    refresh()


def test_entry_point_plugin(plugin_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = discover()
    assert found["plugged"].origin == "entry point fake"
    assert found["plugged_too"].origin == "entry point listed"
    assert found["psht"].origin == "entry point fake"  # a plugin comes before the bundled processes
    assert load("plugged").title.get("en") == "Plugged"
    assert load("plugged_too").id == "plugged_too"
    # CAREFLOW_PATH comes before plugins
    _write(tmp_path / "local", "plugged", title="Local")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path / "local"))
    assert discover()["plugged"].origin == "CAREFLOW_PATH"
    assert load("plugged").title.get("en") == "Local"


# -- extends --------------------------------------------------------------------------------------

ADAPTED = process_text("minimal_local")


@pytest.fixture
def base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREFLOW_PATH", str(CORPUS / "valid"))
    adapting = tmp_path / "adapting"
    adapting.mkdir()
    return adapting


def test_extends_merges_replaces_removes_and_adds(base_dir: Path) -> None:
    path = _write(base_dir, "minimal_local", ADAPTED)
    result = validate(path)
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    p = load(path)
    assert (p.id, p.version, p.extends) == ("minimal_local", "1.0-local", "minimal")
    intake = p.state("intake")
    assert intake.due is not None and intake.due.duration.days == 10 and intake.due.event == "intake_overdue"
    assert intake.label.get("en") == "Intake" and [i.id for i in intake.checklist] == ["identity"]
    assert p.state("follow_up").label.get("en") == "Aftercare" and p.state("follow_up").step == 3
    assert p.state("work").initial == "planning"
    ids = [t.id for t in p.transitions]
    assert ids == ["submit@intake", "intake_overdue@intake", "plan@planning", "finish@work"]
    assert p.transitions[2].roles == ("nurse",)
    assert p.title.get("en") == "Minimal process"  # inherited


def test_extends_diagnostics_point_into_the_adapting_file(base_dir: Path) -> None:
    text = (ADAPTED.replace("to: closed, label: {nb: Fullfør", "to: closd, label: {nb: Fullfør")
            .replace("P10D", "ten days"))
    path = _write(base_dir, "minimal_local", text)
    got = [(d.code, d.location.file, d.location.line, d.location.column)
           for d in validate(path).diagnostics]
    assert got == [("CF109", str(path), 7, 17), ("CF104", str(path), 14, 37)]


def test_extends_diagnostic_from_the_base_points_into_the_adapting_file(base_dir: Path) -> None:
    # removing the deadline handler leaves the base's on_due unused: that line is in minimal.yaml, so the
    # diagnostic points at the state the adapting file changes, and names the base line as related
    text = ADAPTED.replace("  - {id: close@work, remove: true}\n",
                           "  - {id: close@work, remove: true}\n  - {id: intake_overdue@intake, remove: true}\n")
    path = _write(base_dir, "minimal_local", text)
    (d,) = validate(path).diagnostics
    assert (d.code, d.location.file, d.location.line, d.location.column) == ("CF114", str(path), 7, 3)
    assert [(r.file, r.line, r.column) for r in d.related] == [(str(MINIMAL), 25, 13)]
    assert d.to_json()["related"] == [{"file": str(MINIMAL), "line": 25, "column": 13,
                                       "pointer": "/states/intake/on_due"}]
    assert f"see: {MINIMAL}:25:13" in d.format()


def test_extends_remove_unknown_transition(base_dir: Path) -> None:
    text = ADAPTED.replace("{id: close@work, remove: true}", "{id: close@nowhere, remove: true}")
    path = _write(base_dir, "minimal_local", text)
    (d,) = validate(path).diagnostics
    assert (d.code, d.location.file, d.location.line) == ("CF118", str(path), 13)
    assert "close@nowhere" in d.message


def test_extends_cycle(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _write(base_dir, "cycle_a", 'careflow: 1\nextends: cycle_b\nid: cycle_a\nversion: "1"\n')
    b = _write(base_dir, "cycle_b", 'careflow: 1\nextends: cycle_a\nid: cycle_b\nversion: "1"\n')
    _write(base_dir, "selfish", 'careflow: 1\nextends: selfish\nid: selfish\nversion: "1"\n')
    monkeypatch.setenv("CAREFLOW_PATH", str(base_dir))
    diagnostics = validate(a).diagnostics
    # one problem: the circle. Not also "'initial' is required", which only the missing base would give.
    assert [d.code for d in diagnostics] == ["CF118"], "\n".join(d.format() for d in diagnostics)
    (d,) = diagnostics
    assert "cycle_a" in d.message and "cycle_b" in d.message
    assert (d.location.file, d.location.line, d.location.column) in {(str(a), 2, 10), (str(b), 2, 10)}
    with pytest.raises(DefinitionError):
        load(a)
    (d,) = validate(base_dir / "selfish.yaml").diagnostics
    assert (d.code, d.location.line, d.location.column) == ("CF118", 2, 10)


def test_extends_cycle_error_only_once_when_the_base_is_found(base_dir: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    # the cycle is found while reading the base: the file being validated must still be usable
    a = _write(base_dir, "cycle_a", 'careflow: 1\nextends: cycle_b\nid: cycle_a\nversion: "1"\n')
    full_b = _process_text("cycle_b").replace('version: "1.0"\n', 'version: "1.0"\nextends: cycle_a\n')
    _write(base_dir, "cycle_b", full_b)
    monkeypatch.setenv("CAREFLOW_PATH", str(base_dir))
    codes = [d.code for d in validate(a).diagnostics]
    assert codes == ["CF118"]


def test_extends_unknown_base_is_one_problem(base_dir: Path) -> None:
    path = _write(base_dir, "adapted", 'careflow: 1\nextends: minimall\nid: adapted\nversion: "1"\n')
    diagnostics = validate(path).diagnostics
    assert [(d.code, d.location.line, d.location.column) for d in diagnostics] == [("CF118", 2, 10)], \
        "\n".join(d.format() for d in diagnostics)
    assert "did you mean 'minimal'" in diagnostics[0].message + (diagnostics[0].hint or "")


# -- the cache ------------------------------------------------------------------------------------


def test_load_cache(tmp_path: Path) -> None:
    path = _write(tmp_path, "cached", title="One")
    first = load(path)
    assert load(path) is first
    assert load(str(path)) is first
    path.write_text(_process_text("cached", title="Two"), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a coarse clock must not hide it
    second = load(path)
    assert second is not first and second.title.get("en") == "Two"
    assert load(path) is second


def test_load_cache_does_not_hide_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "flaky")
    good = load(path)
    path.write_text(_process_text("flaky").replace("P7D", "soon!"), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    with pytest.raises(DefinitionError):
        load(path)
    assert good.id == "flaky"


def test_public_names() -> None:
    assert careflow.load is load and careflow.loads is loads and careflow.validate is validate
    assert careflow.find_process is find_process
    assert careflow.DefinitionError is DefinitionError
