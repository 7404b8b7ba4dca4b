"""Entries of a history in their one internal form, and ``History``, the parsed history that holds them.

Entries are read into one internal form (``normalise``): a tuple in ``AuditEntry`` field order with
``ABSENT`` where the history does not give a field (absent fields are not compared by replay), ``time``
parsed, ``roles`` a tuple, ``data``/``ref`` as pairs (the engine's stored form, ``audit.store``).

Checking is two-tier, for speed: every entry goes through hand-written type checks (a fraction of a
microsecond for a complete entry); only a history that fails them is run through the JSON Schema
(``careflow.history.check``), whose errors become located diagnostics. The checks accept nothing the
schema rejects (the tests hold them to it), so the schema stays the contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from careflow.definitions.schema_check import type_name
from careflow.errors import did_you_mean
from careflow.model.frozen import freeze
from careflow.runtime import commitments
from careflow.runtime.audit import JSON_FIELDS, KINDS, AuditEntry, store


class _Absent:
    """Falsy, so ``data or None`` reads an absent ``data`` as no data."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


#: A field the history does not give: replay does not compare it.
ABSENT: Any = _Absent()
SEQ, TIME, CASE_ID, KIND, ACTOR, ROLES, EVENT, SOURCE, TARGET, DATA, REASON, CODE, DETAIL, REF, TRANSITION, \
    PROCESS_ID, PROCESS_VERSION, PREV_HASH, HASH, COMMITS = range(20)
#: The time of a first entry that gives none.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Entry = tuple[Any, ...]


class Problem(NamedTuple):
    """What is wrong with one entry: the key (``""``: the entry itself) and a message."""

    key: str
    message: str
    hint: str | None = None


class History:
    """A parsed history: ``entries`` (internal form), ``given`` (the entries as read, for messages),
    and what the file says around them. ``texts`` are the JSON Lines as read: a line written in the
    canonical form lets replay check its hash without re-encoding the entry."""

    __slots__ = ("_given", "case_id", "entries", "expect", "file", "lines", "problem", "process", "sealed",
                 "stored", "texts", "version")

    def __init__(self, entries: list[Entry], given: Sequence[Any] | None, *, file: str | None = None,
                 lines: list[int | None] | None = None, texts: list[str] | None = None,
                 process: str | None = None, version: str | None = None, case_id: str | None = None,
                 expect: Mapping[str, Any] | None = None, stored: Mapping[str, Any] | None = None,
                 problem: tuple[int, Problem] | None = None) -> None:
        self.entries, self._given, self.file, self.lines, self.texts = entries, given, file, lines, texts
        self.process, self.version, self.case_id, self.expect, self.stored = process, version, case_id, expect, stored
        self.problem = problem  # the first structural problem of in-memory entries (files raise instead)
        self.sealed = any(e[HASH] is not ABSENT and e[HASH] is not None for e in entries)

    @property
    def given(self) -> Sequence[Any]:
        """The entries as the history gives them (JSON mappings or ``AuditEntry``)."""
        if self._given is None:
            self._given = [json.loads(t) for t in self.texts or ()]
        return self._given

    def given_entry(self, index: int) -> Any:
        """Entry ``index`` as the history gives it (None past the end)."""
        if self._given is not None:
            return self._given[index] if index < len(self._given) else None
        if self.texts is not None and index < len(self.texts):
            return json.loads(self.texts[index])  # JSON Lines keep their text only: fewer live objects
        return None

    def line(self, index: int) -> int | None:
        return self.lines[index] if self.lines is not None and index < len(self.lines) else None

    def process_id(self) -> str | None:
        """The process this history names: its envelope's ``process``, a case JSON's ``process_id``, else its
        first entry's ``process_id``; None when it names none."""
        return self._named("process", "process_id", PROCESS_ID)

    def named_case_id(self) -> str | None:
        """The case this history records: its envelope's or case JSON's ``case_id``, else its first entry's."""
        return self._named("case_id", "case_id", CASE_ID)

    def _named(self, attribute: str, stored_key: str, slot: int) -> str | None:
        for value in (getattr(self, attribute), (self.stored or {}).get(stored_key),
                      self.entries[0][slot] if self.entries else None):
            if isinstance(value, str) and value:
                return value
        return None

    def records(self) -> list[Mapping[str, Any]]:
        """The entries as JSON mappings with the file's own keys (``from``/``to``; an ``AuditEntry`` in full):
        what coverage and overlays read. Fields the history does not give are absent here too."""
        return [e.to_json() if isinstance(e, AuditEntry) else e for e in self.given]

    def __len__(self) -> int:
        return len(self.entries)

# -- one entry ----------------------------------------------------------------------------------------

_SLOTS = {name: i for i, name in enumerate(JSON_FIELDS)}
_ALL = itemgetter(*JSON_FIELDS[:17])  # all but prev_hash and hash, which may be left out
_ATOMIC = frozenset({str, int, float, bool, type(None)})
_HASH_TYPES = frozenset({str, type(None), _Absent})
_KINDS = frozenset(KINDS)
_NEEDS_EVENT = frozenset({"fired", "denied", "deadline", "report", "reported"})
_STR, _OPT = (str,), (str, type(None))
_TYPES: tuple[tuple[type, ...], ...] = (
    (int,), _STR, _STR, _STR, _STR, (list, tuple), _OPT, _OPT, _OPT, (dict,), _OPT, _OPT, _OPT, (dict, type(None)),
    _OPT, _STR, _STR, _OPT, _OPT)
_GOOD_SIGNATURES: set[tuple[type, ...]] = set()  # type signatures of complete entries seen to be right
_GOOD_ROLES: set[tuple[str, ...]] = set()
_TIME_HINT = "write an ISO 8601 time with a UTC offset, e.g. 2026-09-07T08:30:00+00:00"


def _time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _roles_ok(roles: tuple[Any, ...]) -> bool:
    if roles in _GOOD_ROLES:
        return True
    if all(type(r) is str and r for r in roles):
        if len(_GOOD_ROLES) < 10_000:
            _GOOD_ROLES.add(roles)
        return True
    return False


def _pairs(value: Any) -> tuple[tuple[str, Any], ...] | None:
    """``data``/``ref`` in the stored form the engine produces: (key, frozen value) pairs, None when empty."""
    if not value:
        return None
    for v in value.values():
        if type(v) not in _ATOMIC:
            return tuple((k, freeze(v)) for k, v in value.items())
    return tuple(value.items())


def normalise(obj: Any) -> Entry | Problem:
    """``obj`` (an ``AuditEntry`` or a JSON entry) in the internal form, or what is wrong with it.

    The form has a 20th slot, ``COMMITS``: a committed entry's commitments (``data`` written as
    ``{"#commit": ...}`` and its kept values in ``values``; see ``careflow.runtime.commitments``), else None.
    """
    if type(obj) is AuditEntry:
        return store(obj)
    commits = None
    if isinstance(obj, Mapping) and ("values" in obj or _marked(obj.get("data"))):
        try:
            got = commitments.from_json(obj.get("data"), obj.get("values"))
        except (ValueError, TypeError) as exc:
            return Problem("values" if "values" in obj else "data", str(exc))
        obj = {k: v for k, v in obj.items() if k != "values"}  # not committed: read as scheme 1 (its hash tells)
        if got is not None:
            obj["data"], commits = got
    entry = _normalise(obj)
    return entry if isinstance(entry, Problem) else (*entry, commits)


def _marked(data: Any) -> bool:
    return isinstance(data, Mapping) and len(data) == 1 and commitments.MARK in data


def _normalise(obj: Any) -> Entry | Problem:
    """``normalise`` of an entry whose data is in its plain form (19 slots).

    The internal form is the engine's stored form (``audit.store``): a plain tuple in field order,
    ``data``/``ref`` as pairs of frozen values or None. So a recorded entry and the entry the engine
    produces for it compare as one tuple comparison when they agree, the case that must be fast.
    """
    size = len(obj) if type(obj) is dict else 0
    if 17 <= size <= 19:
        # Complete entries as careflow writes them: one C call gets the fields, their types are checked
        # as one signature, so the cost is a few hundred nanoseconds.
        try:
            v = _ALL(obj)
        except KeyError:
            return _normalise_slowly(obj)
        prev, digest = obj.get("prev_hash", ABSENT), obj.get("hash", ABSENT)
        sig = tuple(map(type, v))
        if (17 + (prev is not ABSENT) + (digest is not ABSENT) == size
                and (sig in _GOOD_SIGNATURES or _good_signature(sig))
                and type(prev) in _HASH_TYPES and type(digest) in _HASH_TYPES):
            kind, event, roles = v[KIND], v[EVENT], tuple(v[ROLES])
            time = _time(v[TIME])
            if (time is not None and kind in _KINDS and v[ACTOR] and v[SEQ] >= 0 and _roles_ok(roles)
                    and (event if kind in _NEEDS_EVENT else event != "") and (kind != "assigned" or _ref_ok(v[REF]))):
                ref = v[13]
                return (v[0], time, v[2], kind, v[4], roles, event, v[7], v[8], _pairs(v[9]), v[10], v[11], v[12],
                        None if ref is None else _pairs(ref) or (), v[14], v[15], v[16], prev, digest)
    return _normalise_slowly(obj)


def _good_signature(sig: tuple[type, ...]) -> bool:
    if all(t in ok for t, ok in zip(sig, _TYPES, strict=False)):
        _GOOD_SIGNATURES.add(sig)
        return True
    return False


def _ref_ok(ref: Any) -> bool:
    return (isinstance(ref, Mapping) and type(ref.get("role")) is str
            and "person" in ref and (ref["person"] is None or type(ref["person"]) is str))


def _normalise_slowly(obj: Any) -> Entry | Problem:
    """Any entry, partial or complete; the first problem in it, worded for an author."""
    if not isinstance(obj, Mapping):
        return Problem("", f"an entry must be a mapping, not {type_name(obj)}")
    out: list[Any] = [ABSENT] * 19
    for key, value in obj.items():
        slot = _SLOTS.get(key)
        if slot is None:
            hint = "write 'from'/'to'" if key in ("source", "target") else did_you_mean(str(key), JSON_FIELDS, "key")
            return Problem(str(key), f"unknown key '{key}'", hint)
        problem = _field_problem(slot, value)
        if problem is not None:
            return Problem(key, f"'{key}' {problem}", _TIME_HINT if slot == TIME else None)
        out[slot] = value
    for required in ("actor", "roles"):
        if required not in obj:
            return Problem("", f"'{required}' is required")
    kind = out[KIND] if out[KIND] is not ABSENT else "fired"
    out[KIND] = kind
    if kind in _NEEDS_EVENT and not isinstance(out[EVENT], str):
        return Problem("event" if "event" in obj else "", f"'event' is required in a '{kind}' entry")
    if kind == "assigned" and not _ref_ok(out[REF]):
        return Problem("ref", "an 'assigned' entry needs 'ref: {role: ..., person: ...}'")
    if out[TIME] is not ABSENT:
        out[TIME] = _time(out[TIME])
    out[ROLES] = tuple(out[ROLES])
    if out[DATA] is not ABSENT:
        out[DATA] = _pairs(out[DATA])
    if out[REF] is not ABSENT and out[REF] is not None:
        out[REF] = _pairs(out[REF]) or ()  # an empty ref is not a null one (as in audit.store): the hash differs
    return tuple(out)


def _field_problem(slot: int, value: Any) -> str | None:
    if type(value) not in _TYPES[slot]:
        if slot in (DATA, REF) and isinstance(value, Mapping):
            return None
        words = {SEQ: "a whole number", ROLES: "a list of role ids", DATA: "a mapping", REF: "a mapping or null"}
        want = words.get(slot) or ("text" if _TYPES[slot] == _STR else "text or null")
        return f"must be {want}, not {type_name(value)}"
    if slot == SEQ and value < 0:
        return "must be 0 or more"
    if slot == TIME and _time(value) is None:
        return f"is not an ISO 8601 time with a UTC offset: {value!r}"
    if slot == KIND and value not in _KINDS:
        hint = did_you_mean(value, KINDS)
        return f"must be one of {', '.join(KINDS)}, not {value!r}" + (f" ({hint})" if hint else "")
    if slot in (ACTOR, EVENT) and value == "":
        return "must not be empty"
    if slot == ROLES and not all(type(r) is str and r for r in value):
        return "must be a list of role ids (non-empty text)"
    return None


def from_entries(entries: Iterable[Any], **meta: Any) -> History:
    """In-memory entries (``AuditEntry`` or JSON mappings) as a ``History``; the first structural problem
    is kept in ``problem`` (replay reports it as a divergence), not raised."""
    given = entries if isinstance(entries, list | tuple) else list(entries)
    out: list[Entry] = []
    problem = None
    for index, obj in enumerate(given):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            problem = (index, entry)
            break
        out.append(entry)
    return History(out, given, problem=problem, **meta)


__all__ = ["ABSENT", "ACTOR", "CASE_ID", "CODE", "COMMITS", "DATA", "DETAIL", "EPOCH", "EVENT", "HASH", "KIND",
           "PREV_HASH",
           "PROCESS_ID", "PROCESS_VERSION", "REASON", "REF", "ROLES", "SEQ", "SOURCE", "TARGET", "TIME", "TRANSITION",
           "Entry", "History", "Problem", "from_entries", "normalise"]
