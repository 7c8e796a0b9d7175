"""The sweep results directory: manifest, design, one Parquet file per point, tidy results, summary.

Layout: ``manifest.json``, ``design.parquet``, ``points/point-NNNNNN.parquet``
(each written atomically as its point finishes), and at the end
``results.parquet`` (one row per point x plan x replication) and ``summary.csv``
(mean, sd and 90% CI half-width per point x plan x metric).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from leanflow.errors import LeanflowError, OutputError, ResultsError
from leanflow.experiment.store import versions
from leanflow.files import atomic_write
from leanflow.metrics.stats import t_half_width
from leanflow.read_checks import read_json
from leanflow.scenario.sweep_loader import LoadedSweep

POINTS = "points"
CONFIDENCE = 0.90


def point_file(directory: Path, point: int) -> Path:
    """Where one design point's rows live."""
    return directory / POINTS / f"point-{point:06d}.parquet"


class SweepStore:
    """Reads and writes one sweep's results directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def prepare(
        self, loaded: LoadedSweep, design: pd.DataFrame, force: bool, command: list[str], scheduler: str | None
    ) -> None:
        """Start or resume: refuse another sweep's directory unless forced; clean stray temp files."""
        d = self.directory
        manifest_path = d / "manifest.json"
        if manifest_path.is_file():
            try:
                old = read_json(manifest_path)
            except ResultsError:  # a damaged manifest: not this sweep's, so --force replaces it
                old = {}
            if old.get("sweep_sha256") != loaded.sha256:
                if not force:
                    raise LeanflowError(
                        f"{d} holds results of a different sweep ({old.get('sweep_file')}, or a changed file); "
                        "use another -o directory, or --force to replace them"
                    )
                self._clear()
        elif d.is_dir() and any(d.iterdir()):
            if not force:
                raise LeanflowError(f"{d} is not empty and is not a sweep results directory; use --force to reuse it")
            self._clear()
        (d / POINTS).mkdir(parents=True, exist_ok=True)
        for stray in [*d.glob(".*.tmp"), *(d / POINTS).glob(".*.tmp")]:
            stray.unlink()
        manifest = {
            "kind": "sweep",
            "name": loaded.sweep.name,
            "sweep_file": loaded.sweep_file,
            "base_file": loaded.base_file,
            "sweep_sha256": loaded.sha256,
            "seed": loaded.seed,
            "design": loaded.sweep.design.model_dump(),
            "points": len(design),
            "plans": loaded.plans,
            "replications": loaded.sweep.replications,
            "outputs": loaded.sweep.outputs,
            "factors": list(design.columns),
            "common_random_numbers": loaded.sweep.common_random_numbers,
            "versions": versions(),
            "executor": {"scheduler": scheduler} if scheduler else {"scheduler": "local process pool"},
            "command": command or sys.argv,
            "sweep": json.loads(loaded.sweep.model_dump_json()),
            "texts": list(loaded.texts),
        }
        atomic_write(manifest_path, lambda p: p.write_text(json.dumps(manifest, indent=2, default=str) + "\n"))
        atomic_write(d / "design.parquet", lambda p: design.to_parquet(p))

    def _clear(self) -> None:
        d = self.directory
        shutil.rmtree(d / POINTS, ignore_errors=True)
        for name in ("manifest.json", "design.parquet", "results.parquet", "summary.csv"):
            (d / name).unlink(missing_ok=True)

    def finished_points(self) -> set[int]:
        """Points already on disk (complete files only: partial ones never get their final name)."""
        return {int(p.stem.split("-")[1]) for p in (self.directory / POINTS).glob("point-*.parquet")}

    def write_point(self, point: int, rows: pd.DataFrame) -> None:
        """Write one point's rows atomically."""
        atomic_write(point_file(self.directory, point), lambda p: rows.to_parquet(p, index=False))

    def finalize(self, design: pd.DataFrame) -> None:
        """Stream every point file into results.parquet (point order) and write summary.csv."""
        d = self.directory
        missing = [p for p in design.index if not point_file(d, p).is_file()]
        if missing:
            raise LeanflowError(f"{len(missing)} design points have no results (first: {missing[0]}); run again")
        writer: pq.ParquetWriter | None = None
        summaries = []
        tmp = d / ".results.parquet.tmp"
        try:
            try:
                for point in design.index:
                    table = pq.read_table(point_file(d, point))
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema))
                    summaries.append(_summarise(table.to_pandas(), list(design.columns)))
            finally:
                if writer is not None:
                    writer.close()
            tmp.replace(d / "results.parquet")
        except OSError as exc:  # a full disk, say: no partial results.parquet is left
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write {d / 'results.parquet'}: {exc.strerror or exc}") from None
        summary = pd.concat(summaries, ignore_index=True)
        atomic_write(d / "summary.csv", lambda p: summary.to_csv(p, index=False, float_format="%.10g"))


def _summarise(rows: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Mean, sd and CI half-width per plan x metric of one point."""
    keys = ["point", *factors, "plan"]
    metrics = [c for c in rows.columns if c not in (*keys, "replication")]
    out = []
    for key, group in rows.groupby("plan", sort=False):
        head = group.iloc[0]
        for metric in metrics:
            x = group[metric].to_numpy(float)
            x = x[~np.isnan(x)]
            sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
            half = float(t_half_width(sd, x.size, CONFIDENCE))
            out.append({**{k: head[k] for k in keys[:-1]}, "plan": key, "metric": metric,
                        "mean": float(x.mean()) if x.size else float("nan"), "sd": sd, "ci_half_width": half,
                        "n": int(x.size)})  # fmt: skip
    return pd.DataFrame(out)

