"""careflow's benchmark: the anchors' harness plus careflow-only figures, one table of targets.

    .venv-bench/bin/python bench/run.py [--n 20000] [--repeats 3] [--all]      (what `make bench` runs)

1. The anchors' run.py (../shared/bench-anchors) with ``--extra bench``: floor, transitions,
   python-statemachine and careflow (bench/lib_careflow.py) in one invocation; ``--all`` adds sismic
   and SpiffWorkflow. Writes bench/results/anchors.json.
2. bench/figures.py in fresh subprocesses, round-robin over the repeats: replay from memory and from
   a JSON Lines file, hash-chain sealing and verification, memory per live case, opening N cases
   (careflow and transitions shared+add_model).
3. One markdown table of careflow against the anchors of this run, with the targets; writes
   bench/results/summary.json and, for a full-size run, the measured section of docs/benchmarks.md.

Started with another interpreter, it re-runs itself in .venv-bench (made by bench/setup.sh).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv-bench"
ANCHORS = Path(os.environ.get("CAREFLOW_BENCH_ANCHORS", ROOT.parent / "shared" / "bench-anchors"))
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin (written by bench/run.py) -->", "<!-- bench:end -->"
FULL_N = 20000
# python-statemachine costs ~0.1 ms per transition and ~0.8 ms per case (3.5 min per repeat at
# N=20,000, most of it under tracemalloc): it is an anchor for context only (no target uses it), so
# it runs at N=5,000 unless --cap says otherwise. Per-case figures barely depend on N (README).
DEFAULT_CAPS = ["python-statemachine=5000"]

TRANSITIONS_TRIGGER = ("transitions", "shared, events[e].trigger(case)")
TRANSITIONS_ADD_MODEL = ("transitions", "shared+add_model")
CF_SYSTEM = ("careflow", "Case.fire, system clock")
CF_FIXED = ("careflow", "Case.fire, fixed clock")
FIGURES = ["replay-memory", "replay-jsonl", "replay-memory-behaviour", "replay-jsonl-behaviour", "replay-cases-jsonl",
           "hashing", "memory", "open-careflow", "open-transitions"]


def ensure_venv() -> None:
    """Re-run in .venv-bench (creating it first) when started by another interpreter."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    subprocess.run(["sh", str(BENCH / "setup.sh")], check=True, cwd=ROOT)
    python = VENV / "bin" / "python"
    os.execv(python, [str(python), __file__, *sys.argv[1:]])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def figure(name: str, n: int, data: Path) -> dict[str, Any]:
    args = [name, "--n", str(n), "--dir", str(data)]
    if name.startswith("open-"):
        args = ["open", "--lib", name.removeprefix("open-"), "--n", str(n)]
    # The anchors' folder gives `workload` and `lib_transitions`; the hash seed as in the anchors.
    path = os.pathsep.join([str(ANCHORS), str(BENCH), os.environ.get("PYTHONPATH", "")]).strip(os.pathsep)
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=path)
    out = subprocess.run([sys.executable, str(BENCH / "figures.py"), *args], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"figures.py {' '.join(args)} failed:\n{out.stderr}")
    if out.stderr.strip():
        log(out.stderr.strip())
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_anchors(args: argparse.Namespace, out: Path) -> str:
    only = ["floor", "transitions", "statemachine", "careflow"] + (["sismic", "spiff"] if args.all else [])
    caps = DEFAULT_CAPS + list(args.cap or [])  # later entries win in the anchors' run.py
    cmd = [sys.executable, str(ANCHORS / "run.py"), "--extra", str(BENCH), "--only", *only,
           "--n", str(args.n), "--repeats", str(args.repeats), "--out", str(out), "--cap", *caps]
    log("anchors: " + " ".join(cmd[1:]))
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # progress goes to our stderr
    if done.returncode:
        sys.exit(f"anchors' run.py failed ({done.returncode})")
    return done.stdout


def run_figures(n: int, repeats: int, data: Path) -> dict[str, list[dict[str, Any]]]:
    started = time.time()
    log(f"figures: writing {n:,} walked cases to {data}")
    figure("generate", n, data)
    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in FIGURES}
    for rep in range(repeats):  # round-robin, as the anchors do, so drift hits every figure alike
        for name in FIGURES:
            t0 = time.time()
            raw[name].append(figure(name, n, data))
            log(f"[{time.time() - started:7.0f}s] figures repeat {rep + 1}/{repeats} {name}: {time.time() - t0:.1f}s")
    return raw


def summarize(samples: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def fmt(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 else f"{v:.3f}"


def span(s: dict[str, Any]) -> str:
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


def build_rows(anchors: dict[str, Any], figs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The table: each row is careflow's figure, the anchor it is compared with, ratio and target."""
    by = {(r["library"], r["variant"]): r["metrics"] for r in anchors["results"]}

    def metric(key: tuple[str, str], name: str) -> dict[str, Any]:
        return by[key][name]  # type: ignore[no-any-return]

    def fig(name: str, key: str) -> dict[str, Any]:
        return summarize([r[key] for r in figs[name]])

    rows: list[dict[str, Any]] = []

    def row(label: str, unit: str, value: dict[str, Any], anchor: dict[str, Any] | None, anchor_label: str,
            passes: Callable[[float, float | None], bool] | None, target: str, faster_is_less: bool = True) -> None:
        ratio = None
        if anchor is not None:
            ratio = anchor["median"] / value["median"] if faster_is_less else value["median"] / anchor["median"]
        verdict = "—" if passes is None else "PASS" if passes(value["median"], ratio) else "MISS"
        rows.append({"figure": label, "unit": unit, "careflow": value, "anchor": anchor, "anchor_label": anchor_label,
                     "ratio": ratio, "target": target, "result": verdict})

    for key, clock in ((CF_SYSTEM, "system clock"), (CF_FIXED, "fixed clock")):
        row(f"fire, guarded ({clock})", "µs/transition", metric(key, "us_per_guarded_transition"),
            metric(TRANSITIONS_TRIGGER, "us_per_guarded_transition"), "transitions `shared, events[e].trigger(case)`",
            lambda v, r: r is not None and r >= 5, "≥ 5× faster")
    for key, clock in ((CF_SYSTEM, "system clock"), (CF_FIXED, "fixed clock")):
        row(f"open, harness ({clock})", "µs/case", metric(key, "create_us_per_case"),
            metric(TRANSITIONS_ADD_MODEL, "create_us_per_case"), "transitions `shared+add_model` create",
            lambda v, r: r is not None and r >= 100, "≥ 100× faster")
    row("open, standalone (system clock)", "µs/case", fig("open-careflow", "us_per_case"),
        fig("open-transitions", "us_per_case"), "transitions `shared+add_model`, standalone",
        lambda v, r: r is not None and r >= 100, "≥ 100× faster")
    row("memory per live case with its opening entry", "KiB", fig("memory", "kib_per_case"),
        metric(TRANSITIONS_ADD_MODEL, "kib_per_case"), "transitions `shared+add_model`",
        lambda v, r: v <= 1.5, "≤ 1.5 KiB")
    row("memory, the same after sealing the opening entry", "KiB", fig("memory", "kib_per_case_sealed"),
        metric(TRANSITIONS_ADD_MODEL, "kib_per_case"), "transitions `shared+add_model`", None, "—")
    backend = figs["replay-memory"][0]["backend"]
    row(f"replay from memory (`{backend}`)", "events/s", fig("replay-memory", "events_per_s"), None, "",
        lambda v, r: v >= 300_000, "≥ 300,000/s")
    history = "history file format (`dumps_jsonl`)" if backend != "Case.from_json" else "case documents"
    row(f"replay from JSON Lines, {history} (`{backend}`)", "events/s", fig("replay-jsonl", "events_per_s"), None,
        "", lambda v, r: v >= 100_000, "≥ 100,000/s")
    row("replay from memory, behaviour only (hash chain: its own figure below)", "events/s",
        fig("replay-memory-behaviour", "events_per_s"), None, "", lambda v, r: v >= 300_000, "≥ 300,000/s")
    row("replay from JSON Lines, behaviour only (hash chain: its own figure below)", "events/s",
        fig("replay-jsonl-behaviour", "events_per_s"), None, "", lambda v, r: v >= 100_000, "≥ 100,000/s")
    row(f"replay from JSON Lines, one `Case.to_json` a line (`{backend}`)", "events/s",
        fig("replay-cases-jsonl", "events_per_s"), None, "", None, "—")
    seal, check = fig("hashing", "seal_us_per_entry"), fig("hashing", "verify_us_per_entry")
    row("hash chain: seal", "µs/entry", seal, None, f"{fmt(1e6 / seal['median'])} entries/s", None, "—")
    row("hash chain: verify", "µs/entry", check, None, f"{fmt(1e6 / check['median'])} entries/s", None, "—")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| figure | careflow | anchor (same run) | ratio | target | result |", "|---|---|---|---|---|---|"]
    for r in rows:
        anchor = f"{span(r['anchor'])} {r['anchor_label']}" if r["anchor"] is not None else r["anchor_label"]
        ratio = f"{r['ratio']:,.1f}×" if r["ratio"] is not None else ""
        lines.append(f"| {r['figure']} | {span(r['careflow'])} {r['unit']} | {anchor} | {ratio} | {r['target']} "
                     f"| {r['result']} |")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace the measured section of docs/benchmarks.md; the hand-written text around it stays."""
    doc = DOCS.read_text("utf-8") if DOCS.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOCS.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", "utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=FULL_N, help=f"cases per run (default {FULL_N})")
    ap.add_argument("--repeats", type=int, default=3, help="runs per variant / figure; median (min–max) shown")
    ap.add_argument("--all", action="store_true", help="also run sismic and SpiffWorkflow (adds ~10 min)")
    ap.add_argument("--cap", nargs="*", metavar="LIB=N", help=f"anchors' caps on N (default {' '.join(DEFAULT_CAPS)})")
    ap.add_argument("--out-dir", type=Path, default=BENCH / "results")
    ap.add_argument("--docs", choices=["auto", "yes", "no"], default="auto",
                    help=f"update docs/benchmarks.md (auto: only when --n is {FULL_N:,})")
    args = ap.parse_args()
    ensure_venv()
    if not (ANCHORS / "run.py").exists():
        sys.exit(f"anchors not found at {ANCHORS} (set CAREFLOW_BENCH_ANCHORS)")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()  # other work on the machine shows up as noise: record it

    anchors_json = args.out_dir / "anchors.json"
    anchors_table = run_anchors(args, anchors_json)
    anchors = json.loads(anchors_json.read_text("utf-8"))
    with tempfile.TemporaryDirectory(prefix="careflow-bench-") as tmp:
        figs = run_figures(args.n, args.repeats, Path(tmp))
    rows = build_rows(anchors, figs)
    wall = time.time() - started

    py = platform.python_version()
    header = (f"N={args.n:,} cases, {args.repeats} repeats, median (min–max); CPython {py}, "
              f"{os.cpu_count()} CPUs, {datetime.date.today().isoformat()}, wall {wall / 60:.1f} min, "
              f"load average {load_before[1]:.1f} before / {os.getloadavg()[1]:.1f} after (5 min).")
    ours = table(rows)
    summary = {
        "meta": {"date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                 "python": sys.version, "platform": platform.platform(), "cpus": os.cpu_count(), "n": args.n,
                 "repeats": args.repeats, "all": args.all, "caps": DEFAULT_CAPS + list(args.cap or []),
                 "wall_s": round(wall, 1), "anchors": str(ANCHORS),
                 "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "rows": rows, "figures": figs, "anchors_table": anchors_table.strip(),
    }
    (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", "utf-8")
    if args.docs == "yes" or (args.docs == "auto" and args.n == FULL_N):
        write_docs(f"{header}\n\n{ours}\n\nThe anchors, same run:\n\n{anchors_table.strip()}\n")
        log(f"updated {DOCS.relative_to(ROOT)}")
    print(f"{header}\n\n{ours}\n\nThe anchors, same run:\n\n{anchors_table.strip()}")


if __name__ == "__main__":
    main()
