"""Statistics across replications: means, t confidence intervals, spreads."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.90


def mean_ci(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of the mean (nan-safe; one value gives no interval)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def describe(summary: pd.DataFrame, metrics: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per plan and metric: mean, CI of the mean, and the 5th/95th percentile across replications."""
    rows = []
    for plan, group in summary.groupby("plan", sort=False, observed=False):
        for metric in metrics:
            x = group[metric].to_numpy(dtype=float)
            mean, lo, hi = mean_ci(x, confidence)
            finite = x[~np.isnan(x)]
            rows.append(
                {
                    "plan": plan,
                    "metric": metric,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p5": float(np.percentile(finite, 5)) if finite.size else float("nan"),
                    "p95": float(np.percentile(finite, 95)) if finite.size else float("nan"),
                    "n": int(finite.size),
                }
            )
    return pd.DataFrame(rows)
