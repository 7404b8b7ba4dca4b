"""The time to apply retention to many closed cases (SQLite): the dry run, then ``apply_retention``.

    python bench/bench_retention.py [--cases N] [--scrub-every K]

N cases of a process with ``retention: P10Y`` (and ``P2Y`` on one field) are opened, given a note and
closed in 2010, in one transaction; then ``retention_due()`` lists what is due now (two rules per case)
and ``apply_retention()`` removes it: one logged redaction per case and rule, each its own
transaction, the SQLite file scrubbed as the run goes (docs/records.md, "Retention"). Finally the whole
store is verified, and a second run must find nothing. ``--scrub-every 1`` scrubs after every
redaction, as a single ``store.redact`` does (default: ``retention.SCRUB_EVERY``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careflow.cases.case import Case
from careflow.cases.store import open_store, retention
from careflow.cases.store.retention import RetentionApplied
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor, compile

KEPT = Path(__file__).resolve().parent.parent / "tests" / "processes" / "kept.yaml"
NURSE = Actor("nina", {"nurse"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--scrub-every", type=int, default=retention.SCRUB_EVERY)
    args = parser.parse_args(argv)
    retention.SCRUB_EVERY = args.scrub_every
    process = compile(loads(KEPT.read_text("utf-8")))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/retention.db"
        clock = ManualClock(datetime(2010, 3, 1, 9, tzinfo=UTC))
        start = time.perf_counter()
        with open_store(url, processes=[process], clock=clock) as store, store.transaction():
            for i in range(args.cases):
                case = Case.open(process, f"c{i:06}", actor=NURSE, clock=clock)
                case.fire("note", NURSE, {"notes": f"note {i}", "phone": f"+47 {i:08}"})
                case.fire("close", NURSE)
                store.create(case)
        print(f"filled {args.cases:,} closed cases in {time.perf_counter() - start:.1f} s")
        clock.set(datetime.now(UTC) - timedelta(seconds=1))
        with open_store(url, processes=[process], clock=clock) as store:
            start = time.perf_counter()
            due = sum(1 for _ in store.retention_due())
            dry = time.perf_counter() - start
            print(f"dry run: {due:,} items due in {dry:.2f} s ({dry / args.cases * 1e3:.2f} ms per case)")
            start = time.perf_counter()
            done = list(store.apply_retention())
            applied = time.perf_counter() - start
            ok = sum(isinstance(d, RetentionApplied) for d in done)
            print(f"apply: {ok:,} redactions ({len(done) - ok} failed) in {applied:.1f} s "
                  f"({applied / args.cases * 1e3:.2f} ms per case, {applied / max(ok, 1) * 1e3:.2f} ms per redaction)")
            start = time.perf_counter()
            assert all(c.ok for c in store.verify_cases())
            print(f"verify_cases: every case ok in {time.perf_counter() - start:.1f} s")
            assert list(store.retention_due()) == []
    return 0 if ok == due else 1


if __name__ == "__main__":
    sys.exit(main())
