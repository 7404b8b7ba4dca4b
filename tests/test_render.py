"""Diagrams and handbook tables: golden files, SVG structure, Mermaid validity, overlays, CLI, docs.

CAREFLOW_UPDATE_GOLDEN=1 rewrites tests/golden/ from the current output. The Mermaid CLI check runs
only where ``mmdc`` (or $CAREFLOW_MMDC) and a Chromium exist; the structural check runs everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from careflow.cli.main import main
from careflow.definitions.loader import bundled, load, loads
from careflow.errors import HistoryFileError
from careflow.history import read_history
from careflow.render import Overlay, render, render_bytes, to_dot, to_markdown, to_mermaid
from careflow.render.common import classify, wrap
from careflow.render.mermaid import escape

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
ROOT = HERE.parent
UPDATE = os.environ.get("CAREFLOW_UPDATE_GOLDEN") == "1"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' not installed (apt-get install graphviz)")
PROCESSES = bundled()
SVG_NS = "{http://www.w3.org/2000/svg}"


TRICKY = """
careflow: 1
id: tricky
version: "1.0"
title: {en: 'Tricky "labels" | pipes & <tags>', nn: 'Vanskelege "namn"'}
language: en
languages: [en, nn]
roles:
  nurse: {label: {en: "Nurse | RN", nn: Sjukepleiar}}
data:
  ok: {type: boolean, default: false}
initial: level_a
states:
  level_a:
    label: {en: "Level A: {start} [#1]", nn: "Nivå A"}
    initial: a1
    states:
      a1: {step: 1, due: P2W, label: {en: 'Say "hi"; then: go #now', nn: Seia hei}, description: {en: "a | b <c>"}}
      a2: {step: 2, label: {en: "Decide (100%)", nn: Avgjer}}
  level_b:
    label: {en: "Level B", nn: Nivå B}
    initial: b1
    states:
      b1: {step: 1, label: {en: B one, nn: B ein}}
      b2: {step: 2, label: {en: B two, nn: B to}}
  done: {final: true, label: {en: "Done -> end", nn: Ferdig}}
transitions:
  - {event: go, from: a1, to: a2, roles: [nurse], when: "ok == true", label: {en: 'Go: "now" | [x]', nn: Gå}}
  - {event: up, from: a2, to: level_b, label: {en: Up, nn: Opp}}
  - {event: jump, from: a1, to: level_b, label: {en: Jump, nn: Hopp}}
  - {event: again, from: a2, to: a1, label: {en: Again, nn: Igjen}}
  - {event: down, from: b2, to: level_a, label: {en: Down, nn: Ned}}
  - {event: next, from: b1, to: b2, label: {en: Next, nn: Neste}}
  - {event: finish, from: b2, to: done, label: {en: Finish, nn: Ferdig}}
  - {event: note, from: level_a, internal: true, label: {en: "Note <it>", nn: Notat}}
"""


@pytest.fixture(scope="module")
def tricky() -> Any:
    return loads(TRICKY, "tricky.yaml")


# -- golden files ---------------------------------------------------------------------------------

GOLDEN_CASES = [(pid, lang, fmt) for pid in PROCESSES for lang in ("nn", "en")
                for fmt in ("dot", "mermaid", "markdown")]
EXT = {"dot": "dot", "mermaid": "mmd", "markdown": "md"}


@pytest.mark.parametrize(("pid", "lang", "fmt"), GOLDEN_CASES)
def test_golden(pid: str, lang: str, fmt: str) -> None:
    text = render_bytes(load(pid), fmt, lang=lang).decode("utf-8")
    path = GOLDEN / f"{pid}.{lang}.{EXT[fmt]}"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"missing golden file {path}; run with CAREFLOW_UPDATE_GOLDEN=1")
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8"), f"{path.name} changed; CAREFLOW_UPDATE_GOLDEN=1 to accept"


def test_dot_is_deterministic() -> None:
    p = load("bti_children")
    assert to_dot(p, lang="nn") == to_dot(load("bti_children"), lang="nn")
    assert to_dot(p, direction="TB") != to_dot(p, direction="LR")
    with pytest.raises(ValueError):
        to_dot(p, direction="RL")


# -- SVG ------------------------------------------------------------------------------------------


def _svg_words(svg: bytes) -> tuple[ET.Element, set[str]]:
    root = ET.fromstring(svg)
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))
    return root, set(re.findall(r"\w+", text))


@needs_dot
@pytest.mark.parametrize("pid", PROCESSES)
@pytest.mark.parametrize("lang", ["nn", "en"])
def test_svg_has_clusters_and_labels(pid: str, lang: str) -> None:
    process = load(pid)
    svg = render_bytes(process, "svg", lang=lang)
    root, words = _svg_words(svg)
    clusters = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "cluster"]
    assert len(clusters) == sum(s.compound for s in process.states)
    for state in process.states:
        missing = set(re.findall(r"\w+", process.label(state, lang))) - words
        assert not missing, f"{state.id}: {missing} not in the SVG"


@needs_dot
def test_svg_is_byte_stable_and_has_no_generator_comment() -> None:
    p = load("psht")
    first = render_bytes(p, "svg", lang="nn")
    assert first == render_bytes(p, "svg", lang="nn")
    assert b"Generated by graphviz" not in first


@needs_dot
def test_render_writes_by_suffix(tmp_path: Path, tricky: Any) -> None:
    for name in ("t.svg", "t.png", "t.pdf", "t.dot", "t.mmd", "t.md"):
        out = render(tricky, tmp_path / name)
        assert out.stat().st_size > 0
    assert (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")
    ET.fromstring((tmp_path / "t.svg").read_bytes())


# -- layout rules ---------------------------------------------------------------------------------


def test_dot_layout_rules(tricky: Any) -> None:
    dot = to_dot(tricky)
    assert 'subgraph "cluster_level_a"' in dot and 'subgraph "cluster_level_b"' in dot
    assert '"a1" -> "a2" [style=invis, weight=20]' in dot  # steps read in order
    assert '{ rank=same; "a1"; "b1"; }' in dot  # levels line up as a grid
    assert "peripheries=2" in dot and "__start" in dot
    assert "≤ 14 d" in dot
    assert "&quot;hi&quot;" in dot and "&lt;tags&gt;" in dot and "&amp;" in dot
    assert '"a1" -> "a2" [dir=back' not in dot
    assert '"a1" -> "a2" [color="#2b6cb0"' in dot and "dir=back" in dot  # again: a back arrow, reversed


def test_kind_inference(tricky: Any) -> None:
    by_event = {t.event: t for t in tricky.transitions}
    assert classify(tricky, by_event["go"], "a1") == "forward"
    assert classify(tricky, by_event["again"], "a2") == "back"
    assert classify(tricky, by_event["up"], "a2") == "forward"  # from the level's last step
    assert classify(tricky, by_event["jump"], "a1") == "escalate"  # out of the middle of a level
    assert classify(tricky, by_event["down"], "b2") == "back"
    assert classify(tricky, by_event["finish"], "b2") == "exit"


def test_wrap() -> None:
    assert wrap("Del uroa med barnet/ungdommen, føresette eller den gravide", 22) == [
        "Del uroa med", "barnet/ungdommen,", "føresette eller den", "gravide"]
    assert wrap("samtykke/stafettlogg/tiltakslogg", 12) == ["samtykke/", "stafettlogg/", "tiltakslogg"]
    assert wrap("  a   b  ", 5) == ["a b"]
    assert wrap("", 5) == []
    assert all(len(line) <= 20 for line in wrap("Evalueringssamling – avgjerd om vegen vidare", 20))


# -- Mermaid --------------------------------------------------------------------------------------

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_SAFE = re.compile(r'^(?:[^"#:;{}\[\]()<>%|\\`&=\-]|#\d+;)*$')


def check_mermaid(text: str) -> list[str]:
    """Structural problems of a stateDiagram-v2: balanced blocks, declared ids, arrows, escaping."""
    problems: list[str] = []
    lines = text.splitlines()
    if lines[:1] == ["---"]:
        end = lines.index("---", 1)
        lines = lines[end + 1:]
    if not lines or lines[0] != "stateDiagram-v2":
        return ["first line must be stateDiagram-v2"]
    declared: set[str] = set()
    used: list[str] = []
    depth = 0
    for n, raw in enumerate(lines[1:], 2):
        line = raw.strip()
        if not line or line.startswith("direction "):
            continue
        if line == "}":
            depth -= 1
            if depth < 0:
                problems.append(f"line {n}: unbalanced '}}'")
            continue
        m = re.fullmatch(rf'state "([^"]*)" as ({_ID})( \{{)?', line)
        if m:
            declared.add(m.group(2))
            depth += bool(m.group(3))
            if not _SAFE.match(m.group(1)):
                problems.append(f"line {n}: unescaped character in {m.group(1)!r}")
            continue
        m = re.fullmatch(rf"(\[\*\]|{_ID}) --> (\[\*\]|{_ID})(?: : (.+))?", line)
        if m:
            used += [x for x in m.group(1, 2) if x != "[*]"]
            if m.group(3) is not None and not _SAFE.match(m.group(3)):
                problems.append(f"line {n}: unescaped character in label {m.group(3)!r}")
            continue
        problems.append(f"line {n}: not a state, block end or transition: {line!r}")
    if depth:
        problems.append(f"{depth} unclosed composite block(s)")
    problems += [f"undeclared state id {u!r}" for u in dict.fromkeys(used) if u not in declared]
    return problems


@pytest.mark.parametrize("pid", PROCESSES)
def test_mermaid_structure(pid: str) -> None:
    for lang in ("nn", "en"):
        assert check_mermaid(to_mermaid(load(pid), lang=lang)) == []


def test_mermaid_escaping(tricky: Any) -> None:
    text = to_mermaid(tricky)
    assert check_mermaid(text) == []
    assert "Say #34;hi#34;#59; then#58; go #35;now" in text
    assert 'title: "Tricky \\"labels\\" | pipes & <tags>"' in text
    assert escape('a"b:c#d;e{f}g[h]i<j>k|l%m') == "a#34;b#58;c#35;d#59;e#123;f#125;g#91;h#93;i#60;j#62;k#124;l#37;m"
    assert escape("line\nbreak") == "line break"
    assert check_mermaid('stateDiagram-v2\n  state "a: b" as x\n') != []
    assert check_mermaid("stateDiagram-v2\n  x --> y\n") != []
    assert check_mermaid('stateDiagram-v2\n  state "A" as a {\n') != []


def _mmdc() -> str | None:
    return os.environ.get("CAREFLOW_MMDC") or shutil.which("mmdc")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not (_mmdc() and _chromium()),
                    reason="Mermaid CLI not available: npm install @mermaid-js/mermaid-cli (set CAREFLOW_MMDC to its "
                           "mmdc) and apt-get install chromium")
def test_mermaid_cli_parses(tmp_path: Path, tricky: Any) -> None:
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": _chromium(), "args": ["--no-sandbox", "--disable-gpu"]}))
    sources = {"tricky": to_mermaid(tricky), **{pid: to_mermaid(load(pid), lang="nn") for pid in PROCESSES}}
    for name, text in sources.items():
        src = tmp_path / f"{name}.mmd"
        src.write_text(text, "utf-8")
        done = subprocess.run([str(_mmdc()), "-p", str(config), "-i", str(src), "-o", str(tmp_path / f"{name}.svg")],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_tables(tricky: Any) -> None:
    md = to_markdown(tricky)
    assert md.startswith("# Tricky \"labels\" \\| pipes &amp; &lt;tags&gt;\n")
    assert "## Level A: {start} [#1]" in md
    assert "| No. | Step | What happens | Who may act | Deadline | Way forward |" in md
    row = next(line for line in md.splitlines() if line.startswith("| 1 | **Say"))
    assert "a \\| b &lt;c&gt;" in row and "Nurse \\| RN" in row and "≤ 14 d" in row
    assert '`[ok == true]`' in row
    assert row.count(" | ") == 5  # six cells: no pipe leaked from a label
    assert "- ↻ Note &lt;it&gt;" in md
    assert "| **Done -&gt; end** |" in md


def test_markdown_psht_has_nine_steps() -> None:
    md = to_markdown(load("psht"), lang="nb")
    steps = [line.split(" | ")[0] for line in md.splitlines() if re.match(r"^\| \d+ \| ", line)]
    assert steps == [f"| {n}" for n in range(1, 10)]


# -- overlays -------------------------------------------------------------------------------------

CASE = [
    {"kind": "opened", "event": None, "from": None, "to": "level_0.l0_s1", "time": "2024-01-01T08:00:00+00:00"},
    {"kind": "fired", "event": "define_concern", "from": "level_0.l0_s1", "to": "level_0.l0_s2",
     "time": "2024-01-02T08:00:00+00:00"},
    {"kind": "denied", "event": "share_with_family", "from": "level_0.l0_s2", "to": "level_0.l0_s4",
     "time": "2024-01-02T09:00:00+00:00"},
    {"kind": "fired", "event": "share_with_leader", "from": "level_0.l0_s2", "to": "level_0.l0_s3",
     "time": "2024-01-04T08:00:00+00:00"},
    {"kind": "fired", "event": "record_consent_to_share", "from": "level_0.l0_s3", "to": "level_0.l0_s3",
     "time": "2024-01-04T09:00:00Z"},
]


def test_overlay_from_case() -> None:
    ov = Overlay.from_case(CASE)
    assert ov.current == "l0_s3"
    assert ov.visits == {"level_0": 1, "l0_s1": 1, "l0_s2": 1, "l0_s3": 1}  # denied and stays don't count
    assert [step[2] for step in ov.path] == [None, "define_concern", "share_with_leader"]
    assert ov.median_time["l0_s1"].days == 1 and ov.median_time["l0_s2"].days == 2
    dot = to_dot(load("bti_children"), overlay=ov)
    assert "Her er saka no" in dot and "× 1" in dot and "median 2 d" in dot
    assert '"l0_s2" -> "l0_s3" [color="#7e22ce"' in dot


def test_overlay_from_cases_weights_edges() -> None:
    other = CASE[:2]
    ov = Overlay.from_cases([CASE, other, other])
    assert ov.cases == 3 and ov.edge_counts[("l0_s1", "l0_s2", "define_concern")] == 3
    dot = to_dot(load("bti_children"), overlay=ov, lang="en")
    assert "n = 3 cases" in dot and "penwidth=7.00" in dot and "penwidth=0.60" in dot


#: CASE as a history file holds it: every entry says who acted.
RECORDED = [dict(r, actor="ann", roles=["nurse"]) for r in CASE]


def test_read_history_formats_and_errors(tmp_path: Path) -> None:
    lines = tmp_path / "h.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in RECORDED) + "\n\n", "utf-8")
    assert Overlay.from_case(read_history(lines)) == Overlay.from_case(CASE)
    array = tmp_path / "h.json"
    array.write_text(json.dumps(RECORDED), "utf-8")
    assert Overlay.from_case(read_history(array)) == Overlay.from_case(CASE)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RECORDED[0]) + "\n{not json\n", "utf-8")
    with pytest.raises(HistoryFileError, match=r"bad.jsonl:2:2: error CF001"):
        read_history(bad)
    bad.write_text(json.dumps({"kind": "fired", "from": "a", "to": "b", "roles": []}) + "\n", "utf-8")
    with pytest.raises(HistoryFileError, match=r"bad.jsonl:1: error CF102 .*'actor' is required"):
        read_history(bad)
    bad.write_text(json.dumps([{"kind": "fired", "event": "e", "to": "a", "time": "yesterday", "actor": "ann",
                                "roles": []}]), "utf-8")
    with pytest.raises(HistoryFileError, match=r"'time' is not an ISO 8601 time"):
        read_history(bad)
    with pytest.raises(HistoryFileError, match="cannot read"):
        read_history(tmp_path / "missing.jsonl")


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_render_text_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["render", "psht", "-f", "markdown", "--lang", "en"]) == 0
    assert "| 9 |" in capsys.readouterr().out
    assert main(["render", "bti_children", "-f", "mermaid", "-o", str(tmp_path / "b.mmd")]) == 0
    assert check_mermaid((tmp_path / "b.mmd").read_text("utf-8")) == []
    history = tmp_path / "case.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in RECORDED), "utf-8")
    assert main(["render", "bti_children", "--case", str(history)]) == 0
    assert "Her er saka no" in capsys.readouterr().out


def test_cli_errors_are_clean(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1,", "utf-8")
    assert main(["render", "bti_children", "--stats", str(bad)]) == 1
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main(["render", "no_such_process"]) == 1
    assert main(["render", "psht", "-o", str(tmp_path / "x.unknown")]) == 1
    assert "cannot tell the format" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    assert main(["render", "psht", "-o", str(tmp_path / "x.svg")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert main(["render", "psht", "-o", str(tmp_path / "x.dot")]) == 0


# -- docs -----------------------------------------------------------------------------------------


def _make_docs() -> Any:
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_docs_diagrams_are_up_to_date() -> None:
    make_docs = _make_docs()
    files = make_docs.generate(svg=HAS_DOT)
    assert len(files) >= len(PROCESSES) * 2 * (3 if HAS_DOT else 2) + 1
    stale = make_docs.stale(files)
    assert not stale, f"out of date: {', '.join(map(str, stale))}; run 'make docs'"
