"""The stores' refusals to open or to write: no store there, not a store, a damaged store, a read-only
store, a case id outside the documented limit, a lock taken out of order. Every one is a ``StoreError``
(so it carries a ``hint``) with its own registered code; ``docs/limits.md`` lists them.
"""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import StoreError

CODES.update({
    "CF955": "bad-case-id",
    "CF956": "no-store",
    "CF957": "not-a-store",
    "CF958": "store-damaged",
    "CF959": "store-read-only",
    "CF960": "lock-conflict",
    "CF961": "tampered-case",
})


class InvalidCaseId(StoreError):
    """A case id outside the documented limit (length, characters, the ``:`` kept for handoff children).

    Raised before anything is read or written; ``case_id`` is a short, printable description of it."""

    code = "CF955"

    def __init__(self, shown: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"case id {shown} {problem}",
                         hint or "a case id is 1-200 printable characters, without ':' and without spaces at "
                                 "either end (see docs/limits.md)")
        self.case_id = shown


class StoreMissing(StoreError):
    """No careflow store at the URL (no file, an empty file, a schema without careflow's tables), and the
    caller did not ask to create one. Nothing was written."""

    code = "CF956"


class NotAStore(StoreError):
    """The URL names something that is not a careflow store: a directory, a text file, another program's
    SQLite database, a device. It was not changed."""

    code = "CF957"


class StoreDamaged(StoreError):
    """A careflow store that lost part of itself: a truncated or malformed file, a missing table, an
    emptied schema table. Nothing was written."""

    code = "CF958"


class StoreReadOnly(StoreError):
    """A write (or a schema it needs) on a store this process may only read. Reading still works."""

    code = "CF959"


class LockConflict(StoreError):
    """Inside ``store.transaction()``, after changes were sent, a case that sorts before one already locked
    is held by another transaction: waiting could deadlock, so the block is abandoned (nothing is
    committed). Retry it; reading the cases in id order avoids this."""

    code = "CF960"


class TamperedCase(StoreError):
    """A case row that does not match its seal, or audit rows past its head: the row was changed outside
    careflow. Raised before any guard runs; nothing was written (no denied entry, version unchanged).

    ``case_id``: the case; ``field``: the first inconsistent field (``state``, ``data.score``, ``audit``, …)."""

    code = "CF961"

    def __init__(self, case_id: str, field: str, detail: str) -> None:
        super().__init__(f"case '{case_id}' was changed outside careflow: {field}: {detail}; nothing was done",
                         f"run 'careflow audit verify --case {case_id}' and restore the case from a backup "
                         "(see 'What a store checks before it acts' in docs/stores.md)")
        self.case_id = case_id
        self.field = field
        self.detail = detail


__all__ = ["InvalidCaseId", "LockConflict", "NotAStore", "StoreDamaged", "StoreMissing", "StoreReadOnly",
           "TamperedCase"]
