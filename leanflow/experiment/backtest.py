"""Back-test: calibrate on the data before a date, forecast the horizon from the pipeline open at it, compare.

One window (``backtest``): calibrate on the data dated before ``as_of`` (``leanflow.crm.calibrate``), take
the deals open at the start of ``as_of`` as the initial pipeline (``pipeline_at``), forecast [as_of, as_of +
horizon) with the calibrated ``as_is`` plan (``leanflow.experiment.forecast``), and compare its P10/P50/P90
of won revenue and won deals with what the export says was won, and with the naive baseline
(``leanflow.crm.baseline``). Several windows (``rolling``): the share of windows whose actual falls inside
P10..P90 (nominal 80%, with the binomial 95% range for that many windows), and the mean absolute
percentage error of P50 and of the baseline. Windows that overlap share deals and months, so their
outcomes are correlated: the binomial range, which assumes independent windows, is too narrow for them.

Placing today's deals in the model's stages: with stage history the CRM stage is the model's; without it
the calibration's stages are timed phases the CRM cannot see, so each deal's stage is drawn from the
probability of being in it at its age, still open (the calibrated phase times and exits), once per window.
Deals older than the longest cycle the calibration observed are the calibration's own 'no decision':
they start stale (the forecast's ``max_age_days``); younger ones may be no-decision deals too, whose buyer
went silent in the last timed stage (``leanflow.crm.stages.stages_from_cycle``). A deal with no amount gets
its segment's mean won amount before ``as_of`` (the model needs a value; the mean keeps the expected revenue
unbiased).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.crm.baseline import Baseline, naive_forecast
from leanflow.crm.pipeline_at import Actuals, actuals, data_span, pipeline_at, undated_open, won_by_date
from leanflow.errors import LeanflowError
from leanflow.random import replication_seed, stream

METRICS = ("won_revenue", "won_deals")
PARTS = ("won_revenue_pipeline", "won_revenue_new")
PLAN = "as_is"
QUANTILES = (0.1, 0.5, 0.9)
NOMINAL = round(QUANTILES[2] - QUANTILES[0], 6)  # the share of actuals P10..P90 should hold: 0.8
RANGE = 0.95  # the binomial range the coverage is judged against
STAGE_KEY = "backtest:stages"
CORRELATED = ("windows that overlap share deals and months, so their outcomes are correlated: the binomial "
              "range assumes independent windows and is too narrow for them")  # fmt: skip


@dataclass(frozen=True)
class BacktestResult:
    """One window: what was won, the forecast's quantiles and parts, the baseline, and the pipeline used."""

    as_of: date
    horizon_days: int
    actual: Actuals
    quantiles: dict[str, tuple[float, float, float]]  # metric or part -> (P10, P50, P90)
    baseline: Baseline
    pipeline: dict[str, Any]  # deals given, left out (undated), started stale, flagged older than the model's paths
    dates: tuple[date, ...]  # the forecast's dates, for the chart of one window
    path_quantiles: np.ndarray  # (P10/P50/P90, METRICS, dates): cumulative
    actual_path: np.ndarray  # (METRICS, dates): cumulative, as the export says

    def actual_value(self, metric: str) -> float:
        """What the export says a metric came to."""
        return float(getattr(self.actual, metric))

    def inside(self, metric: str) -> bool:
        """Whether the actual lies in P10..P90."""
        p10, _, p90 = self.quantiles[metric]
        return p10 <= self.actual_value(metric) <= p90

    def metrics(self) -> dict[str, dict[str, float]]:
        """Per metric: actual, p10, p50, p90, baseline."""
        return {m: {"actual": self.actual_value(m), **dict(zip(("p10", "p50", "p90"), self.quantiles[m], strict=True)),
                    "baseline": float(getattr(self.baseline, m))} for m in METRICS}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """backtest.json of one window (the parts and the pipeline say where a miss comes from)."""
        b = self.baseline
        return {
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.horizon_days,
            "metrics": self.metrics(),
            "parts": {p: {"actual": float(getattr(self.actual, p)),
                          **dict(zip(("p10", "p50", "p90"), self.quantiles[p], strict=True))} for p in PARTS},
            "baseline_parts": {"pipeline_revenue": b.pipeline_revenue, "new_revenue": b.new_revenue,
                               "pipeline_deals": b.pipeline_deals, "new_deals": b.new_deals,
                               "run_rate_days": b.run_rate_days},
            "pipeline": self.pipeline,
        }  # fmt: skip


@dataclass(frozen=True)
class RollingResult:
    """Windows from ``start`` to ``end`` every ``step_days``: coverage and errors, and the windows skipped."""

    start: date
    end: date
    step_days: int
    horizon_days: int
    windows: list[BacktestResult]
    skipped: list[tuple[date, str]] = field(default_factory=list)

    def coverage(self, metric: str) -> float:
        """The share of windows whose actual lies in P10..P90."""
        return float(np.mean([w.inside(metric) for w in self.windows]))

    def coverage_range(self) -> tuple[float, float]:
        """The central binomial 95% range of the coverage at the nominal 80%, for this many windows."""
        n = len(self.windows)
        lo, hi = stats.binom.interval(RANGE, n, NOMINAL)
        return float(lo) / n, float(hi) / n

    def mape(self, metric: str, baseline: bool = False) -> float:
        """Mean absolute percentage error of P50 (or of the baseline) over windows with a non-zero actual."""
        errors = []
        for w in self.windows:
            actual = w.actual_value(metric)
            guess = float(getattr(w.baseline, metric)) if baseline else w.quantiles[metric][1]
            if actual > 0:
                errors.append(abs(guess - actual) / actual)
        return float(np.mean(errors)) if errors else math.nan

    def to_json(self) -> dict[str, Any]:
        """backtest.json of a rolling back-test."""
        lo, hi = self.coverage_range()
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(), "step_days": self.step_days,
            "horizon_days": self.horizon_days,
            "windows": [w.to_json() for w in self.windows],
            "skipped": [{"as_of": d.isoformat(), "reason": why} for d, why in self.skipped],
            "coverage": {m: self.coverage(m) for m in METRICS},
            "coverage_nominal": NOMINAL,
            "coverage_range95": [lo, hi],
            "mape": {m: self.mape(m) for m in METRICS},
            "baseline_mape": {m: self.mape(m, baseline=True) for m in METRICS},
            "note": CORRELATED,
        }  # fmt: skip


def check_rolling(start: date, end: date, step_days: int) -> None:
    """START on or before END, STEP at least a day; else a one-line error."""
    if start > end:
        raise LeanflowError(f"--rolling: START {start} is after END {end}")
    if step_days < 1:
        raise LeanflowError(f"--rolling: STEP must be at least 1 day, got {step_days}")


def window_problem(imp, as_of: date, horizon_days: int) -> str | None:
    """Why a window cannot be back-tested on this export (None: it can)."""
    first, last = data_span(imp)
    end = as_of + timedelta(days=horizon_days)
    if horizon_days < 1:
        return f"the horizon must be at least 1 day, got {horizon_days}"
    if pd.Timestamp(as_of) <= first:
        return f"the as-of date {as_of} is not after the export's first date {first:%Y-%m-%d}: no data before it"
    if pd.Timestamp(end) > last + pd.Timedelta(days=1):
        return (f"the window {as_of}..{end - timedelta(days=1)} runs past the export's last date "
                f"{last:%Y-%m-%d}: what was won in it is not all known")  # fmt: skip
    return None


def backtest(imp, as_of: date, horizon_days: int, n: int, seed: int | None = None,
             jobs: int | None = None) -> BacktestResult:  # fmt: skip
    """Back-test one window of an imported export (``leanflow.crm.ImportedExport``)."""
    from leanflow.crm.calibrate import calibrate
    from leanflow.experiment.forecast import SERIES, forecast
    from leanflow.scenario.pipeline import parse_rows, with_pipeline

    problem = window_problem(imp, as_of, horizon_days)
    if problem is not None:
        raise LeanflowError(problem)
    cal = calibrate(imp, as_of, horizon_days)
    scenario = cal.scenario()
    seed = scenario.seed if seed is None else seed
    open_ = with_values(imp, pipeline_at(imp, as_of), as_of)
    if open_.empty:
        raise LeanflowError(f"no deal was open at {as_of}: nothing to start the forecast from")
    rows = model_rows(open_, cal, seed)
    longest = cal.incidence.won.size - 1  # the longest cycle the calibration observed (its 'no decision' limit)
    deals = parse_rows(rows, scenario, source=f"the pipeline open at {as_of}")
    started = with_pipeline(scenario, deals, max_age_days=float(longest))
    fc = forecast(started, None, as_of, as_of + timedelta(days=horizon_days), n, seed, [PLAN], jobs, old="stale")
    by_date = np.quantile(fc.paths[PLAN], QUANTILES, axis=0)  # (quantiles, SERIES, dates)
    quantiles = {s: tuple(float(x) for x in by_date[:, j, -1]) for j, s in enumerate(SERIES)}
    rows_of = [SERIES.index(m) for m in METRICS]
    placed = fc.summary()["plans"][PLAN]["pipeline_deals"]
    pipeline = {"deals": len(rows), "undated_left_out": undated_open(imp), "max_age_days": longest,
                "started_stale": placed.get("expired", 0.0), "older_than_paths": placed.get("old", 0.0),
                "value_filled": int(open_["filled"].sum())}  # fmt: skip
    return BacktestResult(as_of, horizon_days, actuals(imp, as_of, horizon_days), quantiles,
                          naive_forecast(imp, as_of, horizon_days, open_), pipeline, fc.dates,
                          by_date[:, rows_of, :], won_by_date(imp, as_of, list(fc.dates)))  # fmt: skip


def rolling(imp, start: date, end: date, step_days: int, horizon_days: int, n: int, seed: int | None = None,
            jobs: int | None = None, say: Callable[[str], None] | None = None) -> RollingResult:  # fmt: skip
    """Back-test every window from ``start`` to ``end`` (inclusive) every ``step_days``; skip those the data
    cannot judge (their horizon runs past its last date), saying so."""
    check_rolling(start, end, step_days)
    days = [start + timedelta(days=k * step_days) for k in range((end - start).days // step_days + 1)]
    problems = [window_problem(imp, day, horizon_days) for day in days]
    if all(p is not None for p in problems):
        raise LeanflowError(f"--rolling {start} {end} {step_days}: no window fits the data ({problems[0]})")
    windows, skipped = [], []
    for day, problem in zip(days, problems, strict=True):
        if problem is None:
            windows.append(backtest(imp, day, horizon_days, n, seed, jobs))
        else:
            skipped.append((day, problem))
        if say is not None:
            say(window_line(windows[-1]) if problem is None else f"{day}: skipped: {problem}")
    return RollingResult(start, end, step_days, horizon_days, windows, skipped)


def window_line(w: BacktestResult) -> str:
    """One window in a line: actual against P10..P90 and the baseline, per metric."""
    parts = []
    for m, v in w.metrics().items():
        mark = "in" if w.inside(m) else "OUT"
        parts.append(f"{m} {v['actual']:,.0f} vs P10..P90 {v['p10']:,.0f}..{v['p90']:,.0f} "
                     f"(P50 {v['p50']:,.0f}, baseline {v['baseline']:,.0f}) {mark}")  # fmt: skip
    return f"{w.as_of}: " + "; ".join(parts)


def with_values(imp, open_: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """``open_`` with each unknown value set to its segment's mean won amount before ``as_of`` (all segments'
    where a segment has none); ``filled`` marks them."""
    t = imp.table
    won = t[t["outcome"].eq("won") & t["closed"].notna() & (t["closed"] < pd.Timestamp(as_of))]
    if won.empty:
        raise LeanflowError(f"no deal was won before {as_of}: no deal value to give the open deals")
    means = won.groupby(won["segment"].fillna(""))["amount"].mean()
    out = open_.copy()
    out["filled"] = out["value"].isna()
    guess = out["segment"].fillna("").map(means).fillna(float(won["amount"].mean()))
    out["value"] = out["value"].fillna(guess)
    return out


def model_rows(open_: pd.DataFrame, cal, seed: int) -> list[dict[str, Any]]:
    """The open deals as the forecast's pipeline rows: model stage and segment names for the CRM's."""
    names = {s.label: s.name for s in cal.segments}
    label = open_["segment"].fillna("(none)") if cal.mapping.columns.segment is not None else "all"
    segment = pd.Series(label, index=open_.index).map(names).fillna("")
    ages = open_["age_days"].to_numpy(dtype=float)
    if cal.phases is not None:  # timed phases the CRM cannot see: draw each deal's phase from its age
        rng = stream(replication_seed(seed, 0), STAGE_KEY, "attributes")
        index = draw_stages(stage_weights(cal.stages, ages), rng, cal.stages)
        stage = [cal.stages[k].name for k in index]
    else:
        by_crm = {s.crm: s.name for s in cal.stages}
        stage = open_["stage"].map(by_crm).fillna(cal.stages[0].name).tolist()
    return [{"id": r.id, "stage": st, "age_days": r.age_days, "value": r.value, "owner": r.owner or "",
             "segment": seg, "days_in_stage": r.days_in_stage}
            for r, st, seg in zip(open_.itertuples(), stage, segment, strict=True)]  # fmt: skip


def stage_weights(stages, ages: np.ndarray) -> np.ndarray:
    """P(in stage k and still open at age a), per deal and stage: (deals, stages).

    A deal is in stage k at age a when it went on from every earlier stage (their ``advance``) and the
    stages' elapsed days satisfy S_k <= a < S_k + T_k, with S_k the sum of the earlier stages' days; a deal
    whose buyer went silent in stage k (its ``silent`` share, no decision) stays in it at every age the data
    has seen, and does not go on."""
    before = np.array([1.0])  # the distribution of S_k, per whole day
    reach = 1.0
    out = np.zeros((ages.size, len(stages)))
    for k, s in enumerate(stages):
        days = np.array([1.0]) if s.pmf is None else s.pmf / s.pmf.sum()
        after = np.convolve(before, days)
        out[:, k] = reach * (_cdf(before, ages) - (1.0 - s.silent) * _cdf(after, ages))
        before, reach = after, reach * (1.0 - s.silent) * s.advance
    return out


def _cdf(pmf: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(S <= x) for a distribution on whole days."""
    cdf = np.minimum(np.cumsum(pmf), 1.0)
    return np.where(x >= cdf.size - 1, 1.0, cdf[np.clip(x, 0, cdf.size - 1).astype(int)])


def draw_stages(weights: np.ndarray, rng: np.random.Generator, stages) -> np.ndarray:
    """A stage per deal in proportion to ``weights``; a deal older than every path goes to the last timed stage
    (where the forecast flags it as old, or starts it stale)."""
    total = weights.sum(axis=1)
    last = max((k for k, s in enumerate(stages) if s.pmf is not None), default=len(stages) - 1)
    cum = np.cumsum(weights, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    drawn = np.minimum((rng.random(weights.shape[0])[:, None] > cum).sum(axis=1), len(stages) - 1)
    return np.where(total > 0, drawn, last)
