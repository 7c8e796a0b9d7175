"""The forecast: Monte Carlo from today's pipeline, its quantiles and split, determinism, and the command."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leanflow.errors import LeanflowError
from leanflow.experiment.forecast import SERIES, forecast
from leanflow.scenario import load_scenario_text

ROOT = Path(__file__).resolve().parent.parent
START, UNTIL = date(2025, 1, 6), date(2025, 3, 3)  # 56 days: 9 dates

SCENARIO = """
name: forecast check
horizon_days: 300
warmup_days: 100
seed: 41
market:
  segments:
    smb: {share: 0.7, deal_value: {dist: lognormal, median: 8000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 3}}
    mid: {share: 0.3, deal_value: {dist: gamma, mean: 30000, cv: 0.5}, fit: {dist: beta, a: 2, b: 2}}
  sources:
    inbound: {kind: poisson, per_week: 25}
  buyer: {cold_half_life_days: 20, stale_after_days: 40}
process:
  stages:
    - {name: qualify, effort_hours: {dist: constant, value: 1}, buyer_days: {dist: exponential, mean: 3},
       gate: {noise: 0.2}, advance: {base: 0.7}}
    - {name: demo, effort_hours: {dist: gamma, mean: 3, cv: 0.5}, buyer_days: {dist: exponential, mean: 8},
       advance: {base: 0.5, per_fit: 0.4}, lost_share: 0.5}
    - {name: close, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: gamma, mean: 12, cv: 0.7},
       advance: {base: 0.4, per_fit: 0.5}}
plans:
  generalists:
    roles:
      ae: {headcount: 4, selling_hours_per_week: 25, owns_deals: true, works: [qualify, demo, close]}
    policy: {gate_threshold: 0.3}
  split:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 25, works: [qualify]}
      ae: {headcount: 2, selling_hours_per_week: 25, owns_deals: true, works: [demo, close], wip_limit_per_person: 8}
    policy: {gate_threshold: 0.4, handoff_hours: 0.5}
"""
OPEN = "id,stage,age_days,value,owner\n" + "".join(
    f"o{i},{('qualify', 'demo', 'close')[i % 3]},{2 + 3 * (i % 3) + i % 5},{5000 + 700 * i},{'ab'[i % 2]}\n"
    for i in range(30)
)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario_text(SCENARIO, "forecast.yaml")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "open.csv"
    path.write_text(OPEN)
    return path


@pytest.fixture(scope="module")
def result(scenario, pipeline):
    return forecast(scenario, pipeline, START, UNTIL, n=12, jobs=1, target=150_000)


def test_quantiles_are_ordered_and_series_add_up(result) -> None:
    assert result.dates[0] == START and result.dates[-1] == UNTIL and len(result.dates) == 9
    for plan in result.plans:
        paths = result.paths[plan]
        assert paths.shape == (12, len(SERIES), 9)
        assert (np.diff(paths, axis=2) >= 0).all()  # cumulative
        assert (paths[:, :, 0] == 0).all()  # nothing won before the start
        np.testing.assert_allclose(paths[:, 0], paths[:, 2] + paths[:, 3])  # today's deals + new ones
        q = result.quantiles(plan)
        assert (q[0] <= q[1]).all() and (q[1] <= q[2]).all()
        assert paths[:, 2, -1].max() > 0  # today's deals do win


def test_summary_and_table(result) -> None:
    s = result.summary()
    assert s["n"] == 12 and s["seed"] == 41 and s["horizon_days"] == 56 and s["target"] == 150_000
    assert s["pipeline"]["deals"] == 30 and s["pipeline"]["by_stage"] == {"qualify": 10, "demo": 10, "close": 10}
    for plan in result.plans:
        p = s["plans"][plan]
        assert p["won_revenue"]["p10"] <= p["won_revenue"]["p50"] <= p["won_revenue"]["p90"]
        hits = (result.paths[plan][:, 0, -1] >= 150_000).mean()
        assert p["p_target"] == hits and p["p_target_ci90"][0] <= hits <= p["p_target_ci90"][1]
        assert sum(p["pipeline_deals"].values()) == 30
    table = result.table()
    assert list(table.columns) == ["plan", "date", "quantile", *SERIES]
    assert len(table) == 2 * 9 * 3 and set(table["quantile"]) == {"p10", "p50", "p90"}


def test_same_numbers_whatever_the_jobs(scenario, pipeline, result) -> None:
    again = forecast(scenario, pipeline, START, UNTIL, n=12, jobs=2, target=150_000)
    for plan in result.plans:
        np.testing.assert_array_equal(again.paths[plan], result.paths[plan])
    assert again.summary() == result.summary()


def test_rows_plans_and_bad_requests(scenario) -> None:
    rows = [{"id": "a", "stage": "close", "age_days": 5, "value": 20000.0}]
    one = forecast(scenario, rows, START, date(2025, 1, 20), n=3, plans=["split"], jobs=1)
    assert one.plans == ("split",) and one.summary()["plans"]["split"]["p_target"] is None
    with pytest.raises(LeanflowError, match="must be after"):
        forecast(scenario, rows, START, START, n=3, jobs=1)
    with pytest.raises(LeanflowError, match=r"no plan 'splt'.*did you mean 'split'"):
        forecast(scenario, rows, START, UNTIL, n=3, plans=["splt"], jobs=1)


def leanflow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def test_forecast_command_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "open.csv").write_text(OPEN)
    proc = leanflow("forecast", "s.yaml", "--pipeline", "open.csv", "--from", "2025-01-06", "--until", "2025-02-03",
                    "--target", "100000", "-n", "4", "-j", "1", "-o", "out", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "won revenue P10" in proc.stdout and "generalists" in proc.stdout and "Traceback" not in proc.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["forecast.csv", "forecast.html", "forecast.json", "forecast.png"]
    table = pd.read_csv(out / "forecast.csv")
    assert len(table) == 2 * 5 * 3
    summary = json.loads((out / "forecast.json").read_text())
    assert summary["n"] == 4 and summary["target"] == 100000 and set(summary["plans"]) == {"generalists", "split"}
    html = (out / "forecast.html").read_text()
    assert "data:image/png;base64," in html and "http" not in html.replace("http://www.w3.org", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01", "--until", "2025-02-03"], "--from: not a date: '2025-13-01'"),
        (["--from", "2025-01-01", "--until", "2025-02-03", "--old", "stal"], "--old: 'stal' is not restart or stale"),
        (["--from", "2025-01-06", "--until", "2025-02-03", "--pipeline", "gone.csv"], "gone.csv:1: file not found"),
        (["--from", "2025-01-06", "--until", "2025-02-03", "-o", "s.yaml/out"], "cannot write to"),
    ],
)
def test_forecast_command_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    proc = leanflow("forecast", "s.yaml", *args, "-n", "2", "-j", "1", cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
