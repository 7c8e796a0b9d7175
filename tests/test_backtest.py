"""Back-tests: the pipeline open at a date, what was won after it and the naive baseline on hand-made tables
(known answers); a rolling back-test on the Maven export (read from ../shared/data); the command as a user
runs it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from leanflow.crm import ImportedExport, Mapping, load_mapping
from leanflow.crm.baseline import naive_forecast, stage_win_rates
from leanflow.crm.pipeline_at import actuals, pipeline_at, undated_open
from leanflow.crm.stages import StageFit
from leanflow.experiment.backtest import draw_stages, model_rows, stage_weights, with_values

ROOT = Path(__file__).resolve().parent.parent
MAVEN = ROOT.parent / "shared" / "data" / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
needs_maven = pytest.mark.skipif(not MAVEN.is_file(), reason=f"the Maven CRM export is not at {MAVEN}")
COLUMNS = ["id", "created", "closed", "stage", "outcome", "amount", "owner", "segment", "product", "source"]
AS_OF = date(2017, 3, 10)


def imported(rows: list[tuple], mapping: Mapping, history: pd.DataFrame | None = None) -> ImportedExport:
    """A canonical table from (id, created, closed, stage, outcome, amount) rows, one owner and segment."""
    t = pd.DataFrame([(*r, "ann", "X", "X", None) for r in rows], columns=COLUMNS)
    t["created"], t["closed"] = pd.to_datetime(t["created"]), pd.to_datetime(t["closed"])
    t["amount"] = t["amount"].astype(float)
    return ImportedExport(t, history, mapping, {}, len(t), [], Path("tiny.csv"))


def maven_like() -> ImportedExport:
    """Eight deals around 2017-03-10 in the Maven layout (no history; Prospecting rows have no date)."""
    return imported([
        ("A", "2017-03-01", "2017-03-05", "Won", "won", 100),  # closed before: not open, counts for the rates
        ("B", "2017-03-02", "2017-03-10", "Won", "won", 200),  # closed on the as-of day: open at its start
        ("C", "2017-03-03", "2017-03-20", "Lost", "lost", None),
        ("D", "2017-03-09", None, "Engaging", "open", None),
        ("E", "2017-03-10", "2017-03-12", "Won", "won", 50),  # created on the as-of day: a new deal
        ("F", None, None, "Prospecting", "open", None),  # no date: cannot be placed
        ("G", "2017-02-01", "2017-03-01", "Lost", "lost", None),
        ("H", "2017-03-05", "2017-04-09", "Won", "won", 300),  # closes the day the 30-day horizon ends
    ], load_mapping("maven"))  # fmt: skip


def test_pipeline_at_is_the_deals_open_at_the_start_of_the_day() -> None:
    imp = maven_like()
    p = pipeline_at(imp, AS_OF).set_index("id")
    assert list(p.index) == ["B", "C", "D", "H"]
    assert p["age_days"].to_dict() == {"B": 8, "C": 7, "D": 1, "H": 5}
    assert set(p["stage"]) == {"Engaging"}  # no history: the stage a deal enters on creation
    assert p["value"].isna().all()  # no open deal of the export has an amount: B's 200 is known only at its close
    assert p["days_in_stage"].isna().all()
    assert undated_open(imp) == 1


def test_amounts_of_open_deals_are_used_when_the_crm_records_them() -> None:
    imp = maven_like()
    t = imp.table.copy()
    t.loc[t["id"] == "D", "amount"] = 80.0  # an open deal with an amount: the CRM keeps amounts while open
    p = pipeline_at(ImportedExport(t, None, imp.mapping, {}, 8, [], Path("tiny.csv")), AS_OF).set_index("id")
    assert p.loc["B", "value"] == 200 and p.loc["D", "value"] == 80 and math.isnan(p.loc["C", "value"])


def test_actuals_count_closes_from_the_as_of_day_to_before_the_horizon_ends() -> None:
    a = actuals(maven_like(), AS_OF, 30)
    assert (a.won_revenue, a.won_deals) == (250, 2)  # B and E; H closes on day 30, outside
    assert (a.won_revenue_pipeline, a.won_revenue_new) == (200, 50)


def test_baseline_weights_the_pipeline_and_adds_the_run_rate() -> None:
    imp = maven_like()
    open_ = with_values(imp, pipeline_at(imp, AS_OF), AS_OF)
    assert open_.set_index("id")["value"].to_dict() == {"B": 100, "C": 100, "D": 100, "H": 100}  # mean won: A
    b = naive_forecast(imp, AS_OF, 30, open_)
    assert b.pipeline_revenue == pytest.approx(0.5 * 400)  # closed before: A won, G lost
    assert b.pipeline_deals == pytest.approx(0.5 * 4)
    # run rate: from the first close (03-01) to the as-of day, 9 days; A was created and won inside it
    assert b.run_rate_days == 9
    assert b.new_revenue == pytest.approx(100 * 30 / 9)
    assert b.won_deals == pytest.approx(2 + 30 / 9)


def test_baseline_drops_open_deals_older_than_every_closed_cycle() -> None:
    imp = maven_like()
    old = imported([("Z", "2017-01-20", None, "Engaging", "open", 1000)], imp.mapping)  # 49 days; longest G's 28
    imp = ImportedExport(pd.concat([imp.table, old.table], ignore_index=True), None, imp.mapping, {}, 9, [],
                         Path("tiny.csv"))  # fmt: skip
    open_ = with_values(imp, pipeline_at(imp, AS_OF), AS_OF)
    assert "Z" in set(open_["id"])
    b = naive_forecast(imp, AS_OF, 30, open_)
    assert b.pipeline_revenue == pytest.approx(0.5 * 700) and b.pipeline_deals == pytest.approx(0.5 * 4)


def staged() -> Mapping:
    return Mapping(name="staged", columns={"id": "i", "created": "c", "closed": "d", "stage": "s", "amount": "a"},
                   stages=["Lead", "Demo", "Offer"], won=["Won"], lost=["Lost"])  # fmt: skip


def test_with_history_the_stage_and_days_in_it_come_from_before_the_as_of_day() -> None:
    history = pd.DataFrame([
        ("X", "Lead", "2017-03-01"), ("X", "Demo", "2017-03-04"), ("X", "Demo", "2017-03-06"),
        ("X", "Offer", "2017-03-12"),
    ], columns=["id", "stage", "date"]).assign(date=lambda h: pd.to_datetime(h["date"]), amount=np.nan)  # fmt: skip
    imp = imported([("X", "2017-03-01", None, "Offer", "open", 10), ("Y", "2017-03-02", None, "Lead", "open", 5)],
                   staged(), history)  # fmt: skip
    p = pipeline_at(imp, AS_OF).set_index("id")
    assert p.loc["X", "stage"] == "Demo" and p.loc["X", "days_in_stage"] == 6  # first entry 03-04
    assert p.loc["Y", "stage"] == "Lead" and math.isnan(p.loc["Y", "days_in_stage"])


def test_stage_win_rates_from_history() -> None:
    history = pd.DataFrame([
        ("P", "Lead", "2017-03-01"), ("P", "Demo", "2017-03-02"),
        ("Q", "Lead", "2017-03-01"),
        ("R", "Lead", "2017-03-01"), ("R", "Demo", "2017-03-03"),
    ], columns=["id", "stage", "date"]).assign(date=lambda h: pd.to_datetime(h["date"]), amount=np.nan)  # fmt: skip
    imp = imported([
        ("P", "2017-03-01", "2017-03-05", "Won", "won", 1),
        ("Q", "2017-03-01", "2017-03-04", "Lost", "lost", None),
        ("R", "2017-03-01", "2017-03-08", "Lost", "lost", None),
    ], staged(), history)  # fmt: skip
    rates = stage_win_rates(imp, AS_OF)
    assert rates["Lead"] == pytest.approx(1 / 3) and rates["Demo"] == pytest.approx(1 / 2)
    assert math.isnan(rates["Offer"])


def test_stage_weights_follow_the_phase_times() -> None:
    first = StageFit("first", "Engaging", np.array([0.0, 0.0, 1.0]), 0.5, 1.0, 1.0, 10, "")  # 2 days, half go on
    second = StageFit("second", "", np.array([0.0, 0.0, 0.0, 1.0]), 0.8, 1.0, 0.5, 10, "")  # then 3 days
    w = stage_weights([first, second], np.array([1.0, 3.0, 6.0]))
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.5], [0.0, 0.0]]
    drawn = draw_stages(w, np.random.default_rng(1), [first, second])
    assert drawn.tolist() == [0, 1, 1]  # older than every path: the last timed stage


def test_stage_weights_keep_the_silent_deals_open() -> None:
    first = StageFit("first", "Engaging", np.array([0.0, 0.0, 1.0]), 0.5, 1.0, 1.0, 10, "")  # 2 days, half go on
    second = StageFit("second", "", np.array([0.0, 0.0, 0.0, 1.0]), 0.8, 1.0, 0.5, 10, "", silent_waits=100)
    w = stage_weights([first, second], np.array([1.0, 3.0, 6.0]))  # half the buyers of the second stage are silent
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.5], [0.0, 0.25]]


def test_model_rows_name_the_model_stages_and_segments() -> None:
    imp = maven_like()
    open_ = with_values(imp, pipeline_at(imp, AS_OF), AS_OF)
    demo = StageFit("demo", "Engaging", np.array([0.0, 1.0]), 1.0, 1.0, 1.0, 10, "")
    cal = SimpleNamespace(segments=[SimpleNamespace(label="X", name="x")], mapping=imp.mapping, phases=None,
                          stages=[demo])  # fmt: skip
    rows = model_rows(open_, cal, seed=1)  # with stage history: the CRM stage's own model stage
    expected = [("B", "demo", "x", 100), ("C", "demo", "x", 100), ("D", "demo", "x", 100), ("H", "demo", "x", 100)]
    assert [(r["id"], r["stage"], r["segment"], r["value"]) for r in rows] == expected
    first = StageFit("first", "Engaging", np.array([0.0, 0.0, 1.0]), 1.0, 1.0, 1.0, 10, "")  # 2 days
    second = StageFit("second", "", np.array([0.0] * 20 + [1.0]), 1.0, 1.0, 1.0, 10, "")
    drawn = model_rows(open_, SimpleNamespace(**{**vars(cal), "phases": "timed", "stages": [first, second]}), 1)
    assert {r["id"]: r["stage"] for r in drawn} == {"B": "second", "C": "second", "D": "first", "H": "second"}


def leanflow(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def maven_rolling(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The rolling back-test on the Maven export, run once for the tests below."""
    out = tmp_path_factory.mktemp("maven-backtest")
    proc = leanflow("backtest", str(MAVEN), "--mapping", "maven", "--rolling", "2017-05-01", "2017-09-01", "28",
                    "--horizon-days", "90", "-n", "30", "--seed", "1", "-j", "2", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= {"backtest.json", "backtest.csv", "backtest.png"}
    result = json.loads((out / "backtest.json").read_text())
    assert len(pd.read_csv(out / "backtest.csv")) == 2 * len(result["windows"])
    return result


@pytest.mark.slow
@needs_maven
def test_maven_rolling_backtest_runs_every_window(maven_rolling: dict) -> None:
    result = maven_rolling
    windows = result["windows"]
    assert [w["as_of"] for w in windows] == ["2017-05-01", "2017-05-29", "2017-06-26", "2017-07-24", "2017-08-21"]
    assert result["skipped"] == []  # the last horizon ends 2017-11-18, before the data's last day
    lo, hi = result["coverage_range95"]
    print(f"\nMaven rolling back-test, {len(windows)} windows, 90-day horizon, 30 replications")
    for w in windows:
        for m, v in w["metrics"].items():
            assert v["p10"] <= v["p50"] <= v["p90"]
            print(f"  {w['as_of']} {m:11} actual {v['actual']:>11,.0f}  P10 {v['p10']:>11,.0f}  P50 {v['p50']:>11,.0f}"
                  f"  P90 {v['p90']:>11,.0f}  baseline {v['baseline']:>11,.0f}")  # fmt: skip
        parts = w["parts"]
        print(f"  {'':10} revenue from the pipeline: actual {parts['won_revenue_pipeline']['actual']:,.0f}, P50 "
              f"{parts['won_revenue_pipeline']['p50']:,.0f}; from new deals: actual "
              f"{parts['won_revenue_new']['actual']:,.0f}, P50 {parts['won_revenue_new']['p50']:,.0f}")  # fmt: skip
    for m in ("won_revenue", "won_deals"):
        print(f"  {m}: coverage {result['coverage'][m]:.0%} (binomial 95% range {lo:.0%}..{hi:.0%}), MAPE of P50 "
              f"{result['mape'][m]:.1%}, baseline MAPE {result['baseline_mape'][m]:.1%}")  # fmt: skip


@pytest.mark.slow
@needs_maven
def test_maven_rolling_backtest_covers_near_80_percent(maven_rolling: dict) -> None:
    lo, hi = maven_rolling["coverage_range95"]
    for m in ("won_revenue", "won_deals"):
        cover = maven_rolling["coverage"][m]
        assert lo <= cover <= hi, f"{m}: coverage {cover:.0%} outside the binomial 95% range {lo:.0%}..{hi:.0%}"
        assert maven_rolling["mape"][m] < maven_rolling["baseline_mape"][m]  # P50 beats the naive baseline


@needs_maven
def test_cli_one_window_writes_its_files(tmp_path: Path) -> None:
    proc = leanflow("backtest", str(MAVEN), "--mapping", "maven", "--as-of", "2017-06-01", "--horizon-days", "30",
                    "-n", "4", "-j", "2", "-o", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "backtest.json").read_text())
    assert result["as_of"] == "2017-06-01" and result["horizon_days"] == 30
    for m in ("won_revenue", "won_deals"):
        assert set(result["metrics"][m]) == {"actual", "p10", "p50", "p90", "baseline"}
        v = result["metrics"][m]
        assert v["p10"] <= v["p50"] <= v["p90"] and v["actual"] > 0
    assert len(pd.read_csv(tmp_path / "backtest.csv")) == 2
    assert (tmp_path / "backtest.png").stat().st_size > 0
    assert "won revenue" in proc.stdout and "baseline" in proc.stdout


@pytest.mark.parametrize("args", [
    pytest.param(["--as-of", "2017-13-01"], id="bad-as-of"),
    pytest.param(["--as-of", "2017-05-01", "-o", "{file}/sub"], id="unwritable-output"),
    pytest.param(["--rolling", "2017-09-01", "2017-05-01", "14"], id="start-after-end"),
    pytest.param(["--as-of", "2017-12-01"], id="window-past-the-data", marks=needs_maven),
])  # fmt: skip
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = [a.replace("{file}", str(blocker)) for a in args]
    out = [] if "-o" in args else ["-o", str(tmp_path / "out")]
    proc = leanflow("backtest", str(MAVEN), "--mapping", "maven", *args, *out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written
