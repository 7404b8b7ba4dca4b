"""Hostile history files: each one is refused with a located diagnostic and its code, never a traceback.

Each case is a file (name and bytes) with the code of its first diagnostic and the line (and column, when
the reader can tell) it must point at. The files go through ``read_history`` (the whole-file reader) and
``replay`` (the streaming one), which must agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from careflow.errors import CODES, HistoryFileError
from careflow.history import read_history, replay
from careflow.history.jsontext import MAX_DEPTH, MAX_INT_DIGITS

OPENED = {"kind": "opened", "actor": "system", "roles": ["system"], "to": "referral"}
FIRED = {"event": "submit_referral", "actor": "dr-gran", "roles": ["referrer"]}
DEEP = MAX_DEPTH + 1
HUGE = "7" * (MAX_INT_DIGITS + 1)
PSHT = "psht"


def entry(**fields: Any) -> str:
    """A ``fired`` entry with ``fields`` changed, as one JSON line (None removes a field)."""
    body = {**FIRED, **fields}
    return json.dumps({k: v for k, v in body.items() if v is not None})


def raw(text: str, placeholder: str = '"@"', value: str = "") -> str:
    """``text`` with its placeholder string replaced by raw JSON text (what json.dumps cannot write)."""
    return text.replace(placeholder, value)


def jsonl(*lines: str) -> bytes:
    """A JSON Lines file: the opened entry, then ``lines``."""
    return ("\n".join([json.dumps(OPENED), *lines]) + "\n").encode("utf-8")


def at(text: str, marker: str) -> int:
    """The 1-based column of ``marker`` in ``text``."""
    return text.index(marker) + 1


_DEEP_LIST = raw(entry(data={"v": "@"}), value="[" * 100_000 + "]" * 100_000)
_DEEP_MAP = raw(entry(data={"v": "@"}), value='{"a":' * 70_000 + "1" + "}" * 70_000)
_JUST_TOO_DEEP = raw(entry(data={"v": "@"}), value="[" * (DEEP - 2) + "]" * (DEEP - 2))
_BIG = raw(entry(data={"v": "@"}), value=HUGE)
_BIG_SEQ = raw(entry(seq="@"), value=HUGE)
_BIG_NEG = raw(entry(data={"v": "@"}), value="-" + HUGE)
_SPLIT_1, _SPLIT_2 = '{"kind": "opened", "actor": "system",', '"roles": ["system"]}'
_YAML_OPENED = b"- {kind: opened, actor: a, roles: [r]"
_DUP = raw(entry(data={}), '"data": {}', '"data": {}, "event": "other"')

# (id, file name, content, code, line, column or None)
CASES: list[tuple[str, str, bytes, str, int, int | None]] = [
    # deep nesting
    ("deep-list-jsonl", "h.jsonl", jsonl(_DEEP_LIST), "CF005", 2, at(_DEEP_LIST, "[[") + DEEP - 3),
    ("deep-map-jsonl", "h.jsonl", jsonl(_DEEP_MAP), "CF005", 2, None),
    ("just-past-the-depth-limit", "h.jsonl", jsonl(_JUST_TOO_DEEP), "CF005", 2, None),
    ("deep-list-json-doc", "h.json", ("[\n" + json.dumps(OPENED) + ",\n" + "[" * 60_000 + "]" * 60_000 + "\n]")
     .encode(), "CF005", 3, DEEP - 1),
    ("deep-first-line", "h.jsonl", ("[" * 60_000).encode(), "CF005", 1, DEEP),
    ("deep-unclosed-map", "h.jsonl", jsonl('{"a":' * 50_000), "CF005", 2, None),
    ("deep-envelope", "h.json", ('{"entries": ' + "[" * 5000 + "]" * 5000 + "}").encode(), "CF005", 1, None),
    ("yaml-nan", "h.yaml", _YAML_OPENED + b", data: {v: .nan}}\n", "CF107", 1, 47),
    ("yaml-infinity-in-a-list", "h.yaml", _YAML_OPENED + b", data: {v: [1, -.inf]}}\n", "CF107", 1, 54),
    ("yaml-nul", "h.yaml", _YAML_OPENED + b"}\n" + _YAML_OPENED + b', reason: "a\\0b"}\n', "CF107", 2, 40),
    ("yaml-int-past-4300-digits", "h.yaml", _YAML_OPENED + b", data: {v: " + HUGE.encode() + b"}}\n", "CF101", 1,
     50),
    ("deep-yaml", "h.yaml", ("entries:\n  - " + "[" * 5000 + "]" * 5000 + "\n").encode(), "CF005", 2, None),
    # numbers
    ("int-past-4300-digits", "h.jsonl", jsonl(_BIG), "CF006", 2, at(_BIG, HUGE)),
    ("negative-int-past-4300-digits", "h.jsonl", jsonl(_BIG_NEG), "CF006", 2, at(_BIG_NEG, HUGE)),
    ("seq-past-4300-digits", "h.jsonl", jsonl(_BIG_SEQ), "CF006", 2, at(_BIG_SEQ, HUGE)),
    ("int-past-4300-digits-json-doc", "h.json", ("[\n" + json.dumps(OPENED) + ",\n" + _BIG + "\n]").encode(),
     "CF006", 3, at(_BIG, HUGE)),
    ("nan", "h.jsonl", jsonl(raw(entry(data={"v": "@"}), value="NaN")), "CF107", 2, None),
    ("infinity", "h.jsonl", jsonl(raw(entry(data={"v": "@"}), value="Infinity")), "CF107", 2, None),
    ("minus-infinity", "h.jsonl", jsonl(raw(entry(data={"v": "@"}), value="-Infinity")), "CF107", 2, None),
    ("float-overflow", "h.jsonl", jsonl(raw(entry(data={"v": "@"}), value="1e999")), "CF107", 2, None),
    ("negative-float-overflow", "h.jsonl", jsonl(raw(entry(data={"v": "@"}), value="-1e999")), "CF107", 2, None),
    ("nan-in-json-doc", "h.json", ("[" + raw(json.dumps(dict(OPENED, data={"v": "@"})), value="NaN") + "]")
     .encode(), "CF107", 1, None),
    # encodings and characters
    ("invalid-utf8", "h.jsonl", jsonl(entry()) + b'{"actor": "\xff"}\n', "CF009", 3, 12),
    ("invalid-utf8-json-doc", "h.json", b'[{"actor": "\xfe"}]', "CF009", 1, 13),
    ("overlong-utf8", "h.jsonl", jsonl(entry()) + b'{"actor": "\xc0\xaf"}\n', "CF009", 3, 12),
    ("utf8-encoded-surrogate", "h.jsonl", jsonl(entry()) + b'{"actor": "\xed\xa0\x80"}\n', "CF009", 3, 12),
    ("truncated-utf8", "h.jsonl", jsonl(entry()) + b'{"actor": "\xe2\x82"}\n', "CF009", 3, 12),
    ("utf16-file", "h.jsonl", json.dumps(OPENED).encode("utf-16"), "CF009", 1, 1),
    ("raw-nul-in-string", "h.jsonl", jsonl(entry(actor="a@b").replace("@", "\x00")), "CF001", 2, None),
    ("raw-nul-between-lines", "h.jsonl", jsonl("\x00"), "CF001", 2, 1),
    ("nul-escape-in-actor", "h.jsonl", jsonl(raw(entry(actor="@"), '"@"', '"a\\u0000b"')), "CF107", 2, None),
    ("nul-escape-in-data-key", "h.jsonl", jsonl(raw(entry(data={"@": 1}), '"@"', '"k\\u0000"')), "CF107", 2, None),
    ("lone-high-surrogate", "h.jsonl", jsonl(raw(entry(event="@"), '"@"', '"x\\ud800"')), "CF107", 2, None),
    ("lone-low-surrogate", "h.jsonl", jsonl(raw(entry(actor="@"), '"@"', '"\\uDC00"')), "CF107", 2, None),
    ("reversed-surrogate-pair", "h.jsonl", jsonl(raw(entry(reason="@"), '"@"', '"\\udc00\\ud800"')), "CF107", 2,
     None),
    ("lone-surrogate-in-role", "h.jsonl", jsonl(raw(entry(roles=["@"]), '"@"', '"\\ud83d"')), "CF107", 2, None),
    ("lone-surrogate-json-doc", "h.json", ("[" + raw(json.dumps(OPENED), '"system"', '"\\ud800"', ) + "]").encode(),
     "CF107", 1, None),
    ("bom-on-second-line", "h.jsonl", jsonl("\ufeff" + entry()), "CF001", 2, 1),
    ("two-boms", "h.jsonl", b"\xef\xbb\xbf" + b"\xef\xbb\xbf" + jsonl(), "CF001", 1, 1),
    ("bare-cr-separators", "h.jsonl", (json.dumps(OPENED) + "\r" + entry() + "\r").encode(), "CF001", 1, None),
    ("line-separator-u2028", "h.jsonl", (json.dumps(OPENED) + "\u2028" + entry() + "\n").encode(), "CF001", 1,
     None),
    ("form-feed-line", "h.jsonl", jsonl("\f"), "CF001", 2, 1),
    ("vertical-tab-line", "h.jsonl", jsonl("\v" + entry()), "CF001", 2, 1),
    ("nbsp-before-entry", "h.jsonl", jsonl("\u00a0" + entry()), "CF001", 2, 1),
    ("file-separator-line", "h.jsonl", jsonl("\x1c"), "CF001", 2, 1),
    # one entry per line
    ("entry-split-over-two-lines", "h.jsonl", (_SPLIT_1 + "\n" + _SPLIT_2 + "\n").encode(), "CF001", 1, None),
    ("second-entry-split", "h.jsonl", jsonl('{"event": "submit_referral",', '"actor": "a", "roles": ["r"]}'),
     "CF001", 2, None),
    ("split-hidden-by-two-on-a-line", "h.jsonl",
     jsonl('{"event": "x", "data": {"v": [1', '2]}, "actor": "a", "roles": ["r"]}', entry() + "," + entry()),
     "CF001", 2, None),
    ("two-entries-on-one-line", "h.jsonl", jsonl(entry() + " " + entry()), "CF001", 2, None),
    ("two-entries-comma", "h.jsonl", jsonl(entry() + "," + entry()), "CF001", 2, None),
    ("pretty-printed-entry", "h.jsonl", jsonl(json.dumps(FIRED, indent=2)), "CF001", 2, None),
    ("split-in-json-named-file", "h.json", (json.dumps(OPENED) + "\n" + _SPLIT_1 + "\n" + _SPLIT_2).encode(),
     "CF001", 2, None),
    ("truncated-last-line", "h.jsonl", jsonl(entry()[:-5]), "CF001", 2, None),
    # not an entry
    ("line-is-a-list", "h.jsonl", jsonl("[1, 2]"), "CF101", 2, None),
    ("line-is-text", "h.jsonl", jsonl('"opened"'), "CF101", 2, None),
    ("line-is-a-number", "h.jsonl", jsonl("42"), "CF101", 2, None),
    ("line-is-null", "h.jsonl", jsonl("null"), "CF101", 2, None),
    ("line-is-true", "h.jsonl", jsonl("true"), "CF101", 2, None),
    ("line-is-an-empty-mapping", "h.jsonl", jsonl("{}"), "CF102", 2, None),
    # wrong types everywhere
    ("seq-text", "h.jsonl", jsonl(entry(seq="1")), "CF101", 2, None),
    ("seq-negative", "h.jsonl", jsonl(entry(seq=-1)), "CF107", 2, None),
    ("seq-float", "h.jsonl", jsonl(entry(seq=1.5)), "CF101", 2, None),
    ("seq-bool", "h.jsonl", jsonl(entry(seq=True)), "CF101", 2, None),
    ("time-number", "h.jsonl", jsonl(entry(time=12)), "CF101", 2, None),
    ("time-words", "h.jsonl", jsonl(entry(time="yesterday")), "CF107", 2, None),
    ("time-without-offset", "h.jsonl", jsonl(entry(time="2026-01-01T00:00:00")), "CF107", 2, None),
    ("time-week-date", "h.jsonl", jsonl(entry(time="2024-W01-1")), "CF107", 2, None),
    ("kind-unknown", "h.jsonl", jsonl(entry(kind="fire")), "CF107", 2, None),
    ("kind-number", "h.jsonl", jsonl(entry(kind=1)), "CF107", 2, None),
    ("actor-empty", "h.jsonl", jsonl(entry(actor="")), "CF107", 2, None),
    ("actor-null", "h.jsonl", jsonl(entry(actor=None) .replace("{", '{"actor": null, ', 1)), "CF101", 2, None),
    ("actor-list", "h.jsonl", jsonl(entry(actor=["a"])), "CF101", 2, None),
    ("roles-text", "h.jsonl", jsonl(entry(roles="system")), "CF101", 2, None),
    ("roles-numbers", "h.jsonl", jsonl(entry(roles=[1])), "CF101", 2, None),
    ("roles-empty-text", "h.jsonl", jsonl(entry(roles=[""])), "CF107", 2, None),
    ("roles-mapping", "h.jsonl", jsonl(entry(roles={})), "CF101", 2, None),
    ("event-number", "h.jsonl", jsonl(entry(event=5)), "CF101", 2, None),
    ("event-empty", "h.jsonl", jsonl(entry(event="")), "CF107", 2, None),
    ("data-list", "h.jsonl", jsonl(entry(data=[])), "CF101", 2, None),
    ("data-text", "h.jsonl", jsonl(entry(data="x")), "CF101", 2, None),
    ("ref-text", "h.jsonl", jsonl(entry(ref="x")), "CF101", 2, None),
    ("hash-number", "h.jsonl", jsonl(entry(hash=5)), "CF101", 2, None),
    ("prev-hash-list", "h.jsonl", jsonl(entry(prev_hash=[])), "CF101", 2, None),
    ("unknown-key", "h.jsonl", jsonl(entry(form="x")), "CF103", 2, None),
    ("source-instead-of-from", "h.jsonl", jsonl(entry(source="x")), "CF103", 2, None),
    ("actor-missing", "h.jsonl", jsonl(entry(actor=None)), "CF102", 2, None),
    ("roles-missing", "h.jsonl", jsonl(entry(roles=None)), "CF102", 2, None),
    # duplicate keys
    ("duplicate-key", "h.jsonl", jsonl(_DUP), "CF002", 2, None),
    ("duplicate-key-space-before-colon", "h.jsonl", jsonl(entry()[:-1] + ', "actor" : "mallory"}'), "CF002", 2,
     None),
    ("duplicate-key-in-data", "h.jsonl", jsonl(raw(entry(data={"@": 1}), '"@": 1', '"v": 1, "v": 2')), "CF002", 2,
     None),
    ("duplicate-key-json-doc", "h.json", ("[" + json.dumps(OPENED)[:-1] + ', "actor": "x"}]').encode(), "CF002", 1,
     None),
    # documents
    ("scalar-document", "h.json", b"42", "CF008", 1, 1),
    ("entries-not-a-list", "h.json", b'{"entries": {"kind": "opened"}}', "CF101", 1, None),
    ("envelope-unknown-key", "h.json", ('{"entries": [' + json.dumps(OPENED) + '], "extra": 1}').encode(), "CF103",
     1, None),
    ("not-json-at-all", "h.json", b"{nope", "CF001", 1, 2),
]


def _first(path: Path) -> HistoryFileError:
    with pytest.raises(HistoryFileError) as info:
        read_history(path)
    return info.value


@pytest.mark.parametrize(("name", "content", "code", "line", "column"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_a_hostile_history_file_is_refused_at_its_place(tmp_path: Path, name: str, content: bytes, code: str,
                                                         line: int, column: int | None) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    exc = _first(path)
    first = exc.diagnostics[0]
    assert exc.code == "CF009" and exc.file == str(path)
    assert (first.code, first.location.line) == (code, line), exc.format()
    assert first.code in CODES
    if column is not None:
        assert first.location.column == column, exc.format()
    assert first.format().startswith(f"{path}:{line}")
    with pytest.raises(HistoryFileError) as streamed:  # the streaming reader agrees
        replay(PSHT, path)
    assert streamed.value.diagnostics[0] == first


def test_there_are_at_least_sixty_hostile_files() -> None:
    assert len(CASES) >= 60
    assert len({case[0] for case in CASES}) == len(CASES)


def test_a_line_past_the_line_limit_is_refused_without_holding_it(tmp_path: Path) -> None:
    from careflow.history.jsonl import MAX_LINE_BYTES

    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:
        out.write(jsonl())
        out.write(b'{"actor": "' + b"x" * MAX_LINE_BYTES + b'"}\n')
        out.write(b"{broken\n")
    exc = _first(path)
    assert [(d.code, d.location.line) for d in exc.diagnostics] == [("CF006", 2), ("CF001", 3)], exc.format()


def test_a_document_past_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from careflow.history import reader

    monkeypatch.setattr(reader, "MAX_DOCUMENT_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"entries": [OPENED, OPENED, OPENED]}, indent=2), "utf-8")
    exc = _first(path)
    assert exc.diagnostics[0].code == "CF006" and "JSON Lines" in (exc.diagnostics[0].hint or "")


# -- case import: the case JSON is read as the history reader reads JSON -------------------------------

_CASE_HEAD = '{"format": "careflow.case/1", "process_id": "psht", "data": {"v": @}}'
IMPORTS: list[tuple[str, bytes, str, int, int | None]] = [
    ("deep-nesting", _CASE_HEAD.replace("@", "[" * 100_000 + "]" * 100_000).encode(), "CF005", 1,
     _CASE_HEAD.index("@") + DEEP - 2),
    ("deep-nesting-later-line", ("{\n" + _CASE_HEAD[1:].replace("@", "{\"a\":" * 3000 + "1" + "}" * 3000)).encode(),
     "CF005", 2, None),
    ("int-past-4300-digits", _CASE_HEAD.replace("@", HUGE).encode(), "CF006", 1, _CASE_HEAD.index("@") + 1),
    ("nan", _CASE_HEAD.replace("@", "NaN").encode(), "CF107", 1, None),
    ("float-overflow", _CASE_HEAD.replace("@", "1e999").encode(), "CF107", 1, None),
    ("lone-surrogate", _CASE_HEAD.replace("@", '"\\ud800"').encode(), "CF107", 1, None),
    ("invalid-utf8", _CASE_HEAD.replace("@", '"\xff"').encode("latin-1"), "CF009", 1, _CASE_HEAD.index("@") + 2),
    ("duplicate-key", _CASE_HEAD.replace("@}}", '1}, "process_id": "other"}').encode(), "CF002", 1, None),
    ("not-json", b'{"format": ', "CF001", 1, None),
]


@pytest.mark.parametrize(("content", "code", "line", "column"), [pytest.param(*c[1:], id=c[0]) for c in IMPORTS])
def test_case_import_of_hostile_json_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        content: bytes, code: str, line: int,
                                                        column: int | None) -> None:
    from careflow.cli.main import main

    path = tmp_path / "case.json"
    path.write_bytes(content)
    assert main(["case", "import", str(path), "--store", f"sqlite:///{tmp_path}/cases.db"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    where = f":{column}" if column is not None else r"(:\d+)?"
    assert re.search(rf"^{re.escape(str(path))}:{line}{where}: error {code} ", err), err
    assert len(err.splitlines()) <= 3  # one diagnostic and its hint, not a dump of the input


# -- diagnostics are capped ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "bad"), [("syntax.jsonl", "{not json"), ("schema.jsonl", '{"kind": "opened"}'),
                                           ("lines.json", "[1, 2, 3")])
def test_a_million_bad_lines_give_a_hundred_diagnostics_and_a_count(tmp_path: Path, name: str, bad: str) -> None:
    from careflow.history.jsontext import MAX_DIAGNOSTICS

    path = tmp_path / name
    lines = 5_000 if name == "schema.jsonl" else 200_000  # the schema's wording is slower; the cap is the same
    path.write_text((bad + "\n") * lines, "utf-8")
    exc = _first(path)
    if name == "lines.json":  # a JSON document stops at its first error
        assert len(exc.diagnostics) == 1
        return
    assert len(exc.diagnostics) == MAX_DIAGNOSTICS + 1
    more = re.match(r"(\d+) more problem\(s\) not shown", exc.diagnostics[-1].message)
    assert more is not None and int(more.group(1)) >= lines - MAX_DIAGNOSTICS
    assert len(exc.format().splitlines()) <= 2 * MAX_DIAGNOSTICS + 2
