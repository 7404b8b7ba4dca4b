"""Peak memory and time to replay one long JSON Lines history (issue 11: at most about 200 MB for a million entries).

    .venv/bin/python bench/bench_history_stream.py [--entries 1000000] [--file /tmp/careflow-1m.jsonl]
                                                   [--src DIR] [--cli] [--keep]

It writes one case of the ``log`` process (tests/processes/log.yaml) with ``--entries`` entries, the
``opened`` entry and then ``write`` after ``write``, each with its own note and a minute later than the one
before, hash-chained as docs/history.md says, in the canonical form ``dumps_jsonl`` writes (~500 bytes an
entry: 1,000,000 entries are ~500 MB). The first two entries are made by a real ``Case``; the rest repeat
the second one's shape with their own seq, time, note and hashes, so replay re-decides and checks every one.

Then it replays the file in a fresh interpreter, ``careflow.history.replay(process, path)`` (with ``--cli``,
``careflow replay``), and prints the wall time and the child's peak RSS (``getrusage(RUSAGE_CHILDREN)``).
``--src DIR`` runs the replay with ``DIR`` first on PYTHONPATH (e.g. an untouched tree's ``src``), to compare.
The file is left for another run unless it has the wrong size; ``--keep`` is implied. Never commit it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESS = ROOT / "tests" / "processes" / "log.yaml"

REPLAY_API = """
import sys, time
from careflow.definitions.loader import load
from careflow.history import replay
started = time.perf_counter()
result = replay(load(sys.argv[1]), sys.argv[2])
print(result.ok, result.entries_checked, result.divergence.reason if result.divergence else "", sep="\\t")
print(f"{time.perf_counter() - started:.2f}", file=sys.stderr)
"""


def _canonical(entry: dict[str, object]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def generate(path: Path, entries: int) -> None:
    """The history file: ``entries`` entries of one case, hash-chained."""
    sys.path.insert(0, str(ROOT / "src"))
    from careflow.cases.case import Case
    from careflow.clock import ManualClock
    from careflow.definitions.loader import load
    from careflow.runtime.compiled import Actor

    case = Case.open(load(str(PROCESS)), "long-1", clock=ManualClock())
    case.fire("write", Actor("clerk-1", {"clerk"}), {"note": "note 1"})
    opened, write = (e.to_json() for e in case.history)
    start = datetime.fromisoformat(str(write["time"]))
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(_canonical(opened) + "\n")
        head = str(opened["hash"])
        for seq in range(1, entries):
            entry = dict(write, seq=seq, time=(start + timedelta(minutes=seq)).isoformat(),
                         data={"note": f"note {seq}: the visit went as planned, nothing to add"}, prev_hash=head)
            entry.pop("hash")
            head = hashlib.sha256(_canonical(entry).encode("utf-8")).hexdigest()
            entry["hash"] = head
            out.write(_canonical(entry) + "\n")
    tmp.replace(path)


def measure(path: Path, src: str | None, cli: bool) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, what the replay printed) for one replay in a fresh interpreter."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    if cli:
        command = [sys.executable, "-c", "import sys; from careflow.cli.main import main; sys.exit(main())", "replay",
                   str(PROCESS), str(path)]
    else:
        command = [sys.executable, "-c", REPLAY_API, str(PROCESS), str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far: one child here
    said = (done.stdout.strip() + " " + done.stderr.strip()[-300:]).strip()
    return seconds, peak_kb / 1024, said


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=None, help="default: /tmp/careflow-history-<entries>.jsonl")
    parser.add_argument("--src", default=None, help="put this directory first on PYTHONPATH for the replay")
    parser.add_argument("--cli", action="store_true", help="time `careflow replay` instead of the library call")
    args = parser.parse_args()
    path = args.file or Path(f"/tmp/careflow-history-{args.entries}.jsonl")
    if not path.exists() or sum(1 for _ in path.open("rb")) != args.entries:
        began = time.perf_counter()
        generate(path, args.entries)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - began:.0f} s")
    seconds, peak, said = measure(path, args.src, args.cli)
    what = "careflow replay" if args.cli else "careflow.history.replay"
    print(f"{what}: {args.entries} entries, {path.stat().st_size / 1e6:.0f} MB: {seconds:.1f} s, "
          f"peak RSS {peak:.0f} MB ({said})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
