"""Analysis of a sweep results directory: sensitivity indices and main-effect plots.

``analyze(directory)`` reads what ``leanflow sweep`` wrote (``manifest.json``, ``design.parquet``,
``results.parquet``), ranks the factors by Morris or Sobol' indices (SALib) when the design was
made for them, plots every output against every factor (one line per plan), writes the plots into
``DIR/plots/`` and returns the lines the CLI prints.

Every number starts from the *point means*: an output's mean over the replications of one plan at
one design point (replications without a value skipped), which is ``summary.csv``'s ``mean``.
"""

from __future__ import annotations

import importlib
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from leanflow.errors import LeanflowError, ResultsError
from leanflow.experiment.designs import SENSITIVITY_HINT, problem
from leanflow.experiment.sweep_store import CONFIDENCE
from leanflow.files import atomic_write
from leanflow.read_checks import (
    ANY,
    NUMBER,
    TEXT,
    check_columns,
    field,
    numbers,
    read_json,
    read_table,
    validated,
)
from leanflow.report.charts import plan_colours
from leanflow.scenario.sweep_schema import SENSITIVITY_KINDS, Sweep

PLOTS = "plots"
BINS = 10  # quantile bins of a continuously sampled factor
MAX_LEVELS = 12  # a numeric factor with at most this many distinct values is plotted value by value
BOOTSTRAP = 100  # SALib's resamples for the confidence of the indices
PANEL_COLUMNS = 3
# The indices SALib returns that the tables show, and the one the factors are ranked by.
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    "morris": ("mu_star", "mu_star_conf", "sigma"),
    "sobol_indices": ("S1", "S1_conf", "ST", "ST_conf"),
}
RANK_BY = {"morris": "mu_star", "sobol_indices": "ST"}
# The bars of the sensitivity chart: (index, its confidence half-width, axis label).
BARS: dict[str, tuple[tuple[str, str | None, str], ...]] = {
    "morris": (("mu_star", "mu_star_conf", "μ*: mean |elementary effect| (change over the full range)"),),
    "sobol_indices": (("S1", "S1_conf", "S1: first-order index"), ("ST", "ST_conf", "ST: total index")),
}


@dataclass(frozen=True)
class SweepData:
    """One sweep results directory, read: the manifest, the rebuilt sweep, the design and the results."""

    directory: Path
    manifest: dict[str, Any]
    sweep: Sweep
    design: pd.DataFrame  # one row per point (index ``point``, in point order), one column per factor
    results: pd.DataFrame  # tidy: point, factors, plan, replication, outputs

    @property
    def kind(self) -> str:
        """The design kind (grid, random, ..., morris, sobol_indices)."""
        return self.sweep.design.kind

    @property
    def plans(self) -> list[str]:
        """The plans run at every point, in run order."""
        return [str(p) for p in self.manifest.get("plans", [])] or [str(p) for p in self.results["plan"].unique()]

    @property
    def factors(self) -> list[str]:
        """The factors' dotted paths, as the design's columns."""
        return [str(c) for c in self.design.columns]

    @property
    def outputs(self) -> list[str]:
        """The output metrics kept by the sweep (those present in the results)."""
        return [m for m in self.manifest.get("outputs", []) if m in self.results.columns]


def analyze(directory: str | Path) -> list[str]:
    """Analyse a sweep results directory, write its plots into ``DIR/plots/``, return the lines to print.

    Sensitivity designs (morris, sobol_indices) get a ranking table per output and plan and a bar
    chart per output; every design gets, per output, a figure of the output against each factor and
    a short summary.

    Raises:
        LeanflowError: when ``directory`` is not a sweep results directory or the sweep has not finished.
    """
    data = load_sweep_data(directory)
    means = point_stats(data)
    lines = _header(data)
    indices = pd.DataFrame()
    if data.kind in SENSITIVITY_KINDS:
        indices, notes = sensitivity_indices(data, means)
        lines += ["", *_sensitivity_lines(data, indices, notes)]

    plots = data.directory / PLOTS
    written: list[Path] = []
    summary = ["", "outputs (point means: mean over replications; swing: range of a factor's main effect):"]
    for metric in data.outputs:
        effects = main_effects(data, means, metric)
        written.append(_save(main_effects_figure(data, metric, effects), plots / f"{_file_stem(metric)}-factors.png"))
        if not indices.empty:
            fig = sensitivity_figure(data, metric, indices)
            if fig is not None:
                written.append(_save(fig, plots / f"{_file_stem(metric)}-sensitivity.png"))
        summary += _output_lines(data, means, effects, metric)
    lines += summary
    lines += ["", f"plots ({len(written)}):", *(f"  {p}" for p in written)]
    return lines


# --- reading ----------------------------------------------------------------------------------------------------------


def load_sweep_data(directory: str | Path) -> SweepData:
    """Read a finished sweep's results directory.

    Raises:
        ResultsError: when it is not a sweep results directory, has no results.parquet yet, or a file is damaged.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ResultsError(f"{d}: no such directory (give the -o directory of `leanflow sweep`)")
    manifest_path = d / "manifest.json"
    if not manifest_path.is_file():
        raise ResultsError(f"{d} is not a sweep results directory: it has no manifest.json")
    manifest = read_json(manifest_path)
    if manifest.get("kind") != "sweep":
        raise ResultsError(
            f"{d} is not a sweep results directory (its manifest.json is not a sweep's); "
            "`leanflow report` reads the results of a single run"
        )
    if not (d / "results.parquet").is_file() or not (d / "design.parquet").is_file():
        raise ResultsError(
            f"{d} has no results.parquet: run the sweep first (leanflow sweep FILE -o {d}); "
            "an interrupted sweep resumes where it stopped"
        )
    sweep = validated(Sweep, manifest.get("sweep"), manifest_path, "sweep")
    plans = field(manifest, manifest_path, "plans", list)
    factors = field(manifest, manifest_path, "factors", list)
    outputs = field(manifest, manifest_path, "outputs", list)
    design = read_table(d / "design.parquet", dict.fromkeys(factors, ANY)).sort_index()
    kinds = {"point": NUMBER, "plan": TEXT, "replication": NUMBER, **dict.fromkeys(factors, ANY)}
    results = read_table(d / "results.parquet", kinds, plans)
    check_columns(results, d / "results.parquet", numbers(*(m for m in outputs if m in results)))
    missing = sorted(set(results["point"]) - set(design.index))
    if missing:
        raise ResultsError(f"{d / 'results.parquet'}: point {missing[0]} is not in design.parquet")
    results["plan"] = results["plan"].astype(str)
    return SweepData(d, manifest, sweep, design, results)


def point_stats(data: SweepData) -> pd.DataFrame:
    """Per plan x point x output: the mean over replications, its 90% CI half-width and ``n``.

    Columns ``plan, point, metric, mean, ci_half_width, n``; NaN replications are skipped.
    """
    long = data.results.melt(id_vars=["plan", "point"], value_vars=data.outputs, var_name="metric", value_name="value")
    out = long.groupby(["plan", "point", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy(int)
    out["ci_half_width"] = _half_width(out["std"].to_numpy(float), n)
    return out.rename(columns={"count": "n"})[["plan", "point", "metric", "mean", "ci_half_width", "n"]]


def _half_width(sd: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The t-based CI half-width of a mean of ``n`` values with standard deviation ``sd`` (NaN if n < 2)."""
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, t * sd / np.sqrt(np.maximum(n, 1)), np.nan)


def _select(means: pd.DataFrame, plan: str, metric: str, index: pd.Index) -> pd.DataFrame:
    """One plan's point means and half-widths of one output, indexed by point in design order."""
    rows = means[(means["plan"] == plan) & (means["metric"] == metric)]
    return rows.set_index("point")[["mean", "ci_half_width"]].reindex(index)


# --- sensitivity indices ----------------------------------------------------------------------------------------------


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


def _sensitivity_lines(data: SweepData, indices: pd.DataFrame, notes: list[str]) -> list[str]:
    """The ranking tables, one per output and plan, and the notes."""
    pct = f"{CONFIDENCE:.0%}"
    if data.kind == "morris":
        lines = [
            f"Morris screening ({data.sweep.design.n} trajectories, {data.sweep.design.morris_levels} levels), "
            "factors ranked by mu_star:",
            "  mu_star: mean |elementary effect| (the output's change over the factor's full range)",
            f"  mu_star_conf: its {pct} bootstrap half-width; sigma: spread of the effects (interactions, curvature)",
        ]
    else:
        lines = [
            f"Sobol' indices (N = {data.sweep.design.n}), factors ranked by ST:",
            "  ST: total index (share of the output's variance due to the factor, its interactions included)",
            f"  S1: first-order index (the factor alone); S1_conf, ST_conf: {pct} bootstrap half-widths",
        ]
    columns = ["rank", "factor", *INDEX_COLUMNS[data.kind]]
    for (metric, plan), table in indices.groupby(["metric", "plan"], sort=False):
        rows = [[str(r["rank"]), r["factor"], *(_num(r[c]) for c in columns[2:])] for _, r in table.iterrows()]
        lines += ["", f"{metric} [{plan}]", *(f"  {line}" for line in format_table(columns, rows))]
    if notes:
        lines += ["", *notes]
    return lines


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


# --- main effects -----------------------------------------------------------------------------------------------------


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
                    half = float(_half_width(np.array([finite.std(ddof=1)]), np.array([k]))[0])
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


# --- text -------------------------------------------------------------------------------------------------------------


def _header(data: SweepData) -> list[str]:
    """What the sweep was, and each factor's range over the design."""
    n_plans = len(data.plans)
    lines = [
        f"sweep {data.sweep.name} ({data.kind} design): {len(data.design)} points x {n_plans} "
        f"plan{'s' if n_plans != 1 else ''} ({', '.join(data.plans)}) x {data.sweep.replications} replications; "
        f"{data.directory}",
        "factors:",
    ]
    rows = []
    for factor in data.factors:
        scale, groups = _factor_groups(data, factor)
        role = "lever" if factor in data.sweep.levers else "uncertainty"
        column = data.design[factor]
        if scale == "category":
            span = "{" + ", ".join(g.label for g in groups) + "}"
        else:
            span = f"{_num(float(column.min()))} .. {_num(float(column.max()))}"
        rows.append([factor, role, span, f"{column.nunique(dropna=False)} values"])
    lines += [f"  {line}" for line in format_table(["factor", "kind", "range", "distinct"], rows)]
    return lines


def _output_lines(data: SweepData, means: pd.DataFrame, effects: pd.DataFrame, metric: str) -> list[str]:
    """Per plan: the range of the point means (where they are reached) and the factors by main-effect swing."""
    short = _short_names(data.factors)
    lines = [f"  {metric}"]
    for plan in data.plans:
        m = _select(means, plan, metric, data.design.index)["mean"]
        if m.isna().all():
            lines.append(f"    {plan}: no value at any point")
            continue
        swings = []
        for factor in data.factors:
            e = effects[(effects["plan"] == plan) & (effects["factor"] == factor)]["mean"]
            if e.notna().any():
                swings.append((float(e.max() - e.min()), factor))
        swings.sort(key=lambda s: -s[0])
        swing = ", ".join(f"{short[f]} {_num(s)}" for s, f in swings)
        lines.append(f"    {plan}: {_num(float(m.min()))} .. {_num(float(m.max()))} "
                     f"(min at point {m.idxmin()}, max at point {m.idxmax()}); swing: {swing}")  # fmt: skip
    return lines


def format_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table: columns padded to their widest cell, numbers right-aligned, text left-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(_is_number(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True))

    return [line(headers).rstrip(), *(line(r).rstrip() for r in rows)]


def _is_number(text: str) -> bool:
    """Whether a table cell holds a number (or n/a)."""
    if text == "n/a":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def _short_names(factors: list[str]) -> dict[str, str]:
    """Each factor's last two path components (``inbound.per_week``), or its whole path when that is ambiguous."""
    short = {f: ".".join(f.split(".")[-2:]) for f in factors}
    if len(set(short.values())) < len(short):
        return {f: f for f in factors}
    return short


def _file_stem(metric: str) -> str:
    """A metric's name made safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric).strip("._") or "metric"


def _save(fig: Figure, path: Path) -> Path:
    """Write a figure as PNG, atomically."""
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    return path
