"""``careflow retention``: list (dry run, the default) or remove (``--apply``) the values of closed cases
whose retention has passed.

One line per case and rule: the case, its process, when it closed, the rule (``P10Y``, of the process or
of one field), when it fell due and the fields; with ``--apply`` also what became of it (``removed``
with the seq of the ``redacted`` entry, or ``FAILED`` with the error). ``--format json`` streams the same
as one JSON document. Exit codes: 0 nothing due, or everything listed or applied; 1 a case failed (the
others are still done); 2 usage (``--apply`` with an ``--at`` after now, a bad ``--at`` or ``--as``).

The library does the work (``store.retention_due``, ``store.apply_retention``); docs/records.md says
what retention does and does not do.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from careflow.cli.console import err, escape, json_text, out

if TYPE_CHECKING:
    from careflow.cases.store.retention import RetentionItem

def add_retention(p: argparse.ArgumentParser) -> None:
    from careflow.cli.cases import _common, parse_when

    _common(p, actor=True)
    p.add_argument("--at", type=parse_when, metavar="DATE",
                   help="what is due at this ISO date or date-time (default: now; with --apply, at most now)")
    p.add_argument("--apply", action="store_true",
                   help="remove the values listed (a logged redaction per case and rule); default: a dry run")
    p.add_argument("--format", choices=("table", "json"), default="table")


def run_retention(args: argparse.Namespace) -> int:
    from careflow.cli.cases import opened

    now = datetime.now(UTC)
    if args.apply and args.at is not None and args.at > now:
        err(f"careflow: error: --apply cannot act ahead of time: --at {args.at.isoformat()} is after now "
            "(leave out --apply to list what will be due then)")
        return 2
    table = args.format == "table"
    counts = {"due": 0, "applied": 0, "failed": 0}
    cases: set[str] = set()
    with opened(args) as store:
        if table:
            out(f"{'case':24} {'process':16} {'closed':10}  {'rule':6} {'of':14} {'due':10}  fields")
        else:
            out('{"items": [')
        found = (store.apply_retention(args.at, actor=args.actor) if args.apply
                 else store.retention_due(args.at))
        for n, one in enumerate(found):
            kind = _count(one, counts)
            cases.add(one.case_id)
            if table:
                _row(one, kind)
            else:
                out(("  " if n == 0 else ", ") + json_text(_json(one, kind)))
    summary = (f"{counts['due']} due in {len(cases)} case(s)" if not args.apply else
               f"{counts['applied']} removed, {counts['failed']} failed, in {len(cases)} case(s)")
    if not args.apply and counts["failed"]:
        summary += f", {counts['failed']} failed"
    if table:
        out(summary + ("" if args.apply else " (dry run: nothing changed; --apply removes them)"))
    else:
        tail = {**counts, "cases": len(cases), "applied_run": bool(args.apply)}
        out("], " + json.dumps(tail, sort_keys=True)[1:])
    return 1 if counts["failed"] else 0


def _count(one: Any, counts: dict[str, int]) -> str:
    from careflow.cases.store.retention import RetentionApplied, RetentionFailure

    kind = "failed" if isinstance(one, RetentionFailure) else "applied" if isinstance(one, RetentionApplied) \
        else "due"
    counts[kind] += 1
    return kind


def _item(one: Any) -> RetentionItem | None:
    from careflow.cases.store.retention import RetentionItem

    return one if isinstance(one, RetentionItem) else one.item


def _row(one: Any, kind: str) -> None:
    item = _item(one)
    if item is None:
        out(f"{escape(one.case_id):24} FAILED {one.code}: {escape(one.message)}")
        return
    of = "process" if item.field is None else escape(item.field)
    line = (f"{escape(item.case_id):24} {escape(item.process_id):16} {item.closed.date().isoformat():10}  "
            f"{item.rule:6} {of:14} {item.due.date().isoformat():10}  {', '.join(escape(f) for f in item.fields)}")
    if kind == "applied":
        line += f"  removed {len(one.values)} value(s), entry seq {one.seq}"
    elif kind == "failed":
        line += f"  FAILED {one.code}: {escape(one.message)}"
    out(line)


def _json(one: Any, kind: str) -> dict[str, Any]:
    item = _item(one)
    obj: dict[str, Any] = {"case_id": one.case_id, "status": kind}
    if item is not None:
        obj.update(process_id=item.process_id, process_version=item.process_version,
                   closed=item.closed.isoformat(), rule=item.rule, field=item.field, due=item.due.isoformat(),
                   fields=list(item.fields), values=[list(v) for v in item.values], reason=item.reason)
    if kind == "applied":
        obj.update(seq=one.seq, removed=[list(v) for v in one.values])
    elif kind == "failed":
        obj.update(code=one.code, message=one.message)
    return obj


__all__ = ["add_retention", "run_retention"]
