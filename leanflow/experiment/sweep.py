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
from leanflow.experiment.point import PointTask, point_seed, run_point
from leanflow.experiment.sweep_store import SweepStore
from leanflow.scenario.sweep_loader import LoadedSweep


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep run did."""

    points: int
    resumed: int
    seconds: float
    directory: Path


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
    def save(task: PointTask, rows: list[dict[str, Any]]) -> None:
        store.write_point(task.point, pd.DataFrame(rows))

    run_points(run_point, todo, jobs=jobs, scheduler=scheduler, on_result=save, label="design points")
    store.finalize(design)
    return SweepOutcome(len(design), len(done), time.perf_counter() - start, directory)
