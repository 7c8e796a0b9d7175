"""Replications of every plan of a scenario, gathered into tables."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leanflow.experiment.executor import run_tasks
from leanflow.experiment.replication import run_replication
from leanflow.scenario.schema import Scenario


@dataclass
class RunResult:
    """All plans x replications of one scenario."""

    scenario: Scenario
    summary: pd.DataFrame  # one row per plan x replication
    deals: pd.DataFrame
    weekly: pd.DataFrame

    @property
    def plans(self) -> list[str]:
        return list(self.scenario.plans)


def run_scenario(scenario: Scenario, replications: int | None = None, jobs: int | None = None) -> RunResult:
    """Run every plan for replications 0..n-1 (common random numbers across plans)."""
    n = replications or scenario.replications
    tasks = [(scenario, plan, r) for plan in scenario.plans for r in range(n)]
    results = run_tasks(run_replication, tasks, jobs, label="replications")
    summary = pd.DataFrame([{"plan": r.plan, "replication": r.replication, **r.metrics} for r in results])
    summary["plan"] = pd.Categorical(summary["plan"], categories=list(scenario.plans))
    return RunResult(scenario, summary, _stack([r.deals for r in results]), _stack([r.weekly for r in results]))


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-run tables, keeping categorical columns categorical (union of categories)."""
    if len(frames) == 1:
        return frames[0]
    cats = {c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)}
    for c in cats:
        union = pd.api.types.union_categoricals([f[c] for f in frames]).categories
        for f in frames:
            f[c] = f[c].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)
