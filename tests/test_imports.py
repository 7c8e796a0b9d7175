"""The replication path stays cheap to import: a sweep or Dask worker pays it for every process."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "scipy.stats", "matplotlib", "rich", "ruamel.yaml")


def test_one_replications_metrics_import_no_heavy_library() -> None:
    """Running the metrics of one replication loads none of the heavy libraries."""
    code = (
        "import sys\n"
        "from leanflow.experiment.replication import replication_metrics\n"
        "from leanflow.scenario.schema import Scenario\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported on the replication path: {out.stdout.strip()}"
