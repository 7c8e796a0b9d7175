"""Metrics on a hand-built run whose every number is known: people present, costs, pipeline, mechanism losses,
and the velocity identity on a simulated run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from leanflow.metrics import run_data, run_metrics
from leanflow.metrics.tables import RunData
from leanflow.model import simulate
from leanflow.model.records import DISQUALIFIED, LOST, OPEN, STALE, WON
from leanflow.random import replication_seed
from leanflow.scenario import load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parent.parent
NAN = math.nan
SCENARIO = """
name: hand-built
horizon_days: 38
warmup_days: 10
replications: 1
seed: 1
market:
  segments:
    a: {share: 1, deal_value: {dist: constant, value: 100}, fit: {dist: uniform, low: 0, high: 1}}
  sources:
    inbound: {kind: poisson, per_week: 1}
process:
  stages:
    - {name: qualify, effort_hours: {dist: constant, value: 1}, gate: {noise: 0.1}}
    - {name: close, effort_hours: {dist: constant, value: 1}, advance: {base: 0.5, per_fit: 0}}
plans:
  split:
    roles:
      sdr: {headcount: 1, works: [qualify], cost_per_head: 50000}
      ae: {headcount: 1, works: [close], cost_per_head: 100000}
    policy: {gate_threshold: 0.5}
"""
# deal: value, created, closed, outcome, qualified, cooled, generation, hand-off, switch, learning, ramp hours,
# then per stage (qualify, close): enter, start, done, person
DEALS = [
    (100, 12, 20, WON, 1, 0, 0, 0, 0, 0, 0, (12, 12, 13, 0), (13, 14, 18, 1)),
    (300, 15, 32, LOST, 1, 1, 0, 2.0, 1.0, 0, 0, (15, 16, 17, 0), (17, 25, 30, 2)),
    (200, 5, 14, WON, 1, 0, 0, 0, 0, 3.0, 1.5, (5, 6, 7, 0), (7, 8, 12, 1)),
    (150, 20, 22, DISQUALIFIED, 0, 0, 1, 0, 0, 0, 0, (20, 21, 22, 0), (NAN, NAN, NAN, -1)),
    (400, 0, NAN, OPEN, 1, 0, 0, 0, 0, 0, 0, (0, 1, 2, 0), (2, NAN, NAN, -1)),
    (500, 35, NAN, OPEN, 0, 0, 0, 0, 0, 0, 0, (35, NAN, NAN, -1), (NAN, NAN, NAN, -1)),
    (50, 11, 30, STALE, 1, 0, 0, 0, 0, 0, 0, (11, 12, 13, 0), (13, NAN, NAN, -1)),
]
WEEKS = 4.0  # the window [10, 38)


@pytest.fixture(scope="module")
def metrics() -> dict[str, float]:
    """The metrics of the hand-built run: sdr 0 all along, ae 1 all along, ae 2 hired on day 24."""
    sc = load_scenario_text(SCENARIO, "hand.yaml")
    cols = {k: np.array([d[i] for d in DEALS], dtype=float) for i, k in enumerate(
        ("value", "created", "closed", "outcome", "qualified", "cooled", "generation", "handoff_hours",
         "switch_hours", "learning_hours", "ramp_hours"))}  # fmt: skip
    for k in ("outcome", "qualified", "cooled", "generation"):
        cols[k] = cols[k].astype(np.int64)
    stage = np.array([d[11:] for d in DEALS], dtype=float)  # deals x stages x (enter, start, done, person)
    enter, start, done = stage[..., 0], stage[..., 1], stage[..., 2]
    cols["touch_days"] = np.nansum(done - start, axis=1)
    end = np.where(np.isnan(cols["closed"]), sc.horizon_days, cols["closed"])
    leave = np.column_stack([np.where(np.isnan(enter[:, 1]), end, enter[:, 1]), end])
    leave[np.isnan(enter)] = np.nan
    prospecting = {"person": np.array([0, 0]), "start": np.array([5.0, 26.0]), "end": np.array([7.0, 28.0]),
                   "switch_hours": np.array([0.25, 0.5])}  # fmt: skip
    spells = {"person": np.array([0, 1, 2]), "role": np.array([0, 1, 1]), "start": np.array([0.0, 0.0, 24.0]),
              "end": np.full(3, 38.0)}  # fmt: skip
    rd = RunData(sc, "split", 0, cols, enter, start, done, stage[..., 3].astype(np.int64), leave, prospecting, spells,
                 np.array([0, 1, 1]), ["sdr", "ae"], ["qualify", "close"])  # fmt: skip
    return run_metrics(rd)


def test_utilisation_counts_only_the_people_present(metrics: dict[str, float]) -> None:
    # sdr: 4 days of deal work and 2 of prospecting in 28 days present; ae: 11 days of deal work in 28 + 14
    assert metrics["utilisation_deal_sdr"] == pytest.approx(4 / 28)
    assert metrics["utilisation_sdr"] == pytest.approx(6 / 28)
    assert metrics["prospecting_share_sdr"] == pytest.approx(2 / 28)
    assert metrics["utilisation_deal_ae"] == metrics["utilisation_ae"] == pytest.approx(11 / 42)
    assert metrics["utilisation_deal"] == pytest.approx(15 / 70)
    assert metrics["utilisation"] == pytest.approx(17 / 70)
    assert metrics["headcount"] == pytest.approx(2.5)  # 1 + 1 + half the window
    assert metrics["queue_days_sdr"] == pytest.approx(0.75)
    assert metrics["queue_days_ae"] == pytest.approx(4.5)


def test_cost_counts_each_spell_by_its_share_of_the_window(metrics: dict[str, float]) -> None:
    assert metrics["cost_per_year"] == pytest.approx(50_000 + 100_000 + 100_000 * 0.5)
    yearly = 300 / WEEKS * 365.25 / 7
    assert metrics["revenue_per_cost"] == pytest.approx(yearly / 200_000)
    assert metrics["revenue_per_seller_year"] == pytest.approx(yearly / 2.5)


def test_pipeline_conversion_coverage_and_aged_deals(metrics: dict[str, float]) -> None:
    # closed in the window: two won (100, 200), one lost (300), one disqualified (150), one stale (50)
    assert metrics["win_from_qualify"] == pytest.approx(2 / 5)
    assert metrics["win_from_close"] == pytest.approx(2 / 4)
    assert metrics["coverage_qualify"] == pytest.approx(800 / 300)
    assert metrics["coverage_close"] == pytest.approx(650 / 300)
    assert metrics["win_rate"] == pytest.approx(2 / 3)
    assert metrics["open_aged"] == 1  # 38 days old against a p95 won cycle of under 9 days; the other is 3 days old
    assert metrics["win_rate_aged_as_lost"] == pytest.approx(2 / 4)


def test_mechanism_losses_per_week(metrics: dict[str, float]) -> None:
    assert metrics["cooled_per_week"] == pytest.approx(1 / WEEKS)
    assert metrics["stale_per_week"] == pytest.approx(1 / WEEKS)
    assert metrics["handoff_hours_per_week"] == pytest.approx(2.0 / WEEKS)
    assert metrics["switch_hours_per_week"] == pytest.approx((1.0 + 0.5) / WEEKS)  # deals + prospecting in window
    assert metrics["learning_hours_per_week"] == pytest.approx(3.0 / WEEKS)
    assert metrics["ramp_hours_per_week"] == pytest.approx(1.5 / WEEKS)
    assert metrics["recycled_leads"] == 1


def test_velocity_of_the_hand_built_run(metrics: dict[str, float]) -> None:
    # opportunities closed in the window: the won 100 and 200, the lost 300, the stale 50
    assert metrics["opportunity_rate_per_week"] == pytest.approx(4 / WEEKS)
    assert metrics["opportunity_win_rate"] == pytest.approx(0.5)
    assert metrics["mean_won_value"] == pytest.approx(150)
    assert metrics["velocity_per_week"] == pytest.approx(metrics["won_revenue_per_week"])


@pytest.mark.parametrize("name", ["default.yaml", "smb_velocity.yaml", "enterprise.yaml"])
def test_velocity_is_an_identity_on_simulated_runs(name: str) -> None:
    """rate x mean won value x win rate = won revenue per week from opportunities, to rounding."""
    sc = load_scenario(ROOT / "scenarios" / name, ["horizon_days=200", "warmup_days=40"])
    plan = list(sc.plans)[-1]
    rd = run_data(sc, plan, 0, simulate(sc, plan, replication_seed(sc.seed, 0)))
    m = run_metrics(rd)
    c = rd.cols
    gates = [i for i, st in enumerate(sc.process.stages) if st.gate is not None]
    won = (c["outcome"] == WON) & (c["closed"] >= sc.warmup_days) & (c["qualified"] == 1)
    won &= ~np.isnan(rd.done[:, gates[-1]]) if gates else True
    from_opportunities = c["value"][won].sum() / ((sc.horizon_days - sc.warmup_days) / 7)
    product = m["opportunity_rate_per_week"] * m["mean_won_value"] * m["opportunity_win_rate"]
    assert product == pytest.approx(from_opportunities, rel=1e-12)
    assert m["velocity_per_week"] == pytest.approx(from_opportunities, rel=1e-12)
    assert m["won_revenue_per_week"] == pytest.approx(from_opportunities, rel=1e-12)  # every win passed the gate
