"""Does the calibrated scenario reproduce its data? Run it and compare its headline figures with the export's.

The data's figures are computed as the model's metrics are: over the complete window [first close,
as-of), on deals closed in it (opportunities: created in it). The model's are means over replications
of the measured year after the warm-up. A row is ``ok`` when the model's mean lies within the data's 95%
interval widened by the model's own standard error, or within 5% of the data's figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leanflow.crm.calibrate import Calibration
from leanflow.crm.survival import LOST, WON
from leanflow.experiment.runner import RunResult, run_scenario

RELATIVE_OK = 0.05
Z = 1.96


@dataclass(frozen=True)
class Reproduction:
    """Data against model, one row per figure, and the simulated deals (for the diagnostics)."""

    table: pd.DataFrame  # metric, data, data_low, data_high, model, model_p5, model_p95, ok
    result: RunResult

    @property
    def ok(self) -> bool:
        return bool(self.table["ok"].all())

    def lines(self) -> list[str]:
        """The table as text, for the console."""
        rows = [f"{'':44} {'data':>10} {'95% interval':>21} {'model':>10} {'model P5..P95':>21}"]
        for r in self.table.itertuples():
            interval = "" if math.isnan(r.data_low) else f"{figure_text(r.data_low)}..{figure_text(r.data_high)}"
            mark = "ok" if r.ok else "DIFFERS"
            rows.append(f"{r.metric:44} {figure_text(r.data):>10} {interval:>21} {figure_text(r.model):>10} "
                        f"{figure_text(r.model_p5) + '..' + figure_text(r.model_p95):>21}  {mark}")  # fmt: skip
        return rows


def figure_text(x: float) -> str:
    """A figure for the table: a share as a percentage, else three or four significant digits."""
    if math.isnan(x):
        return "-"
    return f"{x:.1%}" if 0 < abs(x) < 1 else f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _median_ci(x: np.ndarray) -> tuple[float, float, float]:
    """A median and its distribution-free 95% interval (order statistics)."""
    x = np.sort(x[np.isfinite(x)])
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    half = Z * math.sqrt(n) / 2
    low, high = x[max(0, math.floor(n / 2 - half))], x[min(n - 1, math.ceil(n / 2 + half))]
    return float(np.median(x)), float(low), float(high)


def data_figures(cal: Calibration) -> dict[str, tuple[float, float, float]]:
    """Each figure of the export with its 95% interval (nan when none is computed)."""
    o, a = cal.obs, cal.arrivals
    won, lost = o.closed_in_window("won"), o.closed_in_window("lost")
    p = len(won) / max(len(won) + len(lost), 1)
    se = math.sqrt(p * (1 - p) / max(len(won) + len(lost), 1))
    return {
        "opportunities / week": (a.n / a.weeks, a.n / a.weeks - Z * a.se, a.n / a.weeks + Z * a.se),
        "win rate (won / won + lost)": (p, p - Z * se, p + Z * se),
        "median won cycle, days (closed in window)": _median_ci(won["days"].to_numpy()),
        "median won cycle, days (cohort estimate)": (cal.incidence.median(WON), *cal.incidence.median_interval(WON)),
        "median lost cycle, days (closed in window)": _median_ci(lost["days"].to_numpy()),
        "median lost cycle, days (cohort estimate)": (cal.incidence.median(LOST), *cal.incidence.median_interval(LOST)),
        "median won value": _median_ci(won["amount"].to_numpy(dtype=float)),
    }


def model_figures(result: RunResult) -> pd.DataFrame:
    """The same figures for each replication of the calibrated scenario's measured window."""
    sc = result.scenario
    lo, hi = sc.warmup_days, sc.horizon_days
    d = result.deals
    inside = (d["closed"] >= lo) & (d["closed"] < hi)
    cycle = d["closed"] - d["created"]
    rows = []
    for rep, s in result.summary.set_index("replication").iterrows():
        mine = d["replication"] == rep
        won, lost = mine & inside & (d["outcome"] == "won"), mine & inside & (d["outcome"] == "lost")
        rows.append({
            "opportunities / week": s["leads"] / ((hi - lo) / 7.0),
            "win rate (won / won + lost)": s["win_rate"],
            "median won cycle, days (closed in window)": s["cycle_p50"],
            "median won cycle, days (cohort estimate)": s["cycle_p50"],
            "median lost cycle, days (closed in window)": float(cycle[lost].median()),
            "median lost cycle, days (cohort estimate)": float(cycle[lost].median()),
            "median won value": float(d.loc[won, "value"].median()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def reproduce(cal: Calibration, replications: int = 20, jobs: int | None = None) -> Reproduction:
    """Run the calibrated scenario and compare its figures with the data's."""
    result = run_scenario(cal.scenario(), replications, jobs)
    model = model_figures(result)
    rows = []
    for metric, (value, low, high) in data_figures(cal).items():
        m = model[metric].to_numpy(dtype=float)
        mean = float(np.nanmean(m))
        se = float(np.nanstd(m, ddof=1) / math.sqrt(m.size)) if m.size > 1 else 0.0
        lo_ok = (value if math.isnan(low) else low) - Z * se
        hi_ok = (value if math.isnan(high) else high) + Z * se
        ok = lo_ok <= mean <= hi_ok or abs(mean - value) <= RELATIVE_OK * abs(value)
        rows.append({"metric": metric, "data": value, "data_low": low, "data_high": high, "model": mean,
                     "model_p5": float(np.nanpercentile(m, 5)), "model_p95": float(np.nanpercentile(m, 95)),
                     "ok": bool(ok)})  # fmt: skip
    return Reproduction(pd.DataFrame(rows), result)
