"""A results directory read back: the only input of charts and reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leanflow.errors import ResultsError
from leanflow.read_checks import (
    FLAG,
    NUMBER,
    TEXT,
    field,
    numbers,
    read_json,
    read_table,
    require_rows,
    validated,
)
from leanflow.scenario.schema import Scenario

REQUIRED = ("manifest.json", "summary.csv", "deals.parquet", "weekly.parquet")
# the verdict's tables (written by write_verdict), each column's kind
OPTIONAL: dict[str, dict[str, str]] = {
    "comparison.csv": {"plan": TEXT, "baseline": TEXT, "metric": TEXT, "method": TEXT, "significant": FLAG,
                       **numbers("n", "base_mean", "plan_mean", "diff", "diff_low", "diff_high", "rel", "rel_low",
                                 "rel_high", "correlation", "confidence")},
    "velocity.csv": {"plan": TEXT, "factor": TEXT, "label": TEXT, "view": TEXT,
                     **numbers("baseline", "value", "ratio", "log_contribution", "share", "velocity_ratio")},
    "time_split.csv": {"plan": TEXT, "stage": TEXT, **numbers("deals", "touch_days", "queue_days", "buyer_days")},
    "efficiency.csv": {"plan": TEXT, "like_for_like": FLAG,
                       **numbers("resource_efficiency", "flow_efficiency", "headcount", "people_present",
                                 "cost_per_year", "won_revenue_per_year", "revenue_per_cost", "head_cost")},
}  # fmt: skip


@dataclass
class Results:
    """Every table of a run, with the plans in order (the first is the baseline)."""

    directory: Path
    manifest: dict
    scenario: Scenario
    plans: list[str]
    summary: pd.DataFrame
    deals: pd.DataFrame
    weekly: pd.DataFrame
    comparison: pd.DataFrame | None
    velocity: pd.DataFrame | None
    time_split: pd.DataFrame | None
    efficiency: pd.DataFrame | None

    @property
    def stages(self) -> list[str]:
        return [s.name for s in self.scenario.process.stages]


def load_results(directory: str | Path) -> Results:
    """Read a results directory written by ``leanflow run`` or ``leanflow compare``, checking every file.

    Raises:
        ResultsError: naming the first file that is missing, damaged or not what leanflow writes.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ResultsError(f"{d}: no such directory (give the -o directory of `leanflow run`)")
    missing = [name for name in REQUIRED if not (d / name).is_file()]
    if missing:
        raise ResultsError(f"{d}: not a leanflow results directory (missing {', '.join(missing)})")
    path = d / "manifest.json"
    manifest = read_json(path)
    plans = field(manifest, path, "plans", list)
    if not plans:
        raise ResultsError(f"{path}: 'plans' is empty")
    scenario = validated(Scenario, manifest.get("resolved_scenario"), path, "scenario")
    tables = manifest.get("tables") if isinstance(manifest.get("tables"), dict) else {}
    kinds = {name: tables.get(name) or {"plan": TEXT, "replication": NUMBER} for name in REQUIRED[1:]}
    summary = read_table(d / "summary.csv", kinds["summary.csv"], plans)
    require_rows(summary, d / "summary.csv", plans)
    optional = {name: read_table(d / name, OPTIONAL[name], plans) if (d / name).is_file() else None
                for name in OPTIONAL}  # fmt: skip
    if optional["efficiency.csv"] is not None:  # one row per plan, which the efficiency chart looks up
        require_rows(optional["efficiency.csv"], d / "efficiency.csv", plans)
    return Results(
        directory=d,
        manifest=manifest,
        scenario=scenario,
        plans=plans,
        summary=_ordered(summary, plans),
        deals=_ordered(read_table(d / "deals.parquet", kinds["deals.parquet"], plans), plans),
        weekly=_ordered(read_table(d / "weekly.parquet", kinds["weekly.parquet"], plans), plans),
        comparison=optional["comparison.csv"],
        velocity=optional["velocity.csv"],
        time_split=_ordered(optional["time_split.csv"], plans),
        efficiency=optional["efficiency.csv"],
    )


def _ordered(df: pd.DataFrame | None, plans: list[str]) -> pd.DataFrame | None:
    """The plan column as a categorical in the run's plan order."""
    if df is not None and "plan" in df:
        df["plan"] = pd.Categorical(df["plan"].astype(str), categories=plans)
    return df
