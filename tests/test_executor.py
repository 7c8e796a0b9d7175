"""Executors: shared data goes to each worker once, tasks stay tiny, points keep plan order, Dask's profiler pauses."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leanflow.experiment import sweep as sweep_module
from leanflow.experiment.designs import build_design
from leanflow.experiment.executor import run_points
from leanflow.experiment.sweep import job_for, run_sweep, tasks_for
from leanflow.scenario.sweep_loader import load_sweep

ROOT = Path(__file__).resolve().parent.parent
TWO_PLANS = f"""\
name: two plans
base: {ROOT / "scenarios" / "default.yaml"}
replications: 2
uncertainties:
  market.sources.inbound.per_week: {{low: 30, high: 50}}
design: {{kind: latin_hypercube, n: 3, seed: 7}}
outputs: [won_per_week, win_rate]
overrides: {{horizon_days: 60, warmup_days: 10}}
"""


class Counted:
    """A shared value that records every time it is pickled (to count what travels to workers)."""

    def __init__(self, log: Path, value: int) -> None:
        self.log, self.value = log, value

    def __getstate__(self) -> dict[str, Any]:
        with self.log.open("a") as f:
            f.write("pickled\n")
        return self.__dict__


def _scaled(task: int, shared: Counted) -> tuple[int, int]:
    """A task that needs the shared value: this process and the task times it."""
    return os.getpid(), task * shared.value


def test_pool_workers_get_the_shared_value_once_not_per_task(tmp_path: Path) -> None:
    log = tmp_path / "pickles.log"
    got: dict[int, tuple[int, int]] = {}
    run_points(_scaled, list(range(12)), Counted(log, 3), jobs=2, on_result=got.__setitem__)
    assert {t: v for t, (_, v) in got.items()} == {t: 3 * t for t in range(12)}
    pickles = log.read_text().count("pickled") if log.exists() else 0
    assert pickles <= 2, f"the shared value was pickled {pickles} times for 12 tasks on 2 workers"


def test_a_sweep_task_carries_only_its_point_plan_factors_and_seed(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(TWO_PLANS)
    loaded = load_sweep(path)
    tasks = tasks_for(loaded, build_design(loaded.sweep))
    assert [(t.point, t.plan) for t in tasks] == [(p, plan) for p in range(3) for plan in loaded.plans]
    job = pickle.dumps(job_for(loaded))
    assert max(len(pickle.dumps(t)) for t in tasks) < 400 < len(job)


def test_a_point_keeps_plan_order_whatever_order_its_plans_finish_in(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(TWO_PLANS)
    loaded = load_sweep(path)
    run_sweep(loaded, tmp_path / "in-order", jobs=1)

    def backwards(fn, tasks, shared, jobs=None, scheduler=None, on_result=None, label=""):
        for task in reversed(tasks):
            on_result(task, fn(task, shared))

    monkeypatch.setattr(sweep_module, "run_points", backwards)
    run_sweep(loaded, tmp_path / "backwards", jobs=1)
    a = (tmp_path / "in-order" / "results.parquet").read_bytes()
    assert a == (tmp_path / "backwards" / "results.parquet").read_bytes()
    plans = pd.read_parquet(tmp_path / "in-order" / "results.parquet").groupby("point")["plan"].apply(list)
    assert all(p == [loaded.plans[0]] * 2 + [loaded.plans[1]] * 2 for p in plans)


def _profiler_running(task: int, shared: int) -> tuple[bool, int]:
    """On a Dask worker: whether its stack sampler runs now, and the task plus the shared value."""
    from dask.distributed import get_worker

    return get_worker().periodic_callbacks["profile"].is_running(), task + shared


def test_dask_workers_profiler_is_paused_during_the_run_and_resumed_after() -> None:
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("dask.distributed")
    got: dict[int, tuple[bool, int]] = {}
    with dask.config.set({"distributed.worker.profile.enabled": True}), distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        run_points(_profiler_running, [1, 2, 3], 10, scheduler=cluster.scheduler_address, on_result=got.__setitem__)
        worker = next(iter(cluster.workers.values()))
        assert worker.periodic_callbacks["profile"].is_running()
    assert got == {1: (False, 11), 2: (False, 12), 3: (False, 13)}
