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
    plans: list[str]  # in order; the first is the baseline of every comparison

    @property
    def replications(self) -> int:
        return int(self.summary["replication"].nunique())

    def extended(self, more: RunResult) -> RunResult:
        """This result with more replications of the same plans appended."""
        frames = [(self.summary, more.summary), (self.deals, more.deals), (self.weekly, more.weekly)]
        summary, deals, weekly = (_stack([a, b]) for a, b in frames)
        return RunResult(self.scenario, summary, deals, weekly, self.plans)

    def relabelled(self, prefix: str) -> RunResult:
        """The same result with every plan renamed ``prefix:plan`` (to compare two files)."""
        names = {p: f"{prefix}:{p}" for p in self.plans}
        frames = []
        for df in (self.summary, self.deals, self.weekly):
            df = df.copy()
            df["plan"] = df["plan"].cat.rename_categories(names)
            frames.append(df)
        return RunResult(self.scenario, *frames, [names[p] for p in self.plans])


def run_scenario(
    scenario: Scenario, replications: int | None = None, jobs: int | None = None, first: int = 0
) -> RunResult:
    """Run every plan for replications first..first+n-1 (common random numbers across plans)."""
    n = replications or scenario.replications
    tasks = [(scenario, plan, r) for plan in scenario.plans for r in range(first, first + n)]
    results = run_tasks(run_replication, tasks, jobs, label="replications")
    summary = pd.DataFrame([{"plan": r.plan, "replication": r.replication, **r.metrics} for r in results])
    summary["plan"] = pd.Categorical(summary["plan"], categories=list(scenario.plans))
    deals, weekly = _stack([r.deals for r in results]), _stack([r.weekly for r in results])
    return RunResult(scenario, summary, deals, weekly, list(scenario.plans))


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-run tables, keeping categorical columns categorical (union of categories)."""
    if len(frames) == 1:
        return frames[0]
    cats = {c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)}
    for c in cats:
        union = pd.api.types.union_categoricals([f[c] for f in frames]).categories
        for f in frames:
            f[c] = f[c].cat.set_categories(union)
    out = pd.concat(frames, ignore_index=True)
    for c in cats:
        out[c] = out[c].astype(frames[0][c].dtype)
    return out
