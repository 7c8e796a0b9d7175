"""Sweep executor benchmark: parallel speed-up, Dask overhead, and parent memory as points grow.

Usage: python benchmarks/sweep.py [--points 100] [--replications 10] [--sizes 25,50,100]
                                  [--repeat 2]

The sweep is the default scenario shortened to 200 days (30 of warm-up), both
plans, 10 replications per point, and a Latin hypercube over two
uncertainties (inbound leads per week, cold half-life) with one point per
sample. Every measurement runs in a fresh Python process with a fresh
results directory, and prints one line; the table at the end gathers them.

1. ``-j 1`` (in-process) against ``-j 2`` (process pool): wall time and
   speed-up (target >= 1.8x on 2 cores).
2. The same sweep on a Dask ``LocalCluster`` (2 worker processes, 1 thread
   each), started before the clock, against the process pool: overhead
   (target < 5%). The workers import leanflow on their first task, inside
   the timed region. Measured twice: with Dask's default worker settings, and
   with the workers' statistical profiler off
   (``distributed.worker.profile.enabled: false``; by default it samples the
   worker thread's stack every 10 ms, which costs a pure-Python workload).
   ``-j 2`` and the Dask runs go ``--repeat`` times, interleaved; the table
   gives min / median / max of those runs and compares medians.
3. Peak RSS of the parent process (``getrusage(RUSAGE_SELF)``, the process
   that receives every point and writes it to disk; workers excluded) for
   sweeps of 25, 50 and 100 points: it should stay flat as points grow.

The results of the ``-j 1``, ``-j 2`` and Dask runs are also checked to be
identical. Timings depend on what else the machine is doing: the load
average before and after each measurement is printed beside it.
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
    if mode.startswith("dask"):
        from dask.distributed import LocalCluster

        if mode == "dask-noprofile":  # the workers' statistical profiler off (it samples every 10 ms)
            import dask

            dask.config.set({"distributed.worker.profile.enabled": False})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--sizes", default="25,50,100", help="point counts for the memory measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs of -j 2 and of Dask (min/median/max reported)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.points, args.replications, args.workdir)))
        return

    print(f"cores available: {len(os.sched_getaffinity(0))}; load average now {os.getloadavg()[0]:.1f}")
    dask_modes = ["dask", "dask-noprofile"]
    with tempfile.TemporaryDirectory(prefix="leanflow-sweep-bench-") as tmp:
        root = Path(tmp)
        print("1-2. speed-up and Dask overhead (-j 2 and Dask interleaved,", args.repeat, "runs each)")
        j1 = measure("j1", args.points, args.replications, root / "j1")
        runs: dict[str, list[dict]] = {m: [] for m in ["j2", *dask_modes]}
        for i in range(args.repeat):
            for mode in runs:
                runs[mode].append(measure(mode, args.points, args.replications, root / f"{mode}-{i}"))
        median = {mode: sorted(r, key=lambda info: info["wall_s"])[len(r) // 2] for mode, r in runs.items()}
        j2 = median["j2"]
        identical = same_results([j1["results"], *(info["results"] for r in runs.values() for info in r)])
        print("3. parent memory against points (-j 2)")
        sizes = [int(x) for x in args.sizes.split(",")]
        mem = [j2 if n == args.points else measure("j2", n, args.replications, root / f"mem{n}") for n in sizes]

    speedup = j1["wall_s"] / j2["wall_s"]

    def spread(mode: str) -> str:
        walls = sorted(info["wall_s"] for info in runs[mode])
        return f"{walls[0]:.1f} / {walls[len(walls) // 2]:.1f} / {walls[-1]:.1f} s"

    print()
    print("| measurement | result (min / median / max) | target |")
    print("| --- | --- | --- |")
    print(f"| {args.points} points x {args.replications} reps x 2 plans, -j 1 | {j1['wall_s']:.1f} s (one run) | |")
    print(f"| same, -j 2 (process pool), {args.repeat} runs | {spread('j2')} | |")
    print(f"| speed-up -j 2 / -j 1 (median) | {speedup:.2f}x | >= 1.9x |")
    for mode in dask_modes:
        what = "Dask LocalCluster (2 workers x 1 thread)" + (", profiler off" if mode == "dask-noprofile" else "")
        info = median[mode]
        print(f"| same, {what}, {args.repeat} runs | {spread(mode)} "
              f"(cluster start {info['cluster_start_s']:.1f} s not counted) | |")  # fmt: skip
        print(f"| {what}: overhead vs process pool (medians) | {info['wall_s'] / j2['wall_s'] - 1:+.1%} | < 5% |")
    print(f"| results identical (-j 1, -j 2, Dask) | {'yes' if identical else 'NO'} | yes |")
    for n, m in zip(sizes, mem, strict=True):
        print(f"| parent peak RSS, {n} points | {m['peak_rss_mb']:.0f} MB | flat |")


if __name__ == "__main__":
    main()
