"""The values of committed entries, kept beside the audit log (``careflow_values``).

An audit row holds an entry's canonical text: for a committed entry, its data as commitments
(``careflow.runtime.commitments``). Each value and its salt is a row of its own, keyed by case, seq and
field, so a redaction deletes exactly that row and leaves the append-only audit log as it was. Reading
a log puts the values kept back beside their entries, as the ``values`` member of the entry's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from careflow.runtime.audit import AuditEntry
from careflow.runtime.data import to_json_value

AuditRow = tuple[int, str, str, str]  # seq, hash, prev_hash, entry JSON


class ValueRow(NamedTuple):
    """One kept value: its entry (case, seq), the data key, the salt (hex) and the value's JSON."""

    case_id: str
    seq: int
    field: str
    salt: str
    value: str


def value_rows(entries: Iterable[AuditEntry]) -> tuple[ValueRow, ...]:
    """The value rows of sealed ``entries`` (none for scheme-1 entries, which hash their values)."""
    out = []
    for entry in entries:
        if not entry.commits:
            continue
        data = entry.data
        for key, _, salt in entry.commits:
            if salt is not None:
                out.append(ValueRow(entry.case_id, entry.seq, key, salt, _dumps(to_json_value(data[key]))))
    return tuple(out)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def with_values(rows: Sequence[AuditRow], values: Iterable[tuple[int, str, str, str]]) -> list[AuditRow]:
    """``rows`` with each entry's kept values put back (``"values": {key: {"salt", "value"}}``).

    ``values``: (seq, field, salt, value JSON) rows. The member goes after ``hash``, so the text before it
    is still the canonical text plus ``hash`` (replay hashes such a line as read)."""
    by_seq: dict[int, list[str]] = {}
    for seq, field, salt, value in values:
        by_seq.setdefault(seq, []).append(f'{_dumps(field)}:{{"salt":{_dumps(salt)},"value":{value}}}')
    if not by_seq:
        return list(rows)
    out = []
    for seq, digest, prev, text in rows:
        kept = by_seq.get(seq)
        if kept is not None and text.endswith("}"):
            text = f'{text[:-1]},"values":{{{",".join(kept)}}}}}'
        out.append((seq, digest, prev, text))
    return out


__all__ = ["AuditRow", "ValueRow", "value_rows", "with_values"]
