"""Warm-up check: MSER-5 truncation points of each plan's weekly series, and a warning when the warm-up is short.

MSER-5 (White 1997, "An effective truncation heuristic for bias reduction in
simulation output", Simulation 69(6); White, Cobb & Spratt 2000): average the
series in batches of 5, and truncate the d batches that minimise
sum((z_j - mean of the rest)^2) / (k - d)^2 over the k - d batches kept; only
d <= k / 2 is considered, as the rule prescribes. pymser (PyPI) implements
MSER for molecular simulations but pulls in statsmodels and PyTorch, so the
rule is written here with numpy.

MSER-5 is applied to the cross-replication mean of each weekly series. On a
stationary series it still truncates now and then (noise can lower the
statistic), so a warm-up is called too short only when a batch of the stretch
MSER-5 would also cut after the warm-up differs from the weeks kept: a paired
t-test across replications (independent by construction) of each
replication's mean over the batch against its mean over the weeks kept,
Bonferroni-adjusted over the batches, at the 5% level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.scenario.schema import Scenario

BATCH = 5
ALPHA = 0.05  # family level of the tests that a batch cut after the warm-up differs from the weeks kept
SERIES = {"won_revenue": "weekly won revenue", "wip": "weekly WIP"}


def mser5(x: np.ndarray) -> int:
    """Observations to truncate from the start of ``x`` by MSER-5 (0 for a series shorter than two batches)."""
    k = len(x) // BATCH
    if k < 2:
        return 0
    z = np.asarray(x[: k * BATCH], dtype=float).reshape(k, BATCH).mean(axis=1)
    kept = np.arange(k, 0, -1)  # batches kept when truncating d = 0 .. k-1
    s1, s2 = np.cumsum(z[::-1])[::-1], np.cumsum((z**2)[::-1])[::-1]
    mser = (s2 - s1**2 / kept) / kept**2
    return BATCH * int(np.argmin(mser[: k // 2 + 1]))


def warmup_check(weekly: pd.DataFrame, scenarios: dict[str, tuple[Scenario, str]]) -> pd.DataFrame:
    """Per plan and series (won revenue, total WIP; full weeks): the MSER-5 truncation point of the mean across
    replications in days, the scenario's warm-up, the p-value that the stretch between them differs from the
    weeks kept, and whether the warm-up is too short (with one replication there is no test: MSER-5 alone)."""
    wip = [c for c in weekly.columns if c.startswith("wip_")]
    frame = weekly.assign(wip=weekly[wip].sum(axis=1))
    rows = []
    for plan, g in frame.groupby("plan", observed=True):
        sc = scenarios[str(plan)][0]
        full = g[g["start_day"] + 7.0 <= sc.horizon_days]
        if full.empty:
            continue  # no full week: nothing to check
        first = math.ceil(sc.warmup_days / 7.0)  # the first week of the window
        for series in SERIES:
            x = full.pivot_table(index="replication", columns="week", values=series).sort_index(axis=1).to_numpy()
            cut = mser5(x.mean(axis=0))
            p = _stretch_differs(x, first, cut)
            days = 7.0 * cut
            rows.append({"plan": str(plan), "series": series, "truncation_days": days, "warmup_days": sc.warmup_days,
                         "p_value": p, "too_short": bool(days > sc.warmup_days and not p >= ALPHA)})  # fmt: skip
    return pd.DataFrame(rows, columns=["plan", "series", "truncation_days", "warmup_days", "p_value", "too_short"])


def _stretch_differs(x: np.ndarray, first: int, cut: int) -> float:
    """Bonferroni-adjusted p-value that some batch of weeks first..cut-1 differs from the weeks from cut on: paired
    t-tests across replications (rows); nan when there is no such stretch or only one replication."""
    if cut <= first or len(x) < 2:
        return float("nan")
    kept = x[:, cut:].mean(axis=1)
    starts = range(first, cut, BATCH)
    p = [stats.ttest_rel(x[:, s : min(s + BATCH, cut)].mean(axis=1), kept).pvalue for s in starts]
    return float(min(1.0, np.nanmin(p) * len(p)))


def warmup_warnings(check: pd.DataFrame) -> list[str]:
    """One line per plan whose warm-up is too short, naming the series with the later truncation point."""
    lines = []
    for plan, g in check[check["too_short"].astype(bool)].groupby("plan", sort=False):
        worst = g.loc[g["truncation_days"].idxmax()]
        n = f"{worst.truncation_days:.0f}"
        lines.append(f"warm-up {worst.warmup_days:g} d looks too short for plan {plan}: {SERIES[worst.series]} "
                     f"settles after ~{n} d (MSER-5); set warmup_days >= {n}")  # fmt: skip
    return lines
