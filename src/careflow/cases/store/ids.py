"""The one case-id limit, the same on every store, checked before anything is read or written.

A case id given by a caller is 1-200 characters of printable Unicode text: no control, format,
separator or surrogate characters (so no NUL, no newline, no ANSI escape, no bidi override), no space at
either end, and no ``:``. The ``:`` is kept for the cases handoffs open: a child's id is its parent's id,
``:`` and the seq of the parent's ``spawned`` entry, so nobody can create a child's id before its
parent's handoff does (``BaseStore.create`` admits such an id only when the parent's log names it).
Child ids nest, so a stored id may be longer: up to 1024 bytes of UTF-8, which every store indexes.

These functions are pure; ``Case.open`` or the runtime boundary may call ``check_case_id`` as well.
"""

from __future__ import annotations

import unicodedata

from careflow.errors import InvalidCaseId

#: Characters in an id a caller chooses.
MAX_CASE_ID_CHARS = 200
#: UTF-8 bytes in any stored id, children's included (PostgreSQL's index rows stay far below their 2.7 KB).
MAX_STORED_ID_BYTES = 1024
#: Separates a child's id from its parent's; never in an id a caller chooses.
CHILD_SEPARATOR = ":"

_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"})


def shown(value: object) -> str:
    """A short, printable description of an id for messages (never the raw hostile text)."""
    if not isinstance(value, str):
        return f"of type {type(value).__name__}"
    text = value.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def _bad_character(case_id: str) -> str | None:
    if case_id.isascii() and case_id.isprintable():
        return None  # the common case, at C speed
    for index, char in enumerate(case_id):
        if char != " " and unicodedata.category(char) in _BAD_CATEGORIES:
            return f"has a control, format or separator character (U+{ord(char):04X}) at position {index}"
    return None


def check_stored_id(case_id: object) -> str:
    """``case_id`` if it may name a stored case (a caller's id or a child's), else ``InvalidCaseId``."""
    if type(case_id) is not str:
        raise InvalidCaseId(shown(case_id), "is not text")
    if not case_id:
        raise InvalidCaseId("''", "is empty")
    size = len(case_id) if case_id.isascii() else len(case_id.encode("utf-8", "surrogatepass"))
    if size > MAX_STORED_ID_BYTES:
        raise InvalidCaseId(shown(case_id), f"is {size} bytes long; ids are at most {MAX_STORED_ID_BYTES}")
    problem = _bad_character(case_id)
    if problem is not None:
        raise InvalidCaseId(shown(case_id), problem)
    if case_id != case_id.strip():
        raise InvalidCaseId(shown(case_id), "starts or ends with a space")
    return case_id


def check_case_id(case_id: object) -> str:
    """``case_id`` if a caller may choose it for a new case, else ``InvalidCaseId`` (stable code CF955)."""
    if type(case_id) is str and len(case_id) > MAX_CASE_ID_CHARS:
        raise InvalidCaseId(shown(case_id), f"is {len(case_id)} characters long; ids are at most "
                                            f"{MAX_CASE_ID_CHARS}")
    check_stored_id(case_id)
    assert isinstance(case_id, str)
    if CHILD_SEPARATOR in case_id:
        raise InvalidCaseId(shown(case_id), f"contains '{CHILD_SEPARATOR}', which only the ids of cases opened "
                                            "by a handoff contain",
                            "choose an id without ':' (a handoff names its child '<parent>:<seq>' itself)")
    return case_id


def child_of(case_id: str) -> tuple[str, int] | None:
    """(parent id, seq of the parent's ``spawned`` entry) when ``case_id`` has a child's form, else None."""
    parent, sep, seq = case_id.rpartition(CHILD_SEPARATOR)
    if not sep or not parent or not seq.isascii() or not seq.isdigit() or seq != str(int(seq)):
        return None
    return parent, int(seq)


__all__ = ["CHILD_SEPARATOR", "MAX_CASE_ID_CHARS", "MAX_STORED_ID_BYTES", "check_case_id", "check_stored_id",
           "child_of", "shown"]
