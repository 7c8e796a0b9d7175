"""Rich tables for the terminal: one per plan, each metric's mean and 90% intervals."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from leanflow.metrics.catalog import format_value, metric_info, metric_order
from leanflow.metrics.stats import describe


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
