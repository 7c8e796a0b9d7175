"""Calibration from a CRM export: a simulated round trip, the fits on their own, the Maven export and the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leanflow.crm.calibrate import calibrate, rate_spread, weekly_counts
from leanflow.crm.fits import fit_arrivals, fit_values
from leanflow.crm.importer import ImportedExport
from leanflow.crm.mapping import Mapping
from leanflow.crm.scenario_yaml import write_scenario
from leanflow.crm.survival import LOST, Incidence, median_day, split_phases
from leanflow.experiment.replication import run_replication
from leanflow.experiment.reproduce import reproduce
from leanflow.experiment.runner import run_scenario
from leanflow.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
ROUND_TRIP = ROOT / "tests" / "data" / "calibrate_roundtrip.yaml"
MAVEN = ROOT.parent / "shared" / "data" / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
START = pd.Timestamp("2021-01-04")  # the calendar day of simulated day 0
TRUNCATED = 120  # the simulated export keeps no deal closed before this day (left truncation, as in Maven)
needs_maven = pytest.mark.skipif(not MAVEN.is_file(), reason=f"the Maven CRM export is not at {MAVEN}")


def _mapping() -> Mapping:
    return Mapping.model_validate({
        "name": "simulated", "stages": ["engage", "close"], "won": ["Won"], "lost": ["Lost"],
        "columns": {"id": "id", "created": "created", "closed": "closed", "stage": "stage", "amount": "amount",
                    "owner": "owner"},
    })  # fmt: skip


def _export(deals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated deals as a CRM export (disqualified deals are never closed: no decision) and their stage history."""
    day = lambda x: START + pd.to_timedelta(np.floor(x), unit="D")  # noqa: E731
    outcome = deals["outcome"].astype(str).map({"won": "won", "lost": "lost"}).fillna("open")
    closed = day(deals["closed"]).where(outcome != "open")
    table = pd.DataFrame({
        "id": deals["deal_id"].astype(str), "created": day(deals["created"]), "closed": closed,
        "stage": np.where(outcome == "open", deals["stage"].astype(str), outcome.str.title()), "outcome": outcome,
        "amount": deals["value"].astype(float),
        "owner": deals["owner"].astype(object).where(deals["owner"].notna(), None), "segment": None, "product": None,
        "source": None,
    })  # fmt: skip
    kept = table["closed"].isna() | (table["closed"] >= START + pd.Timedelta(days=TRUNCATED))
    history = pd.concat([
        pd.DataFrame({"id": table["id"], "stage": "engage", "date": table["created"]}),
        pd.DataFrame({"id": table["id"], "stage": "close", "date": day(deals["enter_close"])}).dropna(),
    ]).assign(amount=np.nan)  # fmt: skip
    table = table[kept].reset_index(drop=True)
    return table, history[history["id"].isin(table["id"])].reset_index(drop=True)


@pytest.fixture(scope="module")
def simulated():
    """The round-trip scenario, its simulation exported (table and stage history), and the export's as-of date."""
    sc = load_scenario(ROUND_TRIP)
    deals = run_replication(sc, "as_is", 0).deals
    table, history = _export(deals)
    return sc, table, history, (START + pd.Timedelta(days=sc.horizon_days)).date()


def _imported(table: pd.DataFrame, history: pd.DataFrame | None) -> ImportedExport:
    return ImportedExport(table, history, _mapping(), {}, len(table), [], Path("simulated.csv"))


def test_round_trip_recovers_the_known_scenario(simulated, tmp_path: Path) -> None:
    sc, table, _, as_of = simulated
    cal = calibrate(_imported(table, None), as_of)
    # arrivals: counted from the first close only (left truncation), 40 a week
    assert cal.obs.start >= START + pd.Timedelta(days=TRUNCATED)
    assert abs(cal.arrivals.per_week - 40) < 3 * cal.arrivals.se
    assert cal.arrivals.seasonality is None
    # outcomes: won 0.7 x 0.5, lost 0.3 x 0.8 + 0.7 x 0.5, the disqualified 6% never close (no decision)
    closed = int((cal.obs.table["outcome"] != "open").sum())
    true_rate = 0.35 / 0.94
    assert abs(cal.win_rate - true_rate) < 3 * math.sqrt(true_rate * (1 - true_rate) / closed)
    assert abs(cal.incidence.p_open - 0.06) < 0.03
    # values: lognormal, median 8000, sigma 0.7
    value = cal.segments[0].value
    assert value.family in ("lognormal", "empirical")
    assert abs(math.log(value.median() / 8000)) < 3 * 1.2533 * 0.7 / math.sqrt(value.n)
    # losses come early and wins late: two phases, the cycle of the calibrated scenario as the truth's
    assert cal.phases is not None and cal.phases.second is not None
    assert [s.name for s in cal.stages] == ["engage", "close"]
    path = write_scenario(cal, tmp_path / "calibrated.yaml")
    calibrated = load_scenario(path)
    truth = sc.model_copy(update={"warmup_days": 120.0})
    got, want = (run_scenario(s, 3, 1).summary["cycle_p50"] for s in (calibrated, truth))
    spread = math.sqrt(got.var() / got.size + want.var() / want.size)
    assert abs(got.mean() - want.mean()) < 3 * spread + 1.5, (got.mean(), want.mean())


def test_round_trip_with_stage_history_recovers_each_stage(simulated) -> None:
    _, table, history, as_of = simulated
    cal = calibrate(_imported(table, history), as_of)
    assert cal.phases is None
    engage, close = cal.stages
    for stage, advance in ((engage, 0.7), (close, 0.5)):
        assert abs(stage.advance - advance) < 3 * math.sqrt(advance * (1 - advance) / stage.n) + 0.01, stage
    assert abs(engage.lost_share - 0.8) < 0.08  # the disqualified never close: no decision
    # elapsed days: buyer wait plus effort (1 h and 2 h at 22 h a week) plus a little queueing
    assert 8.0 < engage.mean_days < 10.0
    assert 30.0 < close.mean_days < 33.5


def test_values_fit_by_aic_and_fall_back_to_the_data_when_rejected() -> None:
    rng = np.random.default_rng(3)
    lognormal = fit_values(rng.lognormal(np.log(5000), 0.5, 800))
    assert lognormal.family == "lognormal" and lognormal.p >= 0.05
    assert abs(lognormal.median() / 5000 - 1) < 0.1
    uniform = fit_values(rng.uniform(900, 1100, 2000))
    assert uniform.family == "empirical" and uniform.p < 0.05
    assert len(uniform.dist.values) == 200
    assert fit_values(np.array([10.0, 20.0])).family == "empirical"


def test_arrivals_find_seasonality_in_two_years_and_none_in_ten_months() -> None:
    rng = np.random.default_rng(5)
    season = np.array([1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.6, 0.7, 1.0, 1.1, 1.2, 1.1])
    days = pd.date_range("2020-01-01", "2021-12-31", freq="D")
    counts = rng.poisson(20 / 7 * season[days.month - 1] / season.mean())
    created = pd.Series(np.repeat(days.values, counts))
    end = pd.Timestamp("2022-01-01")
    fit = fit_arrivals(created, pd.Timestamp("2020-01-01"), end)
    assert fit.seasonality is not None and fit.seasonality[0] == pytest.approx(1.3 / season.mean(), abs=0.12)
    assert fit.seasonality[6] == pytest.approx(0.6 / season.mean(), abs=0.12)
    assert fit.per_week == pytest.approx(20, rel=0.05)
    short = fit_arrivals(created, pd.Timestamp("2021-03-01"), end)
    assert short.seasonality is None and "no seasonality" in short.note


def test_rate_cv_comes_from_the_whole_weeks_before_the_as_of_date() -> None:
    start, end = pd.Timestamp("2021-01-04"), pd.Timestamp("2021-03-20")  # 75 days: 10 whole weeks, 5 days over
    days = pd.date_range(start, end - pd.Timedelta(days=1), freq="D")
    created = pd.Series(days.repeat([20 if d < pd.Timestamp("2021-02-15") else 40 for d in days]))
    counts = weekly_counts(created, fit_arrivals(created, start, end))  # weeks back from 2021-03-20, oldest first
    assert counts.tolist() == [140.0] * 5 + [240.0] + [280.0] * 4  # the oldest from 2021-01-09; 2021-02-13 mixed
    short, long = (rate_spread(created, fit_arrivals(created, start, end), h) for h in (7, 182))
    assert 0 < short.cv < long.cv and short.weeks == long.weeks == 10  # a rate that moved: more drift further out


def test_two_phases_are_recovered_from_their_own_curves() -> None:
    # fast early losses, then a decision that is immediate for 40% and slow for the rest: the lost median
    # (12 days) lies just below the plateau between the fast and the slow closes, where a small misfit moves it
    days = np.arange(139)
    fast = np.exp(-0.5 * ((days - 7) / 3.0) ** 2) * (days <= 16)
    slow = np.exp(-0.5 * ((days - 75) / 18.0) ** 2) * (days <= 120)
    first = fast / fast.sum()
    second = 0.4 * np.eye(days.size)[0] + 0.6 * slow / slow.sum()
    won = np.cumsum(np.convolve(first, second)[: days.size])
    inc = Incidence(0.55 * won, 0.07 * np.cumsum(first) + 0.26 * won, 6000, 2500, 1500)
    ph = split_phases(inc)
    assert ph.second is not None and abs(ph.late_lost - 0.26) < 1e-3
    assert max(ph.ks_won, ph.ks_lost) < 1e-3
    whole = np.convolve(ph.first, ph.second)
    assert whole[: days.size].sum() > 0.999  # nothing left to close after the longest cycle the data has
    lost = 0.07 * np.concatenate([ph.first, np.zeros(whole.size - days.size)]) + ph.late_lost * whole
    assert abs(median_day(lost) - inc.median(LOST)) < 0.1


@needs_maven
def test_maven_calibration_loads_runs_and_reproduces_the_data(tmp_path: Path) -> None:
    from leanflow.crm import read_export

    imported = read_export(MAVEN, "maven")
    cal = calibrate(imported)
    assert cal.obs.first_close == pd.Timestamp("2017-03-01")
    assert cal.obs.start == pd.Timestamp("2017-03-01")
    assert cal.capacity.headcount == 30
    load_scenario(write_scenario(cal, tmp_path / "maven.yaml"))
    check = reproduce(cal, 2, 1).table.set_index("metric")
    rate = check.loc["win rate (won / won + lost)"]
    assert abs(rate.model - rate.data) < 0.02
    for metric in ("median won cycle, days (cohort estimate)", "median lost cycle, days (cohort estimate)"):
        assert check.loc[metric, "ok"], check.loc[metric]  # inside the data's 95% interval
    assert cal.cohorts.complete_only  # a whole cycle seen from 2017-03-01: the earlier deals are only checked
    assert cal.truncation is not None and cal.truncation.rejected  # the export kept too few old undecided deals
    assert check.loc["opportunities / week", "ok"] and check.loc["median won value", "ok"]
    earlier = calibrate(imported, date(2017, 7, 1))
    assert earlier.obs.table["created"].max() < pd.Timestamp("2017-07-01")
    assert earlier.obs.table["closed"].max() < pd.Timestamp("2017-07-01")
    assert earlier.incidence.n < cal.incidence.n


def _model_win_given_open(stages, ages: np.ndarray) -> np.ndarray:
    """P(won eventually | still open at age a) of two calibrated timed stages (elapsed days as fitted)."""
    first, second = stages[0], stages[-1]
    t1 = np.cumsum(first.pmf / first.pmf.sum())
    t12 = np.cumsum(np.convolve(first.pmf / first.pmf.sum(), second.pmf / second.pmf.sum()))
    a = ages.astype(int)
    onward, q = first.advance, second.silent
    still = (1 - t1[a]) + onward * ((1 - q) * (t1[a] - t12[a]) + q * t1[a])
    return onward * (1 - q) * second.advance * (1 - t12[a]) / still


@needs_maven
def test_maven_old_open_deals_win_as_often_as_the_data_says(tmp_path: Path) -> None:
    # the data's no-decision deals are open at every age it has seen: in the model their buyer goes silent in
    # the last stage, so a deal open at age a wins eventually as often as the Aalen-Johansen curves say
    from leanflow.crm import read_export

    cal = calibrate(read_export(MAVEN, "maven"), date(2017, 6, 26), horizon_days=90)
    inc = cal.incidence
    ages = np.arange(20, inc.won.size - 20, 10)
    data = (inc.p_won - inc.won[ages]) / (1 - inc.won[ages] - inc.lost[ages])
    model = _model_win_given_open(cal.stages, ages)
    assert np.abs(model - data).max() < 0.05, list(zip(ages.tolist(), data.round(3), model.round(3), strict=True))
    sc = load_scenario(write_scenario(cal, tmp_path / "maven.yaml"))
    assert sc.market.buyer.stale_after_days == inc.won.size
    assert 0 < sc.market.sources["crm"].rate_cv < 1
    assert 0 < sc.process.stages[-1].advance.log_odds_sd < 0.5
    assert all(st.advance.log_odds_sd == 0 for st in sc.process.stages[:-1])


@needs_maven
def test_maven_calibrated_at_an_earlier_date_reproduces_the_lost_cycle() -> None:
    # as of 2017-09-01 half of the losses close within ~16 days, the rest with the wins' slow timing: the
    # median sits at the edge of the plateau between them, so it holds only if the phases fit the curves
    from leanflow.crm import read_export

    cal = calibrate(read_export(MAVEN, "maven"), date(2017, 9, 1))
    check = reproduce(cal, 4, 1).table.set_index("metric")
    for metric in ("median lost cycle, days (cohort estimate)", "median won cycle, days (cohort estimate)",
                   "win rate (won / won + lost)"):  # fmt: skip
        row = check.loc[metric]
        assert row.ok, (metric, row.data, row.data_low, row.data_high, row.model)


def leanflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)  # fmt: skip


@needs_maven
def test_cli_calibrates_writes_a_scenario_that_runs_and_the_diagnostics(tmp_path: Path) -> None:
    out = tmp_path / "scenario.yaml"
    proc = leanflow("calibrate", str(MAVEN), "--mapping", "maven", "-o", str(out), "--diagnostics", str(tmp_path),
                    "-n", "2", "-j", "1", "--pipeline", str(tmp_path / "open.csv"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    opened = pd.read_csv(tmp_path / "open.csv")
    assert len(opened) == 2089 - 500  # open in the export, less the undated Prospecting deals
    assert opened["value"].notna().all() and set(opened["stage"]) <= {"engaging", "decision"}
    from leanflow.scenario.pipeline import read_pipeline

    assert len(read_pipeline(tmp_path / "open.csv", load_scenario(out)).ids) == len(opened)  # loads as a pipeline
    fc = leanflow("forecast", str(out), "--pipeline", str(tmp_path / "open.csv"), "--from", "2018-01-01", "--until",
                  "2018-01-15", "--old", "stale", "-n", "2", "-j", "1", "-o", str(tmp_path / "fc"))  # fmt: skip
    assert fc.returncode == 0, fc.stderr
    assert "closed as stale at the start" in fc.stdout
    assert "does it reproduce the data?" in proc.stdout and "win rate (won / won + lost)" in proc.stdout
    text = out.read_text()
    assert "# 7,115 opportunities created 2017-03-01..2017-12-31" in text
    html = (tmp_path / "diagnostics.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "http" not in html.replace("http-equiv", "")
    ran = leanflow("run", str(out), "-n", "1", "-j", "1", "--set", "horizon_days=420", "-o", str(tmp_path / "run"))
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("bad", ["as_of", "output"])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, bad: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    as_of = "2017-13-40" if bad == "as_of" else "2017-07-01"
    output = blocker / "scenario.yaml" if bad == "output" else tmp_path / "scenario.yaml"
    proc = leanflow("calibrate", str(MAVEN), "--mapping", "maven", "--as-of", as_of, "-o", str(output))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert ("--as-of" if bad == "as_of" else "cannot write") in proc.stderr


def _as_maven(table: pd.DataFrame) -> pd.DataFrame:
    """The simulated export in the Maven layout (one open stage, Engaging; lost deals carry 0 as Maven's do)."""
    iso = lambda s: s.dt.strftime("%Y-%m-%d").fillna("")  # noqa: E731
    stage = table["outcome"].map({"won": "Won", "lost": "Lost"}).fillna("Engaging")
    value = table["amount"].where(table["outcome"] == "won", 0.0).where(table["outcome"] != "open")
    return pd.DataFrame({"opportunity_id": table["id"], "sales_agent": table["owner"].fillna(""),
                         "product": "GTX Basic", "account": "Acme", "deal_stage": stage,
                         "engage_date": iso(table["created"]), "close_date": iso(table["closed"]),
                         "close_value": value.round(0)})  # fmt: skip


def _as_salesforce(table: pd.DataFrame) -> pd.DataFrame:
    """The simulated export in Salesforce's Opportunity layout; an open deal's CloseDate is its expected close."""
    iso = lambda s: s.dt.strftime("%Y-%m-%d")  # noqa: E731
    names = {"engage": "Qualification", "close": "Negotiation/Review", "Won": "Closed Won", "Lost": "Closed Lost"}
    expected = table["created"] + pd.Timedelta(days=60)
    return pd.DataFrame({"Id": table["id"], "CreatedDate": iso(table["created"]),
                         "CloseDate": iso(table["closed"].fillna(expected)), "StageName": table["stage"].map(names),
                         "IsClosed": table["outcome"] != "open", "IsWon": table["outcome"] == "won",
                         "Amount": table["amount"].round(2), "OwnerId": table["owner"].fillna(""),
                         "Type": "New Business", "LeadSource": "Web"})  # fmt: skip


@pytest.mark.parametrize("layout", ["maven", "salesforce"])
def test_round_trip_through_a_crm_layout_calibrates_as_the_table_does(simulated, tmp_path: Path, layout: str) -> None:
    """The simulated deals written as a Maven or Salesforce CSV and read back with the shipped mapping give the
    same opportunities and the same calibrated arrivals, win rate and won values as the table itself."""
    from leanflow.crm import read_export

    _, table, _, as_of = simulated
    path = tmp_path / f"{layout}.csv"
    (_as_maven if layout == "maven" else _as_salesforce)(table).to_csv(path, index=False)
    imp = read_export(path, layout)
    assert imp.dropped == {} and len(imp.table) == len(table)
    got = imp.table.set_index("id").loc[table["id"]]
    assert (got["outcome"].to_numpy() == table["outcome"].to_numpy()).all()
    assert (got["created"].to_numpy() == table["created"].to_numpy()).all()
    assert got["closed"].isna().to_numpy().tolist() == table["closed"].isna().to_numpy().tolist()  # expected != closed
    won = (table["outcome"] == "won").to_numpy()
    assert np.allclose(got["amount"].to_numpy()[won], table["amount"].round(0 if layout == "maven" else 2)[won])
    direct, via = calibrate(_imported(table, None), as_of), calibrate(imp, as_of)
    assert via.arrivals.per_week == pytest.approx(direct.arrivals.per_week)
    assert via.win_rate == pytest.approx(direct.win_rate)
    assert via.segments[0].value.median() == pytest.approx(direct.segments[0].value.median(), rel=1e-3)
