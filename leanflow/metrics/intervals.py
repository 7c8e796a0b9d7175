"""Interval arithmetic over the metrics window: overlaps, occupancy integrals and safe ratios."""

from __future__ import annotations

import numpy as np


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


def ratio(num: float, den: float) -> float:
    """num / den as a float, nan when the denominator is not positive (nothing to divide by)."""
    return float(num / den) if den > 0 else float("nan")
