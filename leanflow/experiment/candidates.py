"""Evaluating configurations: the worker's task, and a store that makes an optimisation resumable.

Replication j of every configuration uses the scenario seed's replication j
(common random numbers), so any two configurations are paired by replication.
Each finished task is written to its own file at once (atomically), so a run
killed at any moment resumes with only the unfinished tasks left to simulate.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leanflow.errors import LeanflowError, ResultsError
from leanflow.experiment.replication import replication_metrics
from leanflow.scenario.paths import scenario_data
from leanflow.scenario.schema import Scenario

EVALUATIONS = "evaluations"


@dataclass(frozen=True)
class CandidateShared:
    """What every task shares, sent once per worker: the base scenario (overrides applied) and the metrics."""

    base_data: dict[str, Any]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class CandidateTask:
    """Replications start..start+count-1 of one configuration of one family."""

    family: str
    config: int
    values: tuple[tuple[str, Any], ...]  # (decision path relative to the plan, value)
    start: int
    count: int


def candidate_scenario(base_data: dict[str, Any], family: str, values) -> Scenario:
    """The base scenario with a configuration's values set in the family's plan."""
    data = scenario_data(base_data, {f"plans.{family}.{path}": value for path, value in values})
    return Scenario.model_validate(data)


def run_candidate(task: CandidateTask, shared: CandidateShared) -> list[list[float]]:
    """The kept metrics of each replication of the task, as plain lists (no pandas on a worker)."""
    sc = candidate_scenario(shared.base_data, task.family, task.values)
    rows = []
    for rep in range(task.start, task.start + task.count):
        metrics = replication_metrics(sc, task.family, rep)
        rows.append([float(metrics.get(k, float("nan"))) for k in shared.outputs])
    return rows


class CandidateStore:
    """Every replication result so far, in memory and on disk: (family, config, replication) -> metrics."""

    def __init__(self, directory: Path, outputs: tuple[str, ...]) -> None:
        self.directory = Path(directory)
        self.outputs = outputs
        self.rows: dict[tuple[str, int, int], np.ndarray] = {}

    def open(self, sha256: str, force: bool, describe: str) -> int:
        """Start or resume in the directory; refuse another study's results unless forced. Returns the
        replications already done."""
        from leanflow.files import atomic_write
        from leanflow.read_checks import read_json

        d = self.directory
        manifest = d / "manifest.json"
        if manifest.is_file():
            try:
                old = read_json(manifest)
            except ResultsError:  # a damaged manifest: not this study's, so --force replaces it
                old = {}
            if old.get("study_sha256") != sha256 or old.get("outputs") != list(self.outputs):
                if not force:
                    raise LeanflowError(f"{d} holds results of a different optimisation (or a changed file); use "
                                        "another -o directory, or --force to replace them")  # fmt: skip
                shutil.rmtree(d / EVALUATIONS, ignore_errors=True)
        elif d.is_dir() and any(d.iterdir()):
            if not force:
                raise LeanflowError(f"{d} is not empty and holds no optimisation; use --force to reuse it")
            shutil.rmtree(d)
        (d / EVALUATIONS).mkdir(parents=True, exist_ok=True)
        text = json.dumps({"kind": "optimise", "study": describe, "study_sha256": sha256,
                           "outputs": list(self.outputs)}, indent=2)  # fmt: skip
        atomic_write(manifest, lambda p: p.write_text(text))
        for stray in (d / EVALUATIONS).glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        for f in sorted((d / EVALUATIONS).glob("*.json")):
            self._load(f)
        return len(self.rows)

    def _load(self, f: Path) -> None:
        try:
            item = json.loads(f.read_text())
            family, config, start, values = item["family"], int(item["config"]), int(item["start"]), item["values"]
            block = np.asarray(values, dtype=float).reshape(len(values), len(self.outputs))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LeanflowError(f"corrupt evaluation file {f} ({exc}); delete it to simulate it again") from None
        for j, row in enumerate(block):
            self.rows[(family, config, start + j)] = row

    def missing(self, family: str, config: int, start: int, count: int) -> list[int]:
        """The replications of start..start+count-1 not simulated yet."""
        return [r for r in range(start, start + count) if (family, config, r) not in self.rows]

    def add(self, task: CandidateTask, rows: list[list[float]]) -> None:
        """Keep a finished task's results, on disk first."""
        from leanflow.files import atomic_write

        name = f"{task.family}-{task.config:06d}-{task.start:06d}-{task.count:04d}.json"
        text = json.dumps({"family": task.family, "config": task.config, "start": task.start, "values": rows})
        atomic_write(self.directory / EVALUATIONS / name, lambda p: p.write_text(text))
        for j, row in enumerate(rows):
            self.rows[(task.family, task.config, task.start + j)] = np.asarray(row, dtype=float)

    def matrix(self, family: str, configs, start: int, count: int, metric: str) -> np.ndarray:
        """One metric for configs x replications start..start+count-1 (all must be simulated)."""
        k = self.outputs.index(metric)
        return np.array([[self.rows[(family, c, r)][k] for r in range(start, start + count)] for c in configs])

    def replications(self, family: str, config: int) -> int:
        """How many leading replications of a configuration are simulated."""
        r = 0
        while (family, config, r) in self.rows:
            r += 1
        return r
