"""Charts of what each plan achieves and why: replication spread, funnel, time split, roles, efficiency, velocity."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from leanflow.metrics.catalog import money_unit
from leanflow.metrics.explain import SPEED_VIEW, VELOCITY_FACTORS, velocity_decomposition
from leanflow.metrics.explain import efficiency_matrix as efficiency_table
from leanflow.metrics.explain import time_split as time_split_table
from leanflow.report.chart_style import (
    BUYER,
    CHART_WIDTH,
    DOWN,
    EXITS,
    MONEY,
    QUEUE,
    TOUCH,
    UP,
    _figure,
    _money,
    _plan_legend,
    _plan_title,
    _roles,
    _rows,
    _window,
    plan_colours,
)
from leanflow.report.results import Results

REPLICATION_METRICS = (
    ("won_revenue_per_week", "Won revenue per week", "{money} / week", MONEY),
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
        ax.set_ylabel(ylabel.format(money=money_unit()))
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
        ax.set_ylabel(f"sales velocity ({money_unit()} / week)")
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
    ax.set_ylabel(f"sales velocity ({money_unit()} / week)")
    ax.set_title("Sales velocity (mean over replications)")
    return fig
