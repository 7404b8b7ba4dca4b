"""Refusals of the records duties (redaction): what cannot be removed, and why. Each is a ``StoreError``
with its own registered code, raised before anything is written."""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import StoreError

CODES.update({"CF975": "redaction-refused"})


class RedactionRefused(StoreError):
    """A redaction that cannot be done as asked: no value of that field to remove, an entry written before
    salted commitments (schema 1: its hash covers the raw value), or no reason given. Nothing was
    written; a redaction refused for lack of the records role is a ``RoleDenied`` instead, and logged."""

    code = "CF975"


__all__ = ["RedactionRefused"]
