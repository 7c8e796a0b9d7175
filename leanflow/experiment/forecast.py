"""Forecast from today's pipeline: Monte Carlo over replications of each plan, won revenue and deals by date.

Time 0 is the start of the ``start`` day and the horizon ends where the ``until`` day begins (so 2017-07-01
to 2017-10-01 is the third quarter); there is no warm-up. Replication r of every plan runs on the same seed
(common random numbers). At each date (the start, every 7 days after it, and ``until``) a replication sums
the deals won before that day began: cumulative won revenue and won deals, the revenue split into today's
deals (the initial pipeline) and deals created after the start. Across replications each series gets its
P10, P50 and P90 per date (each on its own: the parts' quantiles need not add up to the total's), the
probability of reaching the target by ``until`` (with a 90% Wilson interval), and the count of today's deals
by how they were placed (flagged as older than the model's paths, unmatched, expired by max_age_days).

``forecast`` is independent of the command line: a back-test calls it with a calibrated scenario and the
pipeline open at its as-of date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leanflow.errors import LeanflowError
from leanflow.experiment.executor import run_points
from leanflow.model import simulate
from leanflow.model.records import INITIAL, NEW, OLD, WON
from leanflow.random import replication_seed
from leanflow.scenario.paths import did_you_mean
from leanflow.scenario.pipeline import OpenDeals, parse_rows, read_pipeline, with_pipeline
from leanflow.scenario.schema import OLD_POLICIES, Scenario

if TYPE_CHECKING:
    import pandas as pd

SERIES = ("won_revenue", "won_deals", "won_revenue_pipeline", "won_revenue_new")
QUANTILES = (("p10", 0.10), ("p50", 0.50), ("p90", 0.90))
WILSON_Z = 1.6448536269514722  # two-sided 90%
MAX_DAYS = 36_500

Pipeline = OpenDeals | str | PathLike[str] | Iterable[Mapping[str, Any]] | None


@dataclass(frozen=True)
class ForecastJob:
    """What every replication of a forecast shares: sent to each worker once."""

    scenario: Scenario
    days: tuple[float, ...]  # each date's day offset from the start


@dataclass(frozen=True)
class ForecastTask:
    """One replication of one plan."""

    plan: str
    replication: int


@dataclass(frozen=True)
class Forecast:
    """A forecast: per plan, every replication's cumulative series by date, and how today's deals were placed."""

    scenario: str
    start: date
    until: date
    dates: tuple[date, ...]
    plans: tuple[str, ...]
    n: int
    seed: int
    target: float | None
    pipeline: OpenDeals | None
    stages: tuple[str, ...]
    paths: dict[str, np.ndarray]  # plan -> (replications, SERIES, dates): cumulative values
    placed: dict[str, np.ndarray]  # plan -> (replications, INITIAL codes): today's deals by placement
    old_ids: dict[str, tuple[str, ...]]  # plan -> ids of today's deals flagged as older than the model's paths
    old_policy: str = "restart"  # what became of the flagged deals: restart their stage, or stale at time 0

    def quantiles(self, plan: str) -> np.ndarray:
        """(QUANTILES, SERIES, dates) across replications."""
        return np.quantile(self.paths[plan], [q for _, q in QUANTILES], axis=0)

    def p_target(self, plan: str) -> tuple[float, float, float] | None:
        """The share of replications whose won revenue reached the target by ``until``, with its 90% interval."""
        if self.target is None:
            return None
        hits = int((self.paths[plan][:, 0, -1] >= self.target).sum())
        return (hits / self.n, *_wilson(hits, self.n))

    def table(self) -> pd.DataFrame:
        """One row per plan x date x quantile: the columns of forecast.csv."""
        import pandas as pd

        rows = []
        for plan in self.plans:
            q = self.quantiles(plan)
            for k, day in enumerate(self.dates):
                for i, (name, _) in enumerate(QUANTILES):
                    rows.append({"plan": plan, "date": day.isoformat(), "quantile": name,
                                 **{s: float(q[i, j, k]) for j, s in enumerate(SERIES)}})  # fmt: skip
        return pd.DataFrame(rows, columns=["plan", "date", "quantile", *SERIES])

    def summary(self) -> dict[str, Any]:
        """Totals per plan at ``until`` (quantiles, mean, P(target)) and the pipeline's placement: forecast.json."""
        plans = {}
        for plan in self.plans:
            end = self.paths[plan][:, :, -1]
            totals = {s: {**{name: float(np.quantile(end[:, j], q)) for name, q in QUANTILES},
                          "mean": float(end[:, j].mean())} for j, s in enumerate(SERIES)}  # fmt: skip
            hit = self.p_target(plan)
            placed = self.placed[plan].mean(axis=0)
            plans[plan] = {
                **totals,
                "p_target": None if hit is None else hit[0],
                "p_target_ci90": None if hit is None else [hit[1], hit[2]],
                "pipeline_deals": {INITIAL[c]: float(placed[c]) for c in range(len(INITIAL)) if c != NEW},
                "old_ids": list(self.old_ids[plan]),
            }
        deals = self.pipeline
        return {
            "scenario": self.scenario,
            "from": self.start.isoformat(),
            "until": self.until.isoformat(),
            "horizon_days": (self.until - self.start).days,
            "n": self.n,
            "seed": self.seed,
            "target": self.target,
            "pipeline": None if deals is None else {
                "source": deals.source, "deals": len(deals), "value": float(sum(deals.value)),
                "by_stage": {s: deals.stage.count(i) for i, s in enumerate(self.stages)},
            },
            "plans": plans,
        }  # fmt: skip


def forecast(
    scenario: Scenario | str | PathLike[str],
    pipeline: Pipeline,
    start: date,
    until: date,
    n: int = 200,
    seed: int | None = None,
    plans: Sequence[str] | None = None,
    jobs: int | None = None,
    target: float | None = None,
    old: str | None = None,
) -> Forecast:
    """Forecast won revenue and deals from ``start`` to ``until`` for each of ``plans`` (default: all).

    ``pipeline``: today's open deals as an ``OpenDeals``, a CSV path, or rows with the CSV's columns (see
    ``leanflow.scenario.pipeline``); None keeps the scenario's own ``initial_pipeline`` (or none: only deals
    yet to be created). ``seed`` defaults to the scenario's; ``jobs`` to all cores (same numbers for any). ``old``
    (restart or stale) sets what becomes of today's deals older than the model's paths or that no path matched;
    None keeps the scenario's ``initial_pipeline.old``."""
    if not isinstance(scenario, Scenario):
        from leanflow.scenario import load_scenario

        scenario = load_scenario(scenario)
    days = (until - start).days
    if not 0 < days <= MAX_DAYS:
        raise LeanflowError(f"the forecast's end ({until}, --until) must be after its start ({start}, --from), by at "
                            f"most {MAX_DAYS:,d} days")
    if n < 1:
        raise LeanflowError(f"the number of replications must be at least 1, got {n}")
    chosen = tuple(plans or scenario.plans)
    for p in chosen:
        if p not in scenario.plans:
            raise LeanflowError(f"no plan '{p}' in {scenario.name}{did_you_mean(p, list(scenario.plans))}; "
                                f"plans: {', '.join(scenario.plans)}")  # fmt: skip
    if old is not None and old not in OLD_POLICIES:
        raise LeanflowError(f"old: expected one of {', '.join(OLD_POLICIES)}, got '{old}'")
    sc = _starting(scenario, pipeline, old)
    sc = sc.model_copy(update={"horizon_days": float(days), "warmup_days": 0.0,
                               "seed": scenario.seed if seed is None else seed})  # fmt: skip
    dates = (*(start + timedelta(days=k) for k in range(0, days, 7)), until)
    job = ForecastJob(sc, tuple(float((d - start).days) for d in dates))
    tasks = [ForecastTask(p, r) for p in chosen for r in range(n)]
    results: dict[ForecastTask, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    run_points(forecast_replication, tasks, job, jobs, on_result=results.__setitem__, label="forecast")
    deals = sc.initial_pipeline.deals if sc.initial_pipeline is not None else None
    old_ids = {p: tuple(deals.ids[i] for i in results[ForecastTask(p, 0)][2]) if deals else () for p in chosen}
    return Forecast(
        scenario.name, start, until, dates, chosen, n, sc.seed, target, deals,
        tuple(s.name for s in sc.process.stages),
        {p: np.stack([results[ForecastTask(p, r)][0] for r in range(n)]) for p in chosen},
        {p: np.stack([results[ForecastTask(p, r)][1] for r in range(n)]) for p in chosen},
        old_ids, sc.initial_pipeline.old if sc.initial_pipeline is not None else "restart",
    )  # fmt: skip


def forecast_replication(task: ForecastTask, job: ForecastJob) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One replication: the cumulative SERIES at each date (series x dates), today's deals counted by INITIAL
    code, and the input rows of those flagged OLD."""
    sc = job.scenario
    cols = simulate(sc, task.plan, replication_seed(sc.seed, task.replication)).columns()
    won = cols["outcome"] == WON
    initial = cols["initial"]
    days = np.asarray(job.days)
    out = np.empty((len(SERIES), days.size))
    for j, mask in enumerate((won, won, won & (initial != NEW), won & (initial == NEW))):
        order = np.argsort(cols["closed"][mask], kind="stable")
        closed = cols["closed"][mask][order]
        weights = np.ones(closed.size) if SERIES[j] == "won_deals" else cols["value"][mask][order]
        totals = np.concatenate([[0.0], np.cumsum(weights)])
        out[j] = totals[np.searchsorted(closed, days, side="left")]  # won before each date began
    placed = np.bincount(initial[initial != NEW], minlength=len(INITIAL))
    old = np.sort(cols["deal_id"][initial == OLD])  # today's deals are placed first: deal k is row k
    return out, placed, old


def _starting(scenario: Scenario, pipeline: Pipeline, old: str | None) -> Scenario:
    """The scenario starting from ``pipeline`` (None: its own), its old deals treated by ``old`` (None: its own)."""
    if pipeline is None:
        own = scenario.initial_pipeline
        return scenario if own is None or old is None else with_pipeline(scenario, own.deals, old=old)
    if isinstance(pipeline, OpenDeals):
        deals = pipeline
    elif isinstance(pipeline, str | PathLike):
        deals = read_pipeline(Path(pipeline), scenario)
    else:
        deals = parse_rows(pipeline, scenario)
    return with_pipeline(scenario, deals, old=old)


def _wilson(hits: int, n: int) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion at WILSON_Z."""
    z2 = WILSON_Z**2
    centre = (hits + z2 / 2) / (n + z2)
    half = WILSON_Z * math.sqrt(hits * (n - hits) / n + z2 / 4) / (n + z2)
    return max(0.0, centre - half), min(1.0, centre + half)
