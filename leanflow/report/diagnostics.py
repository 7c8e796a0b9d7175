"""The calibration's diagnostics page: the export's data against the fitted model, one self-contained HTML file.

Charts are inline PNGs drawn with matplotlib's object API (as in ``leanflow.report.html``): arrivals per
week, the cumulative incidence of won and lost by days since creation (data, fitted stages, simulation),
deal values per segment (log scale), the win rate by month of creation and the active owners.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from leanflow import __version__
from leanflow.crm.calibrate import Calibration, summary_lines
from leanflow.crm.survival import LOST, WON, incidence
from leanflow.experiment.reproduce import Reproduction, figure_text
from leanflow.files import atomic_write
from leanflow.report.charts import MONEY, PALETTE
from leanflow.report.html import TEMPLATES, figure_png

DATA, MODEL, FITTED = PALETTE[0], PALETTE[1], PALETTE[2]
WON_COLOUR, LOST_COLOUR = "#117733", "#882255"
MAX_PANELS = 9


def _figure(width: float = 9.0, height: float = 3.8) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def arrivals_chart(cal: Calibration, _rep: Reproduction) -> Figure:
    """Opportunities created per week: data against the fitted rate."""
    a = cal.arrivals
    fig = _figure()
    ax = fig.add_subplot()
    weeks = a.weekly[a.weekly.index + pd.Timedelta(days=7) <= a.end]  # whole weeks: a partial last one is no dip
    ax.bar(weeks.index, weeks.to_numpy(), width=6, color=DATA, alpha=0.55, label="created per week (data)")
    days = pd.date_range(a.start, a.end - pd.Timedelta(days=1), freq="D")
    ax.plot(days, [a.rate_on(d) for d in days], color=MODEL, lw=2, label="fitted Poisson rate")
    if weeks.index.min() < a.start:
        ax.axvspan(weeks.index.min(), a.start, color="#BBBBBB", alpha=0.35,
                   label="before the first close: incomplete (not fitted)")  # fmt: skip
    ax.set_ylabel("opportunities / week")
    ax.set_xlabel("week the opportunities were created (whole weeks)")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def _model_incidence(rep: Reproduction):
    """Won and lost cumulative incidence of the simulated deals created after the warm-up (open: censored)."""
    sc = rep.result.scenario
    d = rep.result.deals
    d = d[d["created"] >= sc.warmup_days]
    end = d["closed"].where(d["closed"].notna(), sc.horizon_days)
    code = np.select([d["outcome"] == "won", d["outcome"] == "lost", d["outcome"] != "open"], [WON, LOST, 3], 0)
    return incidence(np.floor((end - d["created"]).to_numpy()), code, np.zeros(len(d)))


def cycle_chart(cal: Calibration, rep: Reproduction) -> Figure:
    """Cumulative incidence of won and lost by days since creation: data, fitted stages and simulation."""
    inc = cal.incidence
    sim = _model_incidence(rep)
    fig = _figure()
    ax = fig.add_subplot()
    for curve, model, fitted, colour, label in (
        (inc.won, sim.won, 0, WON_COLOUR, "won"), (inc.lost, sim.lost, 1, LOST_COLOUR, "lost")
    ):  # fmt: skip
        ax.step(np.arange(curve.size), curve, where="post", color=colour, lw=2, label=f"{label}: data (Aalen-Johansen)")
        ax.plot(np.arange(model.size), model, color=colour, ls="--", lw=1.5, label=f"{label}: simulated scenario")
        if cal.phases is not None:
            ax.plot(np.arange(curve.size), cal.phases.implied(inc)[fitted], color=colour, ls=":", lw=1.5,
                    label=f"{label}: fitted stages")  # fmt: skip
    ax.set_xlabel("days since the opportunity was created")
    ax.set_ylabel("share of opportunities")
    ax.set_xlim(0, max(inc.won.size, 1) * 1.3)
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    return fig


def value_chart(cal: Calibration, _rep: Reproduction) -> Figure:
    """Won deal values per segment: the data's ECDF against the fitted distribution (log scale)."""
    segs = sorted(cal.segments, key=lambda s: -s.value.n)[:MAX_PANELS]
    cols = min(3, len(segs))
    rows = math.ceil(len(segs) / cols)
    fig = _figure(9.0, 2.6 * rows)
    for i, s in enumerate(segs):
        ax = fig.add_subplot(rows, cols, i + 1)
        x = np.sort(s.value.values)
        if x.size:
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=DATA, lw=2, label="data")
            grid = np.geomspace(x.min() * 0.9, x.max() * 1.1, 200)
            ax.plot(grid, s.value.cdf(grid), color=MODEL, ls="--", lw=1.5, label=s.value.family)
            ax.set_xscale("log")
            narrow = x.max() < 10 * x.min()  # less than a decade: label more ticks
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if narrow else (1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(MONEY)
        ax.set_title(f"{s.label} (n={s.value.n})", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, loc="lower right")
    return fig


def win_rate_chart(cal: Calibration, _rep: Reproduction) -> Figure:
    """Win rate by month of creation (closed deals, 95% interval) against the fitted win rate."""
    t = cal.obs.table
    closed = t[t["outcome"].isin(["won", "lost"])]
    month = closed["created"].dt.to_period("M").dt.start_time
    won = closed["outcome"].eq("won").groupby(month).agg(["sum", "count"])
    p = won["sum"] / won["count"]
    half = 1.96 * np.sqrt(p * (1 - p) / won["count"])
    fig = _figure()
    ax = fig.add_subplot()
    ax.errorbar(won.index, p, yerr=half, fmt="o", color=DATA, capsize=3, label="data: won / (won + lost)")
    ax.axhline(cal.win_rate, color=MODEL, lw=2, label=f"fitted: {cal.win_rate:.1%}")
    if len(won) and won.index.min() < cal.obs.start:
        ax.axvspan(won.index.min() - pd.Timedelta(days=15), cal.obs.start, color="#BBBBBB", alpha=0.35,
                   label="before the first close: only the slow closers are left")  # fmt: skip
    ax.set_ylim(0, 1.05)  # a month at 100% stays whole
    ax.set_xlabel("month the opportunity was created")
    ax.set_ylabel("win rate")
    ax.legend(fontsize=9)
    return fig


def owners_chart(cal: Calibration, _rep: Reproduction) -> Figure:
    """Active owners per week (between their first and last dated deal) and the as-is headcount."""
    c = cal.capacity
    fig = _figure(9.0, 3.0)
    ax = fig.add_subplot()
    ax.plot(c.weekly.index, c.weekly.to_numpy(), color=DATA, lw=2, label="active owners (data)")
    ax.axhline(c.headcount, color=MODEL, ls="--", lw=1.5, label=f"as_is headcount: {c.headcount}")
    ax.set_ylim(0, max(c.weekly.max() if len(c.weekly) else 1, c.headcount) * 1.15)
    ax.set_ylabel("owners")
    ax.set_xlabel("week")
    ax.legend(fontsize=9, loc="lower right")
    return fig


CHARTS: dict[str, tuple[Callable[[Calibration, Reproduction], Figure], str]] = {
    "arrivals": (arrivals_chart, "Bars: opportunities created per week in the export; line: the fitted rate. "
                 "Weeks before the first close are shaded: deals of those weeks that closed before it are missing."),
    "cycle": (cycle_chart, "Solid: the export (open deals censored; the cohorts the estimates rest on, as the "
              "summary says); dashed: the calibrated scenario simulated; dotted: what the fitted stage times imply. "
              "The gap between 1 and the two curves' end is the no-decision share."),
    "values": (value_chart, "Won amounts per segment: the data's empirical CDF against the fitted distribution."),
    "win_rate": (win_rate_chart, "Recent months lean low: their quick closes are more often losses, their "
                 "slow wins are still open."),
    "owners": (owners_chart, "The as_is plan's headcount is the mean over the last 3 months before the as-of date."),
}  # fmt: skip


def render_diagnostics(cal: Calibration, rep: Reproduction) -> str:
    """The diagnostics page as one HTML string."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)  # fmt: skip
    charts = [{"name": k, "title": (fn.__doc__ or k).strip().splitlines()[0], "caption": caption,
               "src": figure_png(fn(cal, rep))} for k, (fn, caption) in CHARTS.items()]  # fmt: skip
    rows = [{"metric": r.metric, "data": figure_text(r.data), "model": figure_text(r.model), "ok": r.ok,
             "interval": "" if math.isnan(r.data_low) else f"{figure_text(r.data_low)} .. {figure_text(r.data_high)}",
             "range": f"{figure_text(r.model_p5)} .. {figure_text(r.model_p95)}"}
            for r in rep.table.itertuples()]  # fmt: skip
    segments = [{"name": s.name, "label": s.label, "share": f"{s.share:.1%}", "n": f"{s.n:,}",
                 "won": f"{s.won:,}", "lost": f"{s.lost:,}", "value": s.value.describe()}
                for s in cal.segments]  # fmt: skip
    return env.get_template("diagnostics.html.j2").render(
        title=f"{cal.export} as of {cal.obs.as_of:%Y-%m-%d}", mapping=cal.mapping.name, version=__version__,
        made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), summary=summary_lines(cal), rows=rows,
        replications=rep.result.replications, charts=charts, segments=segments,
    )  # fmt: skip


def write_diagnostics(cal: Calibration, rep: Reproduction, directory: str | Path) -> Path:
    """Write ``diagnostics.html`` into ``directory`` atomically; return its path."""
    path = Path(directory) / "diagnostics.html"
    html = render_diagnostics(cal, rep)
    atomic_write(path, lambda p: p.write_text(html, encoding="utf-8"))
    return path
