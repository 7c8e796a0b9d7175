"""Parameter uncertainty from the data: the scenario's ``rate_cv`` and ``log_odds_sd``.

``rate_cv_from_weekly`` estimates how far the arrival rate over a forecast's horizon may lie from the rate
fitted on the weeks before it (the source's ``rate_cv``); ``log_odds_sd_from`` turns a probability's
standard error into the standard deviation of its log odds (a stage's ``advance.log_odds_sd``).
"""

from __future__ import annotations

import math

import numpy as np

from leanflow.errors import LeanflowError

MIN_WEEKS = 4  # lags 1 and 2, with two pairs at least: the least a line through the variogram needs


def rate_cv_from_weekly(counts: np.ndarray, horizon_weeks: float) -> float:
    """The cv of (mean rate over the next ``horizon_weeks``) / (mean of ``counts``): ``rate_variance_from_weekly``
    under a square root, a negative estimate taken as 0."""
    return math.sqrt(max(0.0, rate_variance_from_weekly(counts, horizon_weeks)))


def rate_variance_from_weekly(counts: np.ndarray, horizon_weeks: float) -> float:
    """The variance of (mean rate over the next ``horizon_weeks``) / (mean of ``counts``), for the rate fitted
    on ``counts`` (the whole weeks of arrivals, oldest first, whose mean is the fitted rate) and the horizon
    right after them; unbiased under the model below, so by chance it may be negative.

    Why this way. The model scales a run's rate by one factor M, so what it needs is the spread of the horizon's
    mean rate around the fitted one: estimation error plus drift between the fitted weeks and the horizon.
    Block sums of horizon length would measure drift directly but need several horizons of data, and a CRM
    calibration often has fewer weeks than one horizon; the weekly counts' plain extra-Poisson variance would
    treat week-to-week noise, which averages out over a horizon, as if it persisted. So the counts' excess
    semivariogram, gamma(k) = mean((c[t+k] - c[t])^2) / 2 - mean(c) (the Poisson part removed; it needs no
    estimate of the mean level, so a drifting level does not bias it), is fitted at lags 1..T//2 by least
    squares weighted by the pairs, with a + b k: a nugget ``a`` (transient weekly noise) plus a slope ``b`` (a
    rate that wanders like a random walk: slow drift). The variance of the horizon's mean minus the fitted
    mean is then exact for that variogram, -sum_ij w_i w_j gamma(|i - j|) with weights -1/T on the fitted
    weeks and 1/h on the horizon's (h = horizon_weeks rounded, at least 1), plus the Poisson error of the
    fitted mean, mean(c) / T; both are divided by mean(c)^2. The linear form extrapolates the drift seen
    within the data to the horizon: with a few months of data a bounded (AR(1)) drift cannot be told apart
    from it, and the linear one is the cautious reading. Nugget and slope are not clipped at 0, which keeps
    the estimate unbiased (``tests/test_uncertainty.py``). Seasonality the scenario models should be divided
    out of ``counts`` first."""
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1 or c.size < MIN_WEEKS or not np.isfinite(c).all() or (c < 0).any():
        raise LeanflowError(f"weekly counts: need at least {MIN_WEEKS} weekly counts, finite and not "
                            f"negative; got {c.size}")  # fmt: skip
    if not horizon_weeks > 0:
        raise LeanflowError(f"weekly counts: the horizon must be positive, got {horizon_weeks} weeks")
    mean = float(c.mean())
    if mean == 0:
        raise LeanflowError("weekly counts: no arrivals in the weeks given: the rate has no scale")
    nugget, slope = _variogram_line(c, mean)
    t, h = c.size, max(1, round(horizon_weeks))
    w = np.concatenate([np.full(t, -1.0 / t), np.full(h, 1.0 / h)])
    lag = np.abs(np.subtract.outer(np.arange(t + h), np.arange(t + h)))
    gamma = np.where(lag > 0, nugget + slope * lag, 0.0)
    drift = -float(w @ gamma @ w)
    return drift / mean**2 + 1.0 / (mean * t)


def _variogram_line(c: np.ndarray, mean: float) -> tuple[float, float]:
    """Nugget and slope of the excess semivariogram of ``c`` at lags 1..len//2 (weighted least squares)."""
    lags = np.arange(1, max(2, c.size // 2) + 1)
    gamma = np.array([np.mean((c[k:] - c[:-k]) ** 2) / 2.0 - mean for k in lags])
    pairs = (c.size - lags).astype(float)
    x_bar, y_bar = np.average(lags, weights=pairs), np.average(gamma, weights=pairs)
    slope = float(np.sum(pairs * (lags - x_bar) * (gamma - y_bar)) / np.sum(pairs * (lags - x_bar) ** 2))
    return float(y_bar - slope * x_bar), slope


def log_odds_sd_from(p: float, se: float) -> float:
    """The standard deviation of logit(p) from the standard error of the probability ``p`` (delta method:
    se / (p (1 - p))); for a binomial proportion of n trials, se = sqrt(p (1 - p) / n) gives 1 / sqrt(n p (1 - p))."""
    if not 0 < p < 1:
        raise LeanflowError(f"log_odds_sd_from: the probability must lie strictly between 0 and 1, got {p}")
    if not se >= 0 or not math.isfinite(se):
        raise LeanflowError(f"log_odds_sd_from: the standard error must be finite and not negative, got {se}")
    return se / (p * (1.0 - p))
