"""The sweep's analysis tables, sensitivity indices (SALib) and main effects: which factors move each output."""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leanflow.errors import LeanflowError
from leanflow.experiment.designs import SENSITIVITY_HINT, problem
from leanflow.experiment.sweep_store import CONFIDENCE
from leanflow.metrics.stats import t_half_width
from leanflow.report.sweep_data import SweepData, _select
from leanflow.scenario.sweep_schema import Sweep

BINS = 10  # quantile bins of a continuously sampled factor
MAX_LEVELS = 12  # a numeric factor with at most this many distinct values is plotted value by value
BOOTSTRAP = 100  # SALib's resamples for the confidence of the indices
# The indices SALib returns that the tables show, and the one the factors are ranked by.
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    "morris": ("mu_star", "mu_star_conf", "sigma"),
    "sobol_indices": ("S1", "S1_conf", "ST", "ST_conf"),
}
RANK_BY = {"morris": "mu_star", "sobol_indices": "ST"}


def sensitivity_indices(data: SweepData, means: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Morris or Sobol' indices of every output and plan, factors ranked; and notes on outputs not ranked.

    Columns ``metric, plan, rank, factor`` and the design's indices (``INDEX_COLUMNS``), ranked by
    ``RANK_BY`` (descending; NaN last). ``Y`` is the point means in point order, ``X`` the design
    values as floats. An output that is constant over the design, or missing at some point, gets a
    note instead of a ranking.
    """
    kind = data.kind
    columns = ["metric", "plan", "rank", "factor", *INDEX_COLUMNS[kind]]
    prob = problem(data.sweep)
    x = data.design[prob["names"]].to_numpy(float)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for metric in data.outputs:
        for plan in data.plans:
            y = _select(means, plan, metric, data.design.index)["mean"].to_numpy(float)
            missing = int(np.isnan(y).sum())
            if missing:
                notes.append(f"{metric} [{plan}]: no value at {missing} of {y.size} points: not ranked")
                continue
            if np.ptp(y) == 0:
                notes.append(f"{metric} [{plan}]: {_num(y[0])} at every point: no factor moves it")
                continue
            result = _salib_indices(data.sweep, prob, x, y)
            ranked = [
                {"metric": metric, "plan": plan, "factor": name,
                 **{col: float(np.asarray(result[col], dtype=float)[i]) for col in INDEX_COLUMNS[kind]}}
                for i, name in enumerate(prob["names"])
            ]  # fmt: skip
            ranked.sort(key=lambda r: -r[RANK_BY[kind]] if math.isfinite(r[RANK_BY[kind]]) else math.inf)
            rows += [{**r, "rank": i + 1} for i, r in enumerate(ranked)]
    return pd.DataFrame(rows, columns=columns), notes


def _salib_indices(sweep: Sweep, prob: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """SALib's Morris or Sobol' analysis of one output (bootstrap seeded by the design's seed)."""
    kind, design = sweep.design.kind, sweep.design
    try:
        module = importlib.import_module("SALib.analyze." + ("morris" if kind == "morris" else "sobol"))
    except ImportError as exc:
        raise LeanflowError(f"analysing a {kind} design needs SALib; install it with: {SENSITIVITY_HINT}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "morris":
            return module.analyze(prob, x, y, num_resamples=BOOTSTRAP, conf_level=CONFIDENCE,
                                  num_levels=design.morris_levels, seed=design.seed)  # fmt: skip
        return module.analyze(prob, y, calc_second_order=False, num_resamples=BOOTSTRAP, conf_level=CONFIDENCE,
                              seed=design.seed)  # fmt: skip


@dataclass(frozen=True)
class _Group:
    """The design points at one value (or in one bin) of a factor."""

    x: float  # where it is plotted: the value, the bin's mean value, or the category's position
    label: str
    low: float
    high: float
    points: np.ndarray  # positions in the design


def _factor_groups(data: SweepData, factor: str) -> tuple[str, list[_Group]]:
    """How a factor's values are grouped: ``level`` (each value), ``binned`` (quantile bins) or ``category``."""
    column = data.design[factor]
    numeric = (
        pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and bool(column.notna().all())
    )
    if not numeric:
        labels = column.map(_label).to_numpy(object)
        order = list(dict.fromkeys(labels))
        return "category", [
            _Group(float(i), lab, math.nan, math.nan, np.flatnonzero(labels == lab)) for i, lab in enumerate(order)
        ]
    values = column.to_numpy(float)
    distinct = np.unique(values)
    if factor in data.sweep.levers or data.kind == "grid" or distinct.size <= MAX_LEVELS:
        return "level", [_Group(float(v), _num(v), float(v), float(v), np.flatnonzero(values == v)) for v in distinct]
    bins = np.asarray(pd.qcut(values, BINS, labels=False, duplicates="drop"))
    groups = []
    for b in np.unique(bins):
        points = np.flatnonzero(bins == b)
        low, high = float(values[points].min()), float(values[points].max())
        groups.append(_Group(float(values[points].mean()), f"{_num(low)}..{_num(high)}", low, high, points))
    return "binned", groups


def main_effects(data: SweepData, means: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One output against each factor, per plan: the mean of the point means at each value (or bin).

    Columns ``plan, factor, scale, x, label, low, high, mean, ci_half_width, points``. ``scale`` is
    ``level`` (every distinct value: grids, levers, few values), ``binned`` (~10 quantile bins of a
    continuous sample; ``x`` is the bin's mean value, ``low``/``high`` its extent) or ``category``
    (non-numeric levels at positions 0, 1, ...).

    ``ci_half_width`` is a 90% half-width. Where the other factors were sampled (every design but
    grid), it is the t half-width of the point means in the group: their spread over the other
    factors, noise included. In a grid the other factors are fixed, so only the replication noise
    counts: the points' own half-widths combined, ``sqrt(sum h_i^2) / k`` (as if independent).
    """
    sampled = data.kind != "grid"
    rows = []
    for factor in data.factors:
        scale, groups = _factor_groups(data, factor)
        for plan in data.plans:
            sel = _select(means, plan, metric, data.design.index)
            m, h = sel["mean"].to_numpy(float), sel["ci_half_width"].to_numpy(float)
            for g in groups:
                values = m[g.points]
                finite = values[np.isfinite(values)]
                k = finite.size
                if k >= 2 and sampled:
                    half = float(t_half_width(finite.std(ddof=1), k, CONFIDENCE))
                elif k >= 1:
                    halves = h[g.points][np.isfinite(values)]
                    half = float(np.sqrt(np.sum(halves**2)) / k)
                else:
                    half = math.nan
                rows.append({"plan": plan, "factor": factor, "scale": scale, "x": g.x, "label": g.label,
                             "low": g.low, "high": g.high, "mean": float(finite.mean()) if k else math.nan,
                             "ci_half_width": half, "points": k})  # fmt: skip
    return pd.DataFrame(rows, columns=["plan", "factor", "scale", "x", "label", "low", "high", "mean",
                                       "ci_half_width", "points"])  # fmt: skip


def _num(x: Any) -> str:
    """A number for a table or a summary: 4 significant digits, ``n/a`` when missing."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def _label(value: Any) -> str:
    """A factor level as text (``None`` stays ``None``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    return str(value)
