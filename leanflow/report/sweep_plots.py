"""The sweep's plots, drawn from its analysis tables: each output against every factor, and the index bars."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from leanflow.experiment.sweep_store import CONFIDENCE
from leanflow.files import atomic_write
from leanflow.report.chart_style import plan_colours
from leanflow.report.sweep_data import SweepData
from leanflow.report.sweep_tables import MAX_LEVELS

PANEL_COLUMNS = 3
# The bars of the sensitivity chart: (index, its confidence half-width, axis label).
BARS: dict[str, tuple[tuple[str, str | None, str], ...]] = {
    "morris": (("mu_star", "mu_star_conf", "μ*: mean |elementary effect| (change over the full range)"),),
    "sobol_indices": (("S1", "S1_conf", "S1: first-order index"), ("ST", "ST_conf", "ST: total index")),
}


def sensitivity_figure(data: SweepData, metric: str, indices: pd.DataFrame) -> Figure | None:
    """Horizontal bars of one output's indices: one bar per factor and plan (plan colours), with confidence.

    ``None`` when the output was not ranked for any plan. Factors are in the first plan's rank order.
    """
    sub = indices[indices["metric"] == metric]
    if sub.empty:
        return None
    plans = [p for p in data.plans if p in set(sub["plan"])]
    order = list(sub[sub["plan"] == plans[0]].sort_values("rank")["factor"])
    panels = BARS[data.kind]
    colours = plan_colours(data.plans)
    n_factors, n_plans = len(order), len(plans)
    fig = Figure(figsize=(4.5 * len(panels) + 3.5, 1.4 + 0.35 * n_factors * max(n_plans, 2)), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    height = 0.8 / n_plans
    positions = np.arange(n_factors, dtype=float)
    for ax, (column, conf, label) in zip(axes, panels, strict=True):
        for j, plan in enumerate(plans):
            rows = sub[sub["plan"] == plan].set_index("factor").reindex(order)
            err = rows[conf].to_numpy(float) if conf else None
            ax.barh(positions + (j - (n_plans - 1) / 2) * height, rows[column].to_numpy(float), height=height,
                    xerr=err, color=colours[plan], label=plan, capsize=3)  # fmt: skip
        ax.set_xlabel(label)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, order)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("factor")
    if n_plans > 1:
        axes[-1].legend(title="plan")
    method = "Morris screening" if data.kind == "morris" else "Sobol' indices"
    fig.suptitle(f"{metric}: {method} (bars: {CONFIDENCE:.0%} confidence)")
    return fig


def main_effects_figure(data: SweepData, metric: str, effects: pd.DataFrame) -> Figure:
    """One output against each factor (one panel per factor, in design order), one line per plan with its CI band."""
    factors = data.factors
    cols = min(len(factors), PANEL_COLUMNS)
    n_rows = math.ceil(len(factors) / cols)
    fig = Figure(figsize=(max(4.6 * cols, 7.0), 3.6 * n_rows + 1.2), layout="constrained")
    grid = fig.subplots(n_rows, cols, squeeze=False)
    axes: list[Axes] = list(grid.flat)
    for ax in axes[len(factors) :]:
        fig.delaxes(ax)
    colours = plan_colours(data.plans)
    for ax, factor in zip(axes, factors, strict=False):
        sub = effects[effects["factor"] == factor]
        scale = str(sub["scale"].iloc[0]) if len(sub) else "level"
        for plan in data.plans:
            rows = sub[sub["plan"] == plan].sort_values("x")
            x, y = rows["x"].to_numpy(float), rows["mean"].to_numpy(float)
            h = rows["ci_half_width"].to_numpy(float)
            colour = colours[plan]
            if scale == "category":
                ax.errorbar(x, y, yerr=np.nan_to_num(h), color=colour, marker="o", capsize=4, label=plan)
                ax.set_xticks(x, list(rows["label"]))
            else:
                ax.plot(x, y, color=colour, marker="o", label=plan)
                ax.fill_between(x, y - h, y + h, color=colour, alpha=0.2, linewidth=0)
                if scale == "level" and len(x) <= MAX_LEVELS:
                    ax.set_xticks(x, list(rows["label"]))
        ax.set_xlabel(factor)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if scale == "binned":
            ax.set_title(f"{len(sub) // max(len(data.plans), 1)} quantile bins (points at bin means)", fontsize=9)
    if len(data.plans) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, title="plan", loc="outside lower center", ncols=len(data.plans))
    fig.suptitle(f"{metric}: mean over replications and other factors, {CONFIDENCE:.0%} CI band")
    return fig


def _file_stem(metric: str) -> str:
    """A metric's name made safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric).strip("._") or "metric"


def _save(fig: Figure, path: Path) -> Path:
    """Write a figure as PNG, atomically."""
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    return path
