"""Calibrate a scenario from a CRM export: arrivals, segments and deal values, stage times and exits, team size.

Everything uses only opportunities created before the as-of date, and a deal closed on or after it is
still open at it (censored). The export is assumed left-truncated at its first close date: deals
created earlier that closed before it may be missing, so rates are counted from that date, and the earlier
deals enter the survival estimates late (delayed entry) only while the later ones have not yet been seen
for a whole cycle (``leanflow.crm.truncation``). Dates alone cannot split a stage's time into
seller effort and buyer wait: the mapping's ``effort_share`` states it, capped so the as-is team is
plausibly busy (``TARGET_UTILISATION``), and the summary says when the cap applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.crm.fits import ArrivalFit, CapacityFit, ValueFit, fit_arrivals, fit_capacity, fit_values
from leanflow.crm.mapping import Mapping
from leanflow.crm.stages import StageFit, stage_name, stages_from_cycle, stages_from_history
from leanflow.crm.survival import LOST, WON, Incidence, Phases, incidence
from leanflow.crm.truncation import Cohorts, TruncationCheck, cohorts, truncation_check
from leanflow.crm.uncertainty import MIN_WEEKS, rate_cv_from_weekly
from leanflow.errors import LeanflowError
from leanflow.scenario.schema import MAX_CV, Scenario

if TYPE_CHECKING:
    from leanflow.crm.importer import ImportedExport

SELLING_HOURS_PER_WEEK = 22.0  # as the shipped scenarios: "sellers spend well under half their time selling"
TARGET_UTILISATION = 0.65  # the as-is team's assumed share of selling hours on deal work, when effort_share asks more
EFFORT_CV = 0.5  # assumption: how much one deal's effort at a stage varies (gamma)
MIN_CLOSED = 20
MEASURED_DAYS = 365
MONTH = 30
FORECAST_DAYS = 90  # the horizon the rate's uncertainty is stated for, unless the caller says


@dataclass(frozen=True)
class Observed:
    """The export as of a date: opportunities created before it, with closes on or after it undone (open)."""

    table: pd.DataFrame  # canonical columns plus days (to close, or to as_of if open), code (1 won, 2 lost, 0 open)
    as_of: pd.Timestamp
    first_close: pd.Timestamp
    start: pd.Timestamp  # the complete window [start, as_of): from the first close on

    def closed_in_window(self, outcome: str) -> pd.DataFrame:
        """Deals with this outcome closed in the complete window."""
        t = self.table
        return t[(t["outcome"] == outcome) & (t["closed"] >= self.start)]


@dataclass(frozen=True)
class SegmentFit:
    """A segment: its CRM label, share of opportunities, deal values and observed win rate."""

    name: str
    label: str
    n: int  # opportunities created in the complete window
    share: float
    value: ValueFit
    won: int
    lost: int


@dataclass(frozen=True)
class Effort:
    """The seller-effort share of elapsed stage time: as stated by the mapping, or capped for a plausible team."""

    stated: float
    share: float
    utilisation: float  # the as-is team's deal-work utilisation with ``share``
    stated_utilisation: float  # what the stated share would need
    queue_days: float  # expected wait for the owner per stage visit (M/G/1, Pollaczek-Khinchine)
    hours_per_week: float = SELLING_HOURS_PER_WEEK

    def effort_days(self, stage: StageFit) -> float:
        """Mean days of seller effort at a stage: the share of its mean elapsed days."""
        return self.share * stage.mean_days

    @property
    def capped(self) -> bool:
        return self.share < self.stated


@dataclass(frozen=True)
class RateSpread:
    """The arrival rate's uncertainty over a forecast horizon, from the weekly counts the rate was fitted on."""

    cv: float  # the source's rate_cv
    weeks: int  # whole weeks counted back from the as-of date (0: too few to estimate, cv 0)
    horizon_days: int


@dataclass(frozen=True)
class Calibration:
    """Every fit of one calibration, with the evidence the scenario's comments and the diagnostics show."""

    export: str
    mapping: Mapping
    obs: Observed
    arrivals: ArrivalFit
    segments: list[SegmentFit]
    segment_test: float  # chi-squared p of win rate by segment (nan: one segment)
    incidence: Incidence
    phases: Phases | None  # None when stage history gave the stages
    stages: list[StageFit]
    capacity: CapacityFit
    effort: Effort
    rate_spread: RateSpread
    cohorts: Cohorts  # the deals the outcome and cycle estimates rest on
    truncation: TruncationCheck | None  # the deals created before the first close, checked (None: not checked)

    @property
    def win_rate(self) -> float:
        """Won / (won + lost) implied by the fitted exits."""
        return self.incidence.p_won / (self.incidence.p_won + self.incidence.p_lost)

    @property
    def warmup_days(self) -> int:
        """Long enough for every deal present to have been created after time 0: the longest fitted cycle."""
        longest = sum(s.pmf.size for s in self.stages if s.pmf is not None)
        return max(3 * MONTH, math.ceil(longest / MONTH) * MONTH)

    @property
    def stale_after_days(self) -> float:
        """When a deal whose buyer went silent ends stale: a day past the longest observed cycle."""
        return float(self.incidence.won.size)

    @property
    def horizon_days(self) -> int:
        return self.warmup_days + MEASURED_DAYS

    def scenario(self) -> Scenario:
        """The calibrated scenario, validated as ``leanflow run`` would load it."""
        from leanflow.crm.scenario_yaml import scenario_yaml
        from leanflow.scenario.loader import load_scenario_text

        return load_scenario_text(scenario_yaml(self), f"calibrated from {self.export}")


def observe(table: pd.DataFrame, as_of: date | None) -> Observed:
    """The canonical table as it stood at ``as_of`` (default: the day after its last date)."""
    dated = table[table["created"].notna()]
    if dated.empty:
        raise LeanflowError("the export has no opportunity with a created date")
    last = max(dated["created"].max(), dated["closed"].fillna(dated["created"]).max())
    cut = pd.Timestamp(as_of) if as_of is not None else last.normalize() + pd.Timedelta(days=1)
    t = dated[dated["created"] < cut].copy()
    if t.empty:
        raise LeanflowError(f"no opportunity was created before the as-of date {cut:%Y-%m-%d}")
    late = t["closed"].notna() & (t["closed"] >= cut)
    t.loc[late, "closed"] = pd.NaT
    t.loc[late | t["closed"].isna(), "outcome"] = "open"
    closed = t["closed"].notna()
    if int(closed.sum()) < MIN_CLOSED or not (t["outcome"] == "won").any():
        won = int((t["outcome"] == "won").sum())
        raise LeanflowError(f"only {int(closed.sum())} opportunities closed before {cut:%Y-%m-%d} ({won} won): "
                            f"need {MIN_CLOSED} or more, some won")  # fmt: skip
    first_close = t.loc[closed, "closed"].min()
    end = t["closed"].where(closed, cut)
    t["days"] = np.maximum((end - t["created"]).dt.days.to_numpy(dtype=float), 0.0)
    t["code"] = np.select([t["outcome"] == "won", t["outcome"] == "lost"], [WON, LOST], 0)
    t["entry"] = np.clip((first_close - t["created"]).dt.days.to_numpy(dtype=float), 0.0, None)
    return Observed(t.reset_index(drop=True), cut, first_close, max(t["created"].min(), first_close))


def calibrate(imp: ImportedExport, as_of: date | None = None, horizon_days: int = FORECAST_DAYS) -> Calibration:
    """Fit a scenario's parameters to an imported export, as of a date (default: the day after its last date);
    the arrival rate's uncertainty is stated for a forecast of ``horizon_days`` after it."""
    m: Mapping = imp.mapping
    obs = observe(imp.table, as_of)
    t = obs.table
    used = cohorts(t, obs.first_close, obs.as_of)
    inc = incidence(used.days, used.code, used.entry)
    check = truncation_check(t, obs.first_close, inc, used.longest) if used.complete_only else None
    pipeline = [s for s in m.stages if s not in m.pre_pipeline_stages] or list(m.stages)
    phases: Phases | None = None
    if imp.history is not None and not imp.history.empty:
        stages = stages_from_history(t, imp.history, pipeline, obs.start, obs.as_of)
    else:
        stages, phases = stages_from_cycle(inc, pipeline)
    arrivals = fit_arrivals(t["created"], obs.start, obs.as_of)
    segments, test = _segments(obs, m.columns.segment is not None)
    capacity = fit_capacity(t, obs.as_of)
    effort = _effort(m.effort_share, arrivals, stages, capacity.headcount)
    spread = rate_spread(t["created"], arrivals, horizon_days)
    return Calibration(imp.export.name, m, obs, arrivals, segments, test, inc, phases, stages, capacity, effort,
                       spread, used, check)  # fmt: skip


def weekly_counts(created: pd.Series, arrivals: ArrivalFit) -> np.ndarray:
    """Opportunities created in each whole week of the complete window, counted back from the as-of date and
    returned oldest first, each divided by its seasonal multiplier (the rate's own model)."""
    weeks = (arrivals.end - arrivals.start).days // 7
    back = ((arrivals.end - pd.Timedelta(days=1) - created).dt.days // 7).to_numpy()
    inside = (created < arrivals.end).to_numpy() & (back < weeks)
    counts = np.bincount(back[inside].astype(int), minlength=weeks)[::-1].astype(float)
    if arrivals.seasonality is None:
        return counts
    starts = [arrivals.end - pd.Timedelta(days=7 * (weeks - k)) for k in range(weeks)]
    return counts / np.array([arrivals.rate_on(d) / arrivals.per_week for d in starts])


def rate_spread(created: pd.Series, arrivals: ArrivalFit, horizon_days: int) -> RateSpread:
    """The source's rate_cv over ``horizon_days`` (``leanflow.crm.uncertainty``), capped at the schema's most;
    0 when the window has too few whole weeks to estimate it."""
    counts = weekly_counts(created, arrivals)
    if counts.size < MIN_WEEKS or counts.sum() == 0:
        return RateSpread(0.0, 0, horizon_days)
    return RateSpread(min(rate_cv_from_weekly(counts, horizon_days / 7.0), MAX_CV), int(counts.size), horizon_days)


def _segments(obs: Observed, mapped: bool) -> tuple[list[SegmentFit], float]:
    """Segments from the segment column (one segment 'all' without it), with the p of equal win rates."""
    t = obs.table
    label = t["segment"].fillna("(none)").astype(str) if mapped else pd.Series("all", index=t.index)
    window = t["created"] >= obs.start
    counts = label[window].value_counts()
    counts = counts[counts > 0]
    closed = t["outcome"].isin(["won", "lost"])
    table = pd.crosstab(label[closed], t.loc[closed, "outcome"]).reindex(columns=["won", "lost"], fill_value=0)
    won_amounts = t.loc[t["outcome"] == "won", "amount"]
    pooled = fit_values(won_amounts.to_numpy())
    taken: set[str] = set()
    fits = []
    for lab, n in counts.items():
        mine = won_amounts[label[won_amounts.index] == lab].to_numpy()
        value = fit_values(mine) if np.isfinite(mine).any() and (mine > 0).any() else pooled
        row = table.loc[lab] if lab in table.index else pd.Series({"won": 0, "lost": 0})
        fits.append(SegmentFit(stage_name(str(lab), taken), str(lab), int(n), n / counts.sum(), value,
                               int(row["won"]), int(row["lost"])))  # fmt: skip
    test = math.nan
    if len(table) > 1 and (table.sum(axis=0) > 0).all():
        test = float(stats.chi2_contingency(table.to_numpy()).pvalue)
    return fits, test


def _effort(stated: float, arrivals: ArrivalFit, stages: list[StageFit], headcount: int) -> Effort:
    """The effort share: the mapping's, unless the as-is team could not carry it (then the share at the target).

    Each owner serves their deals' stage visits one at a time: the expected wait for the owner is
    Pollaczek-Khinchine's lambda E[S^2] / (2 (1 - u)), with S the effort days of a visit (gamma, cv EFFORT_CV).
    """
    visits = np.array([arrivals.per_week / 7.0 * s.reach for s in stages if s.pmf is not None])  # a day, whole team
    days = np.array([s.mean_days for s in stages if s.pmf is not None])
    per_share = float((visits * days).sum()) / headcount  # busy days a day per owner at share 1
    if per_share <= 0:
        return Effort(stated, stated, 0.0, 0.0, 0.0)
    at_stated = stated * per_share
    share = stated if at_stated <= TARGET_UTILISATION else TARGET_UTILISATION / per_share
    u = share * per_share
    second = float((visits * (share * days) ** 2).sum()) * (1 + EFFORT_CV**2) / headcount
    return Effort(stated, share, u, at_stated, second / (2 * (1 - u)))


def summary_lines(cal: Calibration) -> list[str]:
    """What was fitted, with the evidence, for the console and the diagnostics page."""
    o, a, inc, e, c = cal.obs, cal.arrivals, cal.incidence, cal.effort, cal.capacity
    last = o.as_of - pd.Timedelta(days=1)
    count = o.table["outcome"].value_counts()
    lines = [
        f"as of {o.as_of:%Y-%m-%d}: {len(o.table):,} opportunities created before it ({count.get('won', 0):,} won, "
        f"{count.get('lost', 0):,} lost, {count.get('open', 0):,} open); first close {o.first_close:%Y-%m-%d}, so the "
        f"complete window is {o.start:%Y-%m-%d}..{last:%Y-%m-%d}",
        f"arrivals: {a.per_week:.1f} opportunities / week (SE {a.se:.2g}; {a.n:,} created in the window); {a.note}; "
        f"rate_cv {cal.rate_spread.cv:.3f} over {cal.rate_spread.horizon_days} days",
        f"outcomes (Aalen-Johansen, open deals censored): P(won) {inc.p_won:.3f}, P(lost) {inc.p_lost:.3f}, "
        f"no decision {inc.p_open:.3f}; win rate {cal.win_rate:.1%}; median days to win {inc.median(WON):.1f}, "
        f"to lose {inc.median(LOST):.1f}",
        cal.cohorts.describe(),
    ]  # fmt: skip
    if cal.truncation is not None:
        lines.append(cal.truncation.describe())
    for s in cal.stages:
        timing = "passed in no time" if s.pmf is None else f"mean {s.mean_days:.1f} days elapsed"
        lines.append(f"stage {s.name}: {timing}, advance {s.advance:.3f}, lost share {s.lost_share:.2f} ({s.note})")
    test = "" if math.isnan(cal.segment_test) else f"; win rate by segment: chi-squared p={cal.segment_test:.2g}"
    lines.append(f"segments: {len(cal.segments)}{test}")
    lines += [f"  {s.name}: share {s.share:.1%}, deal value {s.value.family} (median {s.value.median():,.0f}; "
              f"{s.value.describe()})" for s in cal.segments]  # fmt: skip
    lines.append(f"team: {c.headcount} owners, {c.describe(o.as_of)}")
    how = (f"capped from the mapping's {e.stated:g}, which would need {e.stated_utilisation:.0%} of the selling hours"
           if e.capped else "the mapping's")  # fmt: skip
    lines.append(f"effort: {e.share:.3g} of elapsed stage time ({how}); the team is {e.utilisation:.0%} busy on "
                 f"{e.hours_per_week:g} selling hours a week (assumptions); expected wait for the owner "
                 f"{e.queue_days:.2f} days a stage")  # fmt: skip
    return lines
