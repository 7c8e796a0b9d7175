"""Engine benchmark: leanflow against raw SimPy, and against an earlier leanflow, in one run.

The line is the Jackson tandem of ``scenarios/queueing/tandem.yaml``: one
arrival per hour through three stations (2 servers, mean 1.6 h; 3 servers,
mean 2.4 h; 1 server, mean 0.7 h), against a minimal raw-SimPy model of the
same line (a process per customer, a ``simpy.Resource`` per station), in
customers per CPU second of the worker process. Then,
for each plan of the default scenario: SimPy events scheduled per deal (lines
containing ``events per deal``) and simulation CPU time per deal.

Every round runs one fresh worker process per leanflow version: with
``--baseline REF`` the git revision REF (exported to a temporary directory
with ``git archive``) and this checkout, alternately, so a noisy spell of the
machine hits both alike. A worker times raw SimPy, leanflow's model run and
leanflow with its metric tables on the tandem line, then counts events and
times one replication of each default plan (replication = round number).
Figures are min / median / max over the rounds; ratios are taken per round.

    python benchmarks/engine.py [--customers 200000] [--repeat 3] [--baseline REF] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARRIVALS_PER_HOUR = 1.0
STATIONS = ((2, 1.6), (3, 2.4), (1, 0.7))  # (servers, mean service hours), as in tandem.yaml


# ---------------------------------------------------------------- one worker: one leanflow tree, one round


def run_raw(customers: int, seed: int = 1) -> int:
    """The tandem line in plain SimPy: a Resource per station, one process per customer."""
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    stations = [simpy.Resource(env, capacity=c) for c, _ in STATIONS]
    # service times in days, drawn up front like leanflow's pre-drawn leads
    service = [(rng.exponential(mean, customers) / 24.0).tolist() for _, mean in STATIONS]
    gaps = (rng.exponential(1.0 / ARRIVALS_PER_HOUR, customers) / 24.0).tolist()

    def customer(i: int) -> Generator:
        for station, times in zip(stations, service, strict=True):
            with station.request() as req:
                yield req
                yield env.timeout(times[i])

    def source() -> Generator:
        for i, gap in enumerate(gaps):
            yield env.timeout(gap)
            env.process(customer(i))

    env.process(source())
    env.run()
    return customers


def tandem_scenario(tree: Path, customers: int):
    """tandem.yaml with a horizon long enough for ``customers`` arrivals (on average), no warm-up."""
    from leanflow.scenario import load_scenario

    sc = load_scenario(tree / "scenarios" / "queueing" / "tandem.yaml")
    horizon = customers / (ARRIVALS_PER_HOUR * 24.0)
    return sc.model_copy(update={"horizon_days": horizon, "warmup_days": 0.0, "replications": 1})


def run_leanflow(sc, with_tables: bool) -> int:
    """One replication of the scenario's only plan; the number of customers (deals) created."""
    from leanflow.metrics import deals_table, run_data, run_metrics, weekly_table
    from leanflow.model import simulate
    from leanflow.random import replication_seed

    plan = next(iter(sc.plans))
    records = simulate(sc, plan, replication_seed(sc.seed, 0))
    if with_tables:
        rd = run_data(sc, plan, 0, records)
        run_metrics(rd)
        deals_table(rd)
        weekly_table(rd)
    return len(records)


def rate(fn: Callable[[], int]) -> float:
    """Customers per CPU second of one call (CPU time: less swayed than wall time by other processes)."""
    t0 = time.process_time()
    n = fn()
    return n / (time.process_time() - t0)


def default_plans(tree: Path, replication: int) -> dict[str, dict[str, float]]:
    """Events per deal (counted run) and simulation CPU per deal (a second, uncounted run) for each plan."""
    import simpy

    from leanflow.model import simulate
    from leanflow.random import replication_seed
    from leanflow.scenario import load_scenario

    sc = load_scenario(tree / "scenarios" / "default.yaml")
    seed = replication_seed(sc.seed, replication)
    out = {}
    original = simpy.Environment.schedule
    for plan in sc.plans:
        count = 0

        def schedule(self, event, priority=1, delay=0):  # a counting shim around SimPy's own
            nonlocal count
            count += 1
            return original(self, event, priority, delay)

        simpy.Environment.schedule = schedule  # type: ignore[method-assign]
        try:
            deals = len(simulate(sc, plan, seed))
        finally:
            simpy.Environment.schedule = original  # type: ignore[method-assign]
        t0 = time.process_time()
        n = len(simulate(sc, plan, seed))
        cpu = time.process_time() - t0
        out[plan] = {"events_per_deal": count / deals, "cpu_us_per_deal": cpu / n * 1e6, "deals": n}
    return out


def worker(tree: Path, customers: int, replication: int) -> dict:
    """One round's figures for the leanflow in ``tree`` (which is first on ``sys.path``)."""
    import leanflow

    assert Path(leanflow.__file__).resolve().is_relative_to(tree.resolve()), "imported the wrong leanflow"
    sc = tandem_scenario(tree, customers)
    return {
        "raw": rate(lambda: run_raw(customers)),
        "model": rate(lambda: run_leanflow(sc, with_tables=False)),
        "tables": rate(lambda: run_leanflow(sc, with_tables=True)),
        "plans": default_plans(tree, replication),
    }


# ---------------------------------------------------------------- the driver


def spread(values: list[float], fmt: str = ",.2f") -> str:
    """min / median / max, as the house rule for benchmarks asks (never the best alone)."""
    s = sorted(values)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    return f"{s[0]:{fmt}} / {median:{fmt}} / {s[-1]:{fmt}}"


def export(ref: str, into: Path) -> Path:
    """The leanflow package and scenarios of git revision ``ref``, in a directory of their own."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "leanflow", "scenarios"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_worker(tree: Path, customers: int, replication: int) -> dict:
    """A fresh process that imports leanflow from ``tree`` and prints one round's figures as JSON."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)]
    cmd += ["--customers", str(customers), "--round", str(replication)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=tree).stdout
    return json.loads(out.splitlines()[-1])


def report(label: str, rounds: list[dict], customers: int) -> None:
    print(f"{label}: tandem line, 3 stations, {customers:,d} customers, {len(rounds)} rounds (min / median / max)")
    for key, name in (("raw", "raw SimPy"), ("model", "leanflow model run"), ("tables", "leanflow + metric tables")):
        print(f"  {name:<26} customers/s {spread([r[key] for r in rounds])}")
    for key, name in (("model", "leanflow model run"), ("tables", "leanflow + metric tables")):
        print(f"  ratio {name} / raw SimPy  {spread([r[key] / r['raw'] for r in rounds])}")
    print(f"{label}: default scenario, one replication per plan per round")
    for plan in rounds[0]["plans"]:
        figures = [r["plans"][plan] for r in rounds]
        deals = sum(f["deals"] for f in figures) / len(figures)
        print(f"  {plan:<20} events per deal {spread([f['events_per_deal'] for f in figures])}  ({deals:,.0f} deals)")
        print(f"  {plan:<20} simulation CPU per deal, microseconds {spread([f['cpu_us_per_deal'] for f in figures])}")


def compare(before: list[dict], after: list[dict]) -> None:
    """Per-round ratios of this checkout to the baseline."""
    print("this checkout / baseline, per round (min / median / max)")
    tandem = spread([a["model"] / b["model"] for a, b in zip(after, before, strict=True)])
    print(f"  tandem customers/s, model run   {tandem}")
    for plan in after[0]["plans"]:
        if plan not in before[0]["plans"]:
            continue
        pairs = [(a["plans"][plan], b["plans"][plan]) for a, b in zip(after, before, strict=True)]
        events = spread([a["events_per_deal"] / b["events_per_deal"] for a, b in pairs])
        cpu = spread([a["cpu_us_per_deal"] / b["cpu_us_per_deal"] for a, b in pairs])
        print(f"  {plan:<20} events per deal {events}; simulation CPU per deal {cpu}")


def profile(customers: int, top: int) -> None:
    """cProfile one leanflow model run of the tandem line and print the hottest functions."""
    import cProfile
    import pstats

    sc = tandem_scenario(ROOT, customers)
    prof = cProfile.Profile()
    prof.enable()
    run_leanflow(sc, with_tables=False)
    prof.disable()
    pstats.Stats(prof).strip_dirs().sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000, help="customers per model run (default 200000)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--baseline", metavar="REF", help="also run git revision REF, interleaved, and compare")
    parser.add_argument("--profile", action="store_true", help="also cProfile one leanflow run")
    parser.add_argument("--top", type=int, default=25, help="functions to show with --profile")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.customers, args.round)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this checkout": ROOT}
        if args.baseline:
            trees = {f"baseline {args.baseline}": export(args.baseline, Path(tmp)), **trees}
        rounds: dict[str, list[dict]] = {label: [] for label in trees}
        for r in range(args.repeat):
            for label, tree in trees.items():
                rounds[label].append(run_worker(tree, args.customers, r))
    for label, figures in rounds.items():
        report(label, figures, args.customers)
    if args.baseline:
        compare(*rounds.values())
    if args.profile:
        profile(args.customers, args.top)


if __name__ == "__main__":
    main()
