"""What every experiment figure shares: its inputs and outputs, colours, pivots, paired intervals and checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from leanflow.errors import ResultsError
from leanflow.files import atomic_write
from leanflow.metrics.stats import mean_ci
from leanflow.read_checks import NUMBER, TEXT, read_json, read_table, validated
from leanflow.report.chart_style import PALETTE, plan_colours
from leanflow.report.sweep_data import load_sweep_data
from leanflow.scenario.sweep_schema import Sweep

RESOURCE, FLOW = "resource_optimised", "flow_optimised"
COLOURS = plan_colours([RESOURCE, FLOW])  # the default scenario's plan order: resource first, as in its charts
C_COLOURS = list(PALETTE[:5])  # one colour per server count or station
FLOW_WIN, RES_WIN = COLOURS[FLOW], COLOURS[RESOURCE]
DIVERGING = LinearSegmentedColormap.from_list("res_flow", [RES_WIN, "#FFFFFF", FLOW_WIN])
PER_WEEK = "market.sources.inbound.per_week"
DPI = 110


@dataclass(frozen=True)
class SweepInput:
    """One sweep's results as a figure reads them: the sweep file, ``summary.csv`` and ``results.parquet``."""

    directory: Path
    sweep: Sweep
    summary: pd.DataFrame  # mean, sd and 90% CI half-width per point x plan x metric (with the factor columns)
    results: pd.DataFrame  # tidy: one row per point x plan x replication


@dataclass(frozen=True)
class ExperimentFigure:
    """A drawn experiment figure and the text printed with it (markdown tables and summary lines)."""

    name: str
    figure: Figure
    chunks: list[str] = field(default_factory=list)  # each as one print() call wrote it (may hold newlines)

    @property
    def markdown(self) -> str:
        """The tables and lines, as one markdown text."""
        return "".join(f"{c}\n" for c in self.chunks)

    @property
    def lines(self) -> list[str]:
        """The tables and lines, one string per printed line."""
        return self.markdown.splitlines()

    def save(self, directory: Path) -> tuple[Path, Path]:
        """Write ``<name>.png`` and ``<name>.md`` into ``directory``, each atomically; return both paths."""
        png, md = directory / f"{self.name}.png", directory / f"{self.name}.md"
        atomic_write(png, lambda p: self.figure.savefig(p, format="png", dpi=DPI))
        atomic_write(md, lambda p: p.write_text(self.markdown, encoding="utf-8"))
        return png, md


def sweep_of(directory: Path) -> Sweep:
    """The sweep file a results directory records in its manifest (checked as ``load_sweep_data`` does)."""
    path = Path(directory) / "manifest.json"
    return validated(Sweep, read_json(path).get("sweep"), path, "sweep")


def read_sweep(directory: str | Path) -> SweepInput:
    """A sweep results directory, read and checked (``load_sweep_data``) with its ``summary.csv``."""
    data = load_sweep_data(directory)
    summary = read_table(data.directory / "summary.csv", {"point": NUMBER, "plan": TEXT, "metric": TEXT})
    return SweepInput(data.directory, data.sweep, summary, data.results)


def require(sweep: SweepInput, figure: str, columns: Iterable[str] = (), plans: Sequence[str] = ()) -> None:
    """Stop with one line when the sweep lacks a factor or output, or a plan, that the figure needs."""
    have = set(sweep.results.columns) | set(sweep.summary.get("metric", pd.Series(dtype=str)).astype(str))
    missing = [c for c in columns if c not in have]
    if sweep.summary.empty:
        raise ResultsError(f"{sweep.directory / 'summary.csv'}: missing (the sweep has not finished)")
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ResultsError(
            f"{sweep.directory}: the {figure} figure needs {', '.join(missing[:3])}{more}, which this sweep does "
            f"not have (is it experiments/{figure}.yaml's sweep?)"
        )
    absent = [p for p in plans if p not in set(sweep.results["plan"].astype(str))]
    if absent:
        raise ResultsError(f"{sweep.directory}: the {figure} figure needs plan {absent[0]}, which the sweep lacks")


def wide(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per point x plan: each metric's mean, and its 90% CI half-width as ``<metric>_ci``."""
    mean = summary.pivot_table(index=keys, columns="metric", values="mean", sort=False)
    half = summary.pivot_table(index=keys, columns="metric", values="ci_half_width", sort=False)
    return mean.join(half.add_suffix("_ci")).reset_index()


def interval(x: np.ndarray | pd.Series, confidence: float = 0.90) -> tuple[float, float, float]:
    """Mean and t interval (low, high) of the mean of ``x``, NaNs left out (``mean_ci``)."""
    return mean_ci(np.asarray(x, dtype=float), confidence)


def half_width(x: np.ndarray | pd.Series, confidence: float = 0.90) -> tuple[float, float]:
    """Mean and half-width of the t interval of the mean of ``x``."""
    mean, _, hi = interval(x, confidence)
    return mean, hi - mean


def paired(results: pd.DataFrame, by: str, metric: str, a: str = FLOW, b: str = RESOURCE) -> pd.DataFrame:
    """Per level of ``by``: the mean paired difference a - b of ``metric`` (same replication) with its 90% CI."""
    rows = []
    for level, g in results.groupby(by, sort=True):
        x = g[g.plan == a].set_index("replication")[metric]
        y = g[g.plan == b].set_index("replication")[metric]
        mean, lo, hi = interval((x - y).dropna())
        rows.append({by: level, "diff": mean, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def reps(results: pd.DataFrame) -> int:
    """Replications per point and plan."""
    return int(results.groupby(["point", "plan"]).size().iloc[0])


def bottleneck_role(w: pd.DataFrame) -> str | None:
    """The role whose mean ``utilisation_<role>`` over the rows of one plan is highest (roles the plan has)."""
    cols = [c for c in w.columns if c.startswith("utilisation_") and not c.endswith("_ci")
            and c != "utilisation_deal" and not c.startswith("utilisation_deal_") and w[c].notna().any()
            and f"queue_days_{c.removeprefix('utilisation_')}" in w]  # fmt: skip
    return max(cols, key=lambda c: w[c].mean()).removeprefix("utilisation_") if cols else None


def deal_utilisation(w: pd.DataFrame, role: str) -> pd.Series:
    """A role's utilisation on deal work: ``utilisation_deal_<role>`` if the sweep kept it, else
    ``utilisation_<role>`` less its prospecting share, if any (the same number, for sweeps run before the
    loader accepted ``utilisation_deal_<role>`` as an output); NaN for a role the sweep has neither of."""
    if f"utilisation_deal_{role}" in w:
        return w[f"utilisation_deal_{role}"]
    if f"utilisation_{role}" not in w:
        return pd.Series(np.nan, index=w.index)
    share = w.get(f"prospecting_share_{role}")
    return w[f"utilisation_{role}"] - (share.fillna(0) if share is not None else 0)


def column(w: pd.DataFrame, name: str) -> pd.Series:
    """A column of ``w``, or NaN throughout when the sweep did not keep it (an optional output)."""
    return w[name] if name in w else pd.Series(np.nan, index=w.index)


def markdown(df: pd.DataFrame) -> str:
    """A frame as a GitHub markdown table (values as given)."""
    head = "| " + " | ".join(df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def style(ax, xlabel: str = "", ylabel: str = "", title: str = "", legend: bool = True) -> None:
    """Label an axes, add a light grid and a small legend: the look of every panel."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if legend:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
