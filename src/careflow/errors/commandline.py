"""The errors of ids given where a name is expected, and of the process search path (issue 11, the command line).

- ``NotAProcessId``: a process id read from data (a case file, a store row) that is not of the id form; it
  is never taken for a path;
- ``SearchPathWarning``: a ``CAREFLOW_PATH`` entry that careflow skips, and why.
"""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import CareflowError, ProcessNotFound

CODES.update({
    "CF980": "bad-search-path",
    "CF981": "not-a-process-id",
})


class NotAProcessId(ProcessNotFound):
    """A process id that is not of the form ``[a-z][a-z0-9_]*`` (at most 64 characters): it names no process
    and is never read as a path."""

    code = "CF981"

    def __init__(self, name: object) -> None:
        text = name if isinstance(name, str) else repr(name)
        self.name = text
        shown = repr(text[:80] + ("…" if len(text) > 80 else ""))  # repr: no line break or escape gets through
        CareflowError.__init__(self, f"{shown} is not a process id (a lowercase letter, then lowercase letters, "
                                     "digits or '_', at most 64 characters); a process id in data is never read "
                                     "as a file")


class SearchPathWarning(UserWarning):
    """A ``CAREFLOW_PATH`` entry that is skipped: too long, not a directory, unreadable, or with a NUL."""

    code = "CF980"
