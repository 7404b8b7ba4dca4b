"""What the row seal costs: fires per second with one transaction per fire, before and after, in one run.

    python bench/bench_seal.py --before DIR [--rounds 5] [--fires 4000] [--pg URL]

``DIR`` is the ``src`` folder of the careflow to compare with (e.g. the commit before the seal:
``git archive <commit> src | tar -x -C /tmp/before``, then ``--before /tmp/before/src``). Each round
runs SQLite and PostgreSQL (``store.fire`` on 100 cases as ``bench_stores.per_fire`` does: read, check,
step, seal, commit) once for each careflow, alternating, each in a fresh process; the table shows the
median and the range of the wall-clock rate and of this process's CPU time per fire. With
``--key``, the "after" rows use a seal key (HMAC-SHA256) instead of plain SHA-256.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def timed(url: str, fires: int) -> tuple[float, float]:
    """(fires per second of wall-clock time, microseconds of this process's CPU per fire), one transaction
    per fire: the CPU figure is what the seal adds to, and it moves less than the wall clock on a busy machine."""
    import bench_stores

    store = bench_stores._store(url)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(fires):
        store.fire(f"c{i % bench_stores.CASES}", "flip", bench_stores.ACTOR)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    return fires / wall, cpu / fires * 1e6


def one(store: str, fires: int, pg: str, key: bool) -> tuple[float, float]:
    """One measurement in this process (the careflow on ``sys.path`` is the one measured)."""
    sys.path.insert(0, str(HERE))
    import bench_stores

    if key:
        os.environ["CAREFLOW_SEAL_KEY_FILE"] = str(Path(tempfile.mkdtemp()) / "key")
        Path(os.environ["CAREFLOW_SEAL_KEY_FILE"]).write_text("k" * 64)
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return timed(f"sqlite:///{tmp}/b.db", fires)
    found = bench_stores.pg_schema_url(pg)
    if found is None:
        return float("nan"), float("nan")
    url, schema = found
    try:
        return timed(url, fires)
    finally:
        import psycopg

        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def measure(src: str, store: str, fires: int, pg: str, key: bool) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": src}
    env.pop("CAREFLOW_SEAL_KEY_FILE", None)
    args = [sys.executable, __file__, "--one", store, "--fires", str(fires), "--pg", pg, *(["--key"] if key else [])]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    rate, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(rate), float(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the src folder of the careflow to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fires", type=int, default=4000)
    parser.add_argument("--key", action="store_true", help="the 'after' rows with a seal key")
    parser.add_argument("--pg", default=os.environ.get("CAREFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--one", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(*one(args.one, args.fires, args.pg, args.key))
        return 0
    if not args.before:
        parser.error("--before DIR is required")
    runs = [("before", args.before, False), ("after", str(SRC), args.key)]
    rates: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for store in ("sqlite", "postgres"):
            for label, src, key in runs:
                rates.setdefault((store, label), []).append(measure(src, store, args.fires, args.pg, key))
    print(f"{'store':9} {'careflow':8} {'fires/s median':>14} {'range':>15} {'CPU us/fire median':>19} {'range':>11}"
          f"   ({args.rounds} rounds x {args.fires} fires, one transaction per fire)")
    for (store, label), found in rates.items():
        rate, cpu = [r for r, _ in found], [c for _, c in found]
        print(f"{store:9} {label:8} {statistics.median(rate):>14,.0f} {min(rate):>7,.0f}-{max(rate):<7,.0f} "
              f"{statistics.median(cpu):>19,.0f} {min(cpu):>5,.0f}-{max(cpu):<5,.0f}")
    for store in ("sqlite", "postgres"):
        (b_rate, b_cpu), (a_rate, a_cpu) = ((statistics.median(r for r, _ in rates[(store, label)]),
                                             statistics.median(c for _, c in rates[(store, label)]))
                                            for label in ("before", "after"))
        print(f"{store}: fires/s after/before {a_rate / b_rate:.3f}; CPU per fire after/before {a_cpu / b_cpu:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
