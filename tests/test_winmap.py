"""Where each family wins: the boundary rule, the frontier, and the map end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from leanflow.experiment.optimise_outputs import pareto
from leanflow.experiment.winmap import boundary

LINE = Path(__file__).resolve().parent / "data" / "two_role_line.yaml"


def test_boundary_finds_one_threshold() -> None:
    df = pd.DataFrame({"a.half_life": np.linspace(1, 48, 20), "b.skill": np.linspace(1.3, 1.0, 20)})
    wins = df["a.half_life"].to_numpy() < 9.5
    rule, accuracy, cuts = boundary(df, list(df), wins, "flow")
    assert accuracy == 1.0 and rule.startswith("flow wins when") and "under" in rule
    assert len(cuts) == 1 and cuts[0]["factor"] == "a.half_life" and 9.0 < cuts[0]["threshold"] < 10.0


def test_boundary_joins_two_conditions_with_or() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x.speed": rng.uniform(0, 10, 60), "y.skill": rng.uniform(1, 1.5, 60)})
    wins = (df["x.speed"] < 3).to_numpy() | (df["y.skill"] > 1.4).to_numpy()
    rule, accuracy, cuts = boundary(df, list(df), wins, "flow")
    assert accuracy == 1.0 and " or " in rule, rule
    assert {c["factor"] for c in cuts} == {"x.speed", "y.skill"}


def test_boundary_when_one_side_always_wins() -> None:
    df = pd.DataFrame({"x.speed": [1.0, 2.0]})
    assert boundary(df, ["x.speed"], np.array([False, False]), "flow") == ("flow wins nowhere in the mapped space",
                                                                           1.0, [])  # fmt: skip


def test_pareto_keeps_only_undominated_points() -> None:
    objective = np.array([10.0, 9.0, 10.0, 8.0])
    cycle = np.array([5.0, 4.0, 6.0, 7.0])
    cost = np.array([1.0, 1.0, 1.0, 1.0])
    assert pareto(objective, cycle, cost).tolist() == [True, True, False, False]


def test_pareto_counts_a_missing_cycle_time_as_the_worst() -> None:
    """A design that won nothing has no p85 cycle time; it must not reach the frontier through NaN."""
    objective = np.array([10.0, 0.0, np.nan])
    cycle = np.array([5.0, np.nan, np.nan])
    cost = np.array([1.0, 1.0, 1.0])
    assert pareto(objective, cycle, cost).tolist() == [True, False, False]


def test_the_map_end_to_end(tmp_path: Path) -> None:
    """Two families of the line (specialists vs one pooled crew) mapped over the arrival rate."""
    (tmp_path / "s.yaml").write_text(f"""\
name: line map
base: {LINE}
objective: {{metric: cycle_mean, goal: minimise}}
budget: {{headcount: 6}}
families:
  line:
    roles.cutters.headcount: {{low: 2, high: 3}}
    roles.welders.headcount: {{low: 3, high: 4}}
  pooled:
    policy.priority: [fifo, latest_stage_first]
selection: {{indifference: 0.0167, first_stage: 6, max_replications: 30, batch: 4}}
verdict_replications: 4
uncertainties:
  market.sources.inbound.per_week: {{low: 100, high: 160}}
design: {{kind: latin_hypercube, n: 5, seed: 2}}
winmap_replications: 3
""")
    done = subprocess.run([sys.executable, "-m", "leanflow.cli", "optimise", "s.yaml", "-j", "2", "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(tmp_path / "out" / "winmap.parquet")
    assert len(table) == 5 and {"difference", "ci_low", "ci_high", "winner"} <= set(table.columns)
    summary = json.loads((tmp_path / "out" / "winmap.json").read_text())
    assert summary["baseline"] == "line" and summary["challenger"] == "pooled"
    assert abs(sum(summary["shares"].values()) - 1) < 1e-12
    assert "where each wins (5 points" in done.stdout and "boundary:" in done.stdout
    report = subprocess.run([sys.executable, "-m", "leanflow.cli", "report", "out"], cwd=tmp_path,
                            capture_output=True, text=True)  # fmt: skip
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Best against best" in html and "The frontier" in html and "Where each family wins" in html
    assert summary["rule"] in html and html.count("data:image/png;base64,") == 3
