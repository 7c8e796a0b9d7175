"""Parameter sweeps: one task per design point (all its plans and replications), streamed to disk.

Each finished point is written at once as its own Parquet file (atomically),
so memory stays flat and an interrupted sweep resumes where it stopped. Every
point is a pure function of the sweep, so the results are identical whatever
the executor (process pool or Dask) and the number of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leanflow.experiment.designs import build_design
from leanflow.experiment.executor import run_points
from leanflow.experiment.replication import replication_metrics
from leanflow.experiment.sweep_store import SweepStore
from leanflow.scenario.schema import Scenario
from leanflow.scenario.sweep_loader import LoadedSweep, scenario_data


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


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep run did."""

    points: int
    resumed: int
    seconds: float
    directory: Path


def point_seed(seed: int, point: int, common: bool) -> int:
    """The replication seed of a point: the sweep's own with common random numbers, else one per point."""
    if common:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def run_point(task: PointTask) -> pd.DataFrame:
    """Tidy rows (plan x replication) of one design point: factor values and the kept metrics."""
    data = scenario_data(task.base_data, {**task.fixed, **task.factors})
    data["seed"] = task.seed
    scenario = Scenario.model_validate(data)
    rows = []
    for plan in task.plans:
        for rep in range(task.replications):
            metrics = replication_metrics(scenario, plan, rep)
            rows.append({"point": task.point, **task.factors, "plan": plan, "replication": rep,
                         **{k: metrics.get(k, float("nan")) for k in task.outputs}})  # fmt: skip
    return pd.DataFrame(rows)


def tasks_for(loaded: LoadedSweep, design: pd.DataFrame) -> list[PointTask]:
    """One task per design point."""
    sweep = loaded.sweep
    fixed = dict(sweep.overrides)
    out = []
    for point, row in design.iterrows():
        factors = {k: _plain(v) for k, v in row.items()}
        out.append(PointTask(int(point), factors, fixed, loaded.base_data, tuple(loaded.plans), sweep.replications,
                             point_seed(loaded.seed, int(point), sweep.common_random_numbers),
                             tuple(sweep.outputs)))  # fmt: skip
    return out


def _plain(v: Any) -> Any:
    """numpy scalars as Python values (for YAML-like scenario data)."""
    return v.item() if isinstance(v, np.generic) else v


def run_sweep(
    loaded: LoadedSweep,
    directory: Path,
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    command: list[str] | None = None,
) -> SweepOutcome:
    """Run (or resume) a sweep into ``directory``; finished points are skipped."""
    start = time.perf_counter()
    design = build_design(loaded.sweep)
    store = SweepStore(directory)
    store.prepare(loaded, design, force=force, command=command or [], scheduler=scheduler)
    done = store.finished_points()
    todo = [t for t in tasks_for(loaded, design) if t.point not in done]
    run_points(run_point, todo, jobs=jobs, scheduler=scheduler, on_result=lambda t, df: store.write_point(t.point, df),
               label="design points")  # fmt: skip
    store.finalize(design)
    return SweepOutcome(len(design), len(done), time.perf_counter() - start, directory)
