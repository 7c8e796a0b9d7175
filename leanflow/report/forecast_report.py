"""A forecast's outputs: forecast.csv, forecast.json, the fan chart (PNG) and one self-contained HTML page.

Every file is written atomically (the command checks the directory before anything is simulated).
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np
from matplotlib.figure import Figure
from rich.table import Table

from leanflow import __version__
from leanflow.experiment.forecast import QUANTILES, SERIES, Forecast
from leanflow.files import atomic_write
from leanflow.report.charts import MONEY, plan_colours

TEMPLATES = Path(__file__).parent / "templates"
FILES = ("forecast.csv", "forecast.json", "forecast.png", "forecast.html")
SERIES_LABELS = {"won_revenue": "won revenue", "won_deals": "won deals",
                 "won_revenue_pipeline": "won revenue from today's pipeline",
                 "won_revenue_new": "won revenue from deals created after the start"}  # fmt: skip


def fan_chart(fc: Forecast) -> Figure:
    """Cumulative won revenue and won deals by date: P10-P90 band and P50 line per plan (dashed: today's deals)."""
    fig = Figure(figsize=(9.0, 6.4))
    revenue, deals = fig.subplots(2, 1, sharex=True)
    x = np.array(fc.dates, dtype="datetime64[D]")
    colours = plan_colours(list(fc.plans))
    for plan in fc.plans:
        q = fc.quantiles(plan)
        for ax, j in ((revenue, 0), (deals, 1)):
            ax.fill_between(x, q[0, j], q[2, j], color=colours[plan], alpha=0.2, linewidth=0)
            ax.plot(x, q[1, j], color=colours[plan], label=f"{plan}: P50 (band P10-P90)")
        revenue.plot(x, q[1, 2], color=colours[plan], linestyle="--", label=f"{plan}: P50 from today's pipeline")
    if fc.target is not None:
        revenue.axhline(fc.target, color="#4a5568", linestyle=":", label=f"target {fc.target:,.0f}")
    revenue.set_ylabel("won revenue, cumulative")
    revenue.yaxis.set_major_formatter(MONEY)
    deals.set_ylabel("won deals, cumulative")
    revenue.set_title(f"{fc.scenario}: {fc.start} to {fc.until}, {fc.n} replications", fontsize=11)
    revenue.legend(fontsize=8, loc="upper left", framealpha=0.9, edgecolor="none")
    for ax in (revenue, deals):
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def headline(fc: Forecast, plan: str) -> str:
    """One line per plan: the median won revenue by ``until``, its P10-P90 and the chance of the target."""
    s = fc.summary()["plans"][plan]
    r = s["won_revenue"]
    line = (f"{plan}: won revenue by {fc.until} P50 {r['p50']:,.0f} (P10 {r['p10']:,.0f} .. P90 {r['p90']:,.0f}), "
            f"{s['won_deals']['p50']:,.0f} deals; from today's pipeline {s['won_revenue_pipeline']['p50']:,.0f}")
    if s["p_target"] is not None:
        lo, hi = s["p_target_ci90"]
        line += f"; P(reach {fc.target:,.0f}) = {100 * s['p_target']:.0f}% (90% CI {100 * lo:.0f}-{100 * hi:.0f}%)"
    return line


def console_table(fc: Forecast) -> Table:
    """The totals at ``until`` per plan, for the terminal."""
    t = Table(title=f"forecast {fc.start} to {fc.until} ({fc.n} replications)", title_justify="left")
    for col in ("plan", "won revenue P10", "P50", "P90", "won deals P50", "from pipeline P50", "new deals P50",
                "P(target)"):  # fmt: skip
        t.add_column(col, justify="left" if col == "plan" else "right")
    for plan, s in fc.summary()["plans"].items():
        r = s["won_revenue"]
        hit = "-" if s["p_target"] is None else f"{100 * s['p_target']:.0f}%"
        t.add_row(plan, f"{r['p10']:,.0f}", f"{r['p50']:,.0f}", f"{r['p90']:,.0f}", f"{s['won_deals']['p50']:,.0f}",
                  f"{s['won_revenue_pipeline']['p50']:,.0f}", f"{s['won_revenue_new']['p50']:,.0f}", hit)  # fmt: skip
    return t


def flag_lines(fc: Forecast) -> list[str]:
    """What happened to today's deals at time 0, per plan: flagged as old, unmatched, expired."""
    if fc.pipeline is None:
        return ["no initial pipeline: only deals created from the start date are forecast"]
    lines = []
    fate = "they restart their stage" if fc.old_policy == "restart" else "closed as stale at the start"
    for plan, s in fc.summary()["plans"].items():
        p = s["pipeline_deals"]
        lines.append(f"{plan}: of {len(fc.pipeline):,} open deals, {p['old']:.0f} older than 99% of the model's paths "
                     f"to their stage (flagged; {fate}), {_mean(p['unmatched'])} matched no path "
                     f"(mean per replication), {p['expired']:.0f} older than max_age_days (stale at the start)")
    return lines


def _mean(x: float) -> str:
    """A mean count per replication: whole when it is whole."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def render_html(fc: Forecast, chart: Figure) -> str:
    """The forecast as one self-contained HTML page (the fan chart inline, CSS inline)."""
    from leanflow.report.html import figure_png

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)  # fmt: skip
    summary = fc.summary()
    if summary["pipeline"] is not None:  # the file by its name: no local path in a page handed to a client
        summary["pipeline"]["source"] = Path(summary["pipeline"]["source"]).name
    rows = [{"plan": plan, "series": SERIES_LABELS[s], **{q: f"{v[s][q]:,.0f}" for q, _ in QUANTILES}}
            for plan, v in summary["plans"].items() for s in SERIES]  # fmt: skip
    return env.get_template("forecast.html.j2").render(
        title=fc.scenario, version=__version__, summary=summary, rows=rows, chart=figure_png(chart),
        headlines=[headline(fc, p) for p in fc.plans], flags=flag_lines(fc),
    )  # fmt: skip


def write_forecast(fc: Forecast, directory: Path) -> dict[str, Path]:
    """Write forecast.csv, forecast.json, forecast.png and forecast.html into ``directory``."""
    paths = {name: directory / name for name in FILES}
    table = fc.table()
    atomic_write(paths["forecast.csv"], lambda p: table.to_csv(p, index=False, float_format="%.10g"))
    text = json.dumps(fc.summary(), indent=2) + "\n"
    atomic_write(paths["forecast.json"], lambda p: p.write_text(text, encoding="utf-8"))
    fig = fan_chart(fc)
    atomic_write(paths["forecast.png"], lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
    html = render_html(fc, fig)
    atomic_write(paths["forecast.html"], lambda p: p.write_text(html, encoding="utf-8"))
    return paths
