"""The naive baseline a back-test must beat: a stage-weighted pipeline forecast plus the recent run rate.

For a horizon of H days from ``as_of`` (only data dated before ``as_of`` is used):

- **today's pipeline**: every deal open at ``as_of`` and no older than the longest cycle closed before it
  counts its value (for revenue; 1 for deals) times the historical win rate of its stage: won / (won + lost)
  among the deals closed before ``as_of`` that reached that stage (every closed deal reached the first
  pipeline stage; later stages are read from the stage history; a stage no closed deal reached takes the
  first stage's rate). Older open deals are dropped, as pipeline hygiene would (no deal has ever closed that
  late). No timing: every deal kept is assumed to close within the horizon, as a weighted pipeline does;
- **deals not yet created**: the run rate of the most recent window before ``as_of``, as long as the horizon
  where the data allows (from the export's first close, before which it is left-truncated): the revenue (and
  deals) won inside that window by deals created inside it, per week, times H / 7.

It is a point forecast (a P50 only), and deliberately simple: what a sales operations team would put in a
spreadsheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from leanflow.crm.pipeline_at import first_pipeline_stage
from leanflow.errors import LeanflowError

WEEK = 7.0


@dataclass(frozen=True)
class Baseline:
    """The naive forecast of one window, by part: today's pipeline and deals created in the horizon."""

    pipeline_revenue: float
    pipeline_deals: float
    new_revenue: float
    new_deals: float
    run_rate_days: int  # the length of the window the run rate was measured over

    @property
    def won_revenue(self) -> float:
        return self.pipeline_revenue + self.new_revenue

    @property
    def won_deals(self) -> float:
        return self.pipeline_deals + self.new_deals


def stage_win_rates(imp, as_of: date) -> dict[str, float]:
    """Per open stage, won / (won + lost) among deals closed before ``as_of`` that reached it (NaN: none)."""
    t, m = imp.table, imp.mapping
    cut = pd.Timestamp(as_of)
    closed = t[t["closed"].notna() & (t["closed"] < cut) & t["outcome"].isin(["won", "lost"])]
    if closed.empty:
        raise LeanflowError(f"no deal closed before {as_of}: no win rate for the baseline")
    won = closed["outcome"].eq("won")
    first = first_pipeline_stage(imp)
    rates = {first: float(won.mean())}
    h = imp.history
    order = {s: i for i, s in enumerate(m.stages)}
    if h is not None and not h.empty:
        seen = h[(h["date"] < cut) & h["stage"].isin(order) & h["id"].isin(closed["id"])]
        furthest = seen.assign(k=seen["stage"].map(order)).groupby("id")["k"].max()
        reached = closed["id"].map(furthest).fillna(-1).to_numpy()
        for stage, k in order.items():
            if stage != first and k > order[first]:
                at = reached >= k
                rates[stage] = float(won.to_numpy()[at].mean()) if at.any() else float("nan")
    return rates


def naive_forecast(imp, as_of: date, horizon_days: int, pipeline: pd.DataFrame) -> Baseline:
    """The naive forecast for [as_of, as_of + horizon_days) from ``pipeline`` (``pipeline_at``, values filled)."""
    rates = stage_win_rates(imp, as_of)
    first_rate = rates[first_pipeline_stage(imp)]
    weight = pipeline["stage"].map(rates).astype(float).fillna(first_rate).to_numpy()
    weight = np.where(pipeline["age_days"].to_numpy(dtype=float) > longest_cycle(imp, as_of), 0.0, weight)
    revenue = float((weight * pipeline["value"].to_numpy(dtype=float)).sum())
    new_revenue, new_deals, days = run_rate(imp, as_of, horizon_days)
    scale = horizon_days / WEEK
    return Baseline(revenue, float(weight.sum()), new_revenue * scale, new_deals * scale, days)


def longest_cycle(imp, as_of: date) -> float:
    """The most days from creation to close among the deals closed before ``as_of``."""
    t = imp.table
    closed = t[t["closed"].notna() & (t["closed"] < pd.Timestamp(as_of)) & t["created"].notna()]
    return float((closed["closed"] - closed["created"]).dt.days.max())


def run_rate(imp, as_of: date, horizon_days: int) -> tuple[float, float, int]:
    """Revenue and deals a week won by deals created and won within the latest window before ``as_of``
    (``horizon_days`` long, or shorter where the data starts later); and that window's length in days."""
    t = imp.table
    cut = pd.Timestamp(as_of)
    closes = t.loc[t["closed"].notna(), "closed"]
    if closes.empty or closes.min() >= cut:
        raise LeanflowError(f"no deal closed before {as_of}: no run rate for the baseline")
    begin = max(cut - pd.Timedelta(days=horizon_days), closes.min(), t["created"].min())
    days = (cut - begin).days
    inside = (t["created"] >= begin) & (t["closed"] < cut) & t["outcome"].eq("won")
    weeks = days / WEEK
    return float(np.nansum(t.loc[inside, "amount"].to_numpy(dtype=float))) / weeks, int(inside.sum()) / weeks, days
