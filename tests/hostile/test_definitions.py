"""Hostile process definitions (issue 11, item 3): guards too deep or too long in every shape, huge or
malformed durations, numbers at the edges, unicode oddities in ids and labels.

Each input is one test: the loader returns a located diagnostic with the expected code, ``loads`` raises
``DefinitionError``, and ``careflow validate`` run in-process exits 1 naming the code, never a traceback.
The second part runs the longest deadlines that pass through ``Case.open``, ``tick`` and every store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.cli.main import main
from careflow.clock import CALENDAR_END, FixedClock, add_calendar
from careflow.definitions.loader import loads, validate_text
from careflow.errors import DefinitionError
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor
from tests.support import T0

# Line numbers below refer to this text: the data fields are on lines 9-13, 'open' on 16, the transition on 19.
BASE = """careflow: 1
id: probe
version: "1"
title: Probe
language: en
roles:
  nurse: {label: Nurse}
data:
  n: {type: integer, default: 0}
  x: {type: number}
  b: {type: boolean}
  xs: {type: array, items: {type: integer}}
  t: {type: string, enum: [low, high]}
initial: open
states:
  open: {label: Open}
  done: {final: true, label: Done}
transitions:
  - {event: finish, from: open, to: done, roles: [nurse], label: Finish}
"""
GUARD_LINE, OPEN_LINE = 19, 16


def guard(text: str) -> str:
    """BASE with ``when: text`` on the transition (JSON quoting is YAML double quoting)."""
    return BASE.replace("label: Finish}", f"label: Finish, when: {json.dumps(text)}}}")


def block_guard(text: str) -> str:
    """BASE with the transition in block style and the guard as a literal block scalar from line 25 on."""
    body = "".join(f"      {line}\n" for line in text.splitlines())
    return BASE.replace("  - {event: finish, from: open, to: done, roles: [nurse], label: Finish}\n",
                        "  - event: finish\n    from: open\n    to: done\n    roles: [nurse]\n    label: Finish\n"
                        "    when: |\n" + body)


def due(text: str) -> str:
    return BASE.replace("open: {label: Open}", f"open: {{label: Open, due: {text}, on_due: finish}}")


def sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


def field(name: str, spec: str) -> str:
    """BASE with data field ``name`` declared as ``spec``."""
    lines = [line for line in BASE.splitlines(keepends=True) if line.startswith(f"  {name}: ")]
    assert len(lines) == 1
    return BASE.replace(lines[0], f"  {name}: {spec}\n")


def nested(n: int, opening: str, leaf: str, closing: str, tail: str = "") -> str:
    return opening * n + leaf + closing * n + tail


# (test id, definition text, expected code, expected line)
HOSTILE: list[tuple[str, str, str, int]] = [
    # -- guards: one level past MAX_DEPTH (50) in every shape that nests -----------------------------------
    ("guard-not-50", guard("not " * 50 + "b"), "CF408", GUARD_LINE),
    ("guard-negation-50", guard("-" * 50 + "x > 0"), "CF408", GUARD_LINE),
    ("guard-plus-50-terms", guard(" + ".join(["n"] * 50) + " > 0"), "CF408", GUARD_LINE),
    ("guard-minus-50-terms", guard("-".join(["n"] * 50) + " > 0"), "CF408", GUARD_LINE),
    ("guard-times-50-terms", guard("*".join(["n"] * 50) + " > 0"), "CF408", GUARD_LINE),
    ("guard-div-50-terms", guard("/".join(["x"] * 50) + " > 0"), "CF408", GUARD_LINE),
    ("guard-lists-50-deep", guard(nested(50, "[", "1", "]", " != []")), "CF408", GUARD_LINE),
    ("guard-calls-50-deep", guard(nested(50, "abs(", "x", ")", " > 0")), "CF408", GUARD_LINE),
    ("guard-subscripts-50", guard("xs" + "[0]" * 50 + " > 0"), "CF408", GUARD_LINE),
    ("guard-and-50-deep", guard(nested(50, "(b and ", "b", ")")), "CF408", GUARD_LINE),
    ("guard-or-50-deep", guard(nested(50, "(b or ", "b", ")")), "CF408", GUARD_LINE),
    ("guard-not-paren-50-deep", guard(nested(50, "not (", "b", ")")), "CF408", GUARD_LINE),
    ("guard-lambdas-60-deep", guard("lambda: " * 60 + "1"), "CF408", GUARD_LINE),
    ("guard-len-of-list-25-deep", guard(nested(25, "len([", "1", "])", " > 0")), "CF408", GUARD_LINE),
    ("guard-not-60-block", block_guard("\n".join(["not"] * 60 + ["b"])), "CF408", 25 + 50),
    # -- guards: brackets past MAX_BRACKETS (100), which Python's parser refuses past 200 -----------------
    ("guard-parens-101", guard(nested(101, "(", "b", ")")), "CF408", GUARD_LINE),
    ("guard-parens-250", guard(nested(250, "(", "b", ")")), "CF408", GUARD_LINE),
    ("guard-braces-101", guard(nested(101, "{", "", "}")), "CF408", GUARD_LINE),
    ("guard-brackets-mixed-200", guard(nested(100, "([", "1", "])", " != []")), "CF408", GUARD_LINE),
    ("guard-parens-unbalanced-150", guard("(" * 150 + "b"), "CF408", GUARD_LINE),
    # -- guards: longer than MAX_LENGTH (2,000 characters) ---------------------------------------------
    ("guard-2001-chars", guard("b" + " " * 1999 + "b"), "CF408", GUARD_LINE),
    ("guard-and-1000-terms", guard(" and ".join(["b"] * 1000)), "CF408", GUARD_LINE),
    ("guard-text-literal-5000", guard("t == '" + "a" * 5000 + "'"), "CF408", GUARD_LINE),
    ("guard-int-literal-4301-digits", guard("n > " + "9" * 4301), "CF408", GUARD_LINE),
    ("guard-100k-chars", guard("b" * 100_000), "CF408", GUARD_LINE),
    ("guard-parens-5000", guard(nested(5000, "(", "b", ")")), "CF408", GUARD_LINE),
    # -- guards: literals no output or data can hold, and other odd text ---------------------------------
    ("guard-infinite-literal", guard("x > 1e999"), "CF403", GUARD_LINE),
    ("guard-lone-surrogate-literal", guard("t == '\\ud800'"), "CF403", GUARD_LINE),
    ("guard-nul-literal", guard("t == '\\x00'"), "CF403", GUARD_LINE),
    ("guard-nul-in-text", guard("b and '\x00'"), "CF401", GUARD_LINE),
    ("guard-bidi-override", guard("b \u202e and b"), "CF401", GUARD_LINE),
    ("guard-ideographic-space", guard("\u3000b"), "CF401", GUARD_LINE),
    ("guard-power-tower", guard("n ** 10 ** 9 > 0"), "CF403", GUARD_LINE),
    ("guard-ansi-escape-enum", guard("t == '\\x1b[31m'"), "CF407", GUARD_LINE),
    # -- durations: past the bound (P100Y = P1200M = P36525D = PT876600H) --------------------------------
    ("due-P7974Y", due("P7974Y"), "CF109", OPEN_LINE),
    ("due-P999999999D", due("P999999999D"), "CF109", OPEN_LINE),
    ("due-5000-digit-days", due("P" + "9" * 5000 + "D"), "CF109", OPEN_LINE),
    ("due-20-digit-seconds", due("PT99999999999999999999S"), "CF109", OPEN_LINE),
    ("due-P101Y", due("P101Y"), "CF109", OPEN_LINE),
    ("due-P1201M", due("P1201M"), "CF109", OPEN_LINE),
    ("due-P36526D", due("P36526D"), "CF109", OPEN_LINE),
    ("due-PT876601H", due("PT876601H"), "CF109", OPEN_LINE),
    ("due-P100YT1S", due("P100YT1S"), "CF109", OPEN_LINE),
    ("due-P5218W", due("P5218W"), "CF109", OPEN_LINE),
    ("due-P99Y12M1D", due("P99Y12M1D"), "CF109", OPEN_LINE),
    # -- durations: malformed ---------------------------------------------------------------------------
    ("due-P", due("P"), "CF109", OPEN_LINE),
    ("due-PT", due("PT"), "CF109", OPEN_LINE),
    ("due-fraction", due("P1.5D"), "CF109", OPEN_LINE),
    ("due-negative", due("-P1D"), "CF109", OPEN_LINE),
    ("due-lowercase", due("p1d"), "CF109", OPEN_LINE),
    ("due-fullwidth-digit", due("P\uff11D"), "CF109", OPEN_LINE),
    ("due-arabic-indic-digits", due("P\u0661\u0664D"), "CF109", OPEN_LINE),
    ("due-trailing-space", due('"P1D "'), "CF109", OPEN_LINE),
    ("due-nul", due('"P\\0D"'), "CF109", OPEN_LINE),
    ("due-repeated-unit", due("PT1H1H"), "CF109", OPEN_LINE),
    ("due-a-number", due("14"), "CF101", OPEN_LINE),
    # -- numbers at the edges ----------------------------------------------------------------------------
    ("default-hex-4800-digits", field("n", "{type: integer, default: 0x" + "f" * 4000 + "}"), "CF101", 9),
    ("default-decimal-4301-digits", field("n", "{type: integer, default: " + "9" * 4301 + "}"), "CF101", 9),
    ("default-number-past-float", field("x", "{type: number, default: 0x" + "f" * 300 + "}"), "CF112", 10),
    ("default-number-infinite", field("x", "{type: number, default: 1e999}"), "CF112", 10),
    ("default-number-nan", field("x", "{type: number, default: .nan}"), "CF112", 10),
    ("default-integer-1e308", field("n", "{type: integer, default: 1e308}"), "CF112", 9),
    ("maximum-infinite", field("x", "{type: number, maximum: .inf}"), "CF107", 10),
    ("minimum-nan", field("n", "{type: integer, minimum: .nan}"), "CF107", 9),
    ("minimum-minus-1e999", field("x", "{type: number, minimum: -1e999}"), "CF107", 10),
    ("maximum-past-float", field("x", "{type: number, maximum: " + "9" * 400 + "}"), "CF107", 10),
    ("careflow-hex-4800-digits", sub("careflow: 1", "careflow: 0x" + "f" * 4000), "CF101", 1),
    ("version-octal-5000-digits", sub('version: "1"', "version: 0o" + "7" * 5000), "CF101", 3),
    ("step-infinite", sub("open: {label: Open}", "open: {label: Open, step: 1e999}"), "CF101", OPEN_LINE),
    # -- unicode oddities in ids and labels --------------------------------------------------------------
    ("id-nul", sub("id: probe", 'id: "pr\\0obe"'), "CF107", 2),
    ("id-rtl-override", sub("id: probe", 'id: "pr\\u202eobe"'), "CF107", 2),
    ("id-100k-chars", sub("id: probe", "id: " + "p" * 100_000), "CF107", 2),
    ("event-cyrillic-homoglyph", sub("event: finish", "event: f\u0456nish"), "CF107", GUARD_LINE),
    ("state-zero-width-space", sub("open: {label: Open}", '"open\\u200b": {label: Open}'), "CF107", OPEN_LINE),
    ("state-inner-bom", sub("open: {label: Open}", '"\\ufeffopen": {label: Open}'), "CF107", OPEN_LINE),
    ("label-lone-surrogate", sub("title: Probe", 'title: "P\\ud800"'), "CF001", 4),
    ("state-key-lone-surrogate", sub("open: {label: Open}", '"op\\udfffen": {label: Open}'), "CF001", OPEN_LINE),
    ("role-lone-surrogate", sub("roles: [nurse]", 'roles: ["nu\\ud800"]'), "CF001", GUARD_LINE),
    ("data-name-lone-surrogate", sub("  b: {type: boolean}", '  "b\\udc00": {type: boolean}'), "CF001", 11),
    ("id-trailing-line-break", sub("id: probe", 'id: "probe\\n"'), "CF107", 2),
    ("event-trailing-line-break", sub("event: finish", 'event: "finish\\n"'), "CF107", GUARD_LINE),
    ("state-key-trailing-line-break", sub("open: {label: Open}", '"open\\n": {label: Open}'), "CF107", OPEN_LINE),
    ("role-key-trailing-line-break", sub("  nurse: {label: Nurse}", '  "nurse\\n": {label: Nurse}'), "CF107", 7),
    ("data-name-trailing-line-break", sub("  b: {type: boolean}", '  "b\\n": {type: boolean}'), "CF107", 11),
    ("label-raw-control-char", sub("title: Probe", "title: Pro\x9bbe"), "CF001", 4),
    ("label-raw-escape-char", sub("title: Probe", "title: Pro\x1b[2Jbe"), "CF001", 4),
]


@pytest.mark.parametrize(("text", "code", "line"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_definition(text: str, code: str, line: int, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    result = validate_text(text, "hostile.yaml")
    found = [(d.code, d.location.line) for d in result.errors]
    assert (code, line) in found, found
    first = next(d for d in result.errors if d.code == code)
    assert isinstance(first.location.column, int) and first.location.column >= 1
    assert first.location.file == "hostile.yaml"
    assert first.location.pointer.startswith("/") or code == "CF001"  # a YAML syntax error has no node yet
    assert first.hint or code not in ("CF408", "CF109"), "a limit names a way out"
    with pytest.raises(DefinitionError):
        loads(text, "hostile.yaml")
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    output = capsys.readouterr()
    assert code in output.out + output.err
    assert "Traceback" not in output.out + output.err


def test_there_are_enough_hostile_definitions() -> None:
    assert len(HOSTILE) >= 50
    assert len({h[0] for h in HOSTILE}) == len(HOSTILE)


# -- the longest deadlines that pass run, and no clock overflows a date ----------------------------------

LONGEST = ["P100Y", "P1200M", "P36525D", "PT876600H", "P5217W"]
NURSE = Actor("nora", {"nurse"})


def late_process(duration: str) -> ProcessDefinition:
    return loads(f"""careflow: 1
id: late
version: "1"
title: Late
language: en
roles:
  nurse: {{label: Nurse}}
initial: open
states:
  open: {{label: Open, due: {duration}, on_due: late}}
  done: {{final: true, label: Done}}
transitions:
  - {{event: finish, from: open, to: done, roles: [nurse], label: Finish}}
  - {{event: late, from: open, to: done, roles: [system], label: Late}}
""", "late.yaml", strict=True)


@pytest.mark.parametrize("duration", LONGEST)
def test_the_longest_deadline_runs_in_a_case(duration: str) -> None:
    process = late_process(duration)
    case = Case.open(process, "longest", clock=FixedClock(T0))
    expected = add_calendar(T0, **_parts(process))
    assert case.due_at == expected and expected.year in (2125, 2126)
    assert not case.tick(expected.replace(year=expected.year - 1)).entries
    assert case.tick(expected).entries[0].event == "late"
    assert case.snapshot.leaf == "done" and case.verify_chain().ok
    again = Case.from_json(process, case.to_json())
    assert again.snapshot.leaf == "done"


def _parts(process: ProcessDefinition) -> dict[str, int]:
    d = next(s for s in process.states if s.id == "open").due
    assert d is not None
    return {"years": d.duration.years, "months": d.duration.months, "days": d.duration.days,
            "seconds": d.duration.seconds}


@pytest.mark.parametrize("start", [datetime(9950, 6, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999,
                                                                                    tzinfo=UTC)])
@pytest.mark.parametrize("duration", LONGEST)
def test_no_clock_makes_a_deadline_overflow(start: datetime, duration: str) -> None:
    process = late_process(duration)
    case = Case.open(process, "end-of-time", clock=FixedClock(start))
    assert case.due_at == CALENDAR_END  # saturated: the last day of the calendar, in any time zone
    assert case.tick(max(start, CALENDAR_END)).entries[0].event == "late"
    assert Case.from_json(process, case.to_json()).snapshot.leaf == "done"


@pytest.mark.parametrize("backend", ["memory", "sqlite", "pg"])
def test_the_longest_deadline_runs_in_every_store(backend: str, request: pytest.FixtureRequest) -> None:
    url: str = "memory:" if backend == "memory" else request.getfixturevalue(f"{backend}_url")
    process = late_process("P100Y")
    store = open_store(url, processes=[process], clock=FixedClock(T0))
    store.create(Case.open(process, "longest", clock=FixedClock(T0)))
    store.create(Case.open(process, "end-of-time", clock=FixedClock(datetime(9999, 1, 1, tzinfo=UTC))))
    assert store.get("longest").due_at == add_calendar(T0, years=100)
    assert store.get("end-of-time").due_at == CALENDAR_END
    assert [i.case_id for i in store.overdue(datetime(9999, 12, 31, 12, tzinfo=UTC))] == ["longest",
                                                                                           "end-of-time"]
    store.tick("longest", add_calendar(T0, years=100))
    store.tick("end-of-time", CALENDAR_END)
    for case_id in ("longest", "end-of-time"):
        assert store.load(case_id).snapshot.leaf == "done"
    assert all(check.ok for check in store.verify_cases())
