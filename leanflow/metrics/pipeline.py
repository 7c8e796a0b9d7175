"""Pipeline metrics (conversion to won and coverage per stage, aged deals as lost) and mechanism losses.

Definitions, over deals closed in the window unless said otherwise:
- win_from_<stage> = share of deals that entered the stage (and closed in the
  window) that ended won: the pipeline conversion from that stage;
- coverage_<stage> = value of those deals / their won value: the pipeline value
  needed in the stage per unit of won revenue (x target), about
  1 / value-weighted P(win from the stage);
- open_aged = deals open at the horizon older than the 95th-percentile cycle
  time of the run's won deals; win_rate_aged_as_lost = won / (won + lost +
  open_aged): the unit win rate when those aged deals are counted as lost;
- mechanism losses per week of the window: deals lost to cooling (they failed
  an advance draw they would have passed without waiting), stale deals, and
  hours of hand-off, context switching (deal work, plus the switches into
  prospecting stretches that started in the window), learning still to come
  and ramp-up effort; recycled_leads counts returning leads created in the window.
"""

from __future__ import annotations

import numpy as np

from leanflow.metrics.intervals import ratio
from leanflow.metrics.tables import RunData
from leanflow.model.records import LOST, OPEN, STALE, WON

LOSS_HOURS = ("handoff_hours", "switch_hours", "learning_hours", "ramp_hours")


def closed_in(rd: RunData, lo: float, hi: float) -> np.ndarray:
    """Deals that closed (any outcome) inside the window."""
    closed = rd.cols["closed"]
    return (closed >= lo) & (closed <= hi)


def pipeline_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """Conversion to won and coverage per stage, and the win rate counting aged open deals as lost."""
    c = rd.cols
    done = closed_in(rd, lo, hi)
    won = done & (c["outcome"] == WON)
    m: dict[str, float] = {}
    for s, name in enumerate(rd.stages):
        entered = done & ~np.isnan(rd.enter[:, s])
        m[f"win_from_{name}"] = ratio((entered & won).sum(), entered.sum())
        m[f"coverage_{name}"] = ratio(c["value"][entered].sum(), c["value"][entered & won].sum())
    cycle = (c["closed"] - c["created"])[won]
    p95 = float(np.percentile(cycle, 95)) if cycle.size else float("inf")
    aged = (c["outcome"] == OPEN) & (rd.horizon - c["created"] > p95)
    lost = done & (c["outcome"] == LOST)
    m["open_aged"] = float(aged.sum())
    m["win_rate_aged_as_lost"] = ratio(won.sum(), won.sum() + lost.sum() + aged.sum())
    return m


def loss_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """What each mechanism cost per week of the window: deals lost to cooling and staleness, hours of effort."""
    c = rd.cols
    weeks = (hi - lo) / 7.0
    done = closed_in(rd, lo, hi)
    hours = {k: float(c[k][done].sum()) for k in LOSS_HOURS}
    p = rd.prospecting
    hours["switch_hours"] += float(p["switch_hours"][(p["start"] >= lo) & (p["start"] < hi)].sum())
    created = c["created"]
    return {
        "cooled_per_week": float((done & (c["cooled"] == 1)).sum() / weeks),
        "stale_per_week": float((done & (c["outcome"] == STALE)).sum() / weeks),
        **{f"{k}_per_week": v / weeks for k, v in hours.items()},
        "recycled_leads": float(((created >= lo) & (created < hi) & (c["generation"] > 0)).sum()),
    }
