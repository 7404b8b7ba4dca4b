"""``careflow case …`` and ``careflow due``: the CLI over a case store (``careflow audit`` is ``careflow.cli.audit``).

The store is ``--store URL``, else ``$CAREFLOW_STORE``, else ``sqlite:///careflow.db``. Every command
only calls the store API; this module is imported only when one of them runs (``careflow.cli.commands``),
and the store is imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from careflow.cli.access import add_reader, reader_of
from careflow.cli.console import err, escape, json_text, out
from careflow.cli.identities import parse_actor, process_by_id
from careflow.cli.records import add_correct, add_redact, removed_note, run_correct, run_redact

if TYPE_CHECKING:
    from careflow.cases.store import CaseStore

__all__ = ["parse_actor", "parse_data", "parse_when"]


def parse_data(pairs: list[str] | None) -> dict[str, Any] | None:
    """``k=v`` pairs; values are JSON when they parse (true, 3, "x", [1]), else plain strings."""
    if not pairs:
        return None
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"careflow: --data '{escape(pair)}': write KEY=VALUE")
        try:
            data[key] = json.loads(value)
        except ValueError:
            data[key] = value
    return data


def parse_when(text: str) -> datetime:
    """An ISO date or date-time; a date means the end of that day, a naive time is taken as UTC."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO date (2026-03-01) or date-time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: The largest --limit taken: more rows than any store holds, and within every database's integer range.
MAX_LIMIT = 10**12


def parse_limit(text: str) -> int:
    """A ``--limit``: a whole number from 0 to ``MAX_LIMIT``."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a whole number") from exc
    if not 0 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"the limit must be from 0 to {MAX_LIMIT:,}")
    return value


@contextmanager
def opened(args: argparse.Namespace, create: bool = False) -> Iterator[CaseStore]:
    from careflow.cases.store import open_store
    from careflow.definitions.loader import load

    processes = [load(p) for p in args.process or ()]
    store = open_store(args.store, create=create, processes=processes)
    try:
        yield store
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


# -- case open / fire -----------------------------------------------------------------------------


def run_open(args: argparse.Namespace) -> int:
    from careflow.cases.case import Case
    from careflow.definitions.loader import load

    process = load(args.process_id)
    with opened(args, create=True) as store:
        case = Case.open(process, args.id, actor=args.actor, data=parse_data(args.data), reason=args.reason)
        version = store.create(case)
        out(f"opened {escape(case.case_id)} ({case.process_id}@{case.process_version}) in {case.state}, "
            f"version {version}")
    return 0


def run_fire(args: argparse.Namespace) -> int:
    from careflow.errors import CaseError

    with opened(args) as store:
        try:
            fired = store.fire(args.case, args.event, args.actor, parse_data(args.data), args.reason,
                               retries=args.retries)
        except CaseError as exc:
            err(f"refused ({escape(exc.reason_code)}): {escape(exc)}")
            for reason in exc.reasons:
                err(f"  - {escape(reason)}")
            err("  (the attempt is recorded in the audit log)")
            return 1
        spawned = f"; opened {', '.join(map(escape, fired.spawned))}" if fired.spawned else ""
        out(f"{escape(fired.case_id)}: {escape(args.event)} -> {fired.state} (version {fired.version}){spawned}")
    return 0


# -- case show / list / history -------------------------------------------------------------------


def run_show(args: argparse.Namespace) -> int:
    with opened(args) as store:
        case = reader_of(store, args).load(args.case)  # one read, recorded with who and why
        out(f"case     {escape(case.case_id)}")
        out(f"process  {escape(case.process_id)}@{escape(case.process_version)}")
        out(f"state    {escape(case.state)}" + (" (closed)" if case.closed else ""))
        out(f"deadline {_when(case.due_at)}")
        out(f"version  {store.version(case)} ({len(case.history)} audit entries)")
        if case.roles:
            out("roles    " + ", ".join(f"{r}={escape(p)}" for r, p in sorted(case.roles.items())))
        from careflow.runtime.data import to_json_value

        out("data     " + json_text(to_json_value(case.data)))
        if args.actor is not None:
            allowed = case.allowed(args.actor)
            out(f"allowed for {escape(args.actor.id)}: " + (", ".join(allowed) if allowed else "none"))
        else:
            out("allowed  (give --as ACTOR:ROLE to list the events an actor may fire)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with opened(args) as store:
        rows = reader_of(store, args).query(process_id=args.process_id, state=args.state, limit=args.limit)
        for r in rows:
            out(f"{escape(r.case_id):24} {escape(r.process_id)}@{escape(r.process_version):6} {escape(r.state):32} "
                f"v{r.version:<5} due {_when(r.due_at)}")
        out(f"{len(rows)} case(s)")
    return 0


def run_history(args: argparse.Namespace) -> int:
    with opened(args) as store:
        entries = reader_of(store, args).history(args.case)
        lang = store.process(entries[0].process_id, entries[0].process_version).process.language if entries else "en"
    if args.format == "jsonl":
        for e in entries:
            out(json_text(e.to_json()))
        return 0
    out(f"{'seq':>4}  {'time':25}  {'kind':13} {'actor':12} {'event':20} transition")
    for e in entries:
        source, target = escape(e.source or ""), escape(e.target or "")
        move = f"{source} -> {target}" if e.source != e.target else target
        extra = f"  [{escape(e.code)}]" if e.code else ""
        extra += f"  reason: {escape(e.reason)}" if e.reason else ""
        extra += removed_note(e, lang)
        out(f"{e.seq:>4}  {e.time.isoformat(timespec='seconds'):25}  {escape(e.kind):13} {escape(e.actor):12} "
            f"{escape(e.event or ''):20} {move}{extra}")
    return 0


# -- export / import ------------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    with opened(args) as store:
        out(reader_of(store, args).export(args.case, indent=2))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from careflow.cases.case import Case
    from careflow.errors import HistoryError

    text, head = _case_json(args.file)
    if not isinstance(head, dict) or "process_id" not in head:
        raise HistoryError(f"cannot read a case from {args.file}: it names no 'process_id'")
    process_id = head["process_id"]
    process = process_by_id(process_id, args.process)  # an id from the file: never read as a path
    with opened(args, create=True) as store:
        case = Case.from_json(process, text)  # verified and replayed before it is stored
        store.create(case)
        out(f"imported {escape(case.case_id)} ({case.process_id}@{escape(case.process_version)}) in {case.state}, "
            f"{len(case.history)} entries")
    return 0


def _case_json(name: str) -> tuple[str, Any]:
    """The text of a case JSON file (``-``: stdin) and its value, read as the history reader reads JSON:
    deep nesting, huge numbers, invalid UTF-8 and the like are a located ``HistoryFileError``."""
    from careflow.errors import Diagnostic, HistoryError, HistoryFileError, SourceLocation
    from careflow.history.jsontext import parse_json
    from careflow.history.reader import MAX_DOCUMENT_BYTES

    file = "<stdin>" if name == "-" else name
    try:
        if name != "-" and not stat.S_ISREG(os.stat(name).st_mode):  # a FIFO or device may never end
            raise HistoryError(f"cannot read a case from {name}: it is not a regular file")
        with (open(name, "rb") if name != "-" else nullcontext(sys.stdin.buffer)) as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)  # bounded: a case document is never this big
    except OSError as exc:
        raise HistoryError(f"cannot read a case from {name}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise HistoryFileError([Diagnostic("CF006", f"the case document is over {MAX_DOCUMENT_BYTES} bytes",
                                           SourceLocation(file), "export fewer cases per file")], file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise HistoryFileError([Diagnostic("CF009", f"not UTF-8: {exc.reason}", SourceLocation(file, line, column))],
                               file) from None
    value = parse_json(text, file)
    if isinstance(value, Diagnostic):
        raise HistoryFileError([value], file)
    return text, value


# -- due ---------------------------------------------------------------------------------------


def run_due(args: argparse.Namespace) -> int:
    if args.checkpoint_every is not None and (args.key is None or args.checkpoint_dir is None):
        err("careflow: error: --checkpoint-every needs --key KEY and --checkpoint-dir DIR")
        return 2
    at = args.at or datetime.now(UTC)
    with opened(args) as store:
        rows = store.system_reader("deadlines").overdue(at)  # the deadline runner reads as the system
        for r in rows:
            late = at - r.due_at if r.due_at is not None else timedelta()
            out(f"{escape(r.case_id):24} {escape(r.process_id):20} {escape(r.state):32} due {_when(r.due_at)} "
                f"({late.days} day(s) ago)")
            if args.fire:
                fired = store.tick(r.case_id, at, retries=3)
                for e in fired.entries:
                    out(f"    fired {escape(e.event)} as system -> {escape(e.target)}" + _occurrence(e.ref)
                        + (f" [{escape(e.code)}]" if e.code else ""))
        out(f"{len(rows)} case(s) due at {_when(at)}")
        if args.checkpoint_every is not None:
            from careflow.cases.store.checkpoints import checkpoint_every
            from careflow.history.checkpoint import load_private_key

            written = checkpoint_every(store, load_private_key(args.key), args.checkpoint_dir,
                                       timedelta(minutes=args.checkpoint_every))
            out(f"checkpoint written to {escape(written)}" if written else "no checkpoint due yet")
    return 0


def _occurrence(ref: Any) -> str:
    """" (occurrence 4, 2 missed)" for a recurring deadline's entry; "" for any other."""
    if not ref or "occurrence" not in ref:
        return ""
    missed = ref.get("missed") or 0
    return f" (occurrence {ref['occurrence']}" + (f", {missed} missed" if missed else "") + ")"


# -- argument wiring ------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, actor: bool = False, required: bool = False) -> None:
    p.add_argument("--store", metavar="URL", help="store URL (default: $CAREFLOW_STORE or sqlite:///careflow.db)")
    p.add_argument("--process", action="append", metavar="FILE",
                   help="a process file the cases run on, besides the search path (repeatable)")
    if actor:
        p.add_argument("--as", dest="actor", type=parse_actor, required=required, metavar="ACTOR:ROLE[,ROLE]",
                       help="who acts, with their global roles")


def add_case(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="case_command", metavar="SUBCOMMAND", required=True)
    o = sub.add_parser("open", help="open a case of a process")
    o.add_argument("process_id", metavar="PROCESS", help="a process id or file")
    _common(o, actor=True, required=True)
    o.add_argument("--data", action="append", metavar="KEY=VALUE", help="initial data (JSON values or text)")
    o.add_argument("--id", help="the case id (default: generated)")
    o.add_argument("--reason")
    o.set_defaults(case_run=run_open)
    f = sub.add_parser("fire", help="fire an event on a case")
    f.add_argument("case", metavar="CASE")
    f.add_argument("event", metavar="EVENT")
    _common(f, actor=True, required=True)
    f.add_argument("--data", action="append", metavar="KEY=VALUE", help="event data (JSON values or text)")
    f.add_argument("--reason")
    f.add_argument("--retries", type=int, default=3, help="re-decide on fresh state this often if the case "
                   "changed concurrently (default 3)")
    f.set_defaults(case_run=run_fire)
    s = sub.add_parser("show", help="state, deadline and the events an actor may fire")
    s.add_argument("case", metavar="CASE")
    _common(s, actor=True)
    add_reader(s, actor=False)
    s.set_defaults(case_run=run_show)
    ls = sub.add_parser("list", help="list cases")
    _common(ls)
    add_reader(ls)
    ls.add_argument("--process-id", metavar="PROCESS")
    ls.add_argument("--state", help="a dotted state; cases in states below it match too")
    ls.add_argument("--limit", type=parse_limit, metavar="N", help="at most N cases")
    ls.set_defaults(case_run=run_list)
    h = sub.add_parser("history", help="the audit log of a case")
    h.add_argument("case", metavar="CASE")
    _common(h)
    add_reader(h)
    h.add_argument("--format", choices=("table", "jsonl"), default="table")
    h.set_defaults(case_run=run_history)
    e = sub.add_parser("export", help="print the case JSON (state and verified history)")
    e.add_argument("case", metavar="CASE")
    _common(e)
    add_reader(e)
    e.set_defaults(case_run=run_export)
    i = sub.add_parser("import", help="store a case from its JSON (verified and replayed first)")
    i.add_argument("file", metavar="FILE", help="a case JSON file, or - for standard input")
    _common(i)
    i.set_defaults(case_run=run_import)
    r = sub.add_parser("redact", help="remove a field's values from a case; the chain still verifies")
    add_redact(r)
    _common(r, actor=True, required=True)
    r.set_defaults(case_run=run_redact)
    c = sub.add_parser("correct", help="correct a case data value; the old values are removed")
    add_correct(c)
    _common(c, actor=True, required=True)
    c.set_defaults(case_run=run_correct)


def run_case(args: argparse.Namespace) -> int:
    code: int = args.case_run(args)
    return code


def add_due(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--at", type=parse_when, metavar="DATE", help="ISO date or date-time (default: now)")
    p.add_argument("--fire", action="store_true", help="also fire the due deadline events (as system)")
    p.add_argument("--checkpoint-every", type=float, metavar="MINUTES", help="also write a signed checkpoint "
                   "to --checkpoint-dir when the newest there is this old (see 'careflow audit checkpoint')")
    p.add_argument("--key", metavar="KEY", help="the private key (PEM) checkpoints are signed with")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="where checkpoints are kept")
