"""Fits of a CRM export's deal values, arrivals and team size (scipy.stats), each with the evidence for it.

Deal values: lognormal and gamma by maximum likelihood (location 0), the better by AIC, tested with
Kolmogorov-Smirnov; when the test rejects it at 5%, the observed values themselves (their quantiles)
are used. The KS p-value uses the fitted parameters, so it is optimistic (Lilliefors): a rejection is
a clear one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.distributions import Empirical, Gamma, LogNormal
from leanflow.errors import LeanflowError

ALPHA = 0.05
EMPIRICAL_POINTS = 200  # quantiles kept of an empirical distribution
MIN_FIT = 8  # fewer values than this: keep them as they are, no parametric fit
DAYS_PER_WEEK = 7.0
CAPACITY_DAYS = 91  # the team size is the mean number of active owners over the last 3 months


def _d(x: date | pd.Timestamp) -> str:
    """A date as YYYY-MM-DD."""
    return pd.Timestamp(x).strftime("%Y-%m-%d")


# ---------------------------------------------------------------- deal values


@dataclass(frozen=True)
class ValueFit:
    """A deal-value distribution and the evidence for it."""

    dist: Empirical | Gamma | LogNormal
    n: int
    family: str  # lognormal, gamma or empirical
    aic: dict[str, float]
    ks: float  # KS statistic of the better parametric fit (nan if none was fitted)
    p: float
    values: np.ndarray  # the won amounts it was fitted to

    def median(self) -> float:
        """The distribution's median."""
        if isinstance(self.dist, LogNormal):
            return float(self.dist.median)
        if isinstance(self.dist, Gamma):
            shape = 1.0 / self.dist.cv**2
            return float(stats.gamma.ppf(0.5, shape, scale=self.dist.mean_ / shape))
        return float(np.median(self.dist.values))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """The fitted CDF at ``x``."""
        if isinstance(self.dist, LogNormal):
            return stats.lognorm.cdf(x, self.dist.sigma, scale=self.dist.median)
        if isinstance(self.dist, Gamma):
            shape = 1.0 / self.dist.cv**2
            return stats.gamma.cdf(x, shape, scale=self.dist.mean_ / shape)
        vals = np.sort(np.asarray(self.dist.values))
        return np.searchsorted(vals, x, side="right") / vals.size

    def describe(self) -> str:
        """The evidence in one line, for a scenario comment."""
        if self.family == "empirical" and math.isnan(self.ks):
            return f"n={self.n}: too few to fit a distribution, the observed values"
        aic = ", ".join(f"{k} {v:,.0f}" for k, v in self.aic.items())
        test = f"KS D={self.ks:.3f} p={self.p:.3g}"
        if self.family == "empirical":
            return f"n={self.n}: AIC {aic}; best rejected ({test}), so {len(self.dist.values)} quantiles of the data"
        return f"n={self.n}: {self.family} by AIC ({aic}); {test}"


def fit_values(values: np.ndarray) -> ValueFit:
    """The deal-value distribution of positive amounts: lognormal or gamma by AIC, empirical if KS rejects it."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        raise LeanflowError("no won opportunity has a known amount: deal values cannot be fitted")
    if x.size < MIN_FIT:
        return ValueFit(Empirical(values=tuple(float(v) for v in x)), int(x.size), "empirical", {}, math.nan,
                        math.nan, x)  # fmt: skip
    s, _, scale = stats.lognorm.fit(x, floc=0)
    a, _, gscale = stats.gamma.fit(x, floc=0)
    fits = {
        "lognormal": (LogNormal(median=float(scale), sigma=float(s)), stats.lognorm(s, scale=scale)),
        "gamma": (Gamma(mean=float(a * gscale), cv=float(1 / math.sqrt(a))), stats.gamma(a, scale=gscale)),
    }
    aic = {k: float(4 - 2 * frozen.logpdf(x).sum()) for k, (_, frozen) in fits.items()}
    family = min(aic, key=aic.__getitem__)
    test = stats.kstest(x, fits[family][1].cdf)
    if test.pvalue < ALPHA:
        u = (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS
        points = x if x.size <= EMPIRICAL_POINTS else np.quantile(x, u)
        dist = Empirical(values=tuple(round(float(v), 2) for v in points))
        return ValueFit(dist, int(x.size), "empirical", aic, float(test.statistic), float(test.pvalue), x)
    return ValueFit(fits[family][0], int(x.size), family, aic, float(test.statistic), float(test.pvalue), x)


# ---------------------------------------------------------------- arrivals


@dataclass(frozen=True)
class ArrivalFit:
    """Opportunities created per week in the complete window, and monthly seasonality if the data supports it."""

    per_week: float
    n: int
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive: the as-of date
    seasonality: list[float] | None  # 12 multipliers, the first for the as-of date's month
    note: str  # why there is (or is not) seasonality
    weekly: pd.Series  # opportunities created per week (index: week start), the whole export

    @property
    def weeks(self) -> float:
        return (self.end - self.start).days / DAYS_PER_WEEK

    @property
    def se(self) -> float:
        """Standard error of the weekly rate (Poisson)."""
        return math.sqrt(self.n) / self.weeks

    def rate_on(self, day: pd.Timestamp) -> float:
        """The fitted rate per week on a calendar date."""
        if self.seasonality is None:
            return self.per_week
        return self.per_week * self.seasonality[(day.month - self.end.month) % 12]


def fit_arrivals(created: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> ArrivalFit:
    """The weekly rate of ``created`` dates in [start, end); seasonality when a year or more shows month effects."""
    inside = created[(created >= start) & (created < end)]
    n = int(inside.size)
    days = (end - start).days
    per_week = n / days * DAYS_PER_WEEK
    weekly = created.dt.to_period("W-SUN").dt.start_time.value_counts().sort_index()
    if days < 365:
        note = f"no seasonality: the complete window is {days} days, under the year needed to tell months apart"
        return ArrivalFit(per_week, n, start, end, None, note, weekly)
    exposure = pd.Series(pd.date_range(start, end - pd.Timedelta(days=1), freq="D").month).value_counts()
    counts = inside.dt.month.value_counts().reindex(exposure.index, fill_value=0)
    expected = exposure / exposure.sum() * n
    chi2 = stats.chisquare(counts.sort_index(), expected.sort_index())
    if chi2.pvalue >= ALPHA:
        note = f"no seasonality: monthly rates do not differ (chi-squared p={chi2.pvalue:.2g} over {days} days)"
        return ArrivalFit(per_week, n, start, end, None, note, weekly)
    rate = (counts / exposure).sort_index()
    months = [(end.month - 1 + k) % 12 + 1 for k in range(12)]
    season = [round(float(rate[m] / rate.mean()), 3) for m in months]
    per_week = float(rate.mean() * DAYS_PER_WEEK)
    note = (f"monthly multipliers from {days} days (chi-squared p={chi2.pvalue:.2g}); the first is "
            f"{pd.Timestamp(2000, months[0], 1):%B}: day 0 is the as-of date")  # fmt: skip
    return ArrivalFit(per_week, n, start, end, season, note, weekly)


# ---------------------------------------------------------------- capacity


@dataclass(frozen=True)
class CapacityFit:
    """Active owners over time (between their first and last activity) and the as-is headcount."""

    weekly: pd.Series  # active owners per week (index: week start)
    headcount: int
    mean_recent: float  # mean active owners over the last 3 months before the as-of date
    owners: int

    def describe(self, as_of: pd.Timestamp) -> str:
        """The evidence in one line, for a scenario comment."""
        if self.owners == 0:
            return "no owners in the export: one seller stands for the team (assumption; set the real headcount)"
        since = as_of - pd.Timedelta(days=CAPACITY_DAYS)
        return (f"mean active owners {self.mean_recent:.1f} over {_d(since)}..{_d(as_of - pd.Timedelta(days=1))} "
                f"({self.owners} owners in the export; active from their first to their last dated deal)")  # fmt: skip


def fit_capacity(table: pd.DataFrame, as_of: pd.Timestamp) -> CapacityFit:
    """Owners active each day, from each owner's first to last created or close date before ``as_of``."""
    dated = pd.concat([table[["owner", "created"]].rename(columns={"created": "at"}),
                       table[["owner", "closed"]].rename(columns={"closed": "at"})])  # fmt: skip
    dated = dated.dropna()
    dated = dated[dated["at"] < as_of]
    if dated.empty:
        return CapacityFit(pd.Series(dtype=float), 1, 0.0, 0)
    span = dated.groupby("owner")["at"].agg(["min", "max"])
    days = pd.date_range(span["min"].min(), as_of - pd.Timedelta(days=1), freq="D")
    starts = np.searchsorted(days.values, span["min"].values)
    ends = np.searchsorted(days.values, span["max"].values, side="right")
    active = np.zeros(days.size + 1)
    np.add.at(active, starts, 1)
    np.add.at(active, ends, -1)
    daily = pd.Series(np.cumsum(active)[:-1], index=days)
    recent = float(daily[daily.index >= as_of - pd.Timedelta(days=CAPACITY_DAYS)].mean())
    weekly = daily.groupby(daily.index.to_period("W-SUN").start_time).mean()
    return CapacityFit(weekly, max(1, round(recent)), recent, int(span.shape[0]))
