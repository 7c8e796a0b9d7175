"""Sweeps: located errors, determinism, resume after SIGKILL, Dask, atomic writes, refusing another sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from leanflow.errors import LeanflowError, ScenarioError
from leanflow.experiment.sweep import run_sweep
from leanflow.files import atomic_write
from leanflow.scenario.sweep_loader import load_sweep

ROOT = Path(__file__).resolve().parent.parent
MM1 = ROOT / "scenarios" / "queueing" / "mm1.yaml"

SWEEP = f"""\
name: small sweep
base: {MM1}
replications: 2
levers:
  plans.single.roles.server.headcount: [1, 2]
uncertainties:
  market.sources.inbound.per_week: {{low: 2, high: 5, levels: 3}}
design: {{kind: grid}}
outputs: [won_per_week, cycle_mean, queue_days_server]
overrides: {{horizon_days: 300, warmup_days: 30}}
"""


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    return [str(e) for e in info.value.errors]


def line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("plans.single.roles.server.headcount: [1, 2]", "plans.single.roles.servr.headcount: [1, 2]",
         "servr", "did you mean"),
        ("plans.single.roles.server.headcount: [1, 2]", "plans.single.roles.server.headcount: [1, 0]",
         "headcount", "greater than or equal to 1"),
        ("market.sources.inbound.per_week: {low: 2, high: 5, levels: 3}",
         "market.sources.inbound.per_week: {low: 5, high: 2, levels: 3}", "per_week", "above high"),
        ("outputs: [won_per_week,", "outputs: [won_per_wek,", "outputs", "did you mean 'won_per_week'"),
        ("replications: 2", "replicatons: 2", "replicatons", "did you mean 'replications'"),
        ("design: {kind: grid}", "design: {kind: gird}", "design", "grid"),
    ],
)  # fmt: skip
def test_bad_sweeps_give_located_errors(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    text = SWEEP.replace(old, new)
    path = write(tmp_path, text)
    errors = errors_of(path)
    hit = next(e for e in errors if needle in e)
    assert hit.startswith(f"{path}:{line_of(text, needle)}: "), errors
    assert message in hit


def test_per_role_and_per_stage_outputs_follow_the_catalogue(tmp_path: Path) -> None:
    """Role metrics take role names and stage metrics stage names, whatever their prefix."""
    stage = load_sweep(write(tmp_path, SWEEP)).base.process.stages[0].name
    good = SWEEP.replace("queue_days_server]", f"queue_days_server, utilisation_deal_server, win_from_{stage}]")
    outputs = load_sweep(write(tmp_path, good, "good.yaml")).sweep.outputs
    assert outputs[-2:] == ["utilisation_deal_server", f"win_from_{stage}"]
    bad = SWEEP.replace("queue_days_server]", f"queue_days_server, utilisation_deal_{stage}]")
    assert any(f"unknown metric 'utilisation_deal_{stage}'" in e for e in errors_of(write(tmp_path, bad, "bad.yaml")))


def test_a_factor_may_set_a_key_the_base_leaves_to_its_default(tmp_path: Path) -> None:
    """``proficiency`` is not written in the base file, but the schema has it: the path is valid; a typo is not."""
    text = SWEEP.replace("market.sources.inbound.per_week: {low: 2, high: 5, levels: 3}",
                         "plans.single.roles.server.proficiency.odds: {low: 1, high: 1.3, levels: 3}")  # fmt: skip
    assert load_sweep(write(tmp_path, text)).sweep.uncertainties
    typo = text.replace("proficiency.odds", "proficency.odds")
    errors = errors_of(write(tmp_path, typo, "typo.yaml"))
    assert any("no 'proficency' in plans.single.roles.server" in e for e in errors), errors


def test_missing_base_is_located(tmp_path: Path) -> None:
    text = SWEEP.replace(str(MM1), "nowhere.yaml")
    errors = errors_of(write(tmp_path, text))
    assert errors[0].endswith("no scenario file " + str(tmp_path / "nowhere.yaml"))
    assert f":{line_of(text, 'base:')}: base:" in errors[0]


def test_sweep_cli_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, SWEEP.replace("[1, 2]", "[1, -2]"))
    proc = subprocess.run([sys.executable, "-m", "leanflow.cli", "sweep", str(path), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "headcount" in proc.stdout + proc.stderr


def test_results_are_tidy_and_the_same_for_any_number_of_jobs(tmp_path: Path) -> None:
    loaded = load_sweep(write(tmp_path, SWEEP))
    one = run_sweep(loaded, tmp_path / "j1", jobs=1)
    run_sweep(loaded, tmp_path / "j2", jobs=2)
    assert one.points == 6
    a = pd.read_parquet(tmp_path / "j1" / "results.parquet")
    b = pd.read_parquet(tmp_path / "j2" / "results.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 6 * 1 * 2  # points x plans x replications
    assert list(a.columns[:3]) == ["point", "plans.single.roles.server.headcount", "market.sources.inbound.per_week"]
    summary = pd.read_csv(tmp_path / "j1" / "summary.csv")
    assert {"mean", "sd", "ci_half_width", "n"} <= set(summary.columns)
    design = pd.read_parquet(tmp_path / "j1" / "design.parquet")
    assert len(design) == 6


def test_rerun_skips_finished_points_and_cleans_stray_temp_files(tmp_path: Path) -> None:
    loaded = load_sweep(write(tmp_path, SWEEP))
    out = tmp_path / "res"
    run_sweep(loaded, out, jobs=1)
    first = pd.read_parquet(out / "results.parquet")
    (out / "points" / "point-000004.parquet").unlink()
    stray = out / "points" / ".point-000004.parquet.abc.tmp"
    stray.write_bytes(b"partial")
    again = run_sweep(loaded, out, jobs=1)
    assert again.resumed == 5
    assert not stray.exists()
    pd.testing.assert_frame_equal(first, pd.read_parquet(out / "results.parquet"))


def test_another_sweeps_directory_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "res"
    run_sweep(load_sweep(write(tmp_path, SWEEP)), out, jobs=1)
    other = load_sweep(write(tmp_path, SWEEP.replace("replications: 2", "replications: 3"), "other.yaml"))
    with pytest.raises(LeanflowError, match="different sweep"):
        run_sweep(other, out, jobs=1)
    outcome = run_sweep(other, out, jobs=1, force=True)
    assert outcome.resumed == 0
    assert len(pd.read_parquet(out / "results.parquet")) == 6 * 3


def test_atomic_write_leaves_nothing_behind_on_a_crash(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"

    def crash(path: Path) -> None:
        path.write_bytes(b"half a file")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert list(tmp_path.iterdir()) == []


SLOW_SWEEP = SWEEP.replace("replications: 2", "replications: 3").replace(
    "levels: 3}", "levels: 8}").replace("horizon_days: 300", "horizon_days: 4000")  # fmt: skip


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_gives_identical_results(tmp_path: Path) -> None:
    path = write(tmp_path, SLOW_SWEEP)
    reference = tmp_path / "reference"
    run_sweep(load_sweep(path), reference, jobs=2)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "leanflow.cli", "sweep", str(path), "-j", "2", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "points").glob("point-*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its workers, at once
    proc.wait()
    done = list((out / "points").glob("point-*.parquet"))
    assert 3 <= len(done) < 16, "the kill came too late to test resuming"
    for f in done:
        pd.read_parquet(f)  # every file on disk is complete
    assert not (out / "results.parquet").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "already done" in rerun.stdout
    assert (out / "results.parquet").read_bytes() == (reference / "results.parquet").read_bytes()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_results_as_the_process_pool(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    loaded = load_sweep(write(tmp_path, SWEEP))
    run_sweep(loaded, tmp_path / "pool", jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_sweep(loaded, tmp_path / "dask", scheduler=cluster.scheduler_address)
    a = (tmp_path / "pool" / "results.parquet").read_bytes()
    assert a == (tmp_path / "dask" / "results.parquet").read_bytes()
