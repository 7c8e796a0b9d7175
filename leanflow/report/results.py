"""A results directory read back: the only input of charts and reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leanflow.errors import LeanflowError
from leanflow.scenario.schema import Scenario

REQUIRED = ("manifest.json", "summary.csv", "deals.parquet", "weekly.parquet")
OPTIONAL = ("comparison.csv", "velocity.csv", "time_split.csv", "efficiency.csv")


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
    """Read a results directory written by ``leanflow run`` or ``leanflow compare``."""
    d = Path(directory)
    missing = [name for name in REQUIRED if not (d / name).is_file()]
    if missing:
        raise LeanflowError(f"{d}: not a leanflow results directory (missing {', '.join(missing)})")
    manifest = json.loads((d / "manifest.json").read_text())
    plans = list(manifest["plans"])
    optional = {name: _csv(d / name) for name in OPTIONAL}
    return Results(
        directory=d,
        manifest=manifest,
        scenario=Scenario.model_validate(manifest["resolved_scenario"]),
        plans=plans,
        summary=_ordered(pd.read_csv(d / "summary.csv"), plans),
        deals=_ordered(pd.read_parquet(d / "deals.parquet"), plans),
        weekly=_ordered(pd.read_parquet(d / "weekly.parquet"), plans),
        comparison=optional["comparison.csv"],
        velocity=optional["velocity.csv"],
        time_split=_ordered(optional["time_split.csv"], plans),
        efficiency=optional["efficiency.csv"],
    )


def _csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def _ordered(df: pd.DataFrame | None, plans: list[str]) -> pd.DataFrame | None:
    """The plan column as a categorical in the run's plan order."""
    if df is not None and "plan" in df:
        df["plan"] = pd.Categorical(df["plan"].astype(str), categories=plans)
    return df
