"""The case-id limit as a pure function: any value either passes unchanged or raises ``InvalidCaseId``."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.cases.store.ids import (
    MAX_CASE_ID_CHARS,
    MAX_STORED_ID_BYTES,
    check_case_id,
    check_stored_id,
    child_of,
    shown,
)
from careflow.errors import InvalidCaseId


@settings(max_examples=500)
@given(st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.text(min_size=190, max_size=260)))
def test_an_id_passes_unchanged_or_is_refused_with_cf955(value: object) -> None:
    try:
        accepted = check_case_id(value)
    except InvalidCaseId as exc:
        assert exc.code == "CF955" and exc.hint and "\n    hint:" in str(exc)
        assert all(c.isprintable() for c in str(exc).split("\n")[0])
        return
    assert accepted is value and isinstance(accepted, str)
    assert 0 < len(accepted) <= MAX_CASE_ID_CHARS and ":" not in accepted and accepted == accepted.strip()
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in accepted)
    assert check_stored_id(accepted) is accepted


@pytest.mark.parametrize(("case_id", "family"), [("p:7", ("p", 7)), ("a:b:12", ("a:b", 12)), ("p", None),
                                                  ("p:", None), (":3", None), ("p:07", None), ("p:x", None),
                                                  ("p:٣", None)])
def test_child_ids_name_their_parent_and_seq(case_id: str, family: tuple[str, int] | None) -> None:
    assert child_of(case_id) == family


def test_stored_ids_may_be_longer_but_not_past_the_byte_limit() -> None:
    long_child = "p" * 200 + ":1" * 300
    assert check_stored_id(long_child) == long_child
    with pytest.raises(InvalidCaseId, match=f"at most {MAX_STORED_ID_BYTES}"):
        check_stored_id("é" * 600)


def test_messages_never_carry_the_raw_id() -> None:
    assert shown("a\x00\x1b[2J" + "x" * 100) == repr("a\\x00\\x1b[2J" + "x" * 28 + "...")
    assert shown(b"k") == "of type bytes"
