"""Engine benchmark: leanflow's funnel against a minimal raw-SimPy model of the same line.

The line is the Jackson tandem of ``scenarios/queueing/tandem.yaml``: one
arrival per hour through three stations (2 servers, mean 1.6 h; 3 servers,
mean 2.4 h; 1 server, mean 0.7 h). Both models run in this process with the
same number of customers; each is timed ``--repeat`` times and the best time
is kept. Prints customers per second and the ratio leanflow / raw SimPy
(target: at least 0.8).

    PYTHONPATH=. python benchmarks/engine.py [--customers 200000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable, Generator
from pathlib import Path

import numpy as np
import simpy

from leanflow.metrics import deals_table, run_data, run_metrics, weekly_table
from leanflow.model import simulate
from leanflow.random import replication_seed
from leanflow.scenario import Scenario, load_scenario

TANDEM = Path(__file__).resolve().parent.parent / "scenarios" / "queueing" / "tandem.yaml"
ARRIVALS_PER_HOUR = 1.0
STATIONS = ((2, 1.6), (3, 2.4), (1, 0.7))  # (servers, mean service hours), as in tandem.yaml


# ---------------------------------------------------------------- leanflow


def leanflow_scenario(customers: int) -> Scenario:
    """tandem.yaml with a horizon long enough for ``customers`` arrivals (on average), no warm-up."""
    sc = load_scenario(TANDEM)
    horizon = customers / (ARRIVALS_PER_HOUR * 24.0)
    return sc.model_copy(update={"horizon_days": horizon, "warmup_days": 0.0, "replications": 1})


def run_leanflow(sc: Scenario, with_tables: bool) -> int:
    """One replication of the scenario's only plan; the number of customers (deals) created."""
    plan = next(iter(sc.plans))
    records = simulate(sc, plan, replication_seed(sc.seed, 0))
    if with_tables:
        rd = run_data(sc, plan, 0, records)
        run_metrics(rd)
        deals_table(rd)
        weekly_table(rd)
    return len(records)


# ---------------------------------------------------------------- raw SimPy


def run_raw(customers: int, seed: int = 1) -> int:
    """The same line in plain SimPy: a Resource per station, one process per customer."""
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


# ---------------------------------------------------------------- timing


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` calls and the customer count of the last."""
    best, n = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def profile_leanflow(sc: Scenario, top: int) -> None:
    """cProfile one leanflow model run and print the hottest functions."""
    prof = cProfile.Profile()
    prof.enable()
    run_leanflow(sc, with_tables=False)
    prof.disable()
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000, help="customers per model run (default 200000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per model; the best counts (default 3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one leanflow run")
    parser.add_argument("--top", type=int, default=25, help="functions to show with --profile")
    args = parser.parse_args()

    sc = leanflow_scenario(args.customers)
    t_model, n_model = best_of(lambda: run_leanflow(sc, with_tables=False), args.repeat)
    t_tables, n_tables = best_of(lambda: run_leanflow(sc, with_tables=True), args.repeat)
    t_raw, n_raw = best_of(lambda: run_raw(args.customers), args.repeat)

    rate_model, rate_tables, rate_raw = n_model / t_model, n_tables / t_tables, n_raw / t_raw
    print(f"tandem line, 3 stations, best of {args.repeat}")
    for label, n, t, rate in (
        ("leanflow model run", n_model, t_model, rate_model),
        ("leanflow + metric tables", n_tables, t_tables, rate_tables),
        ("raw SimPy", n_raw, t_raw, rate_raw),
    ):
        print(f"  {label:<26}{n:>9,d} customers  {t:7.3f} s  {rate:>10,.0f} customers/s")
    ratio = rate_model / rate_raw
    verdict = "meets" if ratio >= 0.8 else "BELOW"
    print(f"  ratio leanflow / raw      {ratio:.2f} ({verdict} target 0.80)")
    print(f"  ratio incl. tables / raw  {rate_tables / rate_raw:.2f}")
    if args.profile:
        profile_leanflow(sc, args.top)


if __name__ == "__main__":
    main()
