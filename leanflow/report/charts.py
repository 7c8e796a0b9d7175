"""Charts of a results directory: one function per chart, each ``(Results) -> Figure``.

Only matplotlib's object API is used (``matplotlib.figure.Figure``, never pyplot), so
charts hold no global state and can be drawn in worker processes or threads. Every
chart shows every plan of the run in the same colour (``plan_colours``), and marks the
warm-up, which no metric counts, as a shaded span on time axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from leanflow.metrics.explain import SPEED_VIEW, VELOCITY_FACTORS, velocity_decomposition
from leanflow.metrics.explain import efficiency_matrix as efficiency_table
from leanflow.metrics.explain import time_split as time_split_table
from leanflow.report.results import Results

# Okabe & Ito's colour-blind-safe palette, the hard-to-see yellow last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
# Paul Tol's muted colours for things that are not plans (time components, outcomes, steps).
TOUCH, QUEUE, BUYER = "#332288", "#CC6677", "#DDCC77"
WON_BAND, CLOSED_BAND = "#117733", "#BBBBBB"
UP, DOWN = "#44AA99", "#882255"
PERCENTILES = (50, 85, 95)
CLOSED = "lost / stale / disqualified"
P_LABEL = "mean over replications"  # how every p50/p85/p95 line is computed: as the tables
PERCENTILE_STYLES = ("-", "--", ":")
EXITS = (("disqualified", "", 1.0), ("lost", "///", 0.55), ("stale", "...", 0.3))
WARMUP = "warm-up (not counted)"
PANEL_COLUMNS = 3
CHART_WIDTH = 10.0  # inches: every chart is as wide, so the report shows them at one size


def plan_colours(plans: Sequence[str]) -> dict[str, str]:
    """A fixed colour per plan, in run order (the baseline gets the first colour)."""
    return {plan: PALETTE[i % len(PALETTE)] for i, plan in enumerate(plans)}


# --- helpers ---------------------------------------------------------------------------------------------------------


def _money(x: float, _pos: object = None) -> str:
    """An amount of money for an axis: 950, 12k, 1.2M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


MONEY = FuncFormatter(_money)


def _window(res: Results) -> tuple[float, float]:
    """The measured window: (warm-up end, horizon) in days."""
    return float(res.scenario.warmup_days), float(res.scenario.horizon_days)


def _rows(df: pd.DataFrame, plan: str) -> pd.DataFrame:
    """The rows of one plan."""
    return df[df["plan"] == plan]


def _first_replication(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of replication 0 (the lowest replication present)."""
    return df[df["replication"] == df["replication"].min()] if len(df) else df


def _won_cycles(deals: pd.DataFrame, lo: float, hi: float) -> np.ndarray:
    """Cycle times (created to close, days) of won deals closed in the window."""
    closed = deals["closed"]
    won = (deals["outcome"] == "won") & (closed >= lo) & (closed <= hi)
    return (closed - deals["created"])[won].to_numpy(dtype=float)


def _figure(n_panels: int, height: float = 3.8, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``n_panels`` axes in rows of at most ``PANEL_COLUMNS``."""
    cols = min(n_panels, PANEL_COLUMNS)
    rows = math.ceil(n_panels / cols)
    fig = Figure(figsize=(CHART_WIDTH, height * rows + 0.6), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    axes = list(grid.flat)
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    return fig, axes[:n_panels]


def _plan_title(ax: Axes, plan: str, colour: str, detail: str = "") -> None:
    """A panel's title: the plan's name in the plan's colour."""
    ax.set_title(f"{plan}{detail}", color=colour, fontweight="bold")


def _shade_warmup(ax: Axes, res: Results) -> None:
    """Grey out the warm-up on a time axis."""
    lo, _ = _window(res)
    if lo > 0:
        ax.axvspan(0, lo, color="0.9", zorder=0, label=WARMUP)


def cycle_percentiles(res: Results, plan: str) -> dict[int, float]:
    """The plan's cycle-time p50/p85/p95 of won deals as every table reports them: the mean over replications
    of each replication's percentile (``cycle_p50`` ... in summary.csv); the nan ones left out."""
    rows = res.summary[res.summary["plan"].astype(str) == plan]
    out = {}
    for q in PERCENTILES:
        col = f"cycle_p{q}"
        v = float(rows[col].mean()) if col in rows and rows[col].notna().any() else float("nan")
        if v == v:
            out[q] = v
    return out


def _percentile_lines(ax: Axes, values: dict[int, float], what: str) -> None:
    """Horizontal lines at the given 50/85/95th percentiles, labelled at the right edge."""
    for q, style in zip(PERCENTILES, PERCENTILE_STYLES, strict=True):
        if q not in values:
            continue
        v = values[q]
        ax.axhline(v, color="0.2", ls=style, lw=1.1, label=f"p{q} {what}")
        ax.text(
            0.99,
            v,
            f"p{q} {v:.0f} d",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.2",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
        )


def _plan_legend(fig: Figure, plans: Iterable[str], colours: dict[str, str], extra: Sequence[Patch] = ()) -> None:
    """A figure legend below the panels: one colour key per plan, then ``extra`` keys."""
    handles = [Patch(color=colours[p], label=p) for p in plans]
    fig.legend(handles=[*handles, *extra], loc="outside lower center", ncols=2, frameon=False)


def _roles(res: Results) -> list[str]:
    """Every role of the run, in column order (plans may have different roles)."""
    prefix = "queue_days_"  # one per role; utilisation_ also has the deal-work and team columns
    return [c[len(prefix) :] for c in res.summary.columns if c.startswith(prefix)]


# --- charts ----------------------------------------------------------------------------------------------------------


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
    """Won deals and won revenue per week as a rolling 4-week mean: median over replications with a 5-95% band,
    per plan (full weeks only; the first points average the weeks there are)."""
    colours = plan_colours(res.plans)
    _, hi = _window(res)
    weekly = res.weekly[res.weekly["start_day"] + 7.0 <= hi + 1e-9]
    fig = Figure(figsize=(CHART_WIDTH, 7), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    panels = (
        ("won", "won deals / week", f"Won deals per week ({ROLLING_WEEKS}-week mean)"),
        ("won_revenue", "won revenue / week (currency)", f"Won revenue per week ({ROLLING_WEEKS}-week mean)"),
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


REPLICATION_METRICS = (
    ("won_revenue_per_week", "Won revenue per week", "currency / week", MONEY),
    ("win_rate", "Win rate: won / (won + lost)", "win rate (%)", PercentFormatter(1.0)),
    ("win_rate_value", "Value win rate: won / (won + lost) value", "value win rate (%)", PercentFormatter(1.0)),
    ("cycle_p85", "Cycle time p85 (won deals)", "days", None),
)


def replication_distributions(res: Results) -> Figure:
    """Box plots across replications of four headline metrics, one box (and its replications as dots) per plan."""
    colours = plan_colours(res.plans)
    n = len(res.plans)
    fig = Figure(figsize=(CHART_WIDTH, 7.5), layout="constrained")
    axes = list(fig.subplots(2, 2).flat)
    jitter = np.random.default_rng(0)
    positions = np.arange(n)
    for ax, (metric, title, ylabel, formatter) in zip(axes, REPLICATION_METRICS, strict=True):
        data = [_rows(res.summary, p)[metric].dropna().to_numpy(dtype=float) for p in res.plans]
        boxes = ax.boxplot(
            [d if d.size else [np.nan] for d in data],
            positions=positions,
            widths=0.5,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "black"},
        )
        for box, plan, values, x in zip(boxes["boxes"], res.plans, data, positions, strict=True):
            box.set(facecolor=colours[plan], alpha=0.35, edgecolor=colours[plan])
            ax.scatter(x + jitter.uniform(-0.12, 0.12, values.size), values, s=14, color=colours[plan], zorder=3, lw=0)
        ax.set_xticks(positions, res.plans, rotation=10 if n > 2 else 0)
        if formatter is not None:
            ax.yaxis.set_major_formatter(formatter)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("plan")
        ax.grid(axis="y", alpha=0.3)
    reps = int(res.summary.groupby("plan", observed=True).size().max())
    fig.suptitle(f"Spread across replications ({reps} per plan; dots = replications)")
    return fig


def funnel(res: Results) -> Figure:
    """Deals entering each stage, and leaving the funnel there by outcome, per plan.

    Counts are over the window, as a mean per replication; a deal leaves at the last
    stage it entered.
    """
    colours = plan_colours(res.plans)
    lo, hi = _window(res)
    stages = res.stages
    n = len(res.plans)
    width = 0.8 / n
    x = np.arange(len(stages))
    fig = Figure(figsize=(CHART_WIDTH, 8), layout="constrained")
    entered_ax, exits_ax = fig.subplots(2, 1, sharex=True)
    for i, plan in enumerate(res.plans):
        d = _rows(res.deals, plan)
        reps = max(d["replication"].nunique(), 1)
        pos = x - 0.4 + width * (i + 0.5)
        entered = np.array([((d[f"enter_{s}"] >= lo) & (d[f"enter_{s}"] < hi)).sum() / reps for s in stages])
        bars = entered_ax.bar(pos, entered, width, color=colours[plan], label=plan)
        entered_ax.bar_label(bars, [f"{v:,.0f}" for v in entered], fontsize=7, padding=1)
        closed = d[(d["closed"] >= lo) & (d["closed"] <= hi)]
        bottom = np.zeros(len(stages))
        for outcome, hatch, alpha in EXITS:
            mine = closed[closed["outcome"] == outcome]["stage"].astype(str).value_counts()
            counts = np.array([mine.get(s, 0) / reps for s in stages], dtype=float)
            exits_ax.bar(
                pos,
                counts,
                width,
                bottom=bottom,
                color=colours[plan],
                alpha=alpha,
                hatch=hatch,
                edgecolor="white",
                lw=0.5,
                label=f"{plan}: {outcome}",
            )
            bottom += counts
    entered_ax.set_title("Deals entering each stage")
    entered_ax.set_ylabel("deals / replication")
    entered_ax.set_xlabel("stage")
    entered_ax.legend(fontsize=8)
    exits_ax.set_title("Deals leaving the funnel at each stage (last stage entered)")
    exits_ax.set_ylabel("deals / replication")
    exits_ax.set_xlabel("stage")
    exits_ax.set_xticks(x, stages)
    exits_ax.tick_params(labelbottom=True)
    entered_ax.tick_params(labelbottom=True)
    outcome_keys = [
        Patch(facecolor="0.35", alpha=alpha, hatch=hatch, edgecolor="white", label=outcome)
        for outcome, hatch, alpha in EXITS
    ]
    exits_ax.legend(handles=outcome_keys, title="outcome (plan colour)", fontsize=8)
    for ax in (entered_ax, exits_ax):
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.08)
        ax.set_ylim(bottom=0)
    fig.suptitle("Funnel: window, mean per replication")
    return fig


def time_breakdown(res: Results) -> Figure:
    """Where the time goes: mean touch, queue and buyer (+ blocked) days per stage, one panel per plan."""
    colours = plan_colours(res.plans)
    split = res.time_split if res.time_split is not None else time_split_table(res.deals, res.scenario, res.plans)
    stages = res.stages
    x = np.arange(len(stages))
    fig, axes = _figure(len(res.plans), sharey=True)
    parts = (
        ("touch_days", "seller touch", TOUCH),
        ("queue_days", "queue (waiting for a seller)", QUEUE),
        ("buyer_days", "buyer + blocked", BUYER),
    )
    for ax, plan in zip(axes, res.plans, strict=True):
        rows = _rows(split, plan).set_index("stage").reindex(stages)
        bottom = np.zeros(len(stages))
        for column, label, colour in parts:
            values = rows[column].fillna(0.0).to_numpy(dtype=float)
            ax.bar(x, values, 0.7, bottom=bottom, color=colour, label=label)
            bottom += values
        for xi, total in zip(x, bottom, strict=True):
            ax.text(xi, total, f"{total:.0f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, stages, rotation=30 if len(stages) > 4 else 0, ha="right" if len(stages) > 4 else "center")
        ax.set_xlabel("stage")
        ax.set_ylabel("mean days per deal leaving the stage")
        _plan_title(ax, plan, colours[plan])
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.08)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle("Where the time goes (window, all replications)")
    return fig


def roles(res: Results) -> Figure:
    """Utilisation and queue wait per role, grouped by role, one bar per plan that has the role.

    Bars are means over replications, whiskers the 5-95% range; the hatched part of a
    utilisation bar is time spent prospecting.
    """
    colours = plan_colours(res.plans)
    all_roles = _roles(res)
    n = len(res.plans)
    width = 0.8 / n
    fig = Figure(figsize=(CHART_WIDTH, 7.5), layout="constrained")
    util_ax, queue_ax = fig.subplots(2, 1)
    for i, plan in enumerate(res.plans):
        s = _rows(res.summary, plan)
        mine = [r for r in all_roles if s[f"utilisation_{r}"].notna().any()]
        pos = np.array([all_roles.index(r) for r in mine], dtype=float) - 0.4 + width * (i + 0.5)
        for ax, prefix in ((util_ax, "utilisation_"), (queue_ax, "queue_days_")):
            values = s[[f"{prefix}{r}" for r in mine]]
            mean = values.mean().to_numpy(dtype=float)
            spread = np.abs(values.quantile([0.05, 0.95]).to_numpy(dtype=float) - mean)
            ax.bar(
                pos,
                mean,
                width,
                yerr=spread,
                color=colours[plan],
                label=plan,
                capsize=3,
                error_kw={"elinewidth": 1, "ecolor": "0.3"},
            )
        prospecting = s[[f"prospecting_share_{r}" for r in mine]].mean().to_numpy(dtype=float)
        util_ax.bar(pos, prospecting, width, facecolor="none", hatch="///", edgecolor="white", lw=0)
    util_ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    util_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    util_ax.set_ylim(0, 1.12)
    util_ax.set_title("Utilisation per role (hatched: prospecting)")
    util_ax.set_ylabel("utilisation (% of selling time)")
    queue_ax.set_title("Queue wait per role (stage entry to a seller starting)")
    queue_ax.set_ylabel("mean queue wait (days)")
    for ax in (util_ax, queue_ax):
        ax.set_xticks(np.arange(len(all_roles)), all_roles)
        ax.set_xlabel("role")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
    handles, _ = util_ax.get_legend_handles_labels()
    hatch = Patch(facecolor="0.55", hatch="///", edgecolor="white", label="prospecting")
    util_ax.legend(handles=[*handles, hatch], fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle("Roles: means, whiskers 5-95% of replications")
    return fig


def efficiency_matrix(res: Results) -> Figure:
    """Each plan as a point: resource efficiency (team utilisation) against flow efficiency (touch / lead time)."""
    colours = plan_colours(res.plans)
    table = res.efficiency if res.efficiency is not None else efficiency_table(res.summary, res.plans)
    points = table.assign(plan=table["plan"].astype(str)).set_index("plan")
    fig = Figure(figsize=(CHART_WIDTH, 5.5), layout="constrained")
    ax = fig.add_subplot()
    top = 0.0
    for plan in res.plans:
        s = _rows(res.summary, plan)
        x, y = float(points.loc[plan, "resource_efficiency"]), float(points.loc[plan, "flow_efficiency"])
        xs, ys = s["utilisation"].quantile([0.05, 0.95]), s["flow_efficiency"].quantile([0.05, 0.95])
        ax.errorbar(
            [x],
            [y],
            xerr=[[x - xs.iloc[0]], [xs.iloc[1] - x]],
            yerr=[[y - ys.iloc[0]], [ys.iloc[1] - y]],
            fmt="none",
            ecolor=colours[plan],
            elinewidth=1,
            capsize=3,
        )
        ax.scatter([x], [y], s=90, color=colours[plan], edgecolor="black", zorder=3, clip_on=False, label=plan)
        right = x > 0.7
        ax.annotate(
            plan,
            (x, y),
            xytext=(-9 if right else 9, 7),
            textcoords="offset points",
            fontsize=9,
            ha="right" if right else "left",
            color=colours[plan],
            fontweight="bold",
        )
        top = max(top, float(np.nanmax([y, ys.iloc[1]])))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, top * 1.3 if top > 0 else 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("resource efficiency: team utilisation (%)")
    ax.set_ylabel("flow efficiency: touch time / lead time (%)")
    ax.set_title("Efficiency matrix (means; whiskers 5-95% of replications)")
    ax.grid(alpha=0.3)
    return fig


def velocity_waterfall(res: Results) -> Figure:
    """From the baseline's sales velocity to each plan's through its three factors, one panel per plan.

    velocity = opportunities closed per week x mean won value x win rate; the log
    of the velocity ratio is the sum of the factors' log ratios, and each log
    contribution becomes a money step by multiplying it with the logarithmic mean of
    the two velocities, so the steps add up exactly and do not depend on their order.
    The opportunity cycle is printed beside them as the speed view, not a step.
    """
    colours = plan_colours(res.plans)
    if len(res.plans) < 2:
        return _single_velocity(res, colours)
    velocity = res.velocity if res.velocity is not None else velocity_decomposition(res.summary, res.plans)
    velocity = velocity.assign(plan=velocity["plan"].astype(str))
    baseline = res.plans[0]
    factors = [f for f, _ in VELOCITY_FACTORS]
    n = len(factors)
    fig, axes = _figure(len(res.plans) - 1, height=4.6, sharey=True)
    for ax, plan in zip(axes, res.plans[1:], strict=True):
        mine = velocity[velocity["plan"] == plan].set_index("factor")
        rows = mine.reindex(factors)
        base_v = float(np.prod(rows["baseline"].to_numpy(dtype=float)))
        plan_v = float(np.prod(rows["value"].to_numpy(dtype=float)))
        steps = _log_mean(base_v, plan_v) * rows["log_contribution"].to_numpy(dtype=float)
        starts = base_v + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
        ax.bar([0], [base_v], 0.6, color=colours[baseline], label=f"baseline: {baseline}")
        ax.bar(np.arange(1, n + 1), steps, 0.6, bottom=starts, color=[UP if s >= 0 else DOWN for s in steps])
        ax.bar([n + 1], [plan_v], 0.6, color=colours[plan], label=plan)
        levels = [base_v, *(starts + steps)]
        for xi, level in enumerate(levels):
            ax.plot([xi + 0.3, xi + 0.7], [level, level], color="0.4", lw=0.8, ls=":")
        for xi, (step, top) in enumerate(zip(steps, np.maximum(starts, starts + steps), strict=True), start=1):
            ax.text(xi, top, f"{'+' if step >= 0 else '−'}{_money(abs(step))}", ha="center", va="bottom", fontsize=8)
        for xi, total in ((0, base_v), (n + 1, plan_v)):
            ax.text(xi, total, _money(total), ha="center", va="bottom", fontsize=8, fontweight="bold")
        ratios = rows["ratio"].to_numpy(dtype=float)
        names = [label.replace(" ", "\n", 1) for _, label in VELOCITY_FACTORS]
        labels = ["baseline", *(f"{name}\n×{r:.2f}" for name, r in zip(names, ratios, strict=True)), "plan"]
        ax.set_xticks(np.arange(n + 2), labels, fontsize=8)
        if SPEED_VIEW[0] in mine.index:
            cycle = mine.loc[SPEED_VIEW[0]]
            ax.text(0.02, 0.97, f"speed view (not a factor): {SPEED_VIEW[1]} {cycle.baseline:.0f} → {cycle.value:.0f}",
                    transform=ax.transAxes, ha="left", va="top", fontsize=8, color="0.3")  # fmt: skip
        ax.yaxis.set_major_formatter(MONEY)
        ax.set_ylim(0, max(base_v, plan_v, *levels) * 1.2 if math.isfinite(max(base_v, plan_v)) else 1)
        ax.set_xlabel("factor (ratio plan / baseline)")
        ax.set_ylabel("sales velocity (currency / week)")
        ax.set_title(f"{baseline} → {plan}: ×{plan_v / base_v:.2f}" if base_v else plan, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    steps = [Patch(color=UP, label="factor raises velocity"), Patch(color=DOWN, label="factor lowers velocity")]
    _plan_legend(fig, res.plans, colours, steps)
    fig.suptitle("Sales velocity waterfall: opportunities closed / week × mean won value × win rate")
    return fig


def _log_mean(a: float, b: float) -> float:
    """The logarithmic mean of two positive numbers ((b - a) / ln(b / a), a when equal)."""
    if not (a > 0 and b > 0):
        return float("nan")
    return a if math.isclose(a, b) else (b - a) / math.log(b / a)


def _single_velocity(res: Results, colours: dict[str, str]) -> Figure:
    """One bar of the only plan's sales velocity: there is nothing to decompose against."""
    plan = res.plans[0]
    value = float(_rows(res.summary, plan)["velocity_per_week"].mean())
    fig = Figure(figsize=(CHART_WIDTH, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.bar([0], [value], 0.5, color=colours[plan], label=plan)
    ax.text(0, value, _money(value), ha="center", va="bottom", fontsize=9, fontweight="bold")
    ax.text(0.5, 0.93, "no baseline to compare", transform=ax.transAxes, ha="center", fontsize=10, color="0.3")
    ax.set_xticks([0], [plan])
    ax.set_xlim(-1, 1)
    ax.set_ylim(0, value * 1.25 if value > 0 else 1)
    ax.yaxis.set_major_formatter(MONEY)
    ax.set_xlabel("plan")
    ax.set_ylabel("sales velocity (currency / week)")
    ax.set_title("Sales velocity (mean over replications)")
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


ALL_CHARTS: dict[str, tuple[Callable[[Results], Figure], str]] = {
    "cumulative_flow": (
        cumulative_flow,
        "A stage band that widens is WIP piling up there; below, the won band's slope is the wins per day.",
    ),
    "cycle_time_scatter": (
        cycle_time_scatter,
        "Wins above the p85 line were slow; points drifting upwards mean cycle times grow over the run.",
    ),
    "cycle_time_distribution": (
        cycle_time_distribution,
        "A curve further left wins faster; compare the p85 markers.",
    ),
    "throughput_run_chart": (
        throughput_run_chart,
        "After the warm-up: gaps between plans wider than the bands, and trends within a plan.",
    ),
    "replication_distributions": (
        replication_distributions,
        "Boxes that overlap mean the replications do not separate the plans on that metric.",
    ),
    "funnel": (
        funnel,
        "Where deals drop out: tall exit bars show the stage where a plan loses or disqualifies deals.",
    ),
    "time_breakdown": (
        time_breakdown,
        "Tall queue segments mark bottlenecks; seller touch time is usually a sliver of the total.",
    ),
    "roles": (
        roles,
        "A role near 100% utilisation with a long queue wait is the bottleneck.",
    ),
    "efficiency_matrix": (
        efficiency_matrix,
        "Up means deals flow, right means people are busy: lean aims up, not only right.",
    ),
    "velocity_waterfall": (
        velocity_waterfall,
        "Which of the three velocity factors explains a plan's difference from the baseline; cycle: the speed view.",
    ),
    "aging_wip": (
        aging_wip,
        "Open deals above the p85 line are already older than most wins took: likely to go stale.",
    ),
}


def save_all(res: Results, directory: str | Path, fmt: str = "png") -> list[Path]:
    """Draw every chart and write it as ``<name>.<fmt>`` into ``directory``; the paths written, in order."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (chart, _caption) in ALL_CHARTS.items():
        path = out / f"{name}.{fmt}"
        chart(res).savefig(path, dpi=120)
        paths.append(path)
    return paths
