"""Paired statistics, Bonferroni, the precision loop and the pooled-vs-dedicated known answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from leanflow.errors import LeanflowError
from leanflow.experiment.precision import PrecisionTarget, half_widths, run_to_precision
from leanflow.experiment.runner import RunResult, run_scenario
from leanflow.metrics.compare import adjusted_confidence, compare_plans, fieller, paired, paired_t
from leanflow.metrics.explain import pooled_factors, velocity_decomposition
from leanflow.metrics.verdict import build_verdict
from leanflow.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASE = np.array([10.0, 12.0, 9.5, 11.0, 13.0, 10.5, 12.5, 11.5])
PLAN = np.array([11.0, 13.5, 10.0, 12.5, 13.5, 11.0, 14.0, 12.0])


def test_paired_t_matches_scipy() -> None:
    mean, low, high = paired_t(BASE, PLAN, 0.90)
    ref = stats.ttest_rel(PLAN, BASE).confidence_interval(0.90)
    assert mean == pytest.approx((PLAN - BASE).mean())
    assert (low, high) == pytest.approx((ref.low, ref.high))


def test_paired_comparison_fields() -> None:
    r = paired(BASE, PLAN, "won_per_week", 0.90, seed=1)
    assert r.method == "paired t"
    assert r.base_mean == pytest.approx(BASE.mean())
    assert r.plan_mean == pytest.approx(PLAN.mean())
    assert r.rel == pytest.approx(PLAN.mean() / BASE.mean() - 1)
    assert r.rel_low < r.rel < r.rel_high
    assert r.correlation == pytest.approx(stats.pearsonr(BASE, PLAN).statistic)
    assert r.significant  # every plan value is above its baseline
    same = paired(BASE, BASE + np.array([1, -1] * 4) * 0.1, "won_per_week", 0.90)
    assert not same.significant


def test_fieller_interval_is_the_set_of_ratios_the_paired_t_does_not_reject() -> None:
    low, high = fieller(BASE, PLAN, 0.90)
    assert low < PLAN.mean() / BASE.mean() - 1 < high
    for r in np.linspace(low - 0.05, high + 0.05, 41):
        _, lo, hi = paired_t((1 + r) * BASE, PLAN, 0.90)  # the t interval of plan - (1 + r) base
        inside = lo <= 0 <= hi
        assert inside == (low - 1e-9 <= r <= high + 1e-9), r


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(-20, 20)), min_size=2, max_size=12))
def test_relative_and_absolute_intervals_agree_on_a_change(pairs) -> None:
    base = np.array([b for b, _ in pairs])
    plan = base + np.array([d for _, d in pairs])
    r = paired(base, plan, "won_per_week", 0.90)
    edge = 1e-9 * float(np.abs(base).max())  # an endpoint this close to 0 is a tie of rounding, either way
    assume(min(abs(r.diff_low), abs(r.diff_high)) > edge if np.isfinite(r.diff_low) else True)
    if np.isfinite(r.rel_low):  # bounded: the baseline's mean is clearly away from zero
        assert r.significant == (r.rel_low > 0 or r.rel_high < 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(-20, 20)), min_size=2, max_size=12))
def test_bootstrap_relative_and_absolute_intervals_agree_on_a_change(pairs) -> None:
    base = np.array([b for b, _ in pairs])
    plan = base + np.array([d for _, d in pairs])
    r = paired(base, plan, "cycle_p85", 0.90)
    assert r.method == "paired bootstrap"
    edge = 1e-9 * float(np.abs(base).max())
    assume(min(abs(r.diff_low), abs(r.diff_high)) > edge)
    assert np.isfinite(r.rel_low) and np.isfinite(r.rel_high)  # every baseline here is positive
    assert r.significant == (r.rel_low > 0 or r.rel_high < 0)


def test_one_replication_gives_no_interval_and_no_claim() -> None:
    for metric in ("won_per_week", "cycle_p85"):
        r = paired(BASE[:1], PLAN[:1], metric, 0.90)
        assert all(np.isnan([r.diff_low, r.diff_high, r.rel_low, r.rel_high])) and not r.significant


def test_two_replications_do_not_claim_a_narrow_interval_the_t_test_rejects() -> None:
    base, plan = np.array([100.0, 120.0]), np.array([70.0, 83.0])  # -30%, with one degree of freedom
    r = paired(base, plan, "won_revenue_per_week", 0.967)
    assert r.significant == (r.rel_high < 0 or r.rel_low > 0)


def test_percentile_metrics_use_a_bootstrap_that_brackets_the_mean() -> None:
    r = paired(BASE, PLAN, "cycle_p85", 0.90, seed=3)
    assert r.method == "paired bootstrap"
    assert r.diff_low < r.diff < r.diff_high
    again = paired(BASE, PLAN, "cycle_p85", 0.90, seed=3)
    assert (again.diff_low, again.diff_high) == (r.diff_low, r.diff_high)  # reproducible from the seed


def test_bonferroni_widens_intervals_for_more_plans() -> None:
    assert adjusted_confidence(0.90, 1) == pytest.approx(0.90)
    assert adjusted_confidence(0.90, 3) == pytest.approx(1 - 0.10 / 3)
    rows = []
    for plan, values in (("a", BASE), ("b", PLAN), ("c", PLAN + 0.5)):
        rows += [{"plan": plan, "replication": i, "m": v} for i, v in enumerate(values)]
    summary = pd.DataFrame(rows)
    two = compare_plans(summary[summary.plan != "c"], ["a", "b"], ["m"])
    three = compare_plans(summary, ["a", "b", "c"], ["m"])
    width = lambda df: float((df.diff_high - df.diff_low).iloc[0])  # noqa: E731
    assert width(three[three.plan == "b"]) > width(two)
    assert three["confidence"].iloc[0] == pytest.approx(1 - 0.10 / 2)


def test_velocity_shares_add_up() -> None:
    summary = pd.DataFrame({
        "plan": ["a", "b"], "opportunity_rate_per_week": [10.0, 11.0], "mean_won_value": [20.0, 22.0],
        "opportunity_win_rate": [0.2, 0.22], "opportunity_cycle_days": [50.0, 45.0],
        "velocity_per_week": [10.0 * 20.0 * 0.2, 11.0 * 22.0 * 0.22],
    })  # fmt: skip
    v = velocity_decomposition(summary, ["a", "b"])
    factors = v[v["view"] == "factor"]
    assert list(factors["factor"]) == ["opportunity_rate_per_week", "mean_won_value", "opportunity_win_rate"]
    assert factors["share"].sum() == pytest.approx(1.0)
    assert factors["velocity_ratio"].iloc[0] == pytest.approx(1.1**3)  # three factors: no cycle double count
    (speed,) = v[v["view"] == "speed"].itertuples()
    assert speed.factor == "opportunity_cycle_days" and speed.ratio == pytest.approx(0.9)
    assert speed.share != speed.share  # the speed view takes no share of the change


def test_pooled_velocity_factors_multiply_to_the_mean_velocity() -> None:
    rng = np.random.default_rng(4)
    rate, value, win = rng.uniform(5, 15, 6), rng.uniform(1e4, 3e4, 6), rng.uniform(0.1, 0.4, 6)
    summary = pd.DataFrame({"plan": "a", "opportunity_rate_per_week": rate, "mean_won_value": value,
                            "opportunity_win_rate": win, "opportunity_cycle_days": 40.0,
                            "velocity_per_week": rate * value * win})  # fmt: skip
    pooled = pooled_factors(summary).loc["a"]
    product = pooled.opportunity_rate_per_week * pooled.mean_won_value * pooled.opportunity_win_rate
    assert product == pytest.approx((rate * value * win).mean(), rel=1e-12)
    assert pooled.opportunity_win_rate == pytest.approx((rate * win).sum() / rate.sum())  # won / closed, pooled


def test_a_role_only_one_plan_has_gets_a_row_with_the_other_side_empty() -> None:
    summary = pd.DataFrame({"plan": ["a"] * 4 + ["b"] * 4, "replication": [0, 1, 2, 3] * 2,
                            "queue_days_se": [np.nan] * 4 + [3.0, 4.0, 5.0, 4.0],
                            "queue_days_ae": [1.0, 2.0, 1.5, 1.0, 2.0, 2.5, 2.0, 2.0]})  # fmt: skip
    rows = compare_plans(summary, ["a", "b"], ["queue_days_ae", "queue_days_se"]).set_index("metric")
    se = rows.loc["queue_days_se"]
    assert se.plan_mean == pytest.approx(4.0) and np.isnan(se.base_mean) and np.isnan(se["diff"])
    assert se.method == "one plan only" and not se.significant
    assert rows.loc["queue_days_ae", "method"] == "paired t"


def _fake_result(values: dict[str, np.ndarray], first: int = 0) -> RunResult:
    rows = [{"plan": p, "replication": first + i, "m": v} for p, vs in values.items() for i, v in enumerate(vs)]
    summary = pd.DataFrame(rows)
    summary["plan"] = pd.Categorical(summary["plan"], categories=list(values))
    empty = pd.DataFrame({"plan": pd.Categorical([], categories=list(values))})
    return RunResult(None, summary, empty, empty.copy(), list(values))  # type: ignore[arg-type]


def test_precision_loop_stops_when_the_target_is_met() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1.0, size=(2, 1000))
    calls = []

    def block(first: int, n: int) -> RunResult:
        calls.append((first, n))
        return _fake_result({"a": 10 + noise[0, first:first + n], "b": 11 + noise[1, first:first + n]}, first)

    target = PrecisionTarget.parse("m=0.3")
    result, ok = run_to_precision(block, target, start=10, block=10, maximum=500)
    assert ok
    n = result.replications
    assert calls[0] == (0, 10) and all(c[0] == 10 * i for i, c in enumerate(calls))
    assert max(half_widths(result, "m", 0.90).values()) <= 0.3
    shorter = _fake_result({"a": 10 + noise[0, : n - 10], "b": 11 + noise[1, : n - 10]})
    assert max(half_widths(shorter, "m", 0.90).values()) > 0.3  # it did not stop late


def test_precision_loop_stops_at_the_maximum() -> None:
    rng = np.random.default_rng(1)

    def block(first: int, n: int) -> RunResult:
        return _fake_result({"a": rng.normal(0, 5, n), "b": rng.normal(0, 5, n)}, first)

    result, ok = run_to_precision(block, PrecisionTarget("m", 0.01), start=5, block=5, maximum=23)
    assert not ok and result.replications == 23


@pytest.mark.parametrize("text", ["m", "m=", "=1", "m=-1", "m=abc"])
def test_bad_precision_target(text: str) -> None:
    with pytest.raises(LeanflowError):
        PrecisionTarget.parse(text)


@pytest.mark.slow
def test_pooled_vs_dedicated_known_answer() -> None:
    """One 2-server pool against two owners at random, each at utilisation 0.8: Wq 1.78 vs 4.0 days."""
    sc = load_scenario(ROOT / "scenarios" / "queueing" / "pooled_vs_dedicated.yaml")
    result = run_scenario(sc, jobs=2)
    labels = {p: (sc, p) for p in sc.plans}
    v = build_verdict(result.summary, result.deals, result.plans, labels)
    row = v.comparison.set_index("metric").loc["queue_days_server"]
    pooled, dedicated = 0.7111111 / 0.4, 4.0
    assert row.diff_low <= dedicated - pooled <= row.diff_high
    assert row.diff_high - row.diff_low < 0.2 * (dedicated - pooled)  # narrow enough to mean something
    assert row["significant"] and row["diff"] > 0
    by_plan = result.summary.groupby("plan", observed=True)["queue_days_server"]
    assert by_plan.mean()["pooled"] == pytest.approx(pooled, rel=0.05)
    assert by_plan.mean()["dedicated"] == pytest.approx(dedicated, rel=0.08)


def test_an_unknown_precision_metric_fails_before_anything_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    import leanflow as lf

    sc = load_scenario(ROOT / "scenarios" / "default.yaml")
    assert PrecisionTarget.parse("queue_days_ae=1").check(sc).metric == "queue_days_ae"  # a per-role metric
    with pytest.raises(LeanflowError, match="did you mean won_revenue_per_week"):
        lf.run(sc, precision="won_revenue_per_wek=100", progress=False)
    out = tmp_path / "out"
    args = ["run", str(ROOT / "scenarios" / "default.yaml"), "--precision", "cycle_p58=2", "-o", str(out)]
    proc = subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown metric 'cycle_p58'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_the_interval_level_is_the_users_and_says_when_it_is_joint() -> None:
    from leanflow.metrics.verdict import ci_level

    rows = []
    for plan, values in (("a", BASE), ("b", PLAN), ("c", PLAN + 0.5)):
        rows += [{"plan": plan, "replication": i, "m": v} for i, v in enumerate(values)]
    summary = pd.DataFrame(rows)
    assert ci_level(compare_plans(summary[summary.plan != "c"], ["a", "b"], ["m"])) == "90%"
    assert ci_level(compare_plans(summary, ["a", "b", "c"], ["m"])) == "90% joint"  # each at 95%, Bonferroni
