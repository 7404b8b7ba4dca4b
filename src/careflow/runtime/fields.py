"""The one place that names the positions of the runtime's raw tuples, and the records they stand for.

Inside ``runtime/`` a snapshot travels as a plain tuple in ``Snapshot`` field order and an entry as a
plain tuple in ``AuditEntry`` field order (the garbage collector stops tracking tuples of atomic
values, which keeps collections cheap with many open cases). The positions below are the only ones
anybody uses; everything outside ``runtime/`` reads the named fields of ``Snapshot``/``AuditEntry``
through ``snapshot_of`` and ``entry_of``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from careflow.runtime.audit import AuditEntry, RawEntry, cook


class Timer(NamedTuple):
    """A pending deadline: ``state`` was entered and is due at ``due_at``; ``event`` is its ``on_due``.

    A recurring deadline (``every``) has the time the state was entered as ``anchor`` and the number of
    the last occurrence fired as ``occurrence``; ``due_at`` is its next occurrence, ``fired`` that there
    is none left (see ``runtime.recurrence``). A one-off deadline has ``anchor`` None."""

    state: str
    due_at: datetime
    event: str | None
    fired: bool = False
    anchor: datetime | None = None
    occurrence: int = 0


class Link(NamedTuple):
    """A link to another case: ``kind`` is ``parent`` or ``child``; ``seq`` is the parent's entry."""

    kind: str
    process_id: str
    case_id: str
    seq: int


class Snapshot(NamedTuple):
    """Everything about a case at one moment; never mutated (a step that changes ``data`` or ``roles``
    builds new dicts, and a case hands them out only as read-only views)."""

    case_id: str
    leaf: str
    data: dict[str, Any]
    ticks: tuple[tuple[str, str], ...]  # sorted (state id, checklist item id) pairs
    roles: dict[str, str]  # case-scoped role -> person id
    timers: tuple[Timer, ...]
    links: tuple[Link, ...]
    seq: int  # seq of the last entry


RawSnapshot = tuple[Any, ...]

# snapshot positions (Snapshot field order); Final literals, so a checker knows each field's type
S_CASE_ID: Final = 0
S_LEAF: Final = 1
S_DATA: Final = 2
S_TICKS: Final = 3
S_ROLES: Final = 4
S_TIMERS: Final = 5
S_LINKS: Final = 6
S_SEQ: Final = 7

# entry positions (AuditEntry field order)
E_SEQ: Final = 0
E_TIME: Final = 1
E_CASE_ID: Final = 2
E_KIND: Final = 3
E_ACTOR: Final = 4
E_ROLES: Final = 5
E_EVENT: Final = 6
E_SOURCE: Final = 7
E_TARGET: Final = 8
E_DATA: Final = 9
E_REASON: Final = 10
E_CODE: Final = 11
E_DETAIL: Final = 12
E_REF: Final = 13
E_TRANSITION: Final = 14
E_PROCESS_ID: Final = 15
E_PROCESS_VERSION: Final = 16
E_PREV_HASH: Final = 17
E_HASH: Final = 18

_new = tuple.__new__  # NamedTuple(...) goes through a Python __new__; this builds the tuple directly


def snapshot_of(snap: RawSnapshot) -> Snapshot:
    """The named ``Snapshot`` for a raw snapshot tuple (no copy of its fields)."""
    return snap if type(snap) is Snapshot else _new(Snapshot, snap)


def entry_of(entry: RawEntry | AuditEntry) -> AuditEntry:
    """The named ``AuditEntry`` for a raw entry tuple (``data``/``ref`` as read-only mappings)."""
    return cook(entry)


__all__ = ["Link", "RawSnapshot", "Snapshot", "Timer", "entry_of", "snapshot_of"]
