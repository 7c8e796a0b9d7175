"""Tests of the sweep analysis: small real sweeps of the M/M/1 scenario, analysed and plotted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leanflow.errors import LeanflowError
from leanflow.experiment.sweep import run_sweep
from leanflow.report.sweep_analysis import (
    INDEX_COLUMNS,
    analyze,
    format_table,
    load_sweep_data,
    main_effects,
    main_effects_figure,
    point_stats,
    sensitivity_indices,
)
from leanflow.report.sweep_text import labelled
from leanflow.scenario.sweep_loader import load_sweep

pytest.importorskip("SALib")

ROOT = Path(__file__).resolve().parent.parent
MM1 = ROOT / "scenarios" / "queueing" / "mm1.yaml"
ARRIVALS = "market.sources.inbound.per_week"
EFFORT = "process.stages.0.effort_hours.mean"
HEADCOUNT = "plans.single.roles.server.headcount"
COMMON = f"base: {MM1}\nreplications: 3\noverrides: {{horizon_days: 300, warmup_days: 30}}\n"


def _sweep(directory: Path, name: str, body: str) -> Path:
    """Write a sweep file of the M/M/1 scenario, run it (one process), return its results directory."""
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / f"{name}.yaml"
    file.write_text(f"name: {name}\n{COMMON}{body}")
    out = directory / f"{name}-results"
    run_sweep(load_sweep(file), out, jobs=1)
    return out


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = f"levers:\n  {HEADCOUNT}: [1, 2]\nuncertainties:\n  {ARRIVALS}: {{low: 2, high: 5, levels: 3}}\n"
    return _sweep(tmp_path_factory.mktemp("grid"), "grid", body)


@pytest.fixture(scope="module")
def morris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = (
        f"uncertainties:\n  {ARRIVALS}: {{low: 2, high: 5.5}}\n  {EFFORT}: {{low: 12, high: 30}}\n"
        "design: {kind: morris, n: 4, seed: 3}\n"
    )
    return _sweep(tmp_path_factory.mktemp("morris"), "morris", body)


@pytest.fixture(scope="module")
def sobol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = (
        f"uncertainties:\n  {ARRIVALS}: {{low: 2, high: 5.5}}\n  {EFFORT}: {{low: 12, high: 30}}\n"
        "design: {kind: sobol_indices, n: 8, seed: 1}\n"
    )
    return _sweep(tmp_path_factory.mktemp("sobol"), "sobol", body)


def test_grid_writes_one_plot_per_output_and_mentions_each(grid: Path) -> None:
    outputs = json.loads((grid / "manifest.json").read_text())["outputs"]
    lines = analyze(grid)
    text = "\n".join(lines)
    for metric in outputs:
        assert (grid / "plots" / f"{metric}-factors.png").stat().st_size > 0
        assert f"  {labelled(metric)}" in lines  # the metric with its label and unit
        assert str(grid / "plots" / f"{metric}-factors.png") in text
    assert not list((grid / "plots").glob("*-sensitivity.png"))  # no indices for a grid
    assert "mu_star" not in text and "ST" not in text
    assert f"{HEADCOUNT}  lever" in text


def test_grid_main_effects_are_the_summary_means_averaged(grid: Path) -> None:
    data = load_sweep_data(grid)
    means = point_stats(data)
    summary = pd.read_csv(grid / "summary.csv")
    for metric in data.outputs:
        effects = main_effects(data, means, metric)
        rows = summary[summary["metric"] == metric]
        for factor in (HEADCOUNT, ARRIVALS):
            expected = rows.groupby(factor)["mean"].mean()
            got = effects[(effects["factor"] == factor) & (effects["plan"] == "single")].set_index("x")["mean"]
            assert list(got.index) == pytest.approx(list(expected.index.astype(float)))
            np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-8)
            assert (effects[effects["factor"] == factor]["points"] == len(data.design) // len(expected)).all()
        # the plotted line is that table: one panel per factor, the plan's line first
        fig = main_effects_figure(data, metric, effects)
        axes = fig.get_axes()
        assert [ax.get_xlabel() for ax in axes] == [HEADCOUNT, ARRIVALS]
        assert all(ax.get_ylabel() == metric for ax in axes)
        for ax, factor in zip(axes, (HEADCOUNT, ARRIVALS), strict=True):
            table = effects[effects["factor"] == factor].sort_values("x")
            (line,) = ax.get_lines()
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), table["x"].to_numpy())
            np.testing.assert_allclose(np.asarray(line.get_ydata(), float), table["mean"].to_numpy())


def test_grid_point_means_match_summary(grid: Path) -> None:
    data = load_sweep_data(grid)
    means = point_stats(data).sort_values(["point", "metric"]).reset_index(drop=True)
    summary = pd.read_csv(grid / "summary.csv").sort_values(["point", "metric"]).reset_index(drop=True)
    np.testing.assert_allclose(means["mean"], summary["mean"], rtol=1e-8)
    np.testing.assert_allclose(means["ci_half_width"], summary["ci_half_width"], rtol=1e-6, atol=1e-12)


def test_morris_ranks_both_factors_by_mu_star(morris: Path) -> None:
    data = load_sweep_data(morris)
    indices, notes = sensitivity_indices(data, point_stats(data))
    assert list(indices.columns) == ["metric", "plan", "rank", "factor", *INDEX_COLUMNS["morris"]]
    ranked = set(indices["metric"])
    assert {"won_per_week", "cycle_p50"} <= ranked
    for _, table in indices.groupby(["metric", "plan"]):
        assert sorted(table["factor"]) == sorted([ARRIVALS, EFFORT])
        assert list(table["rank"]) == [1, 2]
        mu_star = table["mu_star"].to_numpy()
        assert np.isfinite(table[["mu_star", "mu_star_conf", "sigma"]].to_numpy()).all()
        assert (np.diff(mu_star) <= 0).all()
    # throughput follows arrivals, which move it far more than effort does (utilisation stays < 1)
    won = indices[indices["metric"] == "won_per_week"]
    assert won.iloc[0]["factor"] == ARRIVALS
    # win_rate is 1 at every point of the M/M/1 model: a note, not a ranking
    assert "win_rate" not in ranked
    assert any(n.startswith("win_rate [single]") and "no factor moves it" in n for n in notes)


def test_morris_analyze_prints_tables_and_bar_charts(morris: Path) -> None:
    lines = analyze(morris)
    text = "\n".join(lines)
    header = next(i for i, line in enumerate(lines) if line == "won_per_week (won deals / week) [single]")
    columns = lines[header + 1].split()
    assert columns == ["rank", "factor", "mu_star", "mu_star_conf", "sigma"]
    first, second = lines[header + 2].split(), lines[header + 3].split()
    assert first[:2] == ["1", ARRIVALS] and second[:2] == ["2", EFFORT]
    assert float(first[2]) >= float(second[2])
    # columns aligned: every row of the table as wide as its header row, numbers right-aligned
    assert len({len(lines[header + k]) for k in (1, 2, 3)}) == 1
    assert (morris / "plots" / "won_per_week-sensitivity.png").stat().st_size > 0
    assert not (morris / "plots" / "win_rate-sensitivity.png").exists()
    assert "Morris screening" in text


def test_sobol_indices_table_has_s1_and_st(sobol: Path) -> None:
    data = load_sweep_data(sobol)
    indices, _ = sensitivity_indices(data, point_stats(data))
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    for _, table in indices.groupby(["metric", "plan"]):
        assert sorted(table["factor"]) == sorted([ARRIVALS, EFFORT])
        st = table["ST"].to_numpy()
        assert np.isfinite(st).all() and (np.diff(st) <= 0).all()
    lines = analyze(sobol)
    header = next(i for i, line in enumerate(lines) if line == "won_per_week (won deals / week) [single]")
    assert lines[header + 1].split() == ["rank", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    assert (sobol / "plots" / "won_per_week-sensitivity.png").is_file()
    # 32 points of a continuous sample: each factor is plotted in quantile bins
    effects = main_effects(data, point_stats(data), "won_per_week")
    assert set(effects["scale"]) == {"binned"}
    assert effects.groupby("factor")["points"].sum().eq(len(data.design)).all()
    assert np.isfinite(effects["mean"]).all() and np.isfinite(effects["ci_half_width"]).all()


def test_not_a_sweep_directory(tmp_path: Path) -> None:
    with pytest.raises(LeanflowError, match="no such directory"):
        analyze(tmp_path / "missing")
    with pytest.raises(LeanflowError, match="not a sweep results directory"):
        analyze(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"scenario": "mm1", "plans": ["single"]}))
    with pytest.raises(LeanflowError, match="not a sweep results directory"):
        analyze(tmp_path)


def test_unfinished_sweep_says_run_it_first(grid: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(grid, copy)
    (copy / "results.parquet").unlink()
    with pytest.raises(LeanflowError, match="run the sweep first"):
        analyze(copy)


def test_cli_analyze(grid: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leanflow.cli", "analyze", str(grid)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "won_per_week" in proc.stdout and "plots (" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "leanflow.cli", "analyze", str(grid / "plots")], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "not a sweep results directory" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_format_table_aligns_columns() -> None:
    lines = format_table(["rank", "factor", "x"], [["1", "a.b", "10.5"], ["2", "longer.path", "n/a"]])
    assert lines == [
        "rank  factor          x",
        "   1  a.b          10.5",
        "   2  longer.path   n/a",
    ]
