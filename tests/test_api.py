"""The public Python API end to end, as a notebook uses it: import leanflow as lf; lf.run(...)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import leanflow as lf
from leanflow.errors import LeanflowError, ResultsError, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
SHORT = ["horizon_days=300", "warmup_days=120"]


@pytest.fixture(scope="module")
def results() -> lf.Results:
    return lf.run(DEFAULT, replications=3, jobs=2, set=SHORT, progress=False)


def test_the_package_lists_its_api() -> None:
    assert {"run", "compare", "load_scenario", "load_results", "Results", "Verdict"} <= set(dir(lf))
    with pytest.raises(AttributeError):
        _ = lf.no_such_thing


def test_run_gives_the_tables_and_the_verdict(results: lf.Results) -> None:
    assert results.plans == ["resource_optimised", "flow_optimised"]
    assert len(results.summary) == 2 * 3 and {"plan", "replication", "won_revenue_per_week"} <= set(results.summary)
    assert not results.deals.empty and not results.weekly.empty
    table = results.verdict.table
    assert isinstance(table, pd.DataFrame) and set(table["plan"]) == {"flow_optimised"}
    assert results.verdict.headline.startswith("flow_optimised: ")
    assert "won revenue per week" in results.verdict.headline and "nan" not in results.verdict.headline
    assert results.verdict.details is not None  # every table behind it


def test_the_api_gives_the_cli_numbers(results: lf.Results, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "cli"
    args = ["run", str(DEFAULT), "-n", "3", "-j", "1", "-o", str(out), *[x for s in SHORT for x in ("--set", s)]]
    proc = subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(out / "summary.csv")
    ours = results.summary.assign(plan=results.summary["plan"].astype(str))
    pd.testing.assert_frame_equal(cli[ours.columns], ours, check_dtype=False, rtol=1e-9)


def test_save_and_load_results_round_trip(results: lf.Results, tmp_path: Path) -> None:
    path = results.save(tmp_path / "saved")
    assert (path / "summary.csv").is_file() and (path / "verdict.json").is_file()
    back = lf.load_results(path)
    assert back.plans == results.plans and back.replications == 3
    pd.testing.assert_frame_equal(back.summary[["plan", "replication", "won_revenue_per_week"]].astype({"plan": str}),
                                  results.summary[["plan", "replication", "won_revenue_per_week"]]
                                  .astype({"plan": str}), rtol=1e-9)  # fmt: skip
    assert back.verdict.headline == results.verdict.headline
    with pytest.raises(ResultsError):
        lf.load_results(tmp_path / "nothing-here")


def test_html_and_charts(results: lf.Results, tmp_path: Path) -> None:
    page = results.to_html(tmp_path / "report.html")
    text = page.read_text()
    assert "<img" in text and results.scenario.name in text and ">nan<" not in text
    words = " ".join(re.sub("<[^>]+>", " ", text).split())
    assert "replications 3 (the scenario file says 30)" in words  # what the run used, beside the file's own
    assert "{'" not in words and "[{" not in words and "band,." not in words  # no Python reprs, whole captions
    assert "command made from Python (the leanflow API)" in words  # not the interpreter's argv
    assert "funnel" in lf.Results.chart_names()
    assert isinstance(results.chart("funnel"), Figure)
    with pytest.raises(LeanflowError, match="no chart 'funel'"):
        results.chart("funel")


def test_the_numbers_do_not_depend_on_the_jobs(results: lf.Results) -> None:
    again = lf.run(DEFAULT, replications=3, jobs=1, set=SHORT, progress=False)
    pd.testing.assert_frame_equal(again.summary, results.summary)


def test_load_scenario_from_a_dict_and_a_loaded_scenario_with_overrides() -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    sc = lf.load_scenario(data, set=["seed=5"])
    assert sc.seed == 5 and sc.name == lf.load_scenario(DEFAULT).name
    one = lf.run(sc, replications=1, jobs=1, set=[*SHORT, "seed=6"], progress=False)
    assert one.scenario.seed == 6 and one.scenario.horizon_days == 300
    assert math.isfinite(float(one.summary["won_revenue_per_week"].iloc[0]))


def test_one_plan_has_no_verdict() -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["plans"] = {"resource_optimised": data["plans"]["resource_optimised"]}
    data.update(horizon_days=300, warmup_days=120)
    r = lf.run(data, replications=1, jobs=1, progress=False)
    assert r.verdict is None and r.plans == ["resource_optimised"]


def test_compare_pairs_two_scenarios(tmp_path: Path) -> None:
    c = lf.compare(DEFAULT, DEFAULT, replications=2, jobs=2, set=SHORT, progress=False, names=("a", "b"))
    assert c.plans == ["a:resource_optimised", "a:flow_optimised", "b:resource_optimised", "b:flow_optimised"]
    same = c.summary.set_index(["plan", "replication"])["won_revenue_per_week"]
    assert same["a:resource_optimised"].tolist() == same["b:resource_optimised"].tolist()  # one seed: the same
    pairs = c.verdict.table[["baseline", "plan"]].drop_duplicates().values.tolist()
    assert pairs == [["a:resource_optimised", "b:resource_optimised"], ["a:flow_optimised", "b:flow_optimised"]]
    from leanflow.metrics.verdict import ci_level

    assert ci_level(c.verdict.table) == "90% joint"  # Bonferroni over the two pairs, said so
    assert any("2 pairs, each plan against its own baseline" in n for n in c.verdict.notes)


def test_compare_without_shared_plan_names_compares_everything_with_the_first() -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data.update(horizon_days=300, warmup_days=120)
    other = {**data, "plans": {"renamed": data["plans"]["flow_optimised"]}}
    c = lf.compare(data, other, replications=2, jobs=2, progress=False)
    assert set(c.verdict.table["baseline"]) == {"A:resource_optimised"}
    assert set(c.verdict.table["plan"]) == {"A:flow_optimised", "B:renamed"}


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, 10_001])
def test_bad_replications_are_one_clear_error(bad) -> None:
    with pytest.raises(LeanflowError, match="replications must be a whole number"):
        lf.run(DEFAULT, replications=bad, progress=False)


def test_a_bad_scenario_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        lf.run(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="horizon_days"):
        lf.load_scenario({"name": "x"})


def test_progress_shows_on_a_terminal_and_is_silent_when_off_or_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from leanflow.experiment import executor

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert executor._progress(3, "replications") is not None
    with executor.show_progress(False):
        assert executor._progress(3, "replications") is None
    monkeypatch.setenv("CI", "true")
    assert executor._progress(3, "replications") is None


def test_off_a_terminal_a_long_run_says_it_is_alive(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import sys

    from leanflow.experiment import executor

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert isinstance(executor._progress(3, "sweep"), executor.Heartbeat)
    beat = executor.Heartbeat(3, "sweep", every=0.0)
    beat.start()
    for _ in range(3):
        beat.advance()
    beat.stop()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("sweep: 1 of 3 done") and lines[1].startswith("sweep: 2 of 3")
    assert lines[2].startswith("sweep: 3 done in ")  # no estimate once all are done: the closing line instead


def test_sweep_runs_resumes_and_reads_back(tmp_path: Path) -> None:
    from test_sweep import SWEEP

    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    s = lf.sweep(path, tmp_path / "out", jobs=2, progress=False)
    assert s.points == 6 and s.resumed == 0 and len(s.design) == 6
    assert {"point", "plan", "replication", "won_per_week"} <= set(s.results.columns)
    assert len(s.results) == 6 * 2 and not s.summary.empty
    again = lf.sweep(path, tmp_path / "out", jobs=1, progress=False)  # every point done: nothing runs
    assert again.resumed == 6
    pd.testing.assert_frame_equal(again.results, s.results)
    back = lf.load_sweep_results(tmp_path / "out")
    pd.testing.assert_frame_equal(back.results, s.results)
    assert any("won_per_week" in line for line in back.analyze())
