"""How replay words what it finds: ``Divergence``, field-by-field comparison, refusals, final-state checks.

Kept apart from ``replay`` so the hot loop stays short: everything here runs only when an entry does
not match at first sight (or once, after the last entry).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from careflow.errors import Refusal
from careflow.history.reader import ABSENT, Entry, History
from careflow.runtime import fields as pos  # positions in a raw entry
from careflow.runtime.audit import JSON_FIELDS, AuditEntry
from careflow.runtime.compiled import Actor, CompiledProcess
from careflow.runtime.data import to_json_value
from careflow.runtime.fields import Snapshot

# the order fields are compared in: what a reader notices first
_ORDER = (pos.E_KIND, pos.E_TARGET, pos.E_SOURCE, pos.E_EVENT, pos.E_CODE, pos.E_DATA, pos.E_REF, pos.E_ROLES,
          pos.E_CASE_ID, pos.E_ACTOR, pos.E_TIME, pos.E_REASON, pos.E_DETAIL, pos.E_TRANSITION, pos.E_PROCESS_ID,
          pos.E_PROCESS_VERSION, pos.E_SEQ)
_NOT_BEHAVIOUR = frozenset({pos.E_DETAIL, pos.E_TRANSITION, pos.E_PROCESS_ID, pos.E_PROCESS_VERSION})
_ATOMIC = (str, int, float, bool, type(None))
_CONTEXT = ("kind", "event", "actor")


@attrs.frozen
class Divergence:
    """The first entry a replay would not have recorded: its ``index``, the ``expected`` entry (as the
    history gives it), the ``actual`` one the definition produces (None when it produces nothing),
    ``reason`` in words and a stable ``code`` (``event-not-allowed``, ``wrong-target``, ``hash-mismatch``…).
    ``index`` equals the number of entries for problems found after the last one (final state, head)."""

    index: int
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    reason: str
    code: str
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        """``file:line`` when known, else ``file``, else ``entry N``."""
        if self.file is not None:
            return f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"entry {self.index}"

    def format(self) -> str:
        """The reason, then a small unified-diff view of the recorded and the replayed entry."""
        out = [f"{self.reason} [{self.code}]", "--- recorded" + (f" ({self.where})" if self.file else ""),
               "+++ replayed" if self.actual is not None else "+++ replayed: nothing"]
        exp, act = self.expected, self.actual
        shown = [k for k in (*_CONTEXT, *JSON_FIELDS) if k in exp or (act is not None and k in ("code", "detail")
                                                                        and act.get(k) is not None)]
        for key in dict.fromkeys(shown):
            if key in ("prev_hash", "hash") and not self.code.startswith(("hash", "link")):
                continue
            if act is None:
                if key in exp:
                    out.append(f"- {key}: {_show(exp[key])}")
            elif key in exp and _same_json(key, exp[key], act.get(key)):
                if key in _CONTEXT:
                    out.append(f"  {key}: {_show(exp[key])}")
            else:
                if key in exp:
                    out.append(f"- {key}: {_show(exp[key])}")
                if key not in ("prev_hash", "hash"):
                    out.append(f"+ {key}: {_show(act.get(key))}")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "reason": self.reason, "file": self.file, "line": self.line,
                "expected": self.expected, "actual": self.actual}


def _same_json(key: str, a: Any, b: Any) -> bool:
    if key == "time" and isinstance(a, str) and isinstance(b, str):
        try:
            return datetime.fromisoformat(a) == datetime.fromisoformat(b)
        except ValueError:
            return False
    return bool(_plain(a) == _plain(b))


def _plain(value: Any) -> Any:
    try:
        return to_json_value(value)
    except TypeError:
        return repr(value)


def _show(value: Any, limit: int = 100) -> str:
    if value is ABSENT:
        return "absent"
    text = json.dumps(_plain(value), ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def entry_json(entry: Any) -> dict[str, Any]:
    """An entry as a JSON-like dict: recorded ones as given, produced ones in full (without hashes)."""
    if isinstance(entry, AuditEntry):
        out = entry.to_json()
        if out.get("hash") is None:
            out.pop("prev_hash", None)
            out.pop("hash", None)
        return out
    if isinstance(entry, Mapping):
        return {str(k): _plain(v) for k, v in entry.items()}
    return {"entry": repr(entry)}


# -- comparing one entry ---------------------------------------------------------------------------------


def _eq(a: Any, b: Any) -> bool:
    """JSON equality, strict about types (``True`` is not ``1``) and blind to tuple/list, FrozenMap/dict."""
    if a is b:
        return True
    if isinstance(a, _ATOMIC) or isinstance(b, _ATOMIC):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_eq(v, b[k]) for k, v in a.items())
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _as_map(value: Any) -> dict[str, Any]:
    return dict(value) if value else {}


def _map_diff(produced: Any, recorded: Any, subset: bool) -> list[str]:
    """The keys on which two ``data``/``ref`` values differ, worded; ``subset``: only recorded keys count."""
    if recorded is None and produced is None:
        return []
    if (recorded is None) != (produced is None) and not (subset or _as_map(recorded) == _as_map(produced) == {}):
        return [f"recorded {_show(recorded)}, replayed {_show(_as_map(produced) if produced else None)}"]
    mine, theirs = _as_map(produced), _as_map(recorded)
    keys = theirs if subset else {**theirs, **mine}
    out = []
    for key in keys:
        a, b = theirs.get(key, ABSENT), mine.get(key, ABSENT)
        if a is ABSENT or b is ABSENT or not _eq(a, b):
            out.append(f"{key} (recorded {_show(a)}, replayed {_show(b)})")
    return out


def mismatch(i: int, p: Entry, e: Entry, behaviour: bool, strict_roles: bool,
             fields: tuple[int, ...] = _ORDER) -> tuple[str, str] | None:
    """The first field on which produced ``p`` and recorded ``e`` differ: (code, reason), or None."""
    at = f"entry {i}: "
    for k in fields:
        ev = e[k]
        if ev is ABSENT or (behaviour and k in _NOT_BEHAVIOUR):
            continue
        pv = p[k]
        if k in (pos.E_DATA, pos.E_REF):
            found = _map_diff(pv, ev, subset=k == pos.E_DATA and p[pos.E_KIND] == "opened")
            if found:
                name = "data" if k == pos.E_DATA else "ref"
                return f"{name}-differs", f"{at}{name} differs: " + "; ".join(found)
        elif k == pos.E_ROLES:
            if tuple(pv) != tuple(ev) and (strict_roles or sorted(ev) != list(pv)):
                return "field-differs", f"{at}recorded roles {_show(ev)} but the step records {_show(pv)}"
        elif not _eq(pv, ev):
            return _field(at, k, ev, pv, p)
    return None


#: entry field -> (divergence code, wording with {at}, {ev} recorded, {pv} replayed)
_WORDING: dict[int, tuple[str, str]] = {
    pos.E_TARGET: ("wrong-target", "{at}recorded to '{ev}' but the definition goes to '{pv}'"),
    pos.E_SOURCE: ("wrong-source", "{at}recorded from '{ev}' but the case is in '{pv}'"),
    pos.E_EVENT: ("wrong-event", "{at}recorded event '{ev}' but the definition records '{pv}' here"),
    pos.E_SEQ: ("sequence-gap", "{at}sequence gap: seq {ev} where {pv} follows"),
    pos.E_PROCESS_VERSION: ("wrong-version", "{at}recorded on version '{ev}', replayed on '{pv}'"),
}


def _field(at: str, k: int, ev: Any, pv: Any, p: Entry) -> tuple[str, str]:
    if k == pos.E_KIND:
        what = f" ('{p[pos.E_EVENT]}')" if p[pos.E_EVENT] else ""
        return "wrong-kind", f"{at}recorded a '{ev}' entry but the definition records '{pv}'{what}"
    if k == pos.E_CODE:
        return "wrong-refusal", (f"{at}recorded refusal '{ev}' but the definition now refuses with '{pv}': "
                                 f"{p[pos.E_DETAIL]}")
    wording = _WORDING.get(k)
    if wording is not None:
        return wording[0], wording[1].format(at=at, ev=ev, pv=pv)
    name = JSON_FIELDS[k]
    return "field-differs", f"{at}'{name}' differs: recorded {_show(ev)}, replayed {_show(pv)}"


# -- refusals ------------------------------------------------------------------------------------------


def refusal(refused: Refusal, event: str, here: str, actor: Actor) -> tuple[str, str]:
    """Why the runtime now refuses an entry that was recorded as done: (reason, code)."""
    code = refused.code
    if code == "event-not-allowed":
        return (f"the recorded event '{event}' is not possible in state '{here}' "
                f"(possible: {', '.join(refused.possible) or 'none'})"), code
    if code == "role-denied":
        held = actor.role_list
        who = (f"role '{held[0]}'" if len(held) == 1 else "roles " + ", ".join(f"'{r}'" for r in held) if held
               else f"'{actor.id}' (no role)")
        return f"refused — {who} may not fire '{event}' (needs {' or '.join(refused.roles) or 'a case role'})", code
    if code == "guard-failed":
        return "guard false: " + "; ".join(refused.reasons), code
    if code == "missing-data":
        return "refused — missing event data " + ", ".join(f"'{f}'" for f in refused.fields), code
    if code == "checklist-open":
        return "refused — open checklist items: " + ", ".join(refused.items), code
    if code == "case-closed":
        return f"refused — the case is closed (in '{here}')", code
    return f"refused — {refused.message}", code


# -- after the last entry ------------------------------------------------------------------------------


def final_checks(c: CompiledProcess, snap: Snapshot, h: History, head: str | None,
                 behaviour: bool) -> tuple[str, str] | None:
    """The stored snapshot and head of a case JSON; the ``expect`` block of an envelope."""
    from careflow.runtime.snapshots import snapshot_json

    after = f"after entry {len(h.entries) - 1}: "
    stored = h.stored
    if stored is not None:
        if head is not None and stored.get("head") != head:
            return "head-mismatch", f"{after}the stored head hash does not match the last entry (log cut short?)"
        mine = snapshot_json(c, snap)
        differing: list[str] = []
        for key, value in mine.items():
            if behaviour and key in ("process_id", "process_version"):
                continue
            if key not in stored or not _eq(stored[key], value):
                if key == "data" and isinstance(stored.get(key), Mapping):
                    differing.extend(f"data.{d}" for d in _map_diff(value, stored[key], False))
                else:
                    differing.append(f"{key} (stored {_show(stored.get(key, ABSENT))}, replayed {_show(value)})")
        if differing:
            return "state-differs", (f"{after}the stored state does not match the state its log replays to: "
                                     + "; ".join(differing))
    expect = h.expect
    if expect:
        state = expect.get("state")
        leaf = snap.leaf
        if state is not None and state not in (leaf, c.paths[leaf]):
            return "wrong-final-state", f"{after}expected to end in '{state}' but the case is in '{c.paths[leaf]}'"
        wanted = expect.get("data")
        if wanted:
            found = _map_diff(snap.data, wanted, subset=True)
            if found:
                return "data-differs", f"{after}case data differs: " + "; ".join(found)
    return None


__all__ = ["Divergence", "entry_json", "final_checks", "mismatch", "refusal"]
