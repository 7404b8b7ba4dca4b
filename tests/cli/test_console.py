"""What the ``careflow`` command prints: ``escape`` (one value on one line), ``safe_lines`` (whole output,
JSON kept valid), the one error formatter, and who may act (``parse_actor``) and on which process."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cli.console import escape, format_error, indent_continuations, json_text, safe_lines
from careflow.cli.identities import SYSTEM, parse_actor, process_by_id
from careflow.errors import CareflowError, NotAProcessId, ProcessNotFound
from careflow.model.definition import SYSTEM_ACTOR, SYSTEM_ROLE
from tests.support import PROCESSES

# -- escape -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "shown"), [
    ("p1", "p1"),
    ("pasient-ø", "pasient-ø"),
    ("a b", "a b"),
    ("two\nlines", "two\\nlines"),
    ("cr\rover", "cr\\rover"),
    ("tab\there", "tab\\there"),
    ("\x1b[31mred\x1b[0m", "\\u001b[31mred\\u001b[0m"),
    ("csi\x9b2J", "csi\\u009b2J"),
    ("del\x7f", "del\\u007f"),
    ("nul\x00", "nul\\u0000"),
    ("back\\slash", "back\\\\slash"),
    ("line\u2028sep", "line\\u2028sep"),
    ("rtl\u202eevil", "rtl\\u202eevil"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("lone\udcffsurrogate", "lone\\udcffsurrogate"),
    ("tag\U000e0041", "tag\\udb40\\udc41"),
])
def test_escape_writes_one_printable_line(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_escape_takes_any_value_and_keeps_backslashes_when_asked() -> None:
    assert escape(42) == "42" and escape(None) == "None" and escape(Path("a\nb")) == "a\\nb"
    assert escape("a\\nb\n", keep_backslash=True) == "a\\nb\\n"


@settings(max_examples=300)
@given(st.text())
def test_escape_is_printable_single_line_and_json_reads_it_back(text: str) -> None:
    shown = escape(text)
    assert shown.isprintable() and "\n" not in shown
    assert json.loads('"' + shown.replace('"', '\\"') + '"') == text


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=300)
@given(_JSON, st.sampled_from([None, 2]))
def test_output_lines_keep_json_valid_and_equal(value: Any, indent: int | None) -> None:
    printed = safe_lines(json_text(value, indent))
    assert all(line.isprintable() for line in printed.split("\n"))
    assert json.loads(printed) == value


def test_safe_lines_keeps_line_breaks_only() -> None:
    assert safe_lines("a\nb\x1b[2J\rc") == "a\nb\\u001b[2J\\rc"
    assert safe_lines("plain") == "plain"


# -- the one error formatter ----------------------------------------------------------------------------


def test_an_error_s_later_lines_are_indented() -> None:
    exc = ProcessNotFound("x\nerror CF000: forged")
    shown = format_error(exc)
    assert shown.startswith("error CF010: no process named 'x")
    assert all(line.startswith(" ") for line in shown.split("\n")[1:])
    assert indent_continuations("a\n    hint: b\nc") == "a\n    hint: b\n    c"


def test_an_error_without_a_code() -> None:
    assert format_error(ValueError("bad")) == "error: bad"
    assert format_error(CareflowError("x")) == "error CF000: x"


# -- who acts -------------------------------------------------------------------------------------------


def test_the_reserved_id_is_the_runtime_s() -> None:
    assert SYSTEM == SYSTEM_ACTOR == SYSTEM_ROLE


def test_people_with_roles() -> None:
    ann = parse_actor("ann:nurse,doctor")
    assert ann.id == "ann" and ann.roles == frozenset({"nurse", "doctor"})
    assert parse_actor("ann").roles == frozenset() and parse_actor("ann:nurse,,").roles == frozenset({"nurse"})
    assert parse_actor("systemic:nurse").id == "systemic"


@pytest.mark.parametrize(("text", "message"), [
    ("system", "cannot act as the system"),
    ("system:system", "cannot act as the system"),
    ("system:system,nurse", "cannot act as the system"),
    ("System:nurse", "cannot act as the system"),
    (" system ", "cannot act as the system"),
    ("bob:system", "cannot hold it"),
    ("bob:nurse,SYSTEM", "cannot hold it"),
    ("", "give ACTOR"),
    (":nurse", "give ACTOR"),
    ("  :nurse", "give ACTOR"),
    ("bob:Nurse", "is not a role name"),
    ("bob:nurse\n", "is not a role name"),
    ("bob:1st", "is not a role name"),
    ("bob:" + "r" * 65, "is not a role name"),
])
def test_what_a_person_cannot_claim(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_actor(text)


# -- which process ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("process_id", ["/etc/shadow", "../psht", "psht.yaml", "PSHT", "", "p" * 65, 7, None,
                                        ["psht"], "psht\n", "./psht", "~/psht"])
def test_a_process_id_from_data_is_never_a_path(process_id: object) -> None:
    with pytest.raises(NotAProcessId) as info:
        process_by_id(process_id, None)
    assert info.value.code == "CF981" and "\n" not in str(info.value)
    assert isinstance(info.value, ProcessNotFound)


def test_a_process_id_is_looked_up_in_the_given_files_then_the_search_path() -> None:
    relay, flow = str(PROCESSES / "case_role.yaml"), str(PROCESSES / "flow.yaml")
    assert process_by_id("relay", [flow, relay]).id == "relay"
    assert process_by_id("psht", [flow]).id == "psht"
    with pytest.raises(ProcessNotFound, match="no process named 'relay'"):
        process_by_id("relay", [flow])
