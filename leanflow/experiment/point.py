"""One design point of a sweep, as a worker runs it: small picklable task in, plain rows out.

Nothing here imports pandas, so a process-pool or Dask worker starts on the cheap
replication path; the parent turns the rows into a table and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from leanflow.experiment.replication import replication_metrics
from leanflow.scenario.paths import scenario_data
from leanflow.scenario.schema import Scenario


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs for one design point (small and picklable)."""

    point: int
    factors: dict[str, Any]  # this point's design values
    fixed: dict[str, Any]  # the sweep's overrides, the same at every point
    base_data: dict[str, Any]
    plans: tuple[str, ...]
    replications: int
    seed: int
    outputs: tuple[str, ...]


def point_seed(seed: int, point: int, common: bool) -> int:
    """The replication seed of a point: the sweep's own with common random numbers, else one per point."""
    if common:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def run_point(task: PointTask) -> list[dict[str, Any]]:
    """Tidy rows (plan x replication) of one design point: factor values and the kept metrics.

    Plain rows, not a DataFrame: the worker needs no pandas, and the parent builds the table."""
    data = scenario_data(task.base_data, {**task.fixed, **task.factors})
    data["seed"] = task.seed
    scenario = Scenario.model_validate(data)
    rows = []
    for plan in task.plans:
        for rep in range(task.replications):
            metrics = replication_metrics(scenario, plan, rep)
            rows.append({"point": task.point, **task.factors, "plan": plan, "replication": rep,
                         **{k: metrics.get(k, float("nan")) for k in task.outputs}})  # fmt: skip
    return rows
