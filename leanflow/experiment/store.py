"""The results directory: every file written atomically (temp file, then rename)."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from leanflow.experiment.runner import RunResult
from leanflow.files import atomic_write
from leanflow.metrics.verdict import Verdict
from leanflow.read_checks import column_kinds

PACKAGES = ("leanflow", "simpy", "numpy", "scipy", "pandas", "pydantic", "pyarrow")


def versions() -> dict[str, str]:
    """Versions of Python and the packages that decide the numbers."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def scenario_hash(text: str) -> str:
    """SHA-256 of the scenario as run (after overrides), canonical JSON."""
    return hashlib.sha256(text.encode()).hexdigest()


API_COMMAND = "leanflow.api"  # a manifest's command when the run was made from Python, not by a command


def write_results(result: RunResult, out: Path, command: list[str], extra: dict | None = None) -> None:
    """Write summary.csv, deals.parquet, weekly.parquet and manifest.json into ``out``; ``command`` is what made
    the run, as the manifest records it (the CLI's argv, or the API call)."""
    atomic_write(out / "summary.csv", lambda p: result.summary.to_csv(p, index=False, float_format="%.10g"))
    atomic_write(out / "deals.parquet", lambda p: result.deals.to_parquet(p, index=False))
    atomic_write(out / "weekly.parquet", lambda p: result.weekly.to_parquet(p, index=False))
    canonical = result.scenario.model_dump_json(by_alias=True)
    tables = {"summary.csv": result.summary, "deals.parquet": result.deals, "weekly.parquet": result.weekly}
    manifest = {
        "scenario": result.scenario.name,
        "scenario_sha256": scenario_hash(canonical),
        "seed": result.scenario.seed,
        "replications": result.replications,
        "plans": result.plans,
        "baseline": result.plans[0],
        "versions": versions(),
        "command": command,
        "resolved_scenario": json.loads(canonical),
        "tables": {name: column_kinds(df) for name, df in tables.items()},
        **(extra or {}),
    }
    atomic_write(out / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n"))


def write_verdict(verdict: Verdict, out: Path) -> None:
    """Write comparison.csv (one row per plan x metric) and the tables that explain it."""
    tables = {
        "comparison.csv": verdict.comparison,
        "velocity.csv": verdict.velocity,
        "time_split.csv": verdict.time_split,
        "efficiency.csv": verdict.efficiency.merge(verdict.costs, on="plan"),
    }
    for name, df in tables.items():
        atomic_write(out / name, lambda p, df=df: df.to_csv(p, index=False, float_format="%.10g"))
    said = {"headlines": verdict.headlines, "why": verdict.why, "notes": verdict.notes}
    text = json.dumps(said, indent=2) + "\n"
    atomic_write(out / "verdict.json", lambda p: p.write_text(text))


def read_summary(out: Path) -> pd.DataFrame:
    """The per plan x replication table of a results directory."""
    return pd.read_csv(out / "summary.csv")
