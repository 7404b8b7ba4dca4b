"""Signed checkpoints: the entry count and head hash of every case, a digest over all of them, Ed25519-signed.

A hash chain shows that no entry inside a log was changed; it cannot show that a whole log was rewritten
consistently, that its tail was cut off, or that a case vanished. A checkpoint can: it records, at one
moment, how many entries each case had and the hash of the last one, and signs that with a private key
kept away from the data. Anyone with the public key can then check, later, that every case still starts
with exactly those entries. It proves nothing about what happened after it was taken.

The file is JSON (``FORMAT``). The signature covers the canonical encoding of the header (``signed_bytes``):
format, scope, source, time, count, digest and key fingerprint; ``digest`` is SHA-256 over the heads, one
canonical line per case in code-point order of the case id (``heads_digest``), so it covers every head.
The signature is Ed25519 from the ``cryptography`` package: careflow writes no signature code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from careflow.errors import CheckpointInvalid, KeyProblem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "careflow-checkpoint/1"
#: A checkpoint file larger than this is refused unread (about 10 million cases).
MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024
_KEY_HINT = "make a key pair with 'careflow audit keygen --private FILE --public FILE' (see docs/stores.md)"


class Head(NamedTuple):
    """One case at the checkpoint: how many entries its log had and the hash of the last one."""

    case_id: str
    entries: int
    head: str


class Checkpoint(NamedTuple):
    """A signed checkpoint (see the module docstring). ``scope``: ``store`` or ``history``; ``source``: the
    store URL (without password) or the history paths it was taken of; ``key``: the signer's fingerprint."""

    scope: str
    source: str
    created: str
    heads: tuple[Head, ...]
    digest: str
    key: str
    signature: str

    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "scope": self.scope, "source": self.source, "created": self.created,
                "count": len(self.heads), "digest": self.digest, "key": self.key}

    def by_case(self) -> dict[str, Head]:
        return {h.case_id: h for h in self.heads}


def _line(head: Head) -> bytes:
    return json.dumps(list(head), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass") + b"\n"


def heads_digest(heads: Iterable[Head]) -> str:
    """SHA-256 (hex) over one canonical JSON line per head, in code-point order of the case id."""
    digest = hashlib.sha256()
    for head in sorted(heads):
        digest.update(_line(head))
    return digest.hexdigest()


def signed_bytes(header: Mapping[str, Any]) -> bytes:
    """What the signature covers: the header as canonical JSON (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(dict(header), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(public: Ed25519PublicKey) -> str:
    """``sha256:`` and the hex SHA-256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return "sha256:" + hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def sign_heads(heads: Iterable[Head], key: Ed25519PrivateKey, *, scope: str, source: str,
               created: datetime) -> Checkpoint:
    """A checkpoint of ``heads`` signed with ``key``."""
    ordered = tuple(sorted(heads))
    body = Checkpoint(scope, source, created.isoformat(), ordered, heads_digest(ordered),
                      fingerprint(key.public_key()), "")
    signature = base64.b64encode(key.sign(signed_bytes(body.header()))).decode("ascii")
    return body._replace(signature=signature)


def dumps_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint file: its header and signature, then one case per line."""
    header = {**checkpoint.header(), "signature": checkpoint.signature}
    top = json.dumps(header, ensure_ascii=False, indent=1)[:-2]
    lines = ",\n".join("  " + _line(h).decode("utf-8", "surrogatepass")[:-1] for h in checkpoint.heads)
    return f'{top},\n "cases": [\n{lines}\n ]\n}}\n'


def write_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Write the checkpoint file (replacing ``path`` atomically: a reader never sees half of it)."""
    target = os.fspath(path)
    temporary = f"{target}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(dumps_checkpoint(checkpoint))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def read_checkpoint(path: str | os.PathLike[str], public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint at ``path``, its signature verified with ``public`` and its digest recomputed;
    ``CheckpointInvalid`` when it cannot be read or either does not verify."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_CHECKPOINT_BYTES + 1)
    except OSError as exc:
        raise CheckpointInvalid(f"cannot read the checkpoint {file}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise CheckpointInvalid(f"the checkpoint {file} is over {MAX_CHECKPOINT_BYTES} bytes")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointInvalid(f"the checkpoint {file} is not JSON: {exc}") from None
    checkpoint = _parse(value, file)
    return verify_checkpoint(checkpoint, public, file)


def verify_checkpoint(checkpoint: Checkpoint, public: Ed25519PublicKey, file: str = "checkpoint") -> Checkpoint:
    """``checkpoint`` itself when its key, signature and digest verify with ``public``; else ``CheckpointInvalid``."""
    from cryptography.exceptions import InvalidSignature

    if checkpoint.key != fingerprint(public):
        raise CheckpointInvalid(f"{file} was signed by key {checkpoint.key}, not by the public key given "
                                f"({fingerprint(public)})", "verify with the public key of the signer")
    try:
        public.verify(base64.b64decode(checkpoint.signature, validate=True), signed_bytes(checkpoint.header()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise CheckpointInvalid(f"the signature of {file} does not verify: the checkpoint was changed after "
                                "it was signed, or not signed with this key",
                                "do not rely on this checkpoint; use an earlier copy kept elsewhere") from None
    if heads_digest(checkpoint.heads) != checkpoint.digest:
        raise CheckpointInvalid(f"the digest of {file} does not match its cases: the list of cases was changed "
                                "after it was signed", "do not rely on this checkpoint; use an earlier copy")
    return checkpoint


def _parse(value: Any, file: str) -> Checkpoint:
    bad = CheckpointInvalid(f"{file} is not a careflow checkpoint ({FORMAT})",
                            "write one with 'careflow audit checkpoint'")
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise bad
    texts = [value.get(k) for k in ("scope", "source", "created", "digest", "key", "signature")]
    cases = value.get("cases")
    if not all(isinstance(t, str) for t in texts) or not isinstance(cases, list) or value.get("count") != len(cases):
        raise bad
    heads = []
    for item in cases:
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], str)
                or type(item[1]) is not int or not isinstance(item[2], str)):
            raise bad
        heads.append(Head(item[0], item[1], item[2]))
    scope, source, created, digest, key, signature = texts
    return Checkpoint(scope, source, created, tuple(heads), digest, key, signature)  # type: ignore[arg-type]


# -- keys -------------------------------------------------------------------------------------------


def generate_keys(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str]) -> str:
    """A new Ed25519 key pair as PEM files (the private one created with mode 0600); never overwrites a
    file. Returns the public key's fingerprint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise KeyProblem(f"{os.fspath(path)} exists: a key file is never overwritten",
                             "choose new file names, or remove the old key deliberately")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    _create(private_path, private, 0o600)
    _create(public_path, public, 0o644)
    return fingerprint(key.public_key())


def _create(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise KeyProblem(f"cannot create {os.fspath(path)}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _pem(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(64 * 1024)
    except OSError as exc:
        raise KeyProblem(f"cannot read the {what} key {os.fspath(path)}: {exc.strerror or exc}", _KEY_HINT) from None


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM (PKCS#8, unencrypted) file; ``KeyProblem`` otherwise."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(_pem(path, "private"), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyProblem(f"{os.fspath(path)} is not an unencrypted PEM private key: {exc}", _KEY_HINT) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{os.fspath(path)} is not an Ed25519 key", _KEY_HINT)
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM (SubjectPublicKeyInfo) file; ``KeyProblem`` otherwise."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(_pem(path, "public"))
    except (ValueError, TypeError) as exc:
        raise KeyProblem(f"{os.fspath(path)} is not a PEM public key: {exc}", _KEY_HINT) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"{os.fspath(path)} is not an Ed25519 key", _KEY_HINT)
    return key


# -- comparing a log with its head ------------------------------------------------------------------


def since(head: Head, count: int, hash_at: str | None) -> tuple[str, str] | None:
    """(problem, message) when a log that now has ``count`` entries, the one at the checkpoint's last seq
    hashing to ``hash_at`` (None: no such entry), no longer extends the log the checkpoint saw."""
    if count < head.entries:
        return ("checkpoint-truncated", f"the checkpoint saw {head.entries} entries, {count} remain "
                                        f"(the tail was cut off)")
    if hash_at != head.head:
        return ("checkpoint-rewritten", f"entry seq {head.entries - 1} is not the one the checkpoint signed: "
                                        "entries up to it were replaced or the log was rewritten")
    return None


__all__ = ["FORMAT", "MAX_CHECKPOINT_BYTES", "Checkpoint", "Head", "dumps_checkpoint", "fingerprint",
           "generate_keys", "heads_digest", "load_private_key", "load_public_key", "read_checkpoint",
           "sign_heads", "signed_bytes", "since", "verify_checkpoint", "write_checkpoint"]
