"""The verdict explains itself: the why line, one-plan roles in the table, rate differences in points, equal cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from leanflow.metrics.verdict import build_verdict
from leanflow.report.console import print_verdict
from leanflow.scenario import load_scenario_text

SCENARIO = """
name: why
horizon_days: 200
warmup_days: 50
replications: 8
seed: 3
market:
  segments:
    a: {share: 1, deal_value: {dist: constant, value: 100}, fit: {dist: uniform, low: 0, high: 1}}
  sources:
    inbound: {kind: poisson, per_week: 5}
process:
  stages:
    - {name: qualify, effort_hours: {dist: constant, value: 1}, gate: {noise: 0.1}}
    - {name: demo, effort_hours: {dist: constant, value: 1}, advance: {base: 0.8, per_fit: 0}}
    - {name: close, effort_hours: {dist: constant, value: 1}, advance: {base: 0.5, per_fit: 0}}
plans:
  generalist:
    roles:
      ae: {headcount: 4, works: [qualify, demo, close], cost_per_head: 100000}
  split:
    roles:
      sdr: {headcount: 2, works: [qualify], cost_per_head: 50000}
      ae: {headcount: 1, works: [close], cost_per_head: 100000}
      se: {headcount: 1, works: [demo], cost_per_head: 100000}
"""
N = 8
# per plan: what every replication shows (plus noise where the verdict needs a spread)
PLANS = {
    "generalist": {
        "won_revenue_per_week": 1000.0, "won_per_week": 10.0, "cycle_p50": 40.0, "cycle_p85": 60.0, "win_rate": 0.40,
        "win_rate_value": 0.35, "flow_efficiency": 0.05, "utilisation": 1.0, "utilisation_deal": 0.9,
        "headcount": 4.0, "revenue_per_cost": 2.0,
        "utilisation_deal_ae": 0.9, "utilisation_ae": 1.0, "queue_days_ae": 2.0,
        "opportunity_rate_per_week": 25.0, "mean_won_value": 100.0, "opportunity_win_rate": 0.4,
        "opportunity_cycle_days": 30.0, "cooled_per_week": 0.5, "stale_per_week": 1.5, "handoff_hours_per_week": 0.0,
        "switch_hours_per_week": 12.0, "learning_hours_per_week": 3.0, "ramp_hours_per_week": 0.0,
    },
    "split": {
        "won_revenue_per_week": 880.0, "won_per_week": 8.8, "cycle_p50": 35.0, "cycle_p85": 50.0, "win_rate": 0.30,
        "win_rate_value": 0.30, "flow_efficiency": 0.08, "utilisation": 0.8, "utilisation_deal": 0.7,
        "headcount": 4.0, "revenue_per_cost": 2.2,
        "utilisation_deal_ae": 0.6, "utilisation_ae": 0.6, "queue_days_ae": 1.0,
        "utilisation_deal_sdr": 0.7, "utilisation_sdr": 0.9, "queue_days_sdr": 0.5,
        "utilisation_deal_se": 0.97, "utilisation_se": 0.97, "queue_days_se": 9.0,
        "opportunity_rate_per_week": 27.5, "mean_won_value": 100.0, "opportunity_win_rate": 0.32,
        "opportunity_cycle_days": 25.0, "cooled_per_week": 2.0, "stale_per_week": 0.5, "handoff_hours_per_week": 6.0,
        "switch_hours_per_week": 1.0, "learning_hours_per_week": 0.0, "ramp_hours_per_week": 0.0,
    },
}  # fmt: skip


def _summary(costs: dict[str, float]) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for plan, values in PLANS.items():
        for rep in range(N):
            row = {"plan": plan, "replication": rep, **values, "cost_per_year": costs[plan], "won": 40, "lost": 60}
            row["won_revenue_per_week"] += rng.normal(0, 20)
            row["revenue_per_cost"] += rng.normal(0, 0.05)
            row["velocity_per_week"] = (row["opportunity_rate_per_week"] * row["mean_won_value"]
                                        * row["opportunity_win_rate"])  # fmt: skip
            rows.append(row)
    summary = pd.DataFrame(rows)
    summary["plan"] = pd.Categorical(summary["plan"], categories=list(PLANS))
    return summary


def _verdict(costs: dict[str, float]):
    sc = load_scenario_text(SCENARIO, "why.yaml")
    stages = {f"{k}_{st}": [60.0 + i, 60.0 + i] for i, st in enumerate(("qualify", "demo", "close"))
              for k in ("enter", "start", "done")}  # one deal per plan, for the time split  # fmt: skip
    deals = pd.DataFrame({"plan": pd.Categorical(list(PLANS), categories=list(PLANS)), "closed": 70.0, **stages})
    return build_verdict(_summary(costs), deals, list(PLANS), {p: (sc, p) for p in PLANS})


@pytest.fixture(scope="module")
def verdict():
    return _verdict({"generalist": 400_000.0, "split": 350_000.0})


def test_the_why_line_names_bottlenecks_the_largest_factor_and_losses(verdict) -> None:
    (why,) = verdict.why
    bottleneck, factor, losses = why.removeprefix("why split: ").split(" | ")
    assert bottleneck == ("bottleneck generalist: ae 90% busy on deal work, 2.0 d queue; "
                          "split: se 97% busy on deal work, 9.0 d queue")  # fmt: skip
    # win rate x0.8 moves velocity more than rate x1.1 does: |ln 0.8| > |ln 1.1|
    share = np.log(0.8) / (np.log(0.8) + np.log(1.1))
    assert factor == f"largest velocity factor: opportunity win rate x0.80, {100 * share:.0f}% of the log change"
    assert losses == ("largest losses: generalist stale deals 1.5/week, context switching 12.0 h/week; "
                      "split deals lost to cooling 2.0/week, hand-off 6.0 h/week")  # fmt: skip


def test_velocity_factors_exclude_the_cycle_and_their_shares_sum_to_one(verdict) -> None:
    v = verdict.velocity
    assert v.loc[v["view"] == "factor", "share"].sum() == pytest.approx(1.0)
    assert v.loc[v["view"] == "factor", "velocity_ratio"].iloc[0] == pytest.approx(1.1 * 0.8)
    assert list(v.loc[v["view"] == "speed", "factor"]) == ["opportunity_cycle_days"]


def test_roles_only_one_plan_has_stay_in_the_verdict_table(verdict) -> None:
    rows = verdict.comparison.set_index("metric")
    for metric in ("utilisation_deal_se", "utilisation_se", "queue_days_se", "queue_days_sdr"):
        assert rows.loc[metric, "method"] == "one plan only", metric
        assert np.isnan(rows.loc[metric, "base_mean"]) and not rows.loc[metric, "significant"]
    assert rows.loc["queue_days_se", "plan_mean"] == pytest.approx(9.0)
    assert rows.loc["queue_days_ae", "method"] == "paired t"  # a role both plans have is paired as before


def test_headline_gives_rate_differences_in_points_and_the_equal_cost_view(verdict) -> None:
    (headline,) = verdict.headlines
    assert "win rate 40% -> 30% (-10 pts)" in headline
    r = verdict.comparison.set_index("metric").loc["revenue_per_cost"]
    assert f"revenue per unit cost {r.base_mean:.2f} -> {r.plan_mean:.2f} ({100 * r.rel:+.0f}%, 90% CI " in headline
    assert r.significant and r.rel == pytest.approx(0.1, abs=0.03)
    assert not any("not equal cost" in n for n in verdict.notes)  # 50,000 apart: less than one head (100,000)


def test_costs_more_than_one_head_apart_are_flagged() -> None:
    v = _verdict({"generalist": 400_000.0, "split": 250_000.0})
    (note,) = [n for n in v.notes if "not equal cost" in n]
    assert note.startswith("split is not equal cost: 250,000 / year against 400,000 in generalist")
    assert v.costs.set_index("plan").loc["split", "cost_per_year"] == pytest.approx(250_000)


def test_console_prints_the_why_under_its_headline_and_points_in_the_table(verdict) -> None:
    console = Console(record=True, width=400)
    print_verdict(verdict, console)
    lines = console.export_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("split: "))
    assert lines[at + 1].strip() == verdict.why[0]
    win = next(line for line in lines if line.startswith("│ win rate (won/(won+lost))"))
    assert "-10.0 pts" in win and "-10.0%" not in win
    se = next(line for line in lines if line.startswith("│ queue wait for se"))
    assert [c.strip() for c in se.split("│")[2:5]] == ["-", "9.0 d", "-"]
    assert any("speed view (not a factor): opportunity cycle days" in line for line in lines)


def test_every_role_of_both_plans_is_in_the_table_with_each_bottleneck_marked(verdict) -> None:
    assert verdict.bottlenecks == {"generalist": "ae", "split": "se"}
    roles = {m.rsplit("_", 1)[1] for m in verdict.comparison["metric"] if m.startswith("queue_days_")}
    assert roles == {"ae", "sdr", "se"}  # the union of both plans' roles
    console = Console(record=True, width=400)
    print_verdict(verdict, console)
    lines = console.export_text().splitlines()
    marked = [line.split("│")[1].strip() for line in lines if "(bottleneck of" in line]
    assert marked == ["utilisation ae (deal work), % (bottleneck of generalist)",
                      "utilisation ae (with prospecting), % (bottleneck of generalist)",
                      "queue wait for ae, days (bottleneck of generalist)",
                      "utilisation se (deal work), % (bottleneck of split)",
                      "utilisation se (with prospecting), % (bottleneck of split)",
                      "queue wait for se, days (bottleneck of split)"]  # fmt: skip
    assert not any("bottleneck" in line for line in lines if line.startswith("│ utilisation, whole team"))
