"""Plans against the baseline, paired by replication (common random numbers).

For each metric: the mean paired difference with a confidence interval (paired
t, scipy's ``ttest_rel``; a paired bootstrap for percentile metrics, whose
sampling distribution is skewed), the relative change (ratio of means) with an
interval from the same method, so that the two always agree on whether there is
a change (Fieller's interval for the paired t: the ratios r whose paired
difference plan - r base has a t interval holding 0; the bootstrap's own ratios
for the percentile metrics), and the correlation the common random numbers
achieved. One replication gives no interval. With more than one plan
against the baseline the intervals are Bonferroni-adjusted. A metric only one
of the two plans has (a role the other lacks) gets a row with that side's mean
and no difference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

PERCENTILE_METRICS = ("cycle_p50", "cycle_p85", "cycle_p95")
HEADLINE = (
    "won_revenue_per_week",
    "won_per_week",
    "cycle_p50",
    "cycle_p85",
    "win_rate",
    "win_rate_value",
    "flow_efficiency",
    "utilisation",
    "utilisation_deal",
    "cost_per_year",
    "revenue_per_cost",
)
ROLE_METRICS = ("utilisation_deal_", "utilisation_", "queue_days_")
BOOTSTRAP = 4000


@dataclass(frozen=True)
class Paired:
    """One metric of one plan against the baseline."""

    n: int
    base_mean: float
    plan_mean: float
    diff: float
    diff_low: float
    diff_high: float
    rel: float
    rel_low: float
    rel_high: float
    correlation: float
    method: str

    @property
    def significant(self) -> bool:
        """Whether the interval of the difference excludes zero."""
        return bool(self.diff_low > 0 or self.diff_high < 0)


NOTHING = Paired(0, *[float("nan")] * 9, "none")  # no replication has the metric on both sides


def adjusted_confidence(confidence: float, comparisons: int) -> float:
    """Bonferroni: each of ``comparisons`` intervals at 1 - alpha/k keeps the family at 1 - alpha."""
    return 1.0 - (1.0 - confidence) / max(comparisons, 1)


def paired_t(base: np.ndarray, plan: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean paired difference (plan - base) and its t interval (nan with fewer than two replications)."""
    mean = float((plan - base).mean())
    if base.size < 2:
        return mean, float("nan"), float("nan")
    if np.all(plan - base == plan[0] - base[0]):  # no spread: the interval is the difference itself
        return mean, mean, mean
    with warnings.catch_warnings():  # scipy's precision-loss warning for nearly identical pairs: the interval is tiny
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.ttest_rel(plan, base).confidence_interval(confidence_level=confidence)
    return mean, float(ci.low), float(ci.high)


def fieller(base: np.ndarray, plan: np.ndarray, confidence: float) -> tuple[float, float]:
    """Fieller's interval for mean(plan) / mean(base) - 1 on paired replications: the r with
    |mean(plan - r base)| <= t sd(plan - r base) / sqrt(n), a quadratic in r. It holds 0 exactly when the
    paired t interval of the difference holds 0; (nan, nan) when the baseline's mean is not itself clearly
    away from zero (the set is then unbounded) or with fewer than two replications."""
    n = base.size
    if n < 2:
        return float("nan"), float("nan")
    t2 = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) ** 2 / n
    cov = np.cov(np.vstack([base, plan]), ddof=1)
    mb, mp = float(base.mean()), float(plan.mean())
    a = mb * mb - t2 * cov[0, 0]
    b = mp * mb - t2 * cov[0, 1]
    c = mp * mp - t2 * cov[1, 1]
    disc = b * b - a * c
    if a <= 0 or disc < 0:
        return float("nan"), float("nan")
    root = float(np.sqrt(disc))
    return (b - root) / a - 1.0, (b + root) / a - 1.0


def _mean_change(base: np.ndarray, plan: np.ndarray, axis: int = -1) -> np.ndarray:
    """The paired difference of means and the relative change, for each resample along ``axis``."""
    mb, mp = base.mean(axis=axis), plan.mean(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([mp - mb, mp / mb - 1.0])


def paired_bootstrap(base: np.ndarray, plan: np.ndarray, confidence: float, seed: int) -> tuple[float, ...]:
    """scipy's paired percentile bootstrap of (difference, relative change): both from the same resamples, so
    a resample's difference and ratio have one sign and the two intervals agree on whether there is a change
    (BCa corrects each separately and can split them). Returns (low, high, rel_low, rel_high)."""
    res = stats.bootstrap(
        (base, plan), _mean_change, paired=True, vectorized=True, n_resamples=BOOTSTRAP,
        confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed),
    )  # fmt: skip
    (low, rel_low), (high, rel_high) = res.confidence_interval.low, res.confidence_interval.high
    if not np.all(np.isfinite(res.bootstrap_distribution[1])):
        rel_low = rel_high = float("nan")  # some resample's baseline mean was 0: no ratio
    return float(low), float(high), float(rel_low), float(rel_high)


def paired(base: np.ndarray, plan: np.ndarray, metric: str, confidence: float, seed: int = 0) -> Paired:
    """Compare one metric's per-replication values (aligned by replication)."""
    keep = ~(np.isnan(base) | np.isnan(plan))
    base, plan = base[keep], plan[keep]
    n = int(base.size)
    if n == 0:
        return NOTHING
    nan = float("nan")
    base_mean, plan_mean = float(base.mean()), float(plan.mean())
    rel = plan_mean / base_mean - 1.0 if base_mean != 0 else nan
    if metric in PERCENTILE_METRICS:
        diff, low, high, rel_low, rel_high = float((plan - base).mean()), nan, nan, nan, nan
        if n > 1:
            low, high, rel_low, rel_high = paired_bootstrap(base, plan, confidence, seed)
            if base_mean == 0:
                rel_low = rel_high = nan
        method = "paired bootstrap"
    else:
        diff, low, high = paired_t(base, plan, confidence)
        rel_low, rel_high = fieller(base, plan, confidence) if base_mean != 0 else (nan, nan)
        method = "paired t"
    varies = n > 1 and base.std() > 0 and plan.std() > 0
    corr = float(np.corrcoef(base, plan)[0, 1]) if varies else float("nan")
    return Paired(n, base_mean, plan_mean, diff, float(low), float(high), rel, float(rel_low), float(rel_high),
                  corr, method)  # fmt: skip


def one_sided(base: np.ndarray, plan: np.ndarray) -> Paired:
    """A metric only one plan has (the other is nan in every replication): its mean, no difference."""
    nan = float("nan")
    has_base, has_plan = ~np.isnan(base), ~np.isnan(plan)
    if has_base.any() == has_plan.any():
        return NOTHING
    n = int(max(has_base.sum(), has_plan.sum()))
    base_mean = float(base[has_base].mean()) if has_base.any() else nan
    plan_mean = float(plan[has_plan].mean()) if has_plan.any() else nan
    return Paired(n, base_mean, plan_mean, nan, nan, nan, nan, nan, nan, nan, "one plan only")


def compare_plans(
    summary: pd.DataFrame, plans: list[str], metrics: list[str], confidence: float = 0.90, seed: int = 0
) -> pd.DataFrame:
    """One row per (plan, metric) for every plan after the first (the baseline)."""
    baseline, others = plans[0], plans[1:]
    level = adjusted_confidence(confidence, len(others))
    by_plan = {p: g.set_index("replication").sort_index() for p, g in summary.groupby("plan", observed=True)}
    rows = []
    base = by_plan[baseline]
    for plan in others:
        cur = by_plan[plan]
        reps = base.index.intersection(cur.index)
        for metric in metrics:
            if metric not in base or metric not in cur:
                continue
            b, c = base.loc[reps, metric].to_numpy(float), cur.loc[reps, metric].to_numpy(float)
            r = paired(b, c, metric, level, seed)
            if r.n == 0:
                r = one_sided(b, c)
            if r.n == 0:
                continue
            rows.append({"plan": plan, "baseline": baseline, "metric": metric, **r.__dict__,
                         "significant": r.significant, "confidence": level})  # fmt: skip
    return pd.DataFrame(rows)


def bottleneck_role(means: pd.Series) -> str | None:
    """The binding bottleneck of one plan: its role with the highest mean deal-work utilisation (None if no
    role has data)."""
    util = means.filter(like="utilisation_deal_").dropna()
    return None if util.empty else str(util.idxmax()).removeprefix("utilisation_deal_")


def bottleneck_roles(summary: pd.DataFrame) -> dict[str, str]:
    """Each plan's bottleneck role, from its means over replications (plans with no role data left out)."""
    means = summary.groupby("plan", observed=True).mean(numeric_only=True)
    found = {str(plan): bottleneck_role(means.loc[plan]) for plan in means.index}
    return {plan: role for plan, role in found.items() if role is not None}


def bottleneck_of(metric: str, plans: tuple[str, ...], roles: dict[str, str]) -> list[str]:
    """Which of ``plans`` have the role of a per-role metric (``queue_days_ae``) as their bottleneck."""
    prefix = next((p for p in ROLE_METRICS if metric.startswith(p)), None)
    role = None if prefix is None or metric in HEADLINE else metric.removeprefix(prefix)
    return [p for p in plans if role is not None and roles.get(p) == role]


def headline_metrics(summary: pd.DataFrame) -> list[str]:
    """The metrics a verdict reports: the headline ones, then utilisation (deal work, with prospecting) and queue
    wait of every role of any plan."""
    roles = [c.removeprefix("queue_days_") for c in summary.columns if c.startswith("queue_days_")]
    per_role = [f"{prefix}{r}" for r in roles for prefix in ROLE_METRICS if f"{prefix}{r}" in summary.columns]
    return [m for m in HEADLINE if m in summary.columns] + per_role
