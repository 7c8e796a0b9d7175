"""Engine benchmark: leanflow's funnel against a minimal raw-SimPy model of the same line.

The line is the Jackson tandem of ``scenarios/queueing/tandem.yaml``: one
arrival per hour through three stations (2 servers, mean 1.6 h; 3 servers,
mean 2.4 h; 1 server, mean 0.7 h). Both models run in this process with the
same number of customers, interleaved: each round times raw SimPy, leanflow
and leanflow with its metric tables once, so a noisy spell of the machine
hits all three alike. Prints min/median/max customers per second over the
rounds and of the per-round ratio leanflow / raw SimPy (target: at least 1.0).

Then, for each plan of the default scenario: SimPy events scheduled per deal
(lines containing ``events per deal``) and simulation CPU time per deal
(min/median/max over replications).

    PYTHONPATH=. python benchmarks/engine.py [--customers 200000] [--repeat 3] [--profile]
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
DEFAULT = Path(__file__).resolve().parent.parent / "scenarios" / "default.yaml"
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


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    """Wall time of one call and the customer count it returns."""
    t0 = time.perf_counter()
    n = fn()
    return time.perf_counter() - t0, n


def spread(values: list[float]) -> str:
    """min / median / max, as the house rule for benchmarks asks (never the best alone)."""
    return f"{min(values):,.2f} / {float(np.median(values)):,.2f} / {max(values):,.2f}"


def events_per_deal(sc: Scenario, plan: str, replication: int) -> tuple[int, int, float]:
    """SimPy events scheduled, deals and simulation CPU seconds of one replication of one plan."""
    count = 0
    original = simpy.Environment.schedule

    def schedule(self, event, priority=1, delay=0):  # a counting shim around SimPy's own
        nonlocal count
        count += 1
        return original(self, event, priority, delay)

    simpy.Environment.schedule = schedule  # type: ignore[method-assign]
    try:
        t0 = time.process_time()
        records = simulate(sc, plan, replication_seed(sc.seed, replication))
        cpu = time.process_time() - t0
    finally:
        simpy.Environment.schedule = original  # type: ignore[method-assign]
    return count, len(records), cpu


def default_plans(repeat: int) -> None:
    """Events and simulation CPU per deal for each plan of the default scenario."""
    sc = load_scenario(DEFAULT)
    print(f"default scenario, {repeat} replications per plan")
    for plan in sc.plans:
        events, deals, cpus = [], [], []
        for r in range(repeat):
            e, d, _ = events_per_deal(sc, plan, r)  # counted run
            events.append(e / d)
            t0 = time.process_time()
            n = len(simulate(sc, plan, replication_seed(sc.seed, r)))  # timed run, without the counting shim
            cpus.append((time.process_time() - t0) / n * 1e6)
            deals.append(n)
        print(f"  {plan:<20} events per deal {spread(events)}  ({int(np.mean(deals)):,d} deals a run)")
        print(f"  {plan:<20} simulation CPU per deal, microseconds {spread(cpus)}")


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
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds / replications (default 3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one leanflow run")
    parser.add_argument("--top", type=int, default=25, help="functions to show with --profile")
    args = parser.parse_args()

    sc = leanflow_scenario(args.customers)
    rates: dict[str, list[float]] = {"raw SimPy": [], "leanflow model run": [], "leanflow + metric tables": []}
    runs = {
        "raw SimPy": lambda: run_raw(args.customers),
        "leanflow model run": lambda: run_leanflow(sc, with_tables=False),
        "leanflow + metric tables": lambda: run_leanflow(sc, with_tables=True),
    }
    for _ in range(args.repeat):
        for label, fn in runs.items():
            t, n = timed(fn)
            rates[label].append(n / t)
    rounds = f"{args.repeat} interleaved rounds (min / median / max)"
    print(f"tandem line, 3 stations, {args.customers:,d} customers, {rounds}")
    for label, values in rates.items():
        print(f"  {label:<26} customers/s {spread(values)}")
    raw = rates["raw SimPy"]
    for label in ("leanflow model run", "leanflow + metric tables"):
        ratios = [a / b for a, b in zip(rates[label], raw, strict=True)]
        print(f"  ratio {label} / raw SimPy  {spread(ratios)}")
    default_plans(args.repeat)
    if args.profile:
        profile_leanflow(sc, args.top)


if __name__ == "__main__":
    main()
