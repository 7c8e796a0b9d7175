"""The fairness map's figure: the paired revenue difference against its top factors, with a linear fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from leanflow.report.experiment_figures.common import DIVERGING, FLOW_WIN, RES_WIN

FAIR_FACTORS = {  # dotted path -> short name (fairness.yaml)
    "market.buyer.first_touch_half_life_hours": "speed-to-lead half-life (h)",
    "plans.flow_optimised.roles.sdr.proficiency.effort": "flow SDR effort x",
    "plans.flow_optimised.roles.ae.proficiency.effort": "flow AE effort x",
    "plans.flow_optimised.roles.se.proficiency.effort": "flow SE effort x",
    "plans.flow_optimised.roles.sdr.proficiency.odds": "flow SDR odds x",
    "plans.flow_optimised.roles.ae.proficiency.odds": "flow AE odds x",
    "plans.flow_optimised.roles.se.proficiency.odds": "flow SE odds x",
    "market.sources.outbound.quality.fit_shift": "outbound fit shift",
    "market.buyer.recycle.probability": "recycle probability",
}
LEARNING = "learning progress ratio (all roles)"
HALF_LIFE = "market.buyer.first_touch_half_life_hours"
REV = "won_revenue_per_week"


def linear_fit(all_points: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A least-squares plane of the revenue difference on every factor (ln of the half-life; learning as one):
    the design matrix's columns, the coefficients (intercept first) and the differences fitted."""
    xmat = all_points[list(FAIR_FACTORS)].astype(float).copy()
    xmat[HALF_LIFE] = np.log(xmat[HALF_LIFE])
    xmat["learning"] = all_points["learning"].to_numpy(float)
    yv = all_points[f"{REV}_diff"].to_numpy()
    design = np.column_stack([np.ones(len(xmat)), xmat.to_numpy()])
    return xmat, np.linalg.lstsq(design, yv, rcond=None)[0], yv


def _marks(levels: list[float]) -> dict[float, tuple[str, str]]:
    """Marker and legend label per learning level: circles for the first (off), triangles for the second."""
    names = ["learning off" if lv == 1.0 else f"learning {lv:g}" for lv in levels]
    return {lv: (mk, name) for lv, mk, name in zip(levels, ("o", "^"), names, strict=False)}


def fairness_figure(all_points: pd.DataFrame, both: list[pd.DataFrame], ranks: pd.DataFrame, levels: list[float],
                    n_rep: int) -> tuple[Figure, np.ndarray, list[str]]:  # fmt: skip
    """The four panels (raw difference on the top factor, partial residuals on the next two, the top two against
    each other); returns the figure, the linear fit's coefficients and their names."""
    top = [f for f in ranks.factor if f != LEARNING][:3]
    inverse = {v: k for k, v in FAIR_FACTORS.items()}
    fig = Figure(figsize=(14, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    marks = _marks(levels)
    cols = list(FAIR_FACTORS)
    xmat, beta, yv = linear_fit(all_points)
    centred = xmat - xmat.mean()
    for k, (ax, name) in enumerate(zip(axes.ravel()[:3], top, strict=False)):
        col = inverse[name]
        j = cols.index(col)
        # first panel: the raw paired difference; the others: partial residuals (the difference less the fitted
        # effects of every other factor, taken at their mean), so the panel shows this factor's own share
        adjust = 0.0 if k == 0 else (centred.to_numpy() @ beta[1:] - centred[col].to_numpy() * beta[1 + j])
        for lv in sorted(all_points.learning.unique(), reverse=True):
            mask = (all_points.learning == lv).to_numpy()
            frame = all_points[mask]
            y = (frame[f"{REV}_diff"].to_numpy() - (adjust[mask] if k else 0.0)) / 1000
            mk, lab = marks[lv]
            sig = (frame[f"{REV}_diff"].abs() > frame[f"{REV}_half"]).to_numpy()
            colour = np.where(frame[f"{REV}_diff"] > 0, FLOW_WIN, RES_WIN)
            ax.errorbar(frame[col], y, yerr=frame[f"{REV}_half"] / 1000, fmt="none", ecolor="#BBBBBB", lw=0.8,
                        capsize=0)  # fmt: skip
            ax.scatter(frame[col][sig], y[sig], c=colour[sig], marker=mk, s=28, label=lab)
            ax.scatter(frame[col][~sig], y[~sig], facecolors="none", edgecolors=colour[~sig], marker=mk, s=28)
        _fit_line(ax, xmat[col], yv, beta, j, k, col == HALF_LIFE)
        r = ranks.set_index("factor").loc[name]
        ylabel = "flow - resource won revenue / week (k, 90% CI)" if k == 0 else \
            "partial residual of flow - resource (k / week)"  # fmt: skip
        ax.set(xlabel=name, ylabel=ylabel, title=f"{name}: PRCC {r.prcc:+.2f} (p = {r.p:.3f})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    _top_two(fig, axes[1, 1], all_points, both, xmat, beta, (inverse[top[0]], inverse[top[1]]), top, marks, levels)
    fig.suptitle(f"Where does flow win? {len(both[0])}-point Latin hypercube x {n_rep} replications, both plans, "
                 "paired (filled: 90% CI excludes 0; orange: flow ahead, blue: resource ahead)")  # fmt: skip
    return fig, beta, ["intercept", *[FAIR_FACTORS[c] for c in cols], LEARNING]


def _fit_line(ax: Axes, xs: pd.Series, yv: np.ndarray, beta: np.ndarray, j: int, k: int, log: bool) -> None:
    """The fitted line of a panel (its own least squares in the first, the plane's effect after) and its zero."""
    grid = np.linspace(xs.min(), xs.max(), 50)
    gx = np.exp(grid) if log else grid
    if k == 0:
        slope, icept = np.polyfit(xs, yv, 1)
        label = "least-squares line of the difference on this factor"
    else:
        slope, icept = beta[1 + j], yv.mean() - beta[1 + j] * xs.mean()
        label = "fitted effect, other factors at their mean"
    ax.plot(gx, (icept + slope * grid) / 1000, color="black", lw=1, label=label)
    if slope != 0:
        z = -icept / slope
        if grid.min() <= z <= grid.max():
            zx = math.exp(z) if log else z
            ax.axvline(zx, color="black", ls="--", lw=0.8)
            ax.text(zx, ax.get_ylim()[1], f" line crosses 0 at {zx:.3g}", va="top", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    if log:
        ax.set_xscale("log")


def _top_two(fig: Figure, ax: Axes, all_points: pd.DataFrame, both: list[pd.DataFrame], xmat: pd.DataFrame,
             beta: np.ndarray, pair: tuple[str, str], top: list[str], marks: dict,
             levels: list[float]) -> None:  # fmt: skip
    """The top two factors against each other, coloured by the difference, with the fit's zero line."""
    cols = list(FAIR_FACTORS)
    c0, c1 = pair
    lim = float(np.nanmax(np.abs(all_points[f"{REV}_diff"]))) / 1000
    sc = None
    for frame in both:
        lv = frame.learning.iloc[0]
        mk, lab = marks[lv]
        sc = ax.scatter(frame[c0], frame[c1], c=frame[f"{REV}_diff"] / 1000, cmap=DIVERGING, vmin=-lim, vmax=lim,
                        marker=mk, s=110 if lv == levels[0] else 30, edgecolors="black", linewidths=0.4,
                        label=lab)  # fmt: skip
    # zero contour of the least-squares plane in (factor 0, factor 1), the others at their mean
    g0 = np.linspace(all_points[c0].min(), all_points[c0].max(), 60)
    g1 = np.linspace(all_points[c1].min(), all_points[c1].max(), 60)
    mesh0, mesh1 = np.meshgrid(g0, g1)
    base = np.r_[1.0, xmat.mean().to_numpy()]
    z = np.full(mesh0.shape, base @ beta)
    for col, mesh in ((c0, mesh0), (c1, mesh1)):
        j = 1 + cols.index(col)
        z += beta[j] * ((np.log(mesh) if col == HALF_LIFE else mesh) - base[j])
    if z.min() < 0 < z.max():
        cs = ax.contour(mesh0, mesh1, z, levels=[0], colors="black", linestyles="--")
        ax.clabel(cs, fmt={0: "fitted 0"}, fontsize=8)
    if c0 == HALF_LIFE:
        ax.set_xscale("log")
    if c1 == HALF_LIFE:
        ax.set_yscale("log")
    fig.colorbar(sc, ax=ax, label="flow - resource won revenue / week (k)")
    ax.set(xlabel=top[0], ylabel=top[1],
           title="Top two factors (large: learning off, small: on; dashed: zero of a linear fit, others at mean)")
    ax.legend(fontsize=7, loc="best")
