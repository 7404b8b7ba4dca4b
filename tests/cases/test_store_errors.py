"""The store's exceptions are data like every other careflow error: registered codes, a hint."""

from __future__ import annotations

import pytest

from careflow import errors
from careflow.errors import CODES, CareflowError, CaseExists, CaseNotFound, ConcurrentUpdate, SchemaTooNew, StoreError


@pytest.mark.parametrize(("error", "code", "name"), [
    (StoreError("x", "y"), "CF950", "store-error"),
    (ConcurrentUpdate("k1", 2, 3), "CF951", "concurrent-update"),
    (CaseNotFound("k1"), "CF952", "case-not-found"),
    (CaseExists("k1"), "CF953", "case-exists"),
    (SchemaTooNew("newer", "upgrade"), "CF954", "schema-too-new"),
])
def test_store_errors_carry_registered_codes_and_hints(error: StoreError, code: str, name: str) -> None:
    assert isinstance(error, CareflowError) and isinstance(error, StoreError)
    assert error.code == code and CODES[code] == name
    assert error.hint and f"hint: {error.hint}" in str(error)


def test_concurrent_update_says_which_versions() -> None:
    gone, moved = ConcurrentUpdate("k1", 2, None), ConcurrentUpdate("k1", 2, 3)
    assert "is gone" in str(gone) and "is at version 3" in str(moved)
    assert (moved.case_id, moved.expected, moved.actual, moved.cached) == ("k1", 2, 3, False)


def test_every_careflow_error_code_is_registered() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, CareflowError)]
    assert StoreError in classes
    assert all(c.code in CODES for c in classes if c is not CareflowError)
