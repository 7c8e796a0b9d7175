"""Competing risks of a CRM export (won against lost, open deals censored) and the stage timing they imply.

Why lifelines: it is pure Python on numpy, scipy and pandas, actively maintained, and its
``AalenJohansenFitter`` gives the cumulative incidence of one cause among competing causes with right
censoring and delayed entry (left truncation), which is exactly a CRM export: open deals are censored
at the as-of date, and deals created before the export's first close enter late. scikit-survival has
the same estimator but needs compiled dependencies, too heavy for the core of a simulator.

Time is in whole days since creation, as CRMs record dates. A close on day k is an event at k + 0.5,
a deal open at the as-of date is censored half a day before it, so the fitter sees no ties with
censoring; ties between closes are broken by the fitter's own small jitter (seeded: reproducible).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar, nnls

from leanflow.errors import LeanflowError

WON, LOST = 1, 2
EVAL = 0.75  # read each day's cumulative incidence just after its closes (k + 0.5) and their jitter
KS_CRITICAL = 1.36  # two-sample Kolmogorov-Smirnov, 5%: D > 1.36 sqrt((n + m) / (n m))
SPLITS = 16  # shares of late losses on the grid searched (then refined) when splitting the cycle in two
ALTERNATIONS = 8  # most rounds of alternating least squares that polish the two phases
MAX_BINS = 160  # longest grid the two-phase fit works on (longer cycles are binned)
SUM_WEIGHT = 10.0  # weight of the least-squares row that makes a phase's distribution sum to one
DENSITY_DAYS = 3  # half-width of the window the density at a median is read over


def _fitter():
    """The Aalen-Johansen fitter class, or a clear message naming the extra that installs it."""
    try:
        from lifelines import AalenJohansenFitter
    except ImportError:
        raise LeanflowError('calibrate needs the survival library lifelines: pip install "leanflow[crm]"') from None
    return AalenJohansenFitter


@dataclass(frozen=True)
class Incidence:
    """Cumulative incidence of won and of lost by day since creation: ``won[k]`` = P(won within k days)."""

    won: np.ndarray
    lost: np.ndarray
    n: int  # deals in the estimate
    n_won: int
    n_lost: int
    won_se: float = math.nan  # standard error of ``p_won`` (the Aalen-Johansen variance at the longest cycle)

    @property
    def p_won(self) -> float:
        return float(self.won[-1])

    @property
    def p_lost(self) -> float:
        return float(self.lost[-1])

    @property
    def p_open(self) -> float:
        """Share never seen to close within the longest observed cycle: no decision."""
        return max(0.0, 1.0 - self.p_won - self.p_lost)

    def pmf(self, cause: int) -> np.ndarray:
        """Incidence of one cause per day (sums to its probability)."""
        return np.diff(self.won if cause == WON else self.lost, prepend=0.0)

    def median(self, cause: int) -> float:
        """Median days to close among deals that close with this cause."""
        return median_day(self.pmf(cause))

    def median_interval(self, cause: int, z: float = 1.96) -> tuple[float, float]:
        """An approximate interval for ``median``: delta method, sqrt(1 / 4n) / density there (censoring ignored)."""
        pmf = self.pmf(cause)
        n = self.n_won if cause == WON else self.n_lost
        m = self.median(cause)
        lo, hi = m - DENSITY_DAYS, m + DENSITY_DAYS
        cdf = np.cumsum(pmf) / pmf.sum()
        at = np.clip(np.array([lo, hi]).round().astype(int), 0, cdf.size - 1)
        density = max((cdf[at[1]] - cdf[at[0]]) / (2 * DENSITY_DAYS), 1e-9)
        half = z * math.sqrt(0.25 / max(n, 1)) / density
        return m - half, m + half


def incidence(days: np.ndarray, outcome: np.ndarray, entry: np.ndarray) -> Incidence:
    """Aalen-Johansen estimates of won and lost; ``days`` to close (or to the as-of date if open, outcome 0)."""
    closed = outcome > 0
    if not closed.any():
        raise LeanflowError("no closed opportunities before the as-of date: nothing to estimate cycle times from")
    t = np.where(closed, days + 0.5, days - 0.5)
    keep = closed | (t > entry)  # an open deal never at risk (censored before it entered) tells nothing
    t, days, outcome, entry, closed = t[keep], days[keep], outcome[keep], entry[keep], closed[keep]
    last = int(days[closed].max())
    grid = np.arange(last + 1) + EVAL
    fitter = _fitter()
    curves, won_se = [], math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns that it jitters tied close days
        for cause in (WON, LOST):
            if not (outcome == cause).any():
                curves.append(np.zeros(grid.size))
                continue
            aj = fitter(calculate_variance=cause == WON, seed=0).fit(t, outcome, event_of_interest=cause, entry=entry)
            cif = aj.cumulative_density_.iloc[:, 0]
            at = np.searchsorted(cif.index.to_numpy(), grid, side="right") - 1
            curves.append(np.where(at >= 0, cif.to_numpy()[np.maximum(at, 0)], 0.0))
            if cause == WON and at[-1] >= 0:
                won_se = math.sqrt(max(float(aj.variance_.to_numpy()[at[-1]]), 0.0))
    return Incidence(curves[0], curves[1], int(t.size), int((outcome == WON).sum()), int((outcome == LOST).sum()),
                     won_se)  # fmt: skip


def median_day(pmf: np.ndarray) -> float:
    """The median of a distribution over whole days, read off its piecewise-linear CDF."""
    return float(quantile_days(pmf, np.array([0.5]))[0])


def quantile_days(pmf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quantiles of a distribution over whole days, each day's mass spread evenly over [k - 0.5, k + 0.5]."""
    cdf = np.cumsum(pmf) / pmf.sum()
    k = np.minimum(np.searchsorted(cdf, u, side="left"), cdf.size - 1)
    below = np.where(k > 0, cdf[np.maximum(k - 1, 0)], 0.0)
    mass = np.maximum(cdf[k] - below, 1e-300)
    return np.maximum(k - 0.5 + (u - below) / mass, 0.0)


def sample_points(pmf: np.ndarray, n: int = 100) -> list[float]:
    """``n`` evenly spaced quantiles of a day distribution: the values of an empirical distribution."""
    return [round(float(x), 2) for x in quantile_days(pmf, (np.arange(n) + 0.5) / n)]


# ---------------------------------------------------------------- stage timing


@dataclass(frozen=True)
class Phases:
    """How the cycle splits into stages when no stage history says so.

    One phase: every deal closes after one duration (``first``), whatever its outcome. Two phases (a Coxian
    phase-type structure): every deal spends ``first``; the early losers (and the no-decision deals) leave
    then; the rest spend ``second`` and are won, or lost late with probability ``late_lost`` (of all deals).
    """

    first: np.ndarray  # pmf over days
    second: np.ndarray | None
    late_lost: float
    ks_won: float  # largest gap between the implied and estimated CDFs of days to win (and to lose)
    ks_lost: float
    critical: float  # the 5% two-sample KS distance for the numbers of won and lost deals

    def implied(self, inc: Incidence) -> tuple[np.ndarray, np.ndarray]:
        """The cumulative incidence of won and of lost that these phases produce."""
        won, lost = _implied(self.first, self.second, inc.p_lost, self.late_lost, inc.won.size)
        return inc.p_won * won, inc.p_lost * lost


def _implied(f1, f2, total_lost: float, late: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised CDFs of days to win and to lose for phase pmfs ``f1`` (then ``f2``, if any)."""
    if f2 is None:
        one = np.cumsum(f1)
        return one, one
    won = np.cumsum(np.convolve(f1, f2)[:size])
    lost = ((total_lost - late) * np.cumsum(f1) + late * won) / total_lost
    return won, lost


def split_phases(inc: Incidence) -> Phases:
    """Choose one or two phases: one if won and lost take indistinguishable times, else the best split.

    Two phases with first-phase days f1 and second-phase days f2, early losses a and late losses b (of all
    deals, a + b = P(lost)) give won = P(won) f1 * f2 and lost = a f1 + b f1 * f2 (* : convolution), fitted
    by least squares to both estimated cumulative incidences (``_TwoPhases``). For each b, f1 starts as the
    distribution nearest the losses in excess of the wins' timing (lost - b won / P(won) = a f1) and f2 as
    the wins' deconvolution by it; b is searched on a grid, then refined, and alternating least squares
    polishes f1 and f2. The two phases are kept if their largest CDF gap is smaller than one phase's.
    """
    w, lost = inc.pmf(WON), inc.pmf(LOST)
    p_won, p_lost = inc.p_won, inc.p_lost
    critical = KS_CRITICAL * math.sqrt((inc.n_won + inc.n_lost) / max(inc.n_won * inc.n_lost, 1))
    if p_won <= 0 or p_lost <= 0:
        both = w + lost
        return Phases(both / both.sum(), None, 0.0, 0.0, 0.0, critical)
    g_w, g_l = np.cumsum(w) / p_won, np.cumsum(lost) / p_lost
    best = _scored((w + lost) / (p_won + p_lost), None, 0.0, g_w, g_l, p_lost, critical)
    if max(best.ks_won, best.ks_lost) <= critical:
        return best
    width = math.ceil(w.size / MAX_BINS)  # long cycles are fitted in bins of a few days, then spread back
    fit = _TwoPhases(_binned(w, width), _binned(lost, width), p_won, p_lost)
    grid = np.linspace(0.0, p_lost, SPLITS, endpoint=False)
    k = int(np.argmin([fit.gap(late) for late in grid]))
    bounds = (grid[max(k - 1, 0)], grid[k + 1] if k + 1 < grid.size else p_lost)
    late = float(minimize_scalar(fit.gap, bounds=bounds, method="bounded").x)
    f1, f2 = fit.polished(late)
    cand = _scored(_spread(f1, width, w.size), _spread(f2, width, w.size), late, g_w, g_l, p_lost, critical)
    return cand if max(cand.ks_won, cand.ks_lost) < max(best.ks_won, best.ks_lost) else best


def _binned(pmf: np.ndarray, width: int) -> np.ndarray:
    """Masses summed over bins of ``width`` days."""
    pad = -pmf.size % width
    return np.concatenate([pmf, np.zeros(pad)]).reshape(-1, width).sum(axis=1)


def _spread(binned: np.ndarray, width: int, size: int) -> np.ndarray:
    """Binned masses spread evenly back over their days (the inverse of ``_binned``)."""
    days = np.repeat(binned / width, width)[:size]
    return days * (binned.sum() / days.sum())


def _cumulative(f: np.ndarray) -> np.ndarray:
    """The matrix C with C @ x = the CDF of f * x, over the convolution's whole length (2 size - 1 bins)."""
    size = f.size
    cdf = np.concatenate([np.cumsum(f), np.full(size - 1, f.sum())])
    lag = np.arange(cdf.size)[:, None] - np.arange(size)[None, :]
    return np.where(lag >= 0, cdf[np.maximum(lag, 0)], 0.0)


def _pmf(x: np.ndarray) -> np.ndarray:
    """Non-negative masses scaled to sum to one (a point mass at 0 if all are zero)."""
    return x / x.sum() if x.sum() > 0 else np.eye(x.size)[0]


class _TwoPhases:
    """Least squares of two phases to the normalised cumulative incidences of won and of lost, on bins.

    The gaps are summed over the convolution's whole length, where the estimates stay at one: the data has
    no close after its longest cycle, so mass the phases put later (deals the model would close after it,
    when the data has them as no decision) counts as a gap, as it does in the simulated scenario.
    """

    def __init__(self, w: np.ndarray, lost: np.ndarray, p_won: float, p_lost: float) -> None:
        size = w.size
        self.w, self.lost, self.p_won, self.p_lost = w, lost, p_won, p_lost
        self.won_cdf = np.concatenate([np.cumsum(w) / p_won, np.ones(size - 1)])
        self.lost_cdf = np.concatenate([np.cumsum(lost) / p_lost, np.ones(size - 1)])
        self.own = np.tri(2 * size - 1, size)  # own @ f: the CDF of f over the whole length
        self.total = np.full((1, size), SUM_WEIGHT)  # the row that makes a phase's distribution sum to one

    def start(self, late: float) -> tuple[np.ndarray, np.ndarray]:
        """f1 nearest the losses in excess of the wins' timing, then f2 fitted given it."""
        early = self.p_lost - late
        excess = np.cumsum(self.lost - late * self.w / self.p_won) / self.p_lost
        f1, _ = nnls(np.vstack([early / self.p_lost * np.tri(self.w.size), self.total]),
                     np.concatenate([excess, [SUM_WEIGHT]]))  # fmt: skip
        f1 = _pmf(f1)
        return f1, self._second(f1, late)

    def gap(self, late: float) -> float:
        """The sum of squared CDF gaps of the phases started at this share of late losses."""
        return self._gap(*self.start(late), late)

    def polished(self, late: float) -> tuple[np.ndarray, np.ndarray]:
        """The started phases after rounds of alternating least squares (f1 given f2, f2 given f1)."""
        f1, f2 = self.start(late)
        gap = self._gap(f1, f2, late)
        for _ in range(ALTERNATIONS):
            g1 = self._first(f2, late)
            g2 = self._second(g1, late)
            closer = self._gap(g1, g2, late)
            if closer >= gap:
                break
            f1, f2, gap = g1, g2, closer
        return f1, f2

    def _second(self, f1: np.ndarray, late: float) -> np.ndarray:
        """f2 by non-negative least squares given f1."""
        c1 = _cumulative(f1)
        early = (self.p_lost - late) / self.p_lost * (self.own @ f1)
        f2, _ = nnls(np.vstack([c1, late / self.p_lost * c1, self.total]),
                     np.concatenate([self.won_cdf, self.lost_cdf - early, [SUM_WEIGHT]]))  # fmt: skip
        return _pmf(f2)

    def _first(self, f2: np.ndarray, late: float) -> np.ndarray:
        """f1 by non-negative least squares given f2."""
        c2 = _cumulative(f2)
        f1, _ = nnls(np.vstack([c2, ((self.p_lost - late) * self.own + late * c2) / self.p_lost, self.total]),
                     np.concatenate([self.won_cdf, self.lost_cdf, [SUM_WEIGHT]]))  # fmt: skip
        return _pmf(f1)

    def _gap(self, f1: np.ndarray, f2: np.ndarray, late: float) -> float:
        """The sum of squared gaps of the implied CDFs of won and of lost to the estimated ones."""
        won = np.cumsum(np.convolve(f1, f2))
        lost = ((self.p_lost - late) * (self.own @ f1) + late * won) / self.p_lost
        return float(((won - self.won_cdf) ** 2).sum() + ((lost - self.lost_cdf) ** 2).sum())


def _scored(f1, f2, late: float, g_w, g_l, p_lost: float, critical: float) -> Phases:
    """Phases with the CDF gaps of their implied curves to the estimated ones."""
    won, lost = _implied(f1, f2, p_lost, late, g_w.size)
    return Phases(f1, f2, late, float(np.abs(won - g_w).max()), float(np.abs(lost - g_l).max()), critical)
