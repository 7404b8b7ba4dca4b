"""Who reads, on the command line: ``--as`` and ``--purpose`` of the reading commands, and
``careflow audit access``.

- ``case show|list|history|export`` record each case they read in the store's access log, as the
  actor ``--as`` names (default: the login name of the operating-system user running the command,
  with no roles) reading for ``--purpose`` (required: a text or a code, one line, at most 500
  characters). A bad purpose is a usage error (exit 2) before any store is opened.
- ``careflow due`` reads as the system (the deadline runner).
- ``careflow audit access [CASE] [--actor A] [--purpose P] [--since DATE] [--format table|json]``
  lists the recorded reads; ``--verify`` recomputes the access chains (exit 1 when one is broken).
  Listing the access log is not itself recorded as a read of the cases.
"""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

from careflow.cli.console import escape, json_text, out

if TYPE_CHECKING:
    from careflow.cases.store import CaseStore
    from careflow.cases.store.reader import CaseReader
    from careflow.runtime.compiled import Actor

#: The reader recorded when ``--as`` is absent and the login name cannot be used.
UNKNOWN_USER = "unknown-user"


def parse_purpose(text: str) -> str:
    """A purpose as typed (``argparse`` type): refused when empty, too long or not one printable line."""
    from careflow.cases.store.access import purpose_problem

    problem = purpose_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


def login_actor() -> Actor:
    """The operating-system user running the command, as an actor with no roles (``--as`` absent)."""
    from careflow.runtime.compiled import Actor

    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name: no USER/LOGNAME, no passwd entry
        name = UNKNOWN_USER
    actor = Actor(name)
    if actor.fault is not None or name.strip().casefold() == "system":
        return Actor(UNKNOWN_USER)
    return actor


def add_reader(p: argparse.ArgumentParser, actor: bool = True) -> None:
    """``--as`` (when ``actor``: the command has none yet) and the required ``--purpose``."""
    if actor:
        from careflow.cli.identities import parse_actor

        p.add_argument("--as", dest="actor", type=parse_actor, metavar="ACTOR:ROLE[,ROLE]",
                       help="who reads (default: your login name, no roles); recorded in the access log")
    p.add_argument("--purpose", required=True, type=parse_purpose, metavar="TEXT",
                   help="why you read the case (recorded in the access log with who and when)")


def reader_of(store: CaseStore, args: argparse.Namespace) -> CaseReader:
    return store.reader(args.actor if args.actor is not None else login_actor(), args.purpose)


def run_access(args: argparse.Namespace) -> int:
    from careflow.cli.cases import opened

    with opened(args) as store:
        if args.verify:
            return _verify(store, args)
        entries = store.access_log(args.case, actor=args.by, purpose=args.for_purpose, since=args.since,
                                   limit=args.limit)
    if args.format == "json":
        out(json_text([e.to_json() for e in entries], indent=2))
        return 0
    out(f"{'case':20} {'seq':>4}  {'time':25}  {'reader':16} {'roles':16} {'origin':8} {'action':9} purpose")
    for e in entries:
        out(f"{escape(e.case_id):20} {e.seq:>4}  {e.time.isoformat(timespec='seconds'):25}  {escape(e.actor):16} "
            f"{escape(','.join(e.roles)) or '-':16} {e.origin:8} {e.action:9} {escape(e.purpose)}")
    out(f"{len(entries)} read(s)")
    return 0


def _verify(store: CaseStore, args: argparse.Namespace) -> int:
    total = broken = 0
    for check in store.verify_access(args.case):
        total += 1
        if not check.ok:
            broken += 1
            where = f"first broken entry: seq {check.seq}" if check.seq is not None else "access head"
            out(f"{escape(check.case_id)}: BROKEN ({check.problem}) {where}: {escape(check.message)}")
        elif args.verbose:
            out(f"{escape(check.case_id)}: ok ({check.entries} reads)")
    out(f"{total} access chain(s) verified, {broken} broken")
    return 1 if broken else 0


def add_access(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from careflow.cli.cases import parse_limit, parse_when

    a = sub.add_parser("access", help="who read a case, when and why (the access log); --verify its chains")
    a.add_argument("case", metavar="CASE", nargs="?", help="one case (default: every case)")
    a.add_argument("--actor", dest="by", metavar="ACTOR", help="only reads by this reader id")
    a.add_argument("--purpose", dest="for_purpose", metavar="TEXT", help="only reads for this exact purpose")
    a.add_argument("--since", type=parse_when, metavar="DATE", help="only reads at or after this ISO date-time")
    a.add_argument("--limit", type=parse_limit, metavar="N", help="at most N reads")
    a.add_argument("--format", choices=("table", "json"), default="table")
    a.add_argument("--verify", action="store_true", help="recompute the access chains; exit 1 if one is broken")
    a.add_argument("-v", "--verbose", action="store_true", help="with --verify: list intact chains too")
    return a


__all__ = ["add_access", "add_reader", "login_actor", "parse_purpose", "reader_of", "run_access"]
