"""careflow-only figures, one measurement per process; prints one JSON line (run.py runs it).

    python bench/figures.py generate --n 20000 --dir /tmp/cf      (writes cases.jsonl and history.jsonl)
    python bench/figures.py replay-memory --n 20000 --dir /tmp/cf
    python bench/figures.py replay-jsonl --n 20000 --dir /tmp/cf          (history.jsonl)
    python bench/figures.py replay-cases-jsonl --n 20000 --dir /tmp/cf    (cases.jsonl)
    python bench/figures.py hashing --n 20000
    python bench/figures.py memory --n 20000
    python bench/figures.py open --lib careflow --n 20000      (or --lib transitions: shared+add_model)

Conventions are the anchors' worker.py: PYTHONHASHSEED=0 (set by run.py), garbage collector on,
``gc.collect()`` before each timed block, a warm-up before it, one timer pair per block (no timer
call per item), tracemalloc only in the memory figure. The anchors' folder must be on sys.path
(run.py passes it in PYTHONPATH) for ``workload`` and ``lib_transitions``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import lib_careflow
from workload import FINAL, WALK

import careflow
from careflow.runtime.audit import AuditEntry, verify_chain

WARMUP = 200
EVENTS_PER_CASE = len(WALK)  # 20 fired events; each case log also has its 'opened' entry
ENTRIES_PER_CASE = EVENTS_PER_CASE + 1


def _walked_cases(n: int) -> list[careflow.Case]:
    """n cases opened (system clock, as a live service) and walked to 'closed'."""
    ad = lib_careflow.system_clock()
    cases = [ad.create(True) for _ in range(n)]
    for case in cases:
        for event in WALK:
            ad.fire(case, event)
    return cases


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    t0 = time.perf_counter_ns()
    out = fn()
    return out, (time.perf_counter_ns() - t0) / 1e9


# -- replay ---------------------------------------------------------------------------------------------
# `generate` writes the same walked cases twice into --dir:
#   cases.jsonl    one case a line, exactly Case.to_json() (the case document, "history" inside);
#   history.jsonl  careflow's history file format, careflow.history.dumps_jsonl: one entry a line, in the
#                  canonical form the hashes cover; the cases one after another (a case starts at its
#                  'opened' entry), as an audit export or an event store would write them.
# careflow.history.replay.replay is measured once it exists and replays a sample case to 'closed'; until then
# Case.from_json is the replay path (parse, verify the hash chain, re-run every entry through engine.step,
# compare with the stored state), and it reads cases.jsonl for both "JSON Lines" figures.

CASES, HISTORY = "cases.jsonl", "history.jsonl"
OPENED = '"kind":"opened"'  # canonical lines have no spaces: this marks the first line of a case


class Backend:
    name: str

    def decode(self, line: str) -> Any:
        """What the backend takes 'from memory', from a line of cases.jsonl (decoding is not timed)."""
        raise NotImplementedError

    def replay(self, item: Any) -> Any:
        raise NotImplementedError

    def replay_case_line(self, line: str) -> Any:
        """Replay one line of cases.jsonl (a whole case document)."""
        raise NotImplementedError

    def replay_history_file(self, file: Path, n: int) -> list[Any]:
        """Replay the first n cases of the JSON Lines history file, reading it line by line."""
        raise NotImplementedError

    def state(self, result: Any) -> str:
        raise NotImplementedError


class FromJson(Backend):
    name = "Case.from_json"

    def __init__(self, process: Any) -> None:
        self.process = process

    def decode(self, line: str) -> Any:
        return line  # from_json takes the text itself: "in memory" means the JSON strings are loaded

    def replay(self, item: Any) -> Any:
        return careflow.Case.from_json(self.process, item)

    def replay_case_line(self, line: str) -> Any:
        return careflow.Case.from_json(self.process, line)

    def replay_history_file(self, file: Path, n: int) -> list[Any]:
        # from_json reads case documents only: the history figure falls back to cases.jsonl
        return [self.replay_case_line(line) for line in _lines(file.with_name(CASES), n)]

    def state(self, result: Any) -> str:
        return str(result.state)


class Replay(Backend):
    """careflow.history.replay.replay. From memory it takes a case's entries (``case.history``: AuditEntry
    tuples, what an application holds); from a file, the text of one case's history, read with
    ``careflow.history.reader.loads_history`` (replay reads one case per history)."""

    name = "careflow.history.replay.replay"

    def __init__(self, process: Any) -> None:
        self.process = process
        replay = import_module("careflow.history.replay").replay
        # behaviour-only figures re-decide every entry but leave the hash chain to its own figure
        self.fn = replay if CHECK_HASHES else (lambda p, h: replay(p, h, check_hashes=False))
        self.loads_history = import_module("careflow.history.reader").loads_history

    def decode(self, line: str) -> Any:
        return tuple(AuditEntry.from_json(e) for e in json.loads(line)["history"])

    def replay(self, item: Any) -> Any:
        return self.fn(self.process, item)

    def replay_case_line(self, line: str) -> Any:
        return self.fn(self.process, self.loads_history(line, None, "json"))

    def replay_history_file(self, file: Path, n: int) -> list[Any]:
        fn, process, loads = self.fn, self.process, self.loads_history
        out: list[Any] = []
        case: list[str] = []
        with file.open(encoding="utf-8") as f:
            for line in f:
                if OPENED in line and case:
                    out.append(fn(process, loads("".join(case), None, "jsonl")))
                    if len(out) == n:
                        return out
                    case = []
                case.append(line)
        if case:
            out.append(fn(process, loads("".join(case), None, "jsonl")))
        return out[:n]

    def state(self, result: Any) -> str:
        # A ReplayResult: ok, entries_checked, and the final snapshot (its leaf state's dotted path, after timing).
        if not result.ok or result.entries_checked != ENTRIES_PER_CASE:
            return f"not ok: {result.divergence!r}"
        return str(self.process.state(result.snapshot.leaf).path)


def backend(process: Any, data: Path) -> Backend:
    """careflow.history.replay if it exists and replays a sample case to the final state, else Case.from_json."""
    try:
        candidate = Replay(process)
        sample = next(_lines(data / CASES, 1))
        if (candidate.state(candidate.replay(candidate.decode(sample))) == FINAL
                and candidate.state(candidate.replay_case_line(sample)) == FINAL
                and candidate.state(candidate.replay_history_file(data / HISTORY, 1)[0]) == FINAL):
            return candidate
        print("careflow.history.replay did not reach the final state: using Case.from_json", file=sys.stderr)
    except ImportError:
        pass
    except Exception as exc:  # a half-written module must not stop the benchmark
        print(f"careflow.history.replay failed ({type(exc).__name__}: {exc}): using Case.from_json", file=sys.stderr)
    return FromJson(process)


def _check(be: Backend, results: Iterable[Any], n: int) -> None:
    states = [be.state(r) for r in results]
    bad = sum(s != FINAL for s in states)
    assert len(states) == n and bad == 0, f"replay: {len(states)} cases, {bad} not in {FINAL!r}"


def generate(n: int, data: Path) -> dict[str, Any]:
    dumps_jsonl = import_module("careflow.history").dumps_jsonl
    cases = _walked_cases(n)
    data.mkdir(parents=True, exist_ok=True)
    with (data / CASES).open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(case.to_json() + "\n")
    with (data / HISTORY).open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(dumps_jsonl(case.history))
    return {"cases": n, "bytes": {name: (data / name).stat().st_size for name in (CASES, HISTORY)}}


def _lines(file: Path, n: int) -> Iterator[str]:
    with file.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == n:
                break
            yield line


def _rates(be: Backend, n: int, secs: float) -> dict[str, Any]:
    return {"backend": be.name, "events_per_s": n * EVENTS_PER_CASE / secs,
            "entries_per_s": n * ENTRIES_PER_CASE / secs, "us_per_case": secs / n * 1e6}


def replay_memory(n: int, data: Path) -> dict[str, Any]:
    process = lib_careflow.load()
    be = backend(process, data)
    items = [be.decode(line) for line in _lines(data / CASES, n)]
    replay = be.replay
    for item in items[:WARMUP]:
        replay(item)
    results, secs = _timed(lambda: [replay(item) for item in items])
    _check(be, results, n)
    return _rates(be, n, secs)


def replay_history_jsonl(n: int, data: Path) -> dict[str, Any]:
    process = lib_careflow.load()
    be = backend(process, data)
    be.replay_history_file(data / HISTORY, WARMUP)
    # Timed from opening the file (warm in the page cache) to every case replayed and kept.
    results, secs = _timed(lambda: be.replay_history_file(data / HISTORY, n))
    _check(be, results, n)
    return _rates(be, n, secs)


def replay_cases_jsonl(n: int, data: Path) -> dict[str, Any]:
    process = lib_careflow.load()
    be = backend(process, data)
    replay_line = be.replay_case_line
    for line in _lines(data / CASES, WARMUP):
        replay_line(line)
    results, secs = _timed(lambda: [replay_line(line) for line in _lines(data / CASES, n)])
    _check(be, results, n)
    return _rates(be, n, secs)


# -- hash chain -----------------------------------------------------------------------------------------


def hashing(n: int) -> dict[str, Any]:
    """Sealing is lazy (on the first read of a case's history/head/JSON): time it on its own, then
    audit.verify_chain over the sealed histories. Per entry: 21 per case (opened + 20 fired)."""
    for case in _walked_cases(WARMUP):
        verify_chain(case.history)
    cases = _walked_cases(n)
    _, seal_s = _timed(lambda: [case.head for case in cases])  # .head seals every unsealed entry
    histories = [case.history for case in cases]
    assert all(len(h) == ENTRIES_PER_CASE for h in histories)
    results, verify_s = _timed(lambda: [verify_chain(h) for h in histories])
    assert all(results), "verify failed"
    entries = n * ENTRIES_PER_CASE
    return {"seal_us_per_entry": seal_s / entries * 1e6, "seal_entries_per_s": entries / seal_s,
            "verify_us_per_entry": verify_s / entries * 1e6, "verify_entries_per_s": entries / verify_s}


# -- memory and opening ---------------------------------------------------------------------------------


def memory(n: int) -> dict[str, Any]:
    """As the anchors' worker.py mem mode: traced peak while opening n live cases, minus a baseline
    taken after setup and warm-up; then the same cases after their opening entry is sealed."""
    import tracemalloc

    ad = lib_careflow.system_clock()
    warm = [ad.create(True) for _ in range(WARMUP)]
    for case in warm:
        _ = case.head
    del warm
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    cases = [ad.create(True) for _ in range(n)]
    _, opened_peak = tracemalloc.get_traced_memory()
    for case in cases:
        _ = case.head  # seals the opening entry: prev_hash + hash strings are now held per case
    sealed_now, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(cases) == n
    return {"kib_per_case": (opened_peak - base) / n / 1024, "kib_per_case_sealed": (sealed_now - base) / n / 1024}


def open_cases(n: int, lib: str) -> dict[str, Any]:
    """Opening n cases kept live, timed as one block (careflow: system clock; transitions:
    the anchors' shared+add_model variant, the same code the harness runs)."""
    if lib == "careflow":
        create = lib_careflow.system_clock().create
    else:
        create = import_module("lib_transitions").shared_add_model().create
    warm = [create(True) for _ in range(WARMUP)]
    del warm  # transitions keeps them registered (machine.models), as its harness variant does
    cases, secs = _timed(lambda: [create(True) for _ in range(n)])
    assert len(cases) == n
    return {"lib": lib, "us_per_case": secs / n * 1e6, "cases_per_s": n / secs}


CHECK_HASHES = True


def main() -> None:
    global CHECK_HASHES
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("figure", choices=["generate", "replay-memory", "replay-jsonl", "replay-cases-jsonl", "hashing",
                                       "memory", "open", "replay-memory-behaviour", "replay-jsonl-behaviour"])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dir", type=Path, help="the folder of the JSON Lines files (generate writes them)")
    ap.add_argument("--lib", choices=["careflow", "transitions"], default="careflow")
    args = ap.parse_args()
    n, data = args.n, args.dir
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "generate": lambda: generate(n, data),
        "replay-memory": lambda: replay_memory(n, data),
        "replay-jsonl": lambda: replay_history_jsonl(n, data),
        "replay-cases-jsonl": lambda: replay_cases_jsonl(n, data),
        "hashing": lambda: hashing(n),
        "memory": lambda: memory(n),
        "open": lambda: open_cases(n, args.lib),
        "replay-memory-behaviour": lambda: replay_memory(n, data),
        "replay-jsonl-behaviour": lambda: replay_history_jsonl(n, data),
    }
    CHECK_HASHES = not args.figure.endswith("-behaviour")
    print(json.dumps(runs[args.figure]()))


if __name__ == "__main__":
    main()
