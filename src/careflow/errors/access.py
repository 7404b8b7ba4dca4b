"""The access log's refusal: a read that does not say who reads, or why, in a form careflow can record."""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import StoreError

CODES.update({"CF967": "invalid-reader"})


class InvalidReader(StoreError):
    """A reader that is not an ``Actor`` with a good id and roles, or a purpose that is not non-empty,
    printable, one-line text within the limit (docs/limits.md). Raised before anything is read."""

    code = "CF967"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint or "name the reader as an Actor and state the purpose of the read in "
                                          "one line of text (see docs/records.md)")


__all__ = ["InvalidReader"]
