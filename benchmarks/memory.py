"""Peak memory and wall time of whole `leanflow run` commands, each in a fresh process.

Usage: python benchmarks/memory.py [SCENARIO ...]
Defaults: benchmarks/million.yaml (a million leads, one replication, -j 1) and
scenarios/default.yaml (2 plans x 30 replications on all cores). Target: the
million-lead run peaks under 1 GB; the default scenario finishes in under 60 s.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = [
    (ROOT / "benchmarks" / "million.yaml", ["-j", "1"]),
    (ROOT / "scenarios" / "default.yaml", []),
]


def measure(scenario: Path, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, largest child process) of one run."""
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "leanflow.cli", "run", str(scenario), *extra, "-o", out],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    runs = [(Path(a), []) for a in sys.argv[1:]] or DEFAULT_RUNS
    for scenario, extra in runs:
        wall, peak = measure(scenario, extra)
        print(f"{scenario.name:20s} {' '.join(extra):6s} wall {wall:7.1f} s   peak RSS {peak:7.0f} MB")


if __name__ == "__main__":
    main()
