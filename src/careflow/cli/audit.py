"""``careflow audit verify|checkpoint|keygen|access``: check a store's audit trail, sign checkpoints, make
keys, show who read a case (``access``: see ``careflow.cli.access``).

``verify`` prints a table of the cases (broken ones; ``-v`` every one) with every problem found, then a
summary; ``--format json`` the same as JSON (one object per case, streamed). With ``--checkpoint FILE
--public-key PUB`` it also checks the store against a signed checkpoint. Exit codes: 0 everything
verifies, 1 something is wrong (a broken case, a checkpoint that does not verify), 2 usage.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from careflow.cli.access import add_access, run_access
from careflow.cli.cases import _common, opened
from careflow.cli.console import err, escape, json_text, out

if TYPE_CHECKING:
    from careflow.cases.store import CaseCheck
    from careflow.history.checkpoint import Checkpoint

NEEDS_KEY = "careflow: error: --checkpoint needs --public-key PUB (the public key of whoever signed it)"


def add_audit(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    v = sub.add_parser("verify", help="check every case against its audit log; list every problem per case")
    _common(v)
    v.add_argument("--case", help="only this case")
    v.add_argument("--no-replay", action="store_true", help="do not replay each log (columns are then checked "
                                                            "against the stored snapshot)")
    v.add_argument("--format", choices=("table", "json"), default="table")
    v.add_argument("--checkpoint", metavar="FILE", help="also check the store against this signed checkpoint")
    v.add_argument("--public-key", metavar="PUB", help="the public key (PEM) the checkpoint was signed with")
    v.add_argument("-v", "--verbose", action="store_true", help="list intact cases too")
    v.set_defaults(audit_run=run_verify)
    c = sub.add_parser("checkpoint", help="sign every case's entry count and head hash (Ed25519)")
    _common(c)
    c.add_argument("--history", nargs="+", metavar="FILE_OR_DIR", help="checkpoint history files instead of a store")
    c.add_argument("--key", required=True, metavar="KEY", help="the private key (PEM) to sign with")
    c.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the checkpoint")
    c.set_defaults(audit_run=run_checkpoint)
    k = sub.add_parser("keygen", help="make an Ed25519 key pair (PEM files; the private one mode 0600)")
    k.add_argument("--private", required=True, metavar="FILE")
    k.add_argument("--public", required=True, metavar="FILE")
    k.set_defaults(audit_run=run_keygen)
    a = add_access(sub)
    _common(a)
    a.set_defaults(audit_run=run_access)


def run_audit(args: argparse.Namespace) -> int:
    code: int = args.audit_run(args)
    return code


def run_keygen(args: argparse.Namespace) -> int:
    from careflow.history.checkpoint import generate_keys

    key = generate_keys(args.private, args.public)
    out(f"wrote {escape(args.private)} (private, mode 0600: keep it off the database server) and "
        f"{escape(args.public)} (public); key {key}")
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    from careflow.history.checkpoint import load_private_key, write_checkpoint

    key = load_private_key(args.key)
    if args.history:
        from careflow.history.checkpoint_files import checkpoint_histories

        checkpoint = checkpoint_histories(args.history, key, created=datetime.now(UTC))
    else:
        with opened(args) as store:
            checkpoint = store.checkpoint(key)
    write_checkpoint(checkpoint, args.output)
    out(f"checkpoint of {len(checkpoint.heads)} case(s), {sum(h.entries for h in checkpoint.heads)} entries, "
        f"written to {escape(args.output)}")
    out(f"digest {checkpoint.digest}, key {checkpoint.key}, at {escape(checkpoint.created)}")
    return 0


def load_checkpoint(args: argparse.Namespace) -> Checkpoint | None:
    """The checkpoint named by ``--checkpoint``, verified with ``--public-key`` (None without one)."""
    if args.checkpoint is None:
        return None
    from careflow.history.checkpoint import load_public_key, read_checkpoint

    return read_checkpoint(args.checkpoint, load_public_key(args.public_key))


def run_verify(args: argparse.Namespace) -> int:
    if args.checkpoint is not None and args.public_key is None:
        err(NEEDS_KEY)
        return 2
    checkpoint = load_checkpoint(args)
    total = broken = problems = 0
    table = args.format == "table"
    if table:
        out(f"{'case':24} {'entries':>7}  {'verdict':7}  problems")
    else:
        out('{"cases": [')
    with opened(args) as store:
        for check in store.verify_cases(args.case, replay=not args.no_replay, checkpoint=checkpoint):
            total += 1
            broken += not check.ok
            problems += len(check.problems)
            if table and (args.verbose or not check.ok):
                _row(check)
            elif not table:
                out(("  " if total == 1 else ", ") + json_text(_json(check)))
    summary = f"{total} case(s) verified, {broken} broken, {problems} problem(s)"
    if checkpoint is not None:
        summary += f"; against the checkpoint of {checkpoint.created} ({len(checkpoint.heads)} case(s))"
    if table:
        out(summary)
    else:
        tail = {"verified": total, "broken": broken, "problems": problems,
                "checkpoint": None if checkpoint is None else {"created": checkpoint.created, "key": checkpoint.key,
                                                              "digest": checkpoint.digest,
                                                              "cases": len(checkpoint.heads)}}
        out("], " + json.dumps(tail, ensure_ascii=False, sort_keys=True)[1:])
    return 1 if broken else 0


def _row(check: CaseCheck) -> None:
    lead = f"{escape(check.case_id):24} {check.entries:>7}  {'ok' if check.ok else 'BROKEN':7}  "
    if check.ok:
        out(lead.rstrip())
        return
    for i, problem in enumerate(check.problems):
        where = f" at seq {problem.seq}" if problem.seq is not None else ""
        column = f" [{problem.column}]" if problem.column else ""
        out(f"{lead if i == 0 else ' ' * len(lead)}{problem.code}{where}{column}: {escape(problem.message)}")


def _json(check: CaseCheck) -> dict[str, Any]:
    return {"case_id": check.case_id, "ok": check.ok, "entries": check.entries,
            "problems": [p._asdict() for p in check.problems]}


__all__ = ["add_audit", "run_audit"]
