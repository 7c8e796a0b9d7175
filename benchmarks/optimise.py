"""Optimisation benchmark: configurations and replications per minute, on all cores against one.

Usage: python benchmarks/optimise.py [--study experiments/best_vs_best.yaml] [--horizon 200] [--repeat 3]
                                    [--first-stage 5] [--cap 10]

The study is the shipped default one without its win map and verdict (only the
selection is timed), shortened to ``--horizon`` days (a fifth of them warm-up),
with ``--first-stage`` replications per configuration and at most ``--cap``
per design, so a round takes minutes. Each round runs the selection with ``-j 1`` and then
``-j 2``, each in a fresh process and a fresh results directory, and reads the
counts from ``selection.json``. Prints min / median / max over the rounds of
configurations and replications per minute, and the per-round speed-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def study_text(study: Path, horizon: float, first_stage: int, cap: int) -> str:
    """The study with an absolute base, a short horizon, a small replication budget, and no win map."""
    from leanflow.scenario.yaml_source import read_yaml

    data, _ = read_yaml(study)
    data["base"] = str((study.parent / data["base"]).resolve())
    data["overrides"] = {**data.get("overrides", {}), "horizon_days": horizon, "warmup_days": horizon / 5}
    data["selection"] = {**data.get("selection", {}), "first_stage": first_stage, "max_replications": cap}
    data.pop("uncertainties", None)
    data.pop("design", None)
    return json.dumps(data)  # JSON is YAML


SELECT_ONLY = """
import sys
from pathlib import Path
from leanflow.experiment.optimise import optimise
from leanflow.experiment.optimise_outputs import write_outputs
from leanflow.scenario.optimise_loader import load_optimisation
study = optimise(load_optimisation(sys.argv[1]), Path(sys.argv[2]), jobs=int(sys.argv[3]))
write_outputs(study)
"""


def one_run(study: Path, jobs: int, workdir: Path) -> tuple[float, int, int]:
    """Wall seconds, configurations and replications of one selection in a fresh process."""
    out = workdir / f"j{jobs}"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", SELECT_ONLY, str(study), str(out), str(jobs)], check=True)
    seconds = time.perf_counter() - t0
    families = json.loads((out / "selection.json").read_text())["families"].values()
    return seconds, sum(f["candidates"] for f in families), sum(f.get("replications", 0) for f in families)


def spread(values: list[float]) -> str:
    s = sorted(values)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    return f"{s[0]:,.1f} / {median:,.1f} / {s[-1]:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, default=ROOT / "experiments" / "best_vs_best.yaml")
    parser.add_argument("--horizon", type=float, default=200.0, help="days simulated (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--first-stage", type=int, default=5, help="first-stage replications (default 5)")
    parser.add_argument("--cap", type=int, default=10, help="replications per design at most (default 10)")
    args = parser.parse_args()
    rates: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study.yaml"
        study.write_text(study_text(args.study, args.horizon, args.first_stage, args.cap))
        for r in range(args.repeat):
            for jobs in (1, 2):
                seconds, configs, reps = one_run(study, jobs, Path(tmp) / f"round{r}")
                rates[jobs].append((seconds, configs / seconds * 60, reps / seconds * 60))
    print(f"selection of {args.study.name} at a {args.horizon:g}-day horizon, first stage {args.first_stage}, "
          f"cap {args.cap}, {args.repeat} rounds "
          f"(min / median / max); {configs} configurations, {reps} replications per run")  # fmt: skip
    for jobs, runs in rates.items():
        print(f"  -j {jobs}: {spread([x[0] for x in runs])} s; configurations per minute "
              f"{spread([x[1] for x in runs])}; replications per minute {spread([x[2] for x in runs])}")
    print(f"  speed-up -j 2 / -j 1 per round: {spread([a[0] / b[0] for a, b in zip(rates[1], rates[2], strict=True)])}")


if __name__ == "__main__":
    main()
