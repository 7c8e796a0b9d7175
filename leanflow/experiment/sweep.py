"""Parameter sweeps: one task per design point x plan (all its replications), streamed to disk.

A task per plan rather than per point halves the work left to the last busy
worker at the end of a sweep. Each finished point (all its plans) is written
at once as its own Parquet file (atomically),
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
from leanflow.experiment.point import PointTask, SweepJob, point_seed, run_point
from leanflow.experiment.sweep_store import SweepStore
from leanflow.scenario.sweep_loader import LoadedSweep


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep run did."""

    points: int
    resumed: int
    seconds: float
    directory: Path


def job_for(loaded: LoadedSweep) -> SweepJob:
    """What every task of the sweep shares (sent once per worker)."""
    sweep = loaded.sweep
    return SweepJob(loaded.base_data, dict(sweep.overrides), sweep.replications, tuple(sweep.outputs))


def tasks_for(loaded: LoadedSweep, design: pd.DataFrame) -> list[PointTask]:
    """One task per design point x plan, point by point, plans in the sweep's order."""
    out = []
    for point, row in design.iterrows():
        factors = {k: _plain(v) for k, v in row.items()}
        seed = point_seed(loaded.seed, int(point), loaded.sweep.common_random_numbers)
        out.extend(PointTask(int(point), plan, factors, seed) for plan in loaded.plans)
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
    parts: dict[int, dict[str, list[dict[str, Any]]]] = {}  # points with some plans finished

    def save(task: PointTask, rows: list[dict[str, Any]]) -> None:
        """Keep a plan's rows; once every plan of the point is in, write the point (plans in sweep order)."""
        got = parts.setdefault(task.point, {})
        got[task.plan] = rows
        if len(got) == len(loaded.plans):
            del parts[task.point]
            store.write_point(task.point, pd.DataFrame([r for plan in loaded.plans for r in got[plan]]))

    run_points(run_point, todo, job_for(loaded), jobs=jobs, scheduler=scheduler, on_result=save,
               label="design points x plans")  # fmt: skip
    store.finalize(design)
    return SweepOutcome(len(design), len(done), time.perf_counter() - start, directory)
