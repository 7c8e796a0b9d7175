"""The charts' shared look (colours, constants, figure layout, percentile lines), so every chart matches."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from leanflow.metrics.catalog import money_text, money_unit
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
    """An amount of money for an axis: 950, 12k, 1.2M (with the currency's symbol, if it has one)."""
    text = f"{x:.3g}"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            text = f"{x / size:.3g}{suffix}"
            break
    return money_text(text) if len(money_unit()) == 1 else text


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
