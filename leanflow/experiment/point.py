"""One plan of one design point of a sweep, as a worker runs it: tiny task in, plain rows out.

What every point shares (the base scenario, the overrides, the replications, the outputs) travels
once per worker as a ``SweepJob``; each task names only its point, plan, factor values and seed.
Nothing here imports pandas, so a process-pool or Dask worker starts on the cheap replication
path; the parent turns the rows into a table and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from leanflow.experiment.replication import replication_metrics
from leanflow.scenario.paths import scenario_data
from leanflow.scenario.schema import Scenario


@dataclass(frozen=True)
class SweepJob:
    """What every task of a sweep shares: sent to each worker once, not with every task."""

    base_data: dict[str, Any]
    fixed: dict[str, Any]  # the sweep's overrides, the same at every point
    replications: int
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class PointTask:
    """One plan of one design point: all its replications (a few bytes to send)."""

    point: int
    plan: str
    factors: dict[str, Any]  # this point's design values
    seed: int


def point_seed(seed: int, point: int, common: bool) -> int:
    """The replication seed of a point: the sweep's own with common random numbers, else one per point."""
    if common:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def run_point(task: PointTask, job: SweepJob) -> list[dict[str, Any]]:
    """Tidy rows (one per replication) of one plan at one design point: factor values and the kept metrics.

    Plain rows, not a DataFrame: the worker needs no pandas, and the parent builds the table."""
    data = scenario_data(job.base_data, {**job.fixed, **task.factors})
    data["seed"] = task.seed
    scenario = Scenario.model_validate(data)
    rows = []
    for rep in range(job.replications):
        metrics = replication_metrics(scenario, task.plan, rep)
        rows.append({"point": task.point, **task.factors, "plan": task.plan, "replication": rep,
                     **{k: metrics.get(k, float("nan")) for k in job.outputs}})  # fmt: skip
    return rows
