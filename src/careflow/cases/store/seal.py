"""The seal of a case row: one digest binding its snapshot text to its indexed columns.

A store writes the seal with every row and checks it on every read a decision depends on (``load``,
``fire``, ``tick``, ``save``, ``snapshot``, ``export``), before any guard runs. The digest covers, in one
unambiguous input, every column a decision or a query depends on, each field length-prefixed so no two rows share an
input (``seal_input``)::

    careflow-seal/1, case_id, process_id, process_version, state, closed (1/0),
    due_at (microseconds since 1970 UTC, or empty), version, seq, head, snapshot text

as ``<length in characters>:<text>`` one after another, in UTF-8. The texts are the ones the store
already holds, so sealing costs one hash over them.

- With a key (``open_store(url, seal_key=...)``, or ``$CAREFLOW_SEAL_KEY_FILE``): HMAC-SHA256. Someone
  who can write to the database but does not hold the key cannot make a row that passes.
- Without a key: SHA-256. It catches edits made without careflow (a changed score, a cleared
  deadline), not someone who knows this format and recomputes the digest: for that, keep a key, run
  ``careflow audit verify`` (which replays the logs) and sign checkpoints.

Keys never live in the database: a keyed store keeps only its key's *fingerprint* (an HMAC of a
constant), so a wrong or missing key is one clear error when the store is opened.

These functions are pure.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careflow.cases.store.codec import Row
from careflow.errors import StoreError

#: The first element of every seal's input; a new input format gets a new name.
SEAL_FORMAT = "careflow-seal/1"
#: The environment variable naming a file that holds the seal key (used when ``seal_key`` is not given).
KEY_FILE_VARIABLE = "CAREFLOW_SEAL_KEY_FILE"
#: The shortest key accepted, in bytes.
MIN_KEY_BYTES = 16

_FINGERPRINT_INPUT = b"careflow seal key fingerprint/1"
_FLAGS = {True: "1", False: "0"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def seal_input(row: Row) -> bytes:
    """The text a row's seal covers: every field length-prefixed (``<characters>:<text>``), in a fixed order.

    A value of the wrong type (SQLite keeps whatever it is given) gives an input no seal matches."""
    fmt, cid, pid, pv, state, head, snap = SEAL_FORMAT, row.case_id, row.process_id, row.process_version, row.state, \
        row.head, row.snapshot
    closed = _FLAGS.get(row.closed, "?")
    due = "" if row.due_at is None else str((row.due_at - _EPOCH) // _US) if type(row.due_at) is datetime else "?"
    version, seq = str(row.version), str(row.seq)
    try:
        text = (f"{len(fmt)}:{fmt}{len(cid)}:{cid}{len(pid)}:{pid}{len(pv)}:{pv}{len(state)}:{state}"
                f"{len(closed)}:{closed}{len(due)}:{due}{len(version)}:{version}{len(seq)}:{seq}"
                f"{len(head)}:{head}{len(snap)}:{snap}")
    except TypeError:  # a number where text belongs
        return b"?"
    if type(snap) is not str or type(cid) is not str:
        return b"?"  # bytes: their length and repr would not give the text's input, but be safe
    return text.encode("utf-8", "surrogatepass")


class Sealer:
    """Computes and checks the seals of one store: keyed (HMAC-SHA256) or not (SHA-256)."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and len(key) < MIN_KEY_BYTES:
            raise StoreError(f"the seal key is {len(key)} bytes long; it must have at least {MIN_KEY_BYTES}",
                             "make one with: python -c \"import secrets; print(secrets.token_hex(32))\"")
        self.keyed = key is not None
        self._key = key
        #: What a keyed store records in the database to recognise its key (None without a key).
        self.fingerprint = None if key is None else hmac.new(key, _FINGERPRINT_INPUT, hashlib.sha256).hexdigest()

    def seal(self, row: Row) -> str:
        """The seal of ``row`` (its ``seal`` field is not read)."""
        if self._key is None:
            return hashlib.sha256(seal_input(row)).hexdigest()
        return hmac.digest(self._key, seal_input(row), "sha256").hex()

    def check(self, row: Row) -> bool:
        """Whether ``row`` carries the seal its columns and snapshot give."""
        stored = row.seal
        return type(stored) is str and stored.isascii() and hmac.compare_digest(self.seal(row), stored)


def key_from_environment() -> bytes | None:
    """The key in the file ``$CAREFLOW_SEAL_KEY_FILE`` names (surrounding whitespace stripped), or None."""
    name = os.environ.get(KEY_FILE_VARIABLE)
    if not name:
        return None
    try:
        key = Path(name).read_bytes().strip()
    except OSError as exc:
        raise StoreError(f"cannot read the seal key file {name} (${KEY_FILE_VARIABLE}): {exc.strerror}",
                         "check the path and its permissions") from exc
    if not key:
        raise StoreError(f"the seal key file {name} (${KEY_FILE_VARIABLE}) is empty",
                         "write the key into it, e.g. python -c \"import secrets; print(secrets.token_hex(32))\"")
    return key


def key_problem(sealer: Sealer, recorded: str | None, has_cases: bool) -> str | None:
    """Why a store whose recorded key fingerprint is ``recorded`` cannot be used with ``sealer``, or None."""
    if recorded is None:
        if sealer.keyed and has_cases:
            return ("the store's cases are sealed without a key (or the record of its key was removed), "
                    "but a seal key was given")
        return None
    if not sealer.keyed:
        return "the store's cases are sealed with a key, and none was given"
    mine = sealer.fingerprint or ""
    if type(recorded) is not str or not recorded.isascii() or not hmac.compare_digest(recorded, mine):
        return "the seal key given is not the one the store's cases are sealed with"
    return None


__all__ = ["KEY_FILE_VARIABLE", "MIN_KEY_BYTES", "SEAL_FORMAT", "Sealer", "key_from_environment", "key_problem",
           "seal_input"]
