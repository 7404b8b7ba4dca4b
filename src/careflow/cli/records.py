"""``careflow case redact`` and ``careflow case correct``: remove a field's values from a case (or replace
them with the right one), keeping its chain verifiable.

Only the store API is called (``store.redact``, ``store.correct``); what they do and do not do is
docs/records.md.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from careflow.cli.console import escape, out
from careflow.render.common import word

if TYPE_CHECKING:
    from careflow.runtime.audit import AuditEntry


def parse_seqs(text: str) -> list[int]:
    """``--entries 3,5,8``: the seqs of the entries to redact."""
    try:
        seqs = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of seqs, e.g. 3,5") from None
    if not seqs or any(s < 0 for s in seqs):
        raise argparse.ArgumentTypeError("give one or more seqs (0 or more), e.g. 3,5")
    return seqs


def removed_note(entry: AuditEntry, lang: str) -> str:
    """What ``case history`` adds to an entry whose values were removed: ``  tags [removed]``."""
    gone = [key for key, _, salt in entry.commits or () if salt is None]
    return f"  {', '.join(escape(k) for k in gone)} {word('removed', lang)}" if gone else ""


def add_redact(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", metavar="CASE")
    p.add_argument("--field", action="append", required=True, metavar="NAME",
                   help="the data field whose values are removed (repeatable)")
    p.add_argument("--entries", type=parse_seqs, metavar="SEQ,...",
                   help="only the values at these seqs (default: every entry that holds the field)")
    p.add_argument("--reason", required=True, help="why (kept in the redacted entry)")


def add_correct(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", metavar="CASE")
    p.add_argument("--field", required=True, metavar="NAME", help="the case data field to correct")
    p.add_argument("--value", required=True, metavar="JSON",
                   help="the right value: JSON when it parses (true, 3, \"x\", [1], null), else text")
    p.add_argument("--reason", required=True, help="why (kept in the corrected entry)")


def run_correct(args: argparse.Namespace) -> int:
    from careflow.cli.cases import opened, parse_data

    value = (parse_data([f"v={args.value}"]) or {})["v"]
    with opened(args) as store:
        done = store.correct(args.case, args.field, value, actor=args.actor, reason=args.reason)
        info = store.get(args.case)
        lang = store.process(info.process_id, info.process_version).process.language
    old = ", ".join(f"{escape(key)}@{seq}" for seq, key in done.values) or "none"
    out(f"corrected {escape(args.field)} of case {escape(done.case_id)} (entry seq {done.entry.seq}); "
        f"older values {word('removed', lang)}: {old}")
    return 0


def run_redact(args: argparse.Namespace) -> int:
    from careflow.cli.cases import opened

    with opened(args) as store:
        done = store.redact(args.case, args.field, args.entries, actor=args.actor, reason=args.reason)
        info = store.get(args.case)
        lang = store.process(info.process_id, info.process_version).process.language
    values = ", ".join(f"{escape(key)}@{seq}" for seq, key in done.values)
    out(f"redacted {len(done.values)} value(s) of case {escape(done.case_id)} (entry seq {done.entry.seq}): "
        f"{values} {word('removed', lang)}")
    if done.cleared:
        out(f"case data {word('removed', lang)}: {', '.join(escape(k) for k in done.cleared)}")
    return 0


__all__ = ["add_correct", "add_redact", "parse_seqs", "removed_note", "run_correct", "run_redact"]
