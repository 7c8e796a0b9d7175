"""The results directory: every file written atomically (temp file, then rename)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

from leanflow.errors import OutputError
from leanflow.experiment.runner import RunResult
from leanflow.metrics.verdict import Verdict
from leanflow.report.read_checks import column_kinds

PACKAGES = ("leanflow", "simpy", "numpy", "scipy", "pandas", "pydantic", "pyarrow")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it into place.

    Raises:
        OutputError: when the file cannot be written (no permission, a full disk); nothing partial is left.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(path: Path, directory: bool = True) -> Path:
    """``path`` if a results directory (or a file) can be written there, else a one-line error.

    Checked before simulating; nothing is created.
    """
    try:
        if path.exists() and path.is_dir() != directory:
            raise OutputError(f"cannot write to {path}: it exists and is not a {'directory' if directory else 'file'}")
        existing = path if directory else path.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror or exc}") from None
    if not existing.is_dir():
        raise OutputError(f"cannot write to {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {path}: {existing} is not writable")
    return path


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


def write_results(result: RunResult, out: Path, extra: dict | None = None) -> None:
    """Write summary.csv, deals.parquet, weekly.parquet and manifest.json into ``out``."""
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
        "command": sys.argv,
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
