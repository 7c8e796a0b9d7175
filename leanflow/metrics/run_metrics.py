"""Metrics of one plan x replication, over the window after the warm-up.

Definitions (also in the README):
- lead-side counts (leads, qualified, recycled_leads) count leads *created* in
  the window; outcome counts (won, lost, stale, disqualified) count deals
  *closed* in it;
- win_rate = won / (won + lost); win_rate_stale_as_lost = won / (won + lost + stale);
  win_rate_value = won value / (won + lost) value; pipeline metrics and
  mechanism losses: see ``leanflow.metrics.pipeline``;
- cycle_* = days from lead creation to close of won deals closed in the window;
- flow_efficiency = sum of touch time / sum of lead time over deals closed in the window;
- utilisation = busy time / person-days present, with and without prospecting,
  per role and for the team; headcount = mean number of people present; cost
  per year of the people present (see ``leanflow.metrics.people``);
- wip_* = time-average number of deals in a stage; conversion_* = share of
  deals leaving a stage in the window that went on (last stage: won);
- velocity: opportunities are qualified deals from passing the last gate to
  their close; opportunity_rate_per_week = opportunities closed in the window
  (any outcome) per week, mean_won_value and opportunity_win_rate (won / closed)
  over the same deals, so velocity_per_week = rate x value x win rate equals
  the won revenue per week from opportunities exactly. The cycle
  (opportunity_cycle_days) and the open count (opportunities, time-average) are
  the speed view: by Little's law open = rate x cycle, so the cycle is not a
  further factor.
"""

from __future__ import annotations

import numpy as np

from leanflow.metrics.initial import initial_metrics
from leanflow.metrics.intervals import overlap, ratio
from leanflow.metrics.people import role_metrics
from leanflow.metrics.pipeline import closed_in, loss_metrics, pipeline_metrics
from leanflow.metrics.tables import RunData
from leanflow.model.records import DISQUALIFIED, LOST, OPEN, STALE, WON

DAYS_PER_YEAR = 365.25


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else float("nan")


def run_metrics(rd: RunData) -> dict[str, float]:
    """Every headline metric of one run, as a flat dict of floats."""
    c = rd.cols
    lo, hi = rd.warmup, rd.horizon
    span = hi - lo
    weeks = span / 7.0
    created, closed, outcome, value = c["created"], c["closed"], c["outcome"], c["value"]
    in_window = closed_in(rd, lo, hi)
    made = (created >= lo) & (created < hi)
    won, lost = in_window & (outcome == WON), in_window & (outcome == LOST)
    stale, disq = in_window & (outcome == STALE), in_window & (outcome == DISQUALIFIED)
    cycle = (closed - created)[won]
    m: dict[str, float] = {
        "leads": float(made.sum()),
        "qualified": float((made & (c["qualified"] == 1)).sum()),
        "won": float(won.sum()),
        "lost": float(lost.sum()),
        "stale": float(stale.sum()),
        "disqualified": float(disq.sum()),
        "open_end": float((outcome == OPEN).sum()),
        "win_rate": ratio(won.sum(), won.sum() + lost.sum()),
        "win_rate_stale_as_lost": ratio(won.sum(), won.sum() + lost.sum() + stale.sum()),
        "win_rate_value": ratio(value[won].sum(), value[won].sum() + value[lost].sum()),
        "won_per_week": float(won.sum() / weeks),
        "won_revenue_per_week": float(value[won].sum() / weeks),
        "cycle_mean": float(cycle.mean()) if cycle.size else float("nan"),
        "cycle_p50": _pct(cycle, 50),
        "cycle_p85": _pct(cycle, 85),
        "cycle_p95": _pct(cycle, 95),
        "flow_efficiency": ratio(c["touch_days"][in_window].sum(), (closed - created)[in_window].sum()),
    }
    m.update(_stage_metrics(rd, lo, hi))
    m.update(role_metrics(rd, lo, hi))
    m.update(_velocity(rd, lo, hi))
    m.update(pipeline_metrics(rd, lo, hi))
    m.update(loss_metrics(rd, lo, hi))
    if rd.scenario.initial_pipeline is not None:
        m.update(initial_metrics(rd, lo, hi))
    yearly = m["won_revenue_per_week"] * DAYS_PER_YEAR / 7.0
    m["revenue_per_seller_year"] = ratio(yearly, m["headcount"])
    m["revenue_per_cost"] = ratio(yearly, m["cost_per_year"])
    return m


def _stage_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    m: dict[str, float] = {}
    n = len(rd.stages)
    outcome = rd.cols["outcome"]
    total_wip = 0.0
    for s, name in enumerate(rd.stages):
        enter, leave = rd.enter[:, s], rd.leave[:, s]
        reached = ~np.isnan(enter)
        wip = float(overlap(enter[reached], leave[reached], lo, hi).sum() / (hi - lo))
        total_wip += wip
        m[f"wip_{name}"] = wip
        left = reached & (leave >= lo) & (leave <= hi) & ~((outcome == OPEN) & (leave >= hi))
        m[f"stage_days_{name}"] = float((leave - enter)[left].mean()) if left.any() else float("nan")
        went_on = ~np.isnan(rd.enter[:, s + 1]) if s + 1 < n else outcome == WON
        m[f"conversion_{name}"] = ratio((left & went_on).sum(), left.sum())
    m["wip_total"] = total_wip
    return m


def _velocity(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """Sales velocity as opportunity rate x mean won value x win rate, and the speed view beside it."""
    c = rd.cols
    weeks = (hi - lo) / 7.0
    gates = [i for i, st in enumerate(rd.scenario.process.stages) if st.gate is not None]
    since = rd.done[:, gates[-1]] if gates else c["created"]
    if gates and rd.scenario.initial_pipeline is not None:
        # today's deals past the gate passed it before time 0: opportunities since their creation
        since = np.where(np.isnan(since) & (c["initial"] > 0), c["created"], since)
    end = np.where(np.isnan(c["closed"]), rd.horizon, c["closed"])
    opp = (c["qualified"] == 1) & ~np.isnan(since)
    closed_opp = opp & closed_in(rd, lo, hi)
    won_opp = closed_opp & (c["outcome"] == WON)
    nan = float("nan")
    rate = float(closed_opp.sum() / weeks)
    won_value = float(c["value"][won_opp].mean()) if won_opp.any() else nan
    win = ratio(won_opp.sum(), closed_opp.sum())
    no_wins = 0.0 if closed_opp.any() else nan  # closed opportunities, none won: velocity 0
    return {
        "opportunity_rate_per_week": rate,
        "mean_won_value": won_value,
        "opportunity_win_rate": win,
        "velocity_per_week": rate * won_value * win if won_opp.any() else no_wins,
        "opportunity_cycle_days": float((c["closed"] - since)[closed_opp].mean()) if closed_opp.any() else nan,
        "opportunities": float(overlap(since[opp], end[opp], lo, hi).sum() / (hi - lo)),
    }
