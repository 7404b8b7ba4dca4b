"""Writing histories: JSON Lines in the canonical form, and YAML with the envelope a hand-written history has."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from careflow.runtime.audit import AuditEntry


def dumps_jsonl(entries: Iterable[AuditEntry]) -> str:
    """JSON Lines in the canonical form (sorted keys, no spaces): replay checks their hashes fastest."""
    return "".join(json.dumps(e.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for e in entries)


def dumps_yaml(entries: Iterable[AuditEntry | Mapping[str, Any]], **envelope: Any) -> str:
    """A YAML history: the envelope fields given (``process``, ``version``, ``case_id``, ``expect``) and
    ``entries`` (an ``AuditEntry`` is written in full)."""
    import yaml

    body = {k: v for k, v in envelope.items() if v is not None}
    body["entries"] = [e.to_json() if isinstance(e, AuditEntry) else dict(e) for e in entries]
    text: str = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120)
    return text


__all__ = ["dumps_jsonl", "dumps_yaml"]
