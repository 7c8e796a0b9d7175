"""Statistics across replications: means, t confidence intervals, spreads."""

from __future__ import annotations

import warnings

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
    if np.all(x == x[0]):  # no spread: the interval is the value itself
        return mean, mean, mean
    with warnings.catch_warnings():  # scipy's precision-loss warning for nearly identical values
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=confidence)
    return mean, float(ci.low), float(ci.high)


def t_half_width(sd: np.ndarray, n: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """Vectorised half-width of the t interval of a mean of ``n`` values with standard deviation ``sd`` (the
    same as ``mean_ci``, for many groups at once; NaN where n < 2)."""
    sd, n = np.asarray(sd, dtype=float), np.asarray(n)
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, t * sd / np.sqrt(np.maximum(n, 1)), np.nan)


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
