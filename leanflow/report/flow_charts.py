"""Charts of deals flowing over time (cumulative flow, cycle times, throughput, aging WIP): where flow stalls."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from leanflow.metrics.catalog import money_unit
from leanflow.report.chart_style import (
    CHART_WIDTH,
    CLOSED,
    CLOSED_BAND,
    MONEY,
    P_LABEL,
    WON_BAND,
    _figure,
    _first_replication,
    _percentile_lines,
    _plan_title,
    _rows,
    _shade_warmup,
    _window,
    _won_cycles,
    cycle_percentiles,
    plan_colours,
)
from leanflow.report.results import Results


def cumulative_flow(res: Results) -> Figure:
    """Cumulative flow diagram of replication 0, one column per plan.

    Above, the deals in each stage from the last to the first (each band's thickness is that stage's WIP, the top
    edge the whole funnel's); below, the cumulative deals won and closed otherwise, which would otherwise dwarf
    the stages.
    """
    colours = plan_colours(res.plans)
    stages = res.stages
    _, hi = _window(res)
    grid = np.linspace(0.0, hi, int(hi) + 1)
    stage_colours = colormaps["cividis"](np.linspace(0.95, 0.1, len(stages)))
    n = len(res.plans)
    fig = Figure(figsize=(CHART_WIDTH, 6.2), layout="constrained")
    grid_spec = fig.add_gridspec(2, n, height_ratios=(3, 1))
    tops = [fig.add_subplot(grid_spec[0, k]) for k in range(n)]
    bottoms = [fig.add_subplot(grid_spec[1, k], sharex=tops[k]) for k in range(n)]
    for ax, low, plan in zip(tops, bottoms, res.plans, strict=True):
        bands = _flow_bands(_first_replication(_rows(res.deals, plan)), stages, grid)
        active = {k: v for k, v in bands.items() if k.startswith("in ")}
        ax.stackplot(grid, *active.values(), labels=list(active), colors=list(stage_colours[::-1]), lw=0)
        low.stackplot(grid, bands["won"], bands[CLOSED], labels=["won", CLOSED], colors=[WON_BAND, CLOSED_BAND],
                      lw=0)  # fmt: skip
        for a in (ax, low):
            _shade_warmup(a, res)
            a.set_xlim(0, hi)
        ax.set_ylabel("deals in a stage (WIP)")
        ax.set_xlabel("day")
        low.set_ylabel("closed (cumulative)")
        low.set_xlabel("day")
        low.set_title("closed deals", fontsize=9)
        _plan_title(ax, plan, colours[plan])
    for ax in tops[1:]:
        ax.sharey(tops[0])
    handles, labels = tops[0].get_legend_handles_labels()
    more, names = bottoms[0].get_legend_handles_labels()
    legend = dict(zip([*labels[::-1], *names[::-1]], [*handles[::-1], *more[::-1]], strict=True))  # one per label
    fig.legend(list(legend.values()), list(legend), loc="outside lower center", ncols=min(len(legend), 5),
               frameon=False)  # fmt: skip
    fig.suptitle("Cumulative flow (replication 0): the stages' WIP above, the closed deals below")
    return fig


def _flow_bands(deals: pd.DataFrame, stages: list[str], grid: np.ndarray) -> dict[str, np.ndarray]:
    """Deals won, otherwise closed, and in each stage (last stage first) at each day of ``grid``."""

    def reached(times: np.ndarray) -> np.ndarray:
        times = np.sort(times[~np.isnan(times)])
        return np.searchsorted(times, grid, side="right")

    closed = deals["closed"].to_numpy(dtype=float)
    outcome = deals["outcome"].astype(str).to_numpy()
    bands = {
        "won": reached(closed[outcome == "won"]),
        CLOSED: reached(closed[(outcome != "won") & (outcome != "open")]),
    }
    for i in reversed(range(len(stages))):
        enter = deals[f"enter_{stages[i]}"].to_numpy(dtype=float)
        last = i + 1 == len(stages)
        nxt = np.full_like(enter, np.nan) if last else deals[f"enter_{stages[i + 1]}"].to_numpy(dtype=float)
        leave = np.where(np.isnan(nxt), closed, nxt)[~np.isnan(enter)]
        bands[f"in {stages[i]}"] = reached(enter) - reached(leave)
    return bands


def cycle_time_scatter(res: Results) -> Figure:
    """Cycle time of each won deal against its close day (replication 0), one panel per plan.

    The horizontal lines are the 50/85/95th percentiles of the won cycle times, as the tables give them (the
    mean over replications of each replication's percentile).
    """
    colours = plan_colours(res.plans)
    hi = _window(res)[1]
    fig, axes = _figure(len(res.plans), sharey=True)
    for ax, plan in zip(axes, res.plans, strict=True):
        d = _first_replication(_rows(res.deals, plan))
        won = d[d["outcome"] == "won"]
        ax.scatter(
            won["closed"], won["closed"] - won["created"], s=9, color=colours[plan], alpha=0.55, lw=0, label="won deal"
        )
        _percentile_lines(ax, cycle_percentiles(res, plan), P_LABEL)
        _shade_warmup(ax, res)
        ax.set_xlim(0, hi)
        ax.set_xlabel("close day")
        ax.set_ylabel("cycle time (days, created to won)")
        _plan_title(ax, plan, colours[plan], f": {len(won)} won deals")
    fig.suptitle("Cycle time of won deals by close day (replication 0)")
    return fig


def cycle_time_distribution(res: Results) -> Figure:
    """Share of won deals (closed in the window, all replications) won within x days, one line per plan."""
    colours = plan_colours(res.plans)
    lo, hi = _window(res)
    fig = Figure(figsize=(CHART_WIDTH, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axhline(0.85, color="0.6", lw=0.8, ls=":")
    for plan in res.plans:
        cycles = np.sort(_won_cycles(_rows(res.deals, plan), lo, hi))
        if not cycles.size:
            continue
        share = np.arange(1, cycles.size + 1) / cycles.size
        ax.step(cycles, share, where="post", color=colours[plan], lw=1.8, label=f"{plan} ({cycles.size} deals)")
        p85 = cycle_percentiles(res, plan).get(85)
        if p85 is not None:
            ax.axvline(p85, color=colours[plan], ls="--", lw=1, label=f"p85 {plan}: {p85:.0f} d ({P_LABEL})")
            ax.plot([p85], [float(np.mean(cycles <= p85))], "o", color=colours[plan], ms=5)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("cycle time (days, created to won)")
    ax.set_ylabel("share of won deals (cumulative)")
    ax.set_title("Cycle-time distribution of won deals (window, all replications)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


ROLLING_WEEKS = 4  # the run chart's smoothing: weekly wins are a few whole deals, so single weeks zig-zag


def throughput_run_chart(res: Results) -> Figure:
    """Won deals and won revenue per week, a rolling 4-week mean: the median over replications, with a 5-95% band.

    Per plan, full weeks only; the first points average the weeks there are."""
    colours = plan_colours(res.plans)
    _, hi = _window(res)
    weekly = res.weekly[res.weekly["start_day"] + 7.0 <= hi + 1e-9]
    fig = Figure(figsize=(CHART_WIDTH, 7), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    panels = (
        ("won", "won deals / week", f"Won deals per week ({ROLLING_WEEKS}-week mean)"),
        ("won_revenue", f"won revenue / week ({money_unit()})", f"Won revenue per week ({ROLLING_WEEKS}-week mean)"),
    )
    for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
        for plan in res.plans:
            table = _rows(weekly, plan).pivot_table(
                index="start_day", columns="replication", values=column, observed=True
            )
            if table.empty:
                continue
            table = table.rolling(ROLLING_WEEKS, min_periods=1).mean()  # each replication's own rolling mean
            x = table.index.to_numpy(dtype=float) + 3.5
            low, mid, high = (table.quantile(q, axis=1).to_numpy() for q in (0.05, 0.5, 0.95))
            ax.fill_between(x, low, high, color=colours[plan], alpha=0.18, lw=0)
            ax.plot(x, mid, color=colours[plan], lw=1.8, label=plan)
        _shade_warmup(ax, res)
        ax.set_xlim(0, hi)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(f"day (middle of the last of {ROLLING_WEEKS} weeks)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].yaxis.set_major_formatter(MONEY)
    handles, labels = axes[0].get_legend_handles_labels()
    band = Patch(color="0.5", alpha=0.25, label="5-95% of replications")
    axes[0].legend([*handles, band], [*labels, band.get_label()], loc="upper left", fontsize=8, ncols=2)
    fig.suptitle(f"Throughput run chart: rolling {ROLLING_WEEKS}-week mean, median across replications")
    return fig


def aging_wip(res: Results) -> Figure:
    """Age at the horizon of every open deal by its stage (replication 0), one panel per plan.

    The horizontal lines are the 50/85/95th percentile cycle times of the plan's won deals, as the tables give
    them (mean over replications): open deals above them are already old.
    """
    colours = plan_colours(res.plans)
    hi = _window(res)[1]
    stages = res.stages
    jitter = np.random.default_rng(0)
    fig, axes = _figure(len(res.plans), sharey=True)
    for ax, plan in zip(axes, res.plans, strict=True):
        d = _rows(res.deals, plan)
        open_deals = _first_replication(d)
        open_deals = open_deals[open_deals["outcome"] == "open"]
        x = np.array([stages.index(s) if s in stages else np.nan for s in open_deals["stage"].astype(str)], dtype=float)
        ax.scatter(
            x + jitter.uniform(-0.3, 0.3, x.size),
            hi - open_deals["created"].to_numpy(dtype=float),
            s=10,
            color=colours[plan],
            alpha=0.6,
            lw=0,
            label="open deal",
        )
        _percentile_lines(ax, cycle_percentiles(res, plan), P_LABEL)
        ax.set_xticks(
            np.arange(len(stages)),
            stages,
            rotation=30 if len(stages) > 4 else 0,
            ha="right" if len(stages) > 4 else "center",
        )
        ax.set_xlim(-0.6, len(stages) - 0.4)
        ax.set_xlabel("stage (last entered)")
        ax.set_ylabel("age at horizon (days since created)")
        _plan_title(ax, plan, colours[plan], f": {len(open_deals)} open deals")
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.06)
    axes[0].set_ylim(bottom=0)  # shared by every panel
    fig.suptitle("Aging WIP at the horizon (replication 0)")
    return fig
