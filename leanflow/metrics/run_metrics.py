"""Metrics of one plan x replication, over the window after the warm-up.

Definitions (also in the README):
- lead-side counts (leads, qualified) count leads *created* in the window;
  outcome counts (won, lost, stale, disqualified) count deals *closed* in it;
- win_rate = won / (won + lost); win_rate_stale_as_lost = won / (won + lost + stale);
  win_rate_value = won value / (won + lost) value;
- cycle_* = days from lead creation to close of won deals closed in the window;
- flow_efficiency = sum of touch time / sum of lead time over deals closed in the window;
- utilisation = busy time (deal work and prospecting) / calendar time per head,
  per role and over the whole team (resource efficiency);
- wip_* = time-average number of deals in a stage; conversion_* = share of
  deals leaving a stage in the window that went on (last stage: won);
- velocity = open opportunities x mean won value x opportunity win rate /
  opportunity cycle days (per week): by Little's law it should match
  won_revenue_per_week, which is printed beside it.
"""

from __future__ import annotations

import numpy as np

from leanflow.metrics.tables import RunData
from leanflow.model.records import DISQUALIFIED, LOST, OPEN, STALE, WON

DAYS_PER_YEAR = 365.25


def overlap(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of each interval [a, b) inside [lo, hi)."""
    return np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)


def occupancy_integral(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Integral from 0 to each t of the number of intervals [a, b) open (intervals with nan ignored)."""
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = np.sort(a[keep]), np.sort(b[keep])
    ca, cb = np.concatenate([[0.0], np.cumsum(a)]), np.concatenate([[0.0], np.cumsum(b)])
    na, nb = np.searchsorted(a, t), np.searchsorted(b, t)
    return (na * t - ca[na]) - (nb * t - cb[nb])


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else float("nan")


def run_metrics(rd: RunData) -> dict[str, float]:
    """Every headline metric of one run, as a flat dict of floats."""
    c = rd.cols
    lo, hi = rd.warmup, rd.horizon
    span = hi - lo
    weeks = span / 7.0
    created, closed, outcome, value = c["created"], c["closed"], c["outcome"], c["value"]
    in_window = (closed >= lo) & (closed <= hi)
    made = (created >= lo) & (created < hi)
    won, lost = in_window & (outcome == WON), in_window & (outcome == LOST)
    stale, disq = in_window & (outcome == STALE), in_window & (outcome == DISQUALIFIED)
    cycle = (closed - created)[won]
    headcount = len(rd.person_role)
    m: dict[str, float] = {
        "leads": float(made.sum()),
        "qualified": float((made & (c["qualified"] == 1)).sum()),
        "won": float(won.sum()),
        "lost": float(lost.sum()),
        "stale": float(stale.sum()),
        "disqualified": float(disq.sum()),
        "open_end": float((outcome == OPEN).sum()),
        "win_rate": _ratio(won.sum(), won.sum() + lost.sum()),
        "win_rate_stale_as_lost": _ratio(won.sum(), won.sum() + lost.sum() + stale.sum()),
        "win_rate_value": _ratio(value[won].sum(), value[won].sum() + value[lost].sum()),
        "won_per_week": float(won.sum() / weeks),
        "won_revenue_per_week": float(value[won].sum() / weeks),
        "cycle_mean": float(cycle.mean()) if cycle.size else float("nan"),
        "cycle_p50": _pct(cycle, 50),
        "cycle_p85": _pct(cycle, 85),
        "cycle_p95": _pct(cycle, 95),
        "flow_efficiency": _ratio(c["touch_days"][in_window].sum(), (closed - created)[in_window].sum()),
        "headcount": float(headcount),
    }
    m.update(_stage_metrics(rd, lo, hi))
    m.update(_role_metrics(rd, lo, hi))
    m.update(_velocity(rd, lo, hi))
    m["revenue_per_seller_year"] = m["won_revenue_per_week"] * DAYS_PER_YEAR / 7.0 / headcount
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
        m[f"conversion_{name}"] = _ratio((left & went_on).sum(), left.sum())
    m["wip_total"] = total_wip
    return m


def _role_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    m: dict[str, float] = {}
    total_busy = 0.0
    worked = rd.person >= 0
    person = rd.person[worked]
    start = rd.start[worked]
    done = np.where(np.isnan(rd.done[worked]), rd.horizon, rd.done[worked])
    wait = (rd.start - rd.enter)[worked]
    role_of_touch = rd.person_role[person]
    p = rd.prospecting
    role_of_prospect = rd.person_role[p["person"]] if p["person"].size else np.empty(0, dtype=int)
    for r, name in enumerate(rd.roles):
        heads = float((rd.person_role == r).sum())
        mine = role_of_touch == r
        busy = overlap(start[mine], done[mine], lo, hi).sum()
        prospect = role_of_prospect == r
        busy_prospecting = overlap(p["start"][prospect], p["end"][prospect], lo, hi).sum()
        m[f"utilisation_{name}"] = float((busy + busy_prospecting) / (heads * (hi - lo)))
        total_busy += busy + busy_prospecting
        m[f"prospecting_share_{name}"] = float(busy_prospecting / (heads * (hi - lo)))
        started = mine & (start >= lo) & (start < hi)
        m[f"queue_days_{name}"] = float(wait[started].mean()) if started.any() else float("nan")
    m["utilisation"] = float(total_busy / (len(rd.person_role) * (hi - lo)))
    return m


def _velocity(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """Sales velocity from its four factors, over qualified opportunities."""
    c = rd.cols
    gates = [i for i, st in enumerate(rd.scenario.process.stages) if st.gate is not None]
    qualified = c["qualified"] == 1
    since = rd.done[:, gates[-1]] if gates else c["created"]
    end = np.where(np.isnan(c["closed"]), rd.horizon, c["closed"])
    opp = qualified & ~np.isnan(since)
    opportunities = float(overlap(since[opp], end[opp], lo, hi).sum() / (hi - lo))
    closed_opp = opp & (c["closed"] >= lo) & (c["closed"] <= hi)
    won_opp = closed_opp & (c["outcome"] == WON)
    won_value = float(c["value"][won_opp].mean()) if won_opp.any() else float("nan")
    win = _ratio(won_opp.sum(), closed_opp.sum())
    cycle = float((c["closed"] - since)[closed_opp].mean()) if closed_opp.any() else float("nan")
    return {
        "opportunities": opportunities,
        "mean_won_value": won_value,
        "opportunity_win_rate": win,
        "opportunity_cycle_days": cycle,
        "velocity_per_week": opportunities * won_value * win / cycle * 7.0 if cycle and cycle > 0 else float("nan"),
    }
