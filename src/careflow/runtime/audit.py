"""The audit log: frozen entries, their SHA-256 hash chain, and verification.

An entry is a ``NamedTuple``: building one costs one tuple, which keeps ``Case.fire`` in the
microsecond range (an attrs class with this many fields costs several times more).

Sealing is lazy. ``engine.step`` builds entries with ``prev_hash`` and ``hash`` set to ``None``;
the case seals them (``seal``) the first time its history is read, serialised, verified or
committed, and keeps the sealed entry. Sealing draws a fresh random salt per data value (the
commitments of ``careflow.runtime.commitments``); the hash covers the entry's own content, those
commitments and ``prev_hash``. It is honest, because everything an entry holds is immutable (strings,
numbers, tuples, frozensets, ``FrozenMap``, read-only mappings over dicts nobody keeps a handle to, UTC
datetimes), so the hash computed later covers what would have been covered at once.

Canonical form: the entry as its JSON object (``to_json``: the keys ``from``/``to`` hold the fields
``source``/``target``; a committed entry's ``data`` is ``{"#commit": {key: commitment}}``) without
``hash`` and ``values`` (``prev_hash`` included), keys sorted, no whitespace,
``ensure_ascii=False``, UTF-8; times as ``datetime.isoformat()`` of a UTC datetime, roles as a list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from careflow.model.frozen import FrozenMap, freeze
from careflow.runtime import commitments
from careflow.runtime.commitments import Commits, commit, marked_data
from careflow.runtime.data import EMPTY, to_json_value

#: ``prev_hash`` of the first entry of every case.
GENESIS = "0" * 64

#: Entry kinds. ``denied`` and ``action_failed`` never change the case; the others may.
KINDS: tuple[str, ...] = ("opened", "fired", "denied", "assigned", "deadline", "spawned", "action_failed", "report",
                          "reported", "redacted", "corrected")


class AuditEntry(NamedTuple):
    """One line of a case's log. ``prev_hash``/``hash`` are ``None`` until the entry is sealed.

    ``data`` is the event data as given (validated) for ``fired``/``deadline``; the full initial
    data for ``opened``; the carried data for ``spawned``; what the caller sent for ``denied``; the
    reported data for ``report`` (an event a child case fired in its parent) and ``reported`` (the child's
    side of it).
    ``code`` is the refusal code of a ``denied`` entry; ``detail`` its message. ``ref`` links to
    another case or names what an entry is about (parent of an ``opened`` child, the child of a
    ``spawned`` entry, the state and due time of a ``deadline``, the role of an ``assigned``).
    ``transition`` is the id of the transition that fired. ``commits``: the salted commitments the
    hash covers instead of the data values (``careflow.runtime.commitments``); None for an entry of
    scheme 1 (raw values hashed) or not sealed yet. ``data`` lacks the values that were removed.
    """

    seq: int
    time: datetime
    case_id: str
    kind: str
    actor: str
    roles: tuple[str, ...]  # sorted
    event: str | None
    source: str | None  # dotted path before ("from")
    target: str | None  # dotted path after ("to")
    data: Mapping[str, Any]
    reason: str | None
    code: str | None
    detail: str | None
    ref: Mapping[str, Any] | None
    transition: str | None
    process_id: str
    process_version: str
    prev_hash: str | None = None
    hash: str | None = None
    commits: Commits | None = None

    @property
    def sealed(self) -> bool:
        return self.hash is not None

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON types (includes ``hash``); ``source``/``target`` are ``from``/``to``."""
        out: dict[str, Any] = {}
        for name, value in zip(JSON_FIELDS, self[:19], strict=True):
            out[name] = to_json_value(value)
        if self.commits is not None:
            out["data"], out["values"] = commitments.to_json(self.commits, self.data)
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AuditEntry:
        """The entry ``to_json`` produced (unknown or missing keys raise ``ValueError``).

        Strict on purpose: this reads stored logs. Hand-written, partial entries are read by
        ``careflow.history.reader``."""
        keys = obj.keys() - {"values"}
        if keys != _JSON_SET:
            diff = sorted(set(keys) ^ _JSON_SET)
            raise ValueError(f"audit entry has wrong keys: {', '.join(diff)}")
        committed = commitments.from_json(obj["data"], obj.get("values"))
        data, commits = committed if committed is not None else (obj["data"], None)
        time = obj["time"]
        roles = obj["roles"]
        if not isinstance(time, str) or not isinstance(roles, list):
            raise ValueError("audit entry: 'time' must be a string and 'roles' a list")
        ref = obj["ref"]
        return cls(
            seq=obj["seq"], time=datetime.fromisoformat(time), case_id=obj["case_id"], kind=obj["kind"],
            actor=obj["actor"], roles=tuple(roles), event=obj["event"], source=obj["from"],
            target=obj["to"], data=_mapping(data), reason=obj["reason"], code=obj["code"],
            detail=obj["detail"], ref=None if ref is None else _mapping(ref), transition=obj["transition"],
            process_id=obj["process_id"], process_version=obj["process_version"],
            prev_hash=obj["prev_hash"], hash=obj["hash"], commits=commits,
        )


FIELDS: tuple[str, ...] = AuditEntry._fields[:19]  # the fields of the JSON form (``commits`` is its own)
#: The keys of an entry in JSON, in field order: ``source``/``target`` are written ``from``/``to``.
JSON_FIELDS: tuple[str, ...] = tuple({"source": "from", "target": "to"}.get(f, f) for f in FIELDS)
_JSON_SET = frozenset(JSON_FIELDS)
RawEntry = tuple[Any, ...]
_DATA, _REF = FIELDS.index("data"), FIELDS.index("ref")
_new = tuple.__new__


def cook(raw: RawEntry) -> AuditEntry:
    """An ``AuditEntry`` from its stored form.

    Cases store entries as plain tuples whose ``data``/``ref`` are tuples of (key, value) pairs, or
    None when empty: the garbage collector stops tracking a plain tuple that holds only atomic values
    and such tuples (it never does for a tuple subclass, or for anything holding a dict), so a
    million stored entries cost nothing at each collection.
    """
    if type(raw) is AuditEntry:
        return raw
    data, ref = raw[_DATA], raw[_REF]
    data = EMPTY if data is None else MappingProxyType(dict(data)) if type(data) is tuple else data
    if type(ref) is tuple:
        ref = MappingProxyType(dict(ref))
    commits = raw[19] if len(raw) > 19 else None
    return _new(AuditEntry, (*raw[:_DATA], data, *raw[_DATA + 1:_REF], ref, *raw[_REF + 1:19], commits))


def pairs(mapping: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...] | None:
    """The stored form of an entry's ``data`` or ``ref``."""
    return tuple(mapping.items()) if mapping else None


def store(entry: AuditEntry | RawEntry) -> RawEntry:
    """The stored form of ``entry`` (see ``cook``)."""
    data: Any = entry[_DATA]
    ref: Any = entry[_REF]
    if data is not None and type(data) is not tuple:
        data = pairs(data)
    if ref is not None and type(ref) is not tuple:
        ref = pairs(ref) or ()
    return (*entry[:_DATA], data, *entry[_DATA + 1:_REF], ref, *entry[_REF + 1:])


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("audit entry: 'data' and 'ref' must be objects")
    frozen = freeze(value)
    return frozen if frozen else EMPTY


_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode = _encoder.encode
if c_make_encoder is not None:  # JSONEncoder.encode builds a new C encoder per call; build it once
    _c_encode = c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", True, False, False)

    def _fast(value: Any) -> str:
        return "".join(_c_encode(value, 0))
else:  # pragma: no cover - CPython always has the C encoder
    _fast = _encode  # type: ignore[assignment]
_ATOMIC = frozenset({str, int, float, bool, type(None)})
# Encoded JSON of strings and role lists, which repeat from entry to entry (ids, kinds, paths): hashing
# is the cost of sealing, verifying and replaying a log, and encoding is most of the cost of hashing.
# The cache is bounded by bytes, not by count: only short values are kept (ids, kinds, paths and role
# lists are short; anything longer is encoded each time), and it is emptied when its budget is spent.
_SEEN: dict[Any, str] = {}
SEEN_LONGEST = 256  # characters of encoded JSON worth keeping
SEEN_BUDGET = 8 * 1024 * 1024  # bytes the cache may hold, counted generously (key + text + overhead)
_SEEN_OVERHEAD = 200  # per entry: two str objects and a dict slot
_seen_spent = [0]


def _json(value: Any) -> str:
    if value is None:
        return "null"
    text = _SEEN.get(value) if type(value) is str or type(value) is tuple else None
    if text is None:
        text = _fast(list(value) if type(value) is tuple else value)
        # Only strings and tuples of strings are kept: 1 == True, so other keys could collide.
        if len(text) <= SEEN_LONGEST and (
                type(value) is str or (type(value) is tuple and all(type(v) is str for v in value))):
            cost = 8 * len(text) + _SEEN_OVERHEAD  # key and text, at most 4 bytes a character each
            if _seen_spent[0] + cost > SEEN_BUDGET:
                _SEEN.clear()
                _seen_spent[0] = 0
            _seen_spent[0] += cost
            _SEEN[value] = text
    return text


def _text(value: Any) -> str:
    """A one-off string (reason, detail, prev_hash): not worth keeping."""
    return "null" if value is None else encode_basestring(value) if type(value) is str else _fast(value)


def _plain(value: Any) -> dict[str, Any]:
    """``data``/``ref`` in any of its forms (mapping, stored pairs, None) as a JSON object."""
    if not value:
        return {}
    items = dict(value)  # a mapping or the stored tuple of pairs
    for v in items.values():
        if type(v) not in _ATOMIC:
            out: dict[str, Any] = to_json_value(items)
            return out
    return items


_NO_VALUES = marked_data(())  # a committed entry without data values: most entries


def canonical_bytes(entry: AuditEntry | RawEntry, prev_hash: str | None) -> bytes:
    """The bytes the hash covers for ``entry`` linked to ``prev_hash`` (its own ``prev_hash`` ignored).
    A committed entry (``commits`` set) covers its commitments instead of its data values.

    The same bytes as ``json.dumps`` of ``to_json`` (sorted keys, no whitespace, ``ensure_ascii=False``),
    written field by field: several times faster, and this runs once per entry whenever a log is sealed,
    verified or replayed. Key order below is sorted order.
    """
    (seq, time, case_id, kind, actor, roles, event, source, target, data, reason, code, detail, ref, transition,
     process_id, process_version) = entry[:17]
    commits = entry[19] if len(entry) > 19 else None
    if type(commits) is not tuple:
        commits = None  # scheme 1 (or a partial entry of a hand-written history: ABSENT)
    if type(seq) is not int or type(roles) not in (tuple, list) or not isinstance(time, datetime):
        # not an entry careflow writes: the slow, general form (json raises on what JSON cannot hold)
        body = dict(zip(JSON_FIELDS, (*entry[:17], prev_hash), strict=False))
        body.update(time=to_json_value(time), data=_plain(data), ref=None if ref is None else _plain(ref),
                    roles=to_json_value(roles))
        if commits is not None:
            body["data"] = json.loads(marked_data(commits))
        return _encode(body).encode("utf-8")
    j, t = _json, _text
    data_text = (marked_data(commits) if commits else _NO_VALUES) if commits is not None \
        else _fast(_plain(data)) if data else "{}"
    text = (
        f'{{"actor":{j(actor)},"case_id":{j(case_id)},"code":{j(code)},'
        f'"data":{data_text},"detail":{t(detail)},"event":{j(event)},'
        f'"from":{j(source)},"kind":{j(kind)},"prev_hash":{t(prev_hash)},"process_id":{j(process_id)},'
        f'"process_version":{j(process_version)},"reason":{t(reason)},'
        f'"ref":{"null" if ref is None else _fast(_plain(ref))},"roles":{j(tuple(roles))},"seq":{seq},'
        f'"time":"{time.isoformat()}","to":{j(target)},"transition":{j(transition)}}}'
    )
    return text.encode("utf-8")


def canonical(entry: AuditEntry) -> bytes:
    """The bytes the hash covers: every field except ``hash``, canonical JSON, UTF-8."""
    return canonical_bytes(entry, entry.prev_hash)


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_bytes(entry, entry.prev_hash)).hexdigest()


def committed(entry: AuditEntry | RawEntry) -> RawEntry:
    """``entry`` with its ``commits``: kept when it has them; made (fresh salts) for an entry not sealed
    yet; none for a sealed entry without them (scheme 1 stays scheme 1: its hash cannot change)."""
    commits = entry[19] if len(entry) > 19 else None
    if commits is None and entry[18] is None:
        data = entry[_DATA]
        commits = commit(data if type(data) is tuple else data.items() if data else None)
    return (*entry[:19], commits)


def seal(entry: AuditEntry | RawEntry, prev_hash: str) -> AuditEntry:
    """``entry`` with ``prev_hash`` set, its commitments made (see ``committed``) and its ``hash`` computed."""
    entry = committed(entry)
    digest = hashlib.sha256(canonical_bytes(entry, prev_hash)).hexdigest()
    return cook((*entry[:17], prev_hash, digest, entry[19]))


def seal_plain(entry: AuditEntry | RawEntry, prev_hash: str) -> AuditEntry:
    """``entry`` sealed in scheme 1 (its raw data values hashed, no commitments), as careflow sealed every
    entry before schema version 3: for tests and tools that write such logs. careflow itself never does."""
    plain = (*entry[:17], prev_hash, None, None)
    return cook((*plain[:18], hashlib.sha256(canonical_bytes(plain, prev_hash)).hexdigest(), None))


def seal_raw(entry: RawEntry, prev_hash: str) -> RawEntry:
    """``seal`` for the stored form, staying in it (what ``Case`` keeps)."""
    entry = committed(entry)
    return (*entry[:17], prev_hash, hashlib.sha256(canonical_bytes(entry, prev_hash)).hexdigest(), entry[19])


def seal_all(entries: Iterable[AuditEntry], prev_hash: str = GENESIS) -> list[AuditEntry]:
    out = []
    for entry in entries:
        entry = seal(entry, prev_hash)
        prev_hash = entry.hash  # type: ignore[assignment]
        out.append(entry)
    return out


@attrs.frozen
class VerifyResult:
    """``ok``, or the first broken link: its ``index`` in the list and ``problem``.

    ``problem`` is ``content-changed`` (the entry's hash does not match its content, or a value kept
    beside a committed entry does not match its commitment),
    ``link-broken`` (its ``prev_hash`` is not the previous entry's hash) or ``sequence-gap``
    (its ``seq`` does not follow the previous one).
    """

    ok: bool
    index: int | None = None
    problem: str | None = None
    message: str = ""
    count: int = 0

    def __bool__(self) -> bool:
        return self.ok


def verify_chain(entries: Sequence[AuditEntry], prev_hash: str = GENESIS, first_seq: int = 0) -> VerifyResult:
    """Check the chain. A log that starts mid-way passes the ``prev_hash`` and ``seq`` it continues.

    The chain shows that no entry was changed, removed or inserted; it cannot show that the newest
    entries were cut off — compare the last hash with one kept elsewhere (``Case.head``) for that.
    """
    expected_seq = first_seq
    for index, entry in enumerate(entries):
        try:
            actual = entry_hash(entry)
        except (TypeError, ValueError) as exc:
            return VerifyResult(False, index, "content-changed", f"entry {index} cannot be hashed: {exc}",
                                len(entries))
        if entry.hash != actual:
            return VerifyResult(False, index, "content-changed",
                                f"entry {index} (seq {entry.seq!r}) does not match its hash", len(entries))
        wrong = None if entry.commits is None else commitments.problem(entry.data, entry.commits)
        if wrong is not None:
            return VerifyResult(False, index, "content-changed", f"entry {index} (seq {entry.seq!r}): {wrong}",
                                len(entries))
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, index, "link-broken",
                                f"entry {index} does not point at the entry before it", len(entries))
        if type(entry.seq) is not int or entry.seq != expected_seq:
            return VerifyResult(False, index, "sequence-gap",
                                f"entry {index} has seq {entry.seq!r}, expected {expected_seq}", len(entries))
        prev_hash = entry.hash
        expected_seq += 1
    return VerifyResult(True, count=len(entries))


__all__ = [
    "FIELDS",
    "GENESIS",
    "JSON_FIELDS",
    "KINDS",
    "AuditEntry",
    "FrozenMap",
    "RawEntry",
    "VerifyResult",
    "canonical",
    "canonical_bytes",
    "committed",
    "cook",
    "entry_hash",
    "pairs",
    "seal",
    "seal_all",
    "seal_plain",
    "seal_raw",
    "store",
    "verify_chain",
]
