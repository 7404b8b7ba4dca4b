"""Salted commitments: what an entry's hash covers for each value of its ``data`` (scheme 2).

An entry sealed by careflow since schema version 3 does not hash its data values. Its hash covers, for each
key of ``data``, a commitment ``SHA-256(salt || canonical value)`` with a fresh 16-byte random salt
(``secrets.token_bytes``). The salt and the value are kept beside the entry (``commits``); removing
both keeps the commitment, so the chain still verifies while the value is gone.

The canonical form of a committed entry writes its data as ``{"#commit": {key: commitment, ...}}``.
That key is the scheme's mark: it is covered by the hash, so nobody can present a committed entry as
an older one (scheme 1, raw values) or the other way round without breaking the chain. Data keys are
field ids (``[a-z][a-z0-9_]*``), so a scheme-1 entry never has that shape by accident.

``commits`` (an entry's 20th field) is a sorted tuple of ``(key, commitment, salt)`` triples, ``salt``
as hex and None once the value was removed. None: a scheme-1 entry (or one not sealed yet).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring as _string
from typing import Any

from careflow.runtime.data import to_json_value

#: The key that marks a committed entry's data in its canonical form.
MARK = "#commit"
#: Bytes of salt per value.
SALT_BYTES = 16
Commits = tuple[tuple[str, str, str | None], ...]

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_ATOMIC = frozenset({str, int, float, bool, type(None)})


def value_bytes(value: Any) -> bytes:
    """The canonical JSON of one value (sorted keys, no whitespace, UTF-8): what a commitment covers.
    Text and whole numbers, the common values, skip the encoder (it would give the same bytes)."""
    kind = type(value)
    if kind is str:
        return _string(value).encode("utf-8")
    if kind is int:
        return int.__repr__(value).encode("ascii")
    return _encode(value if kind in _ATOMIC else to_json_value(value)).encode("utf-8")


def commitment(salt: bytes, value: Any) -> str:
    """``SHA-256(salt || canonical value)`` as hex."""
    return hashlib.sha256(salt + value_bytes(value)).hexdigest()


def commit(items: Iterable[tuple[str, Any]] | None) -> Commits:
    """Fresh commitments for ``data`` pairs: one random salt per value."""
    out = []
    for key, value in sorted(items or ()):
        salt = secrets.token_bytes(SALT_BYTES)
        out.append((key, commitment(salt, value), salt.hex()))
    return tuple(out)


def marked_data(commits: Commits) -> str:
    """The canonical JSON of a committed entry's ``data``: ``{"#commit":{key:commitment,...}}``."""
    inner = ",".join(f'{_string(k)}:"{c}"' for k, c, _ in commits)
    return f'{{"{MARK}":{{{inner}}}}}'


def removed(commits: Commits | None) -> tuple[str, ...]:
    """The keys whose values were removed (their salt is gone)."""
    return tuple(k for k, _, s in commits or () if s is None)


def problem(data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, commits: Commits) -> str | None:
    """Why ``data`` does not fit ``commits`` (None when it does): every value kept must match its
    commitment, and data holds exactly the keys whose values are kept."""
    values = dict(data or ())
    kept = {k for k, _, s in commits if s is not None}
    if set(values) != kept:
        odd = sorted(set(values) ^ kept)
        return f"data and its commitments name different values: {', '.join(odd)}"
    for key, digest, salt in commits:
        if salt is None:
            continue
        try:
            ok = commitment(bytes.fromhex(salt), values[key]) == digest
        except (ValueError, TypeError):
            ok = False
        if not ok:
            return f"the value of '{key}' does not match its commitment"
    return None


def to_json(commits: Commits, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A committed entry's JSON ``data`` (``{"#commit": ...}``) and ``values`` (key -> salt and value)."""
    values = dict(data or ())
    return ({MARK: {k: c for k, c, _ in commits}},
            {k: {"salt": s, "value": to_json_value(values.get(k))} for k, _, s in commits if s is not None})


def from_json(data: Any, values: Any) -> tuple[dict[str, Any], Commits] | None:
    """The data and commits of a committed entry's JSON (None: ``data`` is not in the committed form,
    whatever ``values`` says: the entry is then read as scheme 1, and its hash tells whether it is one).
    ``ValueError`` for a committed form that is malformed."""
    if not isinstance(data, Mapping) or set(data) != {MARK}:
        return None
    marks = data[MARK]
    given = {} if values is None else values
    if not isinstance(marks, Mapping) or not isinstance(given, Mapping):
        raise ValueError(f"'data.{MARK}' and 'values' must be objects")
    out: dict[str, Any] = {}
    commits = []
    for key in sorted(marks):
        digest, kept = marks[key], given.get(key)
        if not isinstance(digest, str) or (kept is not None and not (
                isinstance(kept, Mapping) and isinstance(kept.get("salt"), str) and "value" in kept)):
            raise ValueError(f"the commitment or value of '{key}' is malformed")
        if kept is not None:
            out[key] = kept["value"]
        commits.append((str(key), digest, None if kept is None else kept["salt"]))
    if set(given) - set(marks):
        raise ValueError(f"'values' names keys with no commitment: {', '.join(sorted(set(given) - set(marks)))}")
    return out, tuple(commits)


def without(commits: Commits, keys: Iterable[str]) -> Commits:
    """``commits`` with the salts of ``keys`` removed (their values are gone)."""
    gone = set(keys)
    return tuple((k, c, None if k in gone else s) for k, c, s in commits)


__all__ = ["MARK", "SALT_BYTES", "Commits", "commit", "commitment", "from_json", "marked_data", "problem",
           "removed", "to_json", "value_bytes", "without"]
