"""A back-test's outputs: backtest.json, backtest.csv, backtest.png (written atomically) and the console table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from rich.table import Table

from leanflow.experiment.backtest import CORRELATED, METRICS, BacktestResult, RollingResult
from leanflow.files import atomic_write
from leanflow.report.charts import MONEY, PALETTE

FILES = ("backtest.json", "backtest.csv", "backtest.png")
LABELS = {"won_revenue": "won revenue", "won_deals": "won deals"}
FORECAST, ACTUAL, BASELINE = PALETTE[0], PALETTE[3], PALETTE[6]
CSV_COLUMNS = ["as_of", "horizon_days", "metric", "actual", "p10", "p50", "p90", "baseline", "inside",
               "ape_p50", "ape_baseline"]  # fmt: skip


def windows_of(result: BacktestResult | RollingResult) -> list[BacktestResult]:
    """The windows of a result: one, or every window of a rolling back-test."""
    return result.windows if isinstance(result, RollingResult) else [result]


def table(result: BacktestResult | RollingResult) -> pd.DataFrame:
    """One row per window x metric: backtest.csv."""
    rows = []
    for w in windows_of(result):
        for m, v in w.metrics().items():
            rows.append({"as_of": w.as_of.isoformat(), "horizon_days": w.horizon_days, "metric": m, **v,
                         "inside": w.inside(m), "ape_p50": _ape(v["p50"], v["actual"]),
                         "ape_baseline": _ape(v["baseline"], v["actual"])})  # fmt: skip
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _ape(x: float, actual: float) -> float:
    """The absolute percentage error of ``x`` (NaN against an actual of zero)."""
    return abs(x - actual) / actual if actual > 0 else float("nan")


def chart(result: BacktestResult | RollingResult) -> Figure:
    """Actual against the forecast's P10..P90 (P50 marked) and the baseline: by date for one window, by
    window (each window's total over its horizon) for a rolling back-test."""
    fig = Figure(figsize=(9.0, 6.8), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    if isinstance(result, RollingResult):
        _by_window(axes, result)
        title = (f"rolling back-test {result.start}..{result.end} every {result.step_days} days, "
                 f"{result.horizon_days}-day horizon")  # fmt: skip
    else:
        _by_date(axes, result)
        title = f"back-test from {result.as_of}, {result.horizon_days}-day horizon"
    axes[0].set_title(title, fontsize=11)
    axes[0].yaxis.set_major_formatter(MONEY)
    for ax, m in zip(axes, METRICS, strict=True):
        ax.set_ylabel(LABELS[m])
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8, loc="outside lower center", ncols=len(labels))  # no bar hid
    fig.autofmt_xdate()
    return fig


def _by_window(axes, result: RollingResult) -> None:
    """Per window: the P10..P90 bar with its P50, the actual and the baseline."""
    x = np.array([w.as_of for w in result.windows], dtype="datetime64[D]")
    for ax, m in zip(axes, METRICS, strict=True):
        q = np.array([w.quantiles[m] for w in result.windows])
        ax.errorbar(x, q[:, 1], yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]], fmt="_", color=FORECAST, capsize=4,
                    markersize=12, label="forecast P50, bar P10..P90")  # fmt: skip
        ax.plot(x, [w.actual_value(m) for w in result.windows], "o", color=ACTUAL, label="actual")
        ax.plot(x, [getattr(w.baseline, m) for w in result.windows], "x", color=BASELINE, label="naive baseline")
    axes[1].set_xlabel("as-of date (start of each window)")


def _by_date(axes, w: BacktestResult) -> None:
    """Cumulative by date: the forecast's band and P50, the actual path, the baseline at the end."""
    x = np.array(w.dates, dtype="datetime64[D]")
    for k, (ax, m) in enumerate(zip(axes, METRICS, strict=True)):
        q = w.path_quantiles[:, k, :]
        ax.fill_between(x, q[0], q[2], color=FORECAST, alpha=0.2, linewidth=0, label="forecast P10..P90")
        ax.plot(x, q[1], color=FORECAST, label="forecast P50")
        ax.plot(x, w.actual_path[k], color=ACTUAL, label="actual")
        ax.plot(x[-1:], [getattr(w.baseline, m)], "x", color=BASELINE, markersize=9, label="naive baseline")
    axes[1].set_xlabel(f"date (cumulative from {w.as_of})")


def console_table(result: BacktestResult | RollingResult) -> Table:
    """Per window and metric: actual, P10, P50, P90, baseline and whether the actual is in the band."""
    t = Table(title="back-test: actual against the forecast (as_is plan) and the naive baseline",
              title_justify="left")  # fmt: skip
    for col in ("as of", "metric", "actual", "P10", "P50", "P90", "baseline", "in P10..P90"):
        t.add_column(col, justify="left" if col in ("as of", "metric") else "right")
    for w in windows_of(result):
        for m, v in w.metrics().items():
            t.add_row(str(w.as_of), LABELS[m], *(f"{v[k]:,.0f}" for k in ("actual", "p10", "p50", "p90", "baseline")),
                      "yes" if w.inside(m) else "NO")  # fmt: skip
    return t


def summary_lines(result: BacktestResult | RollingResult) -> list[str]:
    """What the back-test says: coverage against its binomial range, and P50's error against the baseline's."""
    if not isinstance(result, RollingResult):
        w = result
        return [f"{LABELS[m]}: actual {v['actual']:,.0f} is {'inside' if w.inside(m) else 'OUTSIDE'} P10..P90; "
                f"P50 off by {_pct(v['p50'], v['actual'])}, the naive baseline by {_pct(v['baseline'], v['actual'])}"
                for m, v in w.metrics().items()]  # fmt: skip
    n = len(result.windows)
    lo, hi = result.coverage_range()
    lines = []
    for m in METRICS:
        inside = sum(w.inside(m) for w in result.windows)
        lines.append(f"{LABELS[m]}: coverage {inside}/{n} = {result.coverage(m):.0%} (nominal 80%; binomial 95% "
                     f"range for {n} windows {lo:.0%}..{hi:.0%}); MAPE of P50 {result.mape(m):.1%}, of the naive "
                     f"baseline {result.mape(m, baseline=True):.1%}")  # fmt: skip
    lines += [f"skipped {d}: {why}" for d, why in result.skipped]
    lines.append(f"note: {CORRELATED}")
    return lines


def _pct(x: float, actual: float) -> str:
    """A signed relative error, for a line ('-' against an actual of zero)."""
    return f"{(x - actual) / actual:+.1%}" if actual > 0 else "-"


def write_backtest(result: BacktestResult | RollingResult, directory: Path) -> dict[str, Path]:
    """Write backtest.json, backtest.csv and backtest.png into ``directory``."""
    paths = {name: directory / name for name in FILES}
    text = json.dumps(result.to_json(), indent=2) + "\n"
    atomic_write(paths["backtest.json"], lambda p: p.write_text(text, encoding="utf-8"))
    frame = table(result)
    atomic_write(paths["backtest.csv"], lambda p: frame.to_csv(p, index=False, float_format="%.10g"))
    fig = chart(result)
    atomic_write(paths["backtest.png"], lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
    return paths
