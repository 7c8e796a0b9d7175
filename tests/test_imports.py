"""The replication path stays cheap to import: a sweep or Dask worker pays it for every process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from leanflow.scenario import load_scenario

HEAVY = ("pandas", "scipy.stats", "matplotlib", "rich", "ruamel.yaml")
MM1 = Path(__file__).resolve().parent.parent / "scenarios" / "queueing" / "mm1.yaml"


def test_one_replications_metrics_load_no_heavy_library() -> None:
    """A worker that gets a validated scenario and runs one replication's metrics loads none of them."""
    data = load_scenario(MM1, ["horizon_days=200", "warmup_days=20"]).model_dump(mode="json", by_alias=True)
    code = (
        "import json, sys\n"
        "from leanflow.experiment.point import run_point  # what a sweep worker unpickles\n"
        "from leanflow.experiment.replication import replication_metrics\n"
        "from leanflow.scenario.schema import Scenario\n"
        "sc = Scenario.model_validate(json.loads(sys.stdin.read()))\n"
        "metrics = replication_metrics(sc, next(iter(sc.plans)), 0)\n"
        "assert metrics['won'] > 0\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(data), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"loaded on the replication path: {out.stdout.strip()}"
