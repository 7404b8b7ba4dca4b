"""The hash chain as replay checks it, entry by entry: the link to the entry before, each kept value
against its commitment, then the entry's own hash (a canonical JSON line is hashed as read)."""

from __future__ import annotations

import hashlib

from careflow.history.entries import ABSENT, COMMITS, Entry
from careflow.runtime import commitments
from careflow.runtime.audit import canonical_bytes
from careflow.runtime.fields import E_DATA, E_HASH, E_PREV_HASH


def chain_problem(i: int, e: Entry, head: str, text: str | None, p: Entry) -> tuple[str, str] | None:
    recorded = e[E_HASH]
    if recorded is ABSENT or recorded is None:
        return "hash-missing", f"entry {i}: has no 'hash', though the history is hash-chained"
    prev = e[E_PREV_HASH]
    if prev is not ABSENT and prev != head:
        return "link-broken", (f"entry {i}: prev_hash does not point at the entry before it "
                               "(an entry removed, inserted or reordered?)")
    commits = e[COMMITS] if len(e) > COMMITS else None
    if type(commits) is tuple:
        wrong = commitments.problem(e[E_DATA] if e[E_DATA] is not ABSENT else None, commits)
        if wrong is not None:
            return "hash-mismatch", f"entry {i}: hash does not match its content: {wrong}"
    if text is not None and _line_hash_ok(text, recorded):
        return None
    try:
        content = canonical_bytes(e, head)
    except (TypeError, ValueError):
        # a partial entry with a hash: absent fields take the values the engine produced
        content = canonical_bytes(tuple(pv if ev is ABSENT else ev for pv, ev in zip(p, e, strict=True)), head)
    if hashlib.sha256(content).hexdigest() != recorded:
        return "hash-mismatch", f"entry {i}: hash does not match its content"
    return None


def _line_hash_ok(text: str, recorded: str) -> bool:
    """A JSON line in the canonical form (what ``dumps_jsonl`` writes) is hashed as read: remove its
    ``hash`` member and the rest is exactly the canonical bytes. Any other layout fails here and is
    re-encoded by the caller; a match cannot be wrong, as the canonical form has no top-level ``hash``."""
    needle = f',"hash":"{recorded}"'
    at = text.find(needle)
    if at < 0:
        return False
    rest = text[at + len(needle):]
    cut = rest.find(',"values":{')  # a committed entry's kept values (checked apart), its last member
    if cut >= 0 and rest.endswith("}}"):
        rest = rest[:cut] + "}"  # a wrong cut only fails the hash, and the entry is re-encoded
    return hashlib.sha256((text[:at] + rest).encode("utf-8")).hexdigest() == recorded


__all__ = ["chain_problem"]
