"""Optimisation files: budgets, families, located errors; the configurations each family offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanflow.errors import ScenarioError
from leanflow.scenario.configurations import feasible, levels, spend
from leanflow.scenario.optimise_loader import load_optimisation
from leanflow.scenario.optimise_schema import Budget, IntRange

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "experiments" / "best_vs_best.yaml"
BASE = ROOT / "scenarios" / "default.yaml"

GOOD = f"""\
name: t
base: {BASE}
objective: {{metric: won_revenue_per_week}}
budget: {{headcount: 14}}
families:
  flow_optimised:
    roles.sdr.headcount: {{low: 4, high: 6}}
    roles.ae.headcount: {{low: 5, high: 7}}
    roles.se.headcount: {{low: 2, high: 4}}
  resource_optimised:
    policy.gate_threshold: [0.1, 0.2]
selection: {{indifference: 1000}}
"""


def _load(tmp_path: Path, text: str):
    f = tmp_path / "opt.yaml"
    f.write_text(text)
    return load_optimisation(f)


def test_the_shipped_study_loads() -> None:
    lo = load_optimisation(STUDY)
    assert set(lo.opt.families) == {"flow_optimised", "resource_optimised"}
    assert lo.opt.budget.cost == 1_680_000


def test_a_headcount_budget_keeps_the_mixes_that_sum_to_it(tmp_path: Path) -> None:
    lo = _load(tmp_path, GOOD)
    plan = lo.base_data["plans"]["flow_optimised"]
    kept, skipped = feasible(plan, lo.opt.families["flow_optimised"], lo.opt.budget)
    mixes = {(c["roles.sdr.headcount"], c["roles.ae.headcount"], c["roles.se.headcount"]) for c in kept}
    expected = {(s, a, e) for s in range(4, 7) for a in range(5, 8) for e in range(2, 5) if s + a + e == 14}
    assert mixes == expected and skipped == 27 - len(expected)


def test_a_cost_budget_spends_the_money_within_one_cheapest_head() -> None:
    plan = {"roles": {"sdr": {"headcount": 5, "cost_per_head": 60000}, "ae": {"headcount": 6, "cost_per_head": 120000}}}
    family = {"roles.sdr.headcount": IntRange(low=0, high=10), "roles.ae.headcount": IntRange(low=0, high=10)}
    kept, _ = feasible(plan, family, Budget(cost=1_000_000))
    costs = [spend({"roles": {"sdr": {"headcount": c["roles.sdr.headcount"], "cost_per_head": 60000},
                              "ae": {"headcount": c["roles.ae.headcount"], "cost_per_head": 120000}}}).cost
             for c in kept]  # fmt: skip
    assert kept and all(940_000 < c <= 1_000_000 for c in costs)
    assert len(kept) == len({(c["roles.sdr.headcount"], c["roles.ae.headcount"]) for c in kept})


def test_levels_of_a_range_and_a_list() -> None:
    assert levels(IntRange(low=2, high=8, step=3)) == [2, 5, 8]
    assert levels(["fifo", "latest_stage_first"]) == ["fifo", "latest_stage_first"]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("flow_optimised:", "flow_optimsed:"), "families.flow_optimsed", "no plan 'flow_optimsed'"),
        (("roles.sdr.headcount", "roles.sdrr.headcount"), "families.flow_optimised.roles.sdrr.headcount",
         "no 'sdrr'"),
        (("headcount: 14", "headcount: 40"), "families.flow_optimised", "no configuration meets the budget of 40"),
        (("{metric: won_revenue_per_week}", "{metric: won_revenue}"), "objective.metric", "unknown metric"),
        (("[0.1, 0.2]", "[0.1, 7]"), "families.resource_optimised.policy.gate_threshold", "invalid scenario"),
        (("headcount: 14", "headcount: 14, cost: 5"), "budget", "exactly one"),
        (("{indifference: 1000}", "{indifference: 1000, first_stage: 50, max_replications: 20}"), "selection",
         "at least first_stage"),
    ],
)  # fmt: skip
def test_bad_files_are_located(tmp_path: Path, change, where, message) -> None:
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, GOOD.replace(*change))
    text = str(info.value)
    assert where in text and message in text, text
    assert "opt.yaml:" in text
