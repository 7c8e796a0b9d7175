"""Rich tables for the terminal: one per plan, each metric's mean and 90% intervals."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leanflow.metrics.catalog import format_signed, format_value, metric_info, metric_order
from leanflow.metrics.stats import describe
from leanflow.metrics.verdict import Verdict, ci_level
from leanflow.metrics.why import bottleneck_note


def plan_tables(summary: pd.DataFrame, confidence: float = 0.90) -> list[Table]:
    """One table per plan: mean, CI of the mean and the 5-95% range across replications."""
    metrics = metric_order(list(summary.columns))
    desc = describe(summary, metrics, confidence)
    tables = []
    pct = f"{confidence:.0%}"
    for plan, rows in desc.groupby("plan", sort=False):
        n = int(rows["n"].max())
        t = Table(title=f"plan: {plan}  ({n} replications)", title_justify="left")
        for col, justify in (("metric", "left"), ("mean", "right"), (f"{pct} CI of mean", "right"),
                             ("5-95% of replications", "right")):  # fmt: skip
            t.add_column(col, justify=justify)
        group = None
        for r in rows.itertuples():
            if r.n == 0:
                continue  # a role or stage this plan does not have
            info = metric_info(r.metric)
            if info.group != group and group is not None:
                t.add_section()
            group = info.group
            f = lambda x, k=info.kind: format_value(k, x)  # noqa: E731
            t.add_row(info.label, f(r.mean), f"{f(r.ci_low)} .. {f(r.ci_high)}", f"{f(r.p5)} .. {f(r.p95)}")
        tables.append(t)
    return tables


def print_plan_tables(summary: pd.DataFrame, console: Console | None = None) -> None:
    """Print every plan's table."""
    console = console or Console()
    for t in plan_tables(summary):
        console.print(t)


def verdict_tables(v: Verdict) -> list[Table]:
    """The verdict per plan, then velocity factors, time per stage, efficiency matrix and costs."""
    tables = []
    for base, plan in v.compared:
        rows = v.comparison[(v.comparison["plan"] == plan) & (v.comparison["baseline"] == base)]
        level = ci_level(v.comparison)
        t = Table(title=f"verdict: {plan} against {base}", title_justify="left")
        for col in ("metric", base, plan, "difference", f"{level} CI", "relative", ""):
            t.add_column(col, justify="left" if col == "metric" else "right")
        for r in rows.itertuples():
            info = metric_info(r.metric)
            f = lambda x, k=info.kind: format_value(k, x)  # noqa: E731
            d = lambda x, k=info.kind: format_signed(k, x)  # noqa: E731
            rel = "-" if r.rel != r.rel else f"{100 * r.rel:+.0f}%"
            label = info.label + bottleneck_note(r.metric, (base, plan), v.bottlenecks)
            t.add_row(label, f(r.base_mean), f(r.plan_mean), d(r.diff), f"{d(r.diff_low)} .. {d(r.diff_high)}",
                      rel, "*" if r.significant else "", style="bold" if label != info.label else None)  # fmt: skip
        tables.append(t)
    if len(v.velocity):
        tables.append(velocity_table(v))
    t = Table(title="where the time goes: mean days per stage (deals leaving it)", title_justify="left")
    for col in ("plan", "stage", "touch", "queue", "buyer + blocked"):
        t.add_column(col, justify="left" if col in ("plan", "stage") else "right")
    for r in v.time_split.itertuples():
        t.add_row(str(r.plan), r.stage, *(_fixed(x, ".1f") for x in (r.touch_days, r.queue_days, r.buyer_days)))
    tables.append(t)
    t = Table(title="efficiency matrix and costs (equal-cost view)", title_justify="left")
    for col in ("plan", "resource efficiency", "flow efficiency", "headcount", "present (time-avg)", "cost / year",
                "revenue / cost"):  # fmt: skip
        t.add_column(col, justify="left" if col == "plan" else "right")
    for e, c in zip(v.efficiency.itertuples(), v.costs.itertuples(), strict=True):
        heads = f"{c.headcount}" + ("" if c.like_for_like else " (not like-for-like)")
        t.add_row(str(e.plan), _fixed(100 * e.resource_efficiency, ".0f", "%"), _fixed(100 * e.flow_efficiency, ".1f",
                  "%"), heads, _fixed(c.people_present, ".1f"), format_value("money", c.cost_per_year),
                  format_value("number", c.revenue_per_cost))  # fmt: skip
    tables.append(t)
    return tables


def _fixed(x: float, spec: str, suffix: str = "") -> str:
    """A number in a table cell, ``-`` when missing."""
    return "-" if x != x else f"{x:{spec}}{suffix}"


def velocity_table(v: Verdict) -> Table:
    """The velocity factors of each plan against the baseline, with the cycle beside them as the speed view."""
    t = Table(title="why: sales velocity = opportunities closed / week x mean won value x win rate",
              title_justify="left")  # fmt: skip
    for col in ("plan", "factor", "baseline" if v.pairs else v.baseline, "plan value", "ratio", "share of the change"):
        t.add_column(col, justify="left" if col in ("plan", "factor") else "right")
    for r in v.velocity.itertuples():
        share = "-" if r.share != r.share else f"{100 * r.share:.0f}%"
        label = r.label if r.view == "factor" else f"speed view (not a factor): {r.label}"
        kind = metric_info(r.factor).kind
        t.add_row(r.plan, label, format_value(kind, r.baseline), format_value(kind, r.value),
                  format_value("number", r.ratio), share)  # fmt: skip
    return t


def print_verdict(v: Verdict, console: Console | None = None) -> None:
    """The plain-language lines, then the verdict tables and notes."""
    console = console or Console()
    for line, why in zip(v.headlines, v.why, strict=True):
        console.print(f"[bold]{escape(line)}[/bold]", soft_wrap=True)  # one line each, whatever the width
        console.print(f"  {escape(why)}", soft_wrap=True)
    for t in verdict_tables(v):
        console.print(t)
    for note in v.notes:
        console.print(f"note: {escape(note)}")
    console.print("* the interval excludes zero: the plans are distinguishable on this metric; differences of rates "
                  "are in percentage points (pts), relative = ratio of the means - 1")
