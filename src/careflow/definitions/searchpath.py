"""The checks on the directories of the process search path: a bad ``CAREFLOW_PATH`` entry is skipped with a
``SearchPathWarning`` that says why, never a traceback.

An entry is skipped when it holds a NUL, has a name longer than the file system allows, does not exist, is
not a directory, or cannot be listed. Each entry is warned about once per process (``forget_warnings``
starts over, as ``careflow.definitions.loader.refresh`` does).
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from careflow.errors import SearchPathWarning

_NAME_MAX = 255  # bytes in one path component on the common file systems
_WARNED: set[str] = set()


def usable_dir(entry: str) -> bool:
    problem = dir_problem(entry)
    if problem is not None and entry not in _WARNED and len(_WARNED) < 1000:
        _WARNED.add(entry)
        shown = entry if len(entry) <= 80 else f"{entry[:50]}…{entry[-20:]} ({len(entry)} characters)"
        warnings.warn(SearchPathWarning(f"CAREFLOW_PATH entry {shown!r} skipped: {problem}"), stacklevel=5)
    return problem is None


def dir_problem(entry: str) -> str | None:
    """Why ``entry`` cannot be searched for processes, or None."""
    if "\0" in entry:
        return "it contains a NUL character"
    if any(len(os.fsencode(part)) > _NAME_MAX for part in Path(entry).parts):
        return f"a name in it is longer than {_NAME_MAX} bytes"
    try:
        if not stat.S_ISDIR(os.stat(entry).st_mode):
            return "it is not a directory"
    except OSError as exc:
        return "it does not exist" if isinstance(exc, FileNotFoundError) else f"it cannot be read ({exc.strerror})"
    if not os.access(entry, os.R_OK | os.X_OK):
        return "it cannot be read (permission denied)"
    return None


def listing(directory: Path) -> list[Path]:
    """The files in ``directory``, sorted; none when it cannot be listed (a search path skips it)."""
    try:
        return sorted(directory.iterdir()) if directory.is_dir() else []
    except (OSError, ValueError):
        return []


def forget_warnings() -> None:
    _WARNED.clear()
