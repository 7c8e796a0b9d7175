"""Which deals the outcome and cycle estimates rest on, in a left-truncated export, and a check of the rest.

A CRM export that starts at its first close holds the deals created earlier only if they were still open
then: they are left-truncated, and delayed entry (each counted from its age at the first close) keeps the
Aalen-Johansen estimates unbiased only if the truncation is independent of how the deal ends. That cannot be
taken for granted (an export built by dropping some old open deals breaks it), so the earlier deals are used
only when they must be: once the deals created in the complete window have been seen for longer than the
longest cycle before the as-of date, they alone give the estimates, seen from creation, and the earlier deals
test the assumption instead (``truncation_check``): their outcomes against what the complete cohorts' curves
predict for deals open at their ages at the first close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.crm.survival import LOST, WON, Incidence

CHECK_LEVEL = 0.01  # the p below which the check says the earlier deals are not a fair sample
MIN_EXPECTED = 5.0  # Pearson's rule: every category needs this many expected deals for the chi-squared test


@dataclass(frozen=True)
class Cohorts:
    """The deals the estimates use (days, outcome code, entry age) and why."""

    days: np.ndarray
    code: np.ndarray
    entry: np.ndarray
    complete_only: bool  # True: only deals created in the complete window, each from its creation
    follow_up: int  # days the complete window has run: the oldest age its deals reach
    longest: int  # the longest cycle closed before the as-of date
    truncated: int  # deals created before the first close

    def describe(self) -> str:
        """One line for the summary and the scenario's comments."""
        if self.complete_only:
            return (
                f"outcomes and cycle times from the deals created in the complete window, each seen from its "
                f"creation (the window has run {self.follow_up} days, longer than the longest cycle, "
                f"{self.longest} days); the {self.truncated:,} deals created before it are left to the check"
            )
        return (f"outcomes and cycle times from every deal, the {self.truncated:,} created before the first close "
                f"counted from their age at it (delayed entry): the complete window has run {self.follow_up} days, "
                f"less than the longest cycle ({self.longest} days), so the later ages rest on them and on the "
                f"assumption that the export kept them independently of how they end (checked once the window "
                f"is longer than the longest cycle)")  # fmt: skip


def cohorts(t: pd.DataFrame, first_close: pd.Timestamp, as_of: pd.Timestamp) -> Cohorts:
    """Choose the deals of ``t`` (``leanflow.crm.calibrate.observe``'s table) that the estimates rest on."""
    closed = t["code"].to_numpy() > 0
    days, code, entry = (t[c].to_numpy(dtype=float) for c in ("days", "code", "entry"))
    follow_up = int((as_of - first_close).days)
    longest = int(days[closed].max())
    early = (t["created"] < first_close).to_numpy()
    if follow_up > longest and (closed & ~early).any():
        keep = ~early
        return Cohorts(days[keep], code[keep].astype(int), np.zeros(int(keep.sum())), True, follow_up, longest,
                       int(early.sum()))  # fmt: skip
    return Cohorts(days, code.astype(int), entry, False, follow_up, longest, int(early.sum()))


@dataclass(frozen=True)
class TruncationCheck:
    """The deals created before the first close: observed outcomes against the complete cohorts' prediction."""

    n: int
    observed: tuple[int, int, int]  # won, lost, no decision (still open past the longest cycle)
    expected: tuple[float, float, float]
    p: float  # Pearson chi-squared, 2 degrees of freedom (nan: too few deals to test)

    @property
    def rejected(self) -> bool:
        return self.p < CHECK_LEVEL

    def describe(self) -> str:
        o, e = self.observed, self.expected
        if math.isnan(self.p):
            return f"too few deals created before the first close ({self.n}) to check them against the others"
        verdict = ("NOT a fair sample: the export kept them depending on how they end (the estimates do not use "
                   "them)" if self.rejected else "consistent with a fair sample")  # fmt: skip
        return (f"check of the {self.n:,} deals created before the first close: won / lost / no decision {o[0]:,} / "
                f"{o[1]:,} / {o[2]:,}, against {e[0]:,.0f} / {e[1]:,.0f} / {e[2]:,.0f} predicted by the complete "
                f"cohorts' curves for deals open at their ages at the first close (chi-squared p={self.p:.2g}): "
                f"{verdict}")  # fmt: skip


def truncation_check(t: pd.DataFrame, first_close: pd.Timestamp, inc: Incidence,
                     longest: int) -> TruncationCheck | None:  # fmt: skip
    """Test independent truncation with the deals created before the first close (None: there are none, or
    the estimates used them). Each was open at its entry age e; under independent truncation it is then won,
    lost or never decided with probabilities (W(inf) - W(e)) / S(e), (L(inf) - L(e)) / S(e), p_open / S(e),
    from the complete cohorts' cumulative incidences W and L (S = 1 - W - L). A deal still open but not older
    than the ``longest`` cycle closed before the as-of date is undecided yet and is left out."""
    early = t[t["created"] < first_close]
    if early.empty:
        return None
    size = inc.won.size
    decided = (early["code"] > 0) | (early["days"] > longest)
    e = np.minimum(early.loc[decided, "entry"].to_numpy(dtype=int), size - 1)
    at_risk = np.maximum(1.0 - inc.won[e] - inc.lost[e], 1e-12)
    won = (inc.p_won - inc.won[e]) / at_risk
    lost = (inc.p_lost - inc.lost[e]) / at_risk
    expected = (float(won.sum()), float(lost.sum()), float(np.clip(1.0 - won - lost, 0.0, 1.0).sum()))
    code = early.loc[decided, "code"].to_numpy()
    observed = (int((code == WON).sum()), int((code == LOST).sum()), int((code == 0).sum()))
    p = math.nan
    if min(expected) >= MIN_EXPECTED:
        p = float(stats.chisquare(observed, np.array(expected) * sum(observed) / sum(expected)).pvalue)
    return TruncationCheck(int(decided.sum()), observed, expected, p)
