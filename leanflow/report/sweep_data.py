"""Reading a sweep results directory, and the point means every sweep table and plot starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from leanflow.errors import ResultsError
from leanflow.experiment.sweep_store import CONFIDENCE
from leanflow.metrics.stats import t_half_width
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
from leanflow.scenario.sweep_schema import Sweep


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
    out["ci_half_width"] = t_half_width(out["std"].to_numpy(float), n, CONFIDENCE)
    return out.rename(columns={"count": "n"})[["plan", "point", "metric", "mean", "ci_half_width", "n"]]


def _select(means: pd.DataFrame, plan: str, metric: str, index: pd.Index) -> pd.DataFrame:
    """One plan's point means and half-widths of one output, indexed by point in design order."""
    rows = means[(means["plan"] == plan) & (means["metric"] == metric)]
    return rows.set_index("point")[["mean", "ci_half_width"]].reindex(index)
