"""Sweep executor benchmark: parallel speed-up, Dask overhead, and parent memory as points grow.

Usage: python benchmarks/sweep.py [--points 100] [--replications 10] [--repeat 3]
                                  [--sizes 25,50,100]

The sweep is the default scenario shortened to 200 days (30 of warm-up), both
plans, 10 replications per point, and a Latin hypercube over two
uncertainties (inbound leads per week, cold half-life) with one point per
sample. Every measurement runs in a fresh Python process with a fresh
results directory, and prints one line; the table at the end gathers them.

1. ``-j 1`` (in-process) against ``-j 2`` (process pool): wall time and
   speed-up (target >= 1.9x on 2 cores).
2. The same sweep on a Dask ``LocalCluster`` (2 worker processes, 1 thread
   each, Dask's default settings), started before the clock, against the
   process pool: overhead (target < 5%). The workers import leanflow on their
   first task, inside the timed region; leanflow pauses the workers'
   statistical profiler while the sweep runs.
   ``-j 1``, ``-j 2`` and Dask go ``--repeat`` rounds, interleaved (one of
   each per round, so a burst of load elsewhere hits all three alike); the
   table gives min / median / max of each, the ratio of the medians, and
   min / median / max of the ratios within a round.
3. Peak RSS of the parent process (``getrusage(RUSAGE_SELF)``, the process
   that receives every point and writes it to disk; workers excluded) for
   sweeps of 25, 50 and 100 points: it should stay flat as points grow.

The results of every run are also checked to be identical. Timings depend
on what else the machine is doing: the load average before and after each
measurement is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "default.yaml"


def sweep_text(points: int, replications: int) -> str:
    """A sweep of the shortened default scenario with exactly ``points`` design points."""
    return f"""\
name: benchmark sweep ({points} points)
base: {BASE}
replications: {replications}
overrides: {{horizon_days: 200, warmup_days: 30}}
uncertainties:
  market.sources.inbound.per_week: {{low: 30, high: 50}}
  market.buyer.cold_half_life_days: {{low: 7, high: 28}}
design: {{kind: latin_hypercube, n: {points}, seed: 7}}
outputs: [won_revenue_per_week, won_per_week, win_rate, cycle_p50, cycle_p85, utilisation]
"""


# ---------------------------------------------------------------- one measurement (child process)


def child(mode: str, points: int, replications: int, workdir: Path) -> dict:
    """Run one sweep in this (fresh) process; return wall time, peak RSS and where the results are."""
    from leanflow.experiment.sweep import run_sweep
    from leanflow.scenario.sweep_loader import load_sweep

    sweep_file = workdir / "sweep.yaml"
    sweep_file.write_text(sweep_text(points, replications))
    loaded = load_sweep(sweep_file)
    out = workdir / "results"
    info: dict = {"mode": mode, "points": points, "replications": replications, "load_before": os.getloadavg()[0]}
    if mode == "dask":
        from dask.distributed import LocalCluster

        started = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            info["cluster_start_s"] = time.perf_counter() - started
            start = time.perf_counter()
            run_sweep(loaded, out, scheduler=cluster.scheduler_address)
            info["wall_s"] = time.perf_counter() - start
    else:
        jobs = int(mode.removeprefix("j"))
        start = time.perf_counter()
        run_sweep(loaded, out, jobs=jobs)
        info["wall_s"] = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    info["peak_rss_mb"] = usage.ru_maxrss / 1024
    info["parent_cpu_s"] = usage.ru_utime + usage.ru_stime
    info["load_after"] = os.getloadavg()[0]
    info["results"] = str(out / "results.parquet")
    return info


def measure(mode: str, points: int, replications: int, workdir: Path) -> dict:
    """One measurement in a fresh interpreter."""
    workdir.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--child", mode, "--points", str(points), "--replications", str(replications),
           "--workdir", str(workdir)]  # fmt: skip
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    extra = f", cluster start {info['cluster_start_s']:.1f} s" if "cluster_start_s" in info else ""
    print(f"  {mode:4s} {points:4d} points x {replications} reps x 2 plans: {info['wall_s']:7.1f} s wall, "
          f"parent peak RSS {info['peak_rss_mb']:6.0f} MB (load {info['load_before']:.1f} -> {info['load_after']:.1f})"
          f"{extra}", flush=True)  # fmt: skip
    return info


def same_results(paths: list[str]) -> bool:
    import pandas as pd

    frames = [pd.read_parquet(p) for p in paths]
    return all(frames[0].equals(f) for f in frames[1:])


def spread(values: list[float], unit: str = "") -> str:
    """min / median / max of ``values``."""
    v = sorted(values)
    fmt = (lambda x: f"{x:.1f} s") if unit == "s" else (lambda x: f"{x:.3f}")
    return f"{fmt(v[0])} / {fmt(v[len(v) // 2])} / {fmt(v[-1])}"


def median(values: list[float]) -> float:
    """The middle value (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--sizes", default="25,50,100", help="point counts for the memory measurement")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds of -j 1, -j 2 and Dask")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.points, args.replications, args.workdir)))
        return

    print(f"cores available: {len(os.sched_getaffinity(0))}; load average now {os.getloadavg()[0]:.1f}")
    modes = ["j1", "j2", "dask"]
    with tempfile.TemporaryDirectory(prefix="leanflow-sweep-bench-") as tmp:
        root = Path(tmp)
        print(f"1-2. speed-up and Dask overhead ({args.repeat} rounds of -j 1, -j 2 and Dask, interleaved)")
        runs: dict[str, list[dict]] = {m: [] for m in modes}
        for i in range(args.repeat):
            for mode in modes:
                runs[mode].append(measure(mode, args.points, args.replications, root / f"{mode}-{i}"))
        identical = same_results([info["results"] for r in runs.values() for info in r])
        print("3. parent memory against points (-j 2)")
        sizes = [int(x) for x in args.sizes.split(",")]
        j2_median = sorted(runs["j2"], key=lambda info: info["wall_s"])[args.repeat // 2]
        mem = [j2_median if n == args.points else measure("j2", n, args.replications, root / f"mem{n}") for n in sizes]

    wall = {mode: [info["wall_s"] for info in r] for mode, r in runs.items()}
    speedups = [a / b for a, b in zip(wall["j1"], wall["j2"], strict=True)]
    overheads = [d / p - 1 for d, p in zip(wall["dask"], wall["j2"], strict=True)]
    n = args.repeat
    print()
    print("| measurement | result (min / median / max) | target |")
    print("| --- | --- | --- |")
    what = f"{args.points} points x {args.replications} reps x 2 plans"
    print(f"| {what}, -j 1, {n} runs | {spread(wall['j1'], 's')} | |")
    print(f"| same, -j 2 (process pool), {n} runs | {spread(wall['j2'], 's')} | |")
    cluster = spread([info["cluster_start_s"] for info in runs["dask"]], "s")
    print(f"| same, Dask LocalCluster (2 workers x 1 thread), {n} runs | {spread(wall['dask'], 's')} "
          f"(cluster start {cluster} not counted) | |")  # fmt: skip
    print(f"| speed-up -j 1 / -j 2, ratio of medians | {median(wall['j1']) / median(wall['j2']):.2f}x | >= 1.9x |")
    print(f"| speed-up -j 1 / -j 2, within each round | {spread(speedups)} | |")
    overhead = median(wall["dask"]) / median(wall["j2"]) - 1
    print(f"| Dask / process pool - 1, ratio of medians | {overhead:+.1%} | < 5% |")
    print(f"| Dask / process pool - 1, within each round | {' / '.join(f'{x:+.1%}' for x in sorted(overheads))} | |")
    print(f"| results identical (-j 1, -j 2, Dask, every run) | {'yes' if identical else 'NO'} | yes |")
    for size, m in zip(sizes, mem, strict=True):
        print(f"| parent peak RSS, {size} points | {m['peak_rss_mb']:.0f} MB | flat |")


if __name__ == "__main__":
    main()
