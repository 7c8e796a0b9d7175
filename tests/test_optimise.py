"""`leanflow optimise` end to end, and selection on a queueing line whose best head split is known.

The line: one arrival an hour through two stations (mean service 1 h, then 2 h),
six heads to split. By Erlang C the mean wait is 0.51 h with 2 + 4 heads and
0.93 h with 3 + 3; 1 + 5 and 4 + 2 are unstable (utilisation 1). So 2 + 4 is
the best split on mean cycle time, by 0.43 h.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leanflow.experiment.replication import replication_metrics
from leanflow.experiment.selection import select_best
from leanflow.scenario import load_scenario

LINE = Path(__file__).resolve().parent / "data" / "two_role_line.yaml"
STUDY = f"""\
name: best split of six heads
base: {LINE}
objective: {{metric: cycle_mean, goal: minimise}}
budget: {{headcount: 6}}
families:
  line:
    roles.cutters.headcount: {{low: 1, high: 4}}
    roles.welders.headcount: {{low: 1, high: 5}}
selection: {{indifference: 0.0167, first_stage: 8, max_replications: 60, batch: 4}}
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("opt")
    (d / "study.yaml").write_text(STUDY)
    done = _cli("optimise", "study.yaml", "-j", "2", "-o", "out", cwd=d)
    assert done.returncode == 0, done.stderr
    return d


def test_optimise_selects_the_known_best_split_and_writes_its_files(study: Path) -> None:
    out = study / "out"
    for name in ("candidates.parquet", "best.csv", "best.yaml", "frontier.csv", "selection.json"):
        assert (out / name).is_file(), name
    best = pd.read_csv(out / "best.csv")
    assert (best.loc[0, "roles.cutters.headcount"], best.loc[0, "roles.welders.headcount"]) == (2, 4)
    sel = json.loads((out / "selection.json").read_text())["families"]["line"]
    assert sel["candidates"] == 4 and sel["over_budget"] == 16
    assert sel["guarantee"].startswith("with probability at least 95%")
    candidates = pd.read_parquet(out / "candidates.parquet")
    assert len(candidates) == sel["replications"]
    assert set(pd.read_csv(out / "frontier.csv")["roles.cutters.headcount"]) >= {2}


def test_best_yaml_runs_the_selected_design(study: Path) -> None:
    sc = load_scenario(study / "out" / "best.yaml")
    roles = sc.plans["line"].roles
    assert (roles["cutters"].headcount, roles["welders"].headcount) == (2, 4)
    done = _cli("run", "out/best.yaml", "-n", "2", "-o", "rerun", cwd=study)
    assert done.returncode == 0, done.stderr


def test_a_resumed_run_simulates_only_what_is_missing_and_decides_the_same(study: Path) -> None:
    out = study / "out"
    before = (out / "selection.json").read_text(), (out / "best.csv").read_text()
    files = sorted((out / "evaluations").glob("*.json"))
    for f in files[len(files) // 2 :]:  # as if killed half way
        f.unlink()
    done = _cli("optimise", "study.yaml", "-j", "1", "-o", "out", cwd=study)
    assert done.returncode == 0, done.stderr
    assert ((out / "selection.json").read_text(), (out / "best.csv").read_text()) == before
    assert len(list((out / "evaluations").glob("*.json"))) >= len(files) // 2


def test_another_study_in_the_same_directory_is_refused(study: Path) -> None:
    (study / "other.yaml").write_text(STUDY.replace("six heads", "6 heads"))
    done = _cli("optimise", "other.yaml", "-o", "out", cwd=study)
    assert done.returncode == 2 and "different optimisation" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_file_is_one_located_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(STUDY.replace("headcount: 6}", "headcount: 60}"))
    done = _cli("optimise", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "no configuration meets the budget of 60 heads" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_family_too_large_to_enumerate_is_searched_with_a_seed(tmp_path: Path) -> None:
    """With enumeration off, TPE proposes splits (over-budget ones are pruned); the best found go to selection,
    and the same seed gives the same search."""
    text = STUDY.replace("batch: 4}", "batch: 4}\nsearch: {enumerate_up_to: 1, trials: 40, replications: 3, keep: 3}")
    (tmp_path / "s.yaml").write_text(text)
    runs = []
    for out in ("a", "b"):
        done = _cli("optimise", "s.yaml", "-j", "2", "-o", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads((tmp_path / out / "selection.json").read_text())["families"]["line"])
    assert runs[0] == runs[1]
    sel = runs[0]
    assert sel["searched"] and sel["candidates"] <= 3 and sel["over_budget"] > 0
    assert sel["selected_values"] == {"roles.cutters.headcount": 2, "roles.welders.headcount": 4}


def test_probability_of_correct_selection_on_the_line() -> None:
    """200 macro-replications (independent seeds) of selecting between 2 + 4 and 3 + 3 heads with delta 0.4 h
    (the true gap is 0.43 h): the one-sided 95% Clopper-Pearson lower bound of the share selecting 2 + 4 is at
    least 1 - alpha."""
    base = load_scenario(LINE)
    macro, correct = 200, 0
    for m in range(macro):
        scenarios = []
        for a, b in ((2, 4), (3, 3)):
            data = base.model_dump(by_alias=True)
            data["plans"]["line"]["roles"]["cutters"]["headcount"] = a
            data["plans"]["line"]["roles"]["welders"]["headcount"] = b
            data["seed"] = 1000 + m
            scenarios.append(type(base).model_validate(data))

        def sample(idx, start, count, scenarios=scenarios):
            return -np.array([[replication_metrics(scenarios[i], "line", r)["cycle_mean"]
                               for r in range(start, start + count)] for i in idx])  # fmt: skip

        result = select_best(sample, 2, alpha=0.05, delta=0.4 / 24, n0=8, max_replications=60, batch=4)
        correct += result.best == 0 and not result.truncated
    lower = stats.beta.ppf(0.05, correct, macro - correct + 1) if correct else 0.0
    assert lower >= 0.95, f"{correct}/{macro} correct, lower bound {lower:.3f}"


def test_the_same_selection_on_dask_and_on_one_process(tmp_path: Path) -> None:
    """Same seed, same selection and the same numbers, whatever the executor and the number of workers."""
    distributed = pytest.importorskip("dask.distributed")
    from leanflow.experiment.optimise import optimise
    from leanflow.experiment.optimise_outputs import write_outputs
    from leanflow.scenario.optimise_loader import load_optimisation

    (tmp_path / "s.yaml").write_text(STUDY)
    loaded = load_optimisation(tmp_path / "s.yaml")
    write_outputs(optimise(loaded, tmp_path / "one", jobs=1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        write_outputs(optimise(loaded, tmp_path / "dask", scheduler=c.scheduler_address))
    for name in ("selection.json", "best.csv", "frontier.csv", "best.yaml"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "dask" / name).read_text(), name
    one = pd.read_parquet(tmp_path / "one" / "candidates.parquet")
    assert one.equals(pd.read_parquet(tmp_path / "dask" / "candidates.parquet"))


def test_killed_mid_run_it_resumes_to_the_same_answer(tmp_path: Path, study: Path) -> None:
    """kill -9 once some tasks are on disk; the same command finishes the job with the uninterrupted answer."""
    import signal
    import time

    (tmp_path / "study.yaml").write_text(STUDY)
    proc = subprocess.Popen([sys.executable, "-m", "leanflow.cli", "optimise", "study.yaml", "-j", "2", "-o", "out"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    evaluations = tmp_path / "out" / "evaluations"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(evaluations.glob("*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out" / "selection.json").exists(), "finished before the kill: the test proves nothing"
    done = _cli("optimise", "study.yaml", "-j", "2", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("selection.json", "best.csv"):
        assert (tmp_path / "out" / name).read_text() == (study / "out" / name).read_text(), name
