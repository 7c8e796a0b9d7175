"""The studies' Python API (``lf.optimise``, ``lf.forecast``) gives what the CLI writes, and fails in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import leanflow as lf
from leanflow.errors import LeanflowError

ROOT = Path(__file__).resolve().parent.parent
LINE = ROOT / "tests" / "data" / "two_role_line.yaml"
STUDY = f"""\
name: two families of a line
base: {LINE}
objective: {{metric: cycle_mean, goal: minimise}}
budget: {{headcount: 6}}
families:
  line: {{roles.cutters.headcount: {{low: 2, high: 3}}, roles.welders.headcount: {{low: 3, high: 4}}}}
  pooled: {{policy.priority: [fifo, latest_stage_first]}}
selection: {{indifference: 0.0167, first_stage: 6, max_replications: 24, batch: 4}}
verdict_replications: 4
uncertainties: {{market.sources.inbound.per_week: {{low: 100, high: 160}}}}
design: {{kind: latin_hypercube, n: 4, seed: 2}}
winmap_replications: 3
"""
OPEN = "id,stage,age_days,value\n" + "".join(f"o{i},{('cut', 'weld')[i % 2]},{1 + i % 4},{1000 + 10 * i}\n"
                                             for i in range(12))  # fmt: skip


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("studies")
    (d / "s.yaml").write_text(STUDY)
    done = _cli("optimise", "s.yaml", "-j", "2", "-o", "cli", cwd=d)
    assert done.returncode == 0, done.stderr
    return d


def test_optimise_returns_what_the_command_writes(study: Path) -> None:
    heard: list[str] = []
    o = lf.optimise(study / "s.yaml", study / "api", jobs=1, progress=False, say=heard.append)
    assert o.lines == heard and any(line.startswith("where each wins") for line in heard)
    pd.testing.assert_frame_equal(o.best, pd.read_csv(study / "cli" / "best.csv"))  # any jobs: the same numbers
    designs = [(study / d / "best.yaml").read_text().split("\n", 1)[1] for d in ("api", "cli")]
    assert designs[0] == designs[1]  # after the first line, which names the study file as it was given
    assert o.verdict is not None and set(o.verdict.plans) == {"line", "pooled"}
    cli_table = pd.read_csv(study / "cli" / "verdict" / "comparison.csv")
    pd.testing.assert_series_equal(o.verdict.verdict.table["diff"].reset_index(drop=True), cli_table["diff"],
                                   check_exact=False, rtol=1e-9)  # fmt: skip
    assert o.winmap is not None and len(o.winmap) == 4
    assert json.loads((study / "api" / "winmap.json").read_text()) == json.loads(
        (study / "cli" / "winmap.json").read_text())


def test_forecast_returns_what_the_command_writes(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    (tmp_path / "open.csv").write_text(OPEN)
    args = ["--pipeline", "open.csv", "--from", "2025-01-06", "--until", "2025-02-03", "-n", "6", "--seed", "5",
            "--target", "20000"]  # fmt: skip
    done = _cli("forecast", str(LINE), *args, "-o", "cli", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    f = lf.forecast(LINE, "2025-01-06", "2025-02-03", pipeline=tmp_path / "open.csv", replications=6, seed=5,
                    target=20000, jobs=1, progress=False)  # fmt: skip
    assert capfd.readouterr().err == ""  # progress=False: not even the closing "done in" line
    pd.testing.assert_frame_equal(f.table, pd.read_csv(tmp_path / "cli" / "forecast.csv"), check_dtype=False,
                                  rtol=1e-9)  # fmt: skip
    assert f.totals == json.loads((tmp_path / "cli" / "forecast.json").read_text())["plans"]
    assert isinstance(f.chart(), Figure) and f.headline(f.details.plans[0])
    paths = f.save(tmp_path / "api")
    assert sorted(p.name for p in paths.values()) == ["forecast.csv", "forecast.html", "forecast.json", "forecast.png"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": "2025-13-01"}, "start: not a date: '2025-13-01'"),
    ({"until": "2024-01-01"}, "must be after"),
    ({"replications": 0}, "replications"),
    ({"old": "sometimes"}, "old: expected one of"),
    ({"plans": ["nope"]}, "no plan 'nope'"),
])  # fmt: skip
def test_forecast_bad_input_is_one_clear_error(kwargs: dict, message: str) -> None:
    call = {"start": "2025-01-06", "until": "2025-02-03", "replications": 2, "jobs": 1, "progress": False, **kwargs}
    with pytest.raises(LeanflowError, match=message) as info:
        lf.forecast(LINE, **call)
    assert "\n" not in str(info.value)


def test_optimise_of_a_scenario_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LeanflowError) as info:
        lf.optimise(LINE, tmp_path / "out", progress=False)
    assert "families" in str(info.value)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: lf.compare(LINE, LINE, names=("x", "x")), "the two labels must differ"),
    (lambda: lf.compare(LINE, LINE, names=("a",)), "names: expected two labels"),
    (lambda: lf.compare(LINE, LINE, names=("a:b", "c")), "without ':'"),
    (lambda: lf.run(42), "scenario: expected a file path, a dict or a Scenario, got int"),
    (lambda: lf.run(["scenarios/default.yaml"]), "got list"),
    (lambda: lf.load_scenario(None), "got NoneType"),
    (lambda: lf.run(LINE, replications=2, jobs=0), "jobs must be a whole number"),
    (lambda: lf.load_scenario(LINE, set=[3]), "set: expected"),
    (lambda: lf.sweep(3, "out"), "path: expected a file path"),
    (lambda: lf.optimise(LINE, 7), "output: expected a file path"),
    (lambda: lf.forecast(LINE, 20250106, "2025-02-03"), "start: expected a date"),
])  # fmt: skip
def test_a_wrong_kind_of_argument_is_one_line_before_anything_runs(call, message: str) -> None:
    with pytest.raises(LeanflowError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_one_override_may_be_given_as_a_string() -> None:
    assert lf.load_scenario(LINE, set="horizon_days=30").horizon_days == 30
