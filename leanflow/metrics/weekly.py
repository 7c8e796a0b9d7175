"""Weekly series of one run: time-average WIP per stage, leads, wins and won revenue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from leanflow.metrics.intervals import occupancy_integral
from leanflow.metrics.tables import RunData
from leanflow.model.records import WON

if TYPE_CHECKING:
    import pandas as pd


def weekly_table(rd: RunData) -> pd.DataFrame:
    """One row per week of the horizon (the last may be partial); ``in_window`` marks post-warm-up weeks."""
    import pandas as pd  # loaded where used: a sweep worker never builds this table
    edges = np.arange(0.0, rd.horizon, 7.0)
    edges = np.append(edges, rd.horizon)
    length = np.diff(edges)
    c = rd.cols
    won = c["outcome"] == WON
    week_of = np.clip(np.searchsorted(edges, c["closed"][won], side="right") - 1, 0, len(length) - 1)
    df = pd.DataFrame(
        {
            "plan": pd.Categorical([rd.plan] * len(length)),
            "replication": rd.replication,
            "week": np.arange(len(length)),
            "start_day": edges[:-1],
            "in_window": edges[:-1] >= rd.warmup,
            "leads": np.histogram(c["created"], edges)[0],
            "won": np.bincount(week_of, minlength=len(length)),
            "won_revenue": np.bincount(week_of, weights=c["value"][won], minlength=len(length)),
        }
    )
    for s, name in enumerate(rd.stages):
        integral = occupancy_integral(rd.enter[:, s], rd.leave[:, s], edges)
        df[f"wip_{name}"] = np.diff(integral) / length
    return df


def little_check(rd: RunData) -> pd.DataFrame:
    """Little's law per stage and for the whole system: L vs lambda * W over the window."""
    import pandas as pd
    lo, hi = rd.warmup, rd.horizon
    c = rd.cols
    end = np.where(np.isnan(c["closed"]), hi, c["closed"])
    spans = [(name, rd.enter[:, s], rd.leave[:, s]) for s, name in enumerate(rd.stages)]
    spans.append(("system", c["created"], end))
    rows = []
    for name, a, b in spans:
        inside = ~np.isnan(a)
        a, b = a[inside], b[inside]
        integral = occupancy_integral(a, b, np.array([lo, hi]))
        arrived = (a >= lo) & (a < hi)
        rows.append(
            {
                "span": name,
                "L": float((integral[1] - integral[0]) / (hi - lo)),
                "lambda": float(arrived.sum() / (hi - lo)),
                "W": float((np.minimum(b, hi) - a)[arrived].mean()) if arrived.any() else float("nan"),
            }
        )
    df = pd.DataFrame(rows)
    df["lambda_W"] = df["lambda"] * df["W"]
    return df
