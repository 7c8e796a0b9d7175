"""Known-answer tests: the engine must reproduce queueing theory, Little's law and lead conservation.

Each statistical test runs R independent replications with a fixed seed, takes
one estimate per replication (after the warm-up), and checks that the 99% t
confidence interval of the mean across replications contains the analytic
value. It also checks that the interval is narrow (half-width under 10% of the
value), so that a test cannot pass just because the estimate is noisy.
Scenario files live in ``scenarios/queueing``; their comments give the formulas.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leanflow.experiment.runner import RunResult, run_scenario
from leanflow.metrics import little_check, mean_ci, run_data
from leanflow.model import OUTCOMES, STATES, Funnel
from leanflow.model.leads import poisson_arrivals
from leanflow.random import replication_seed, stream
from leanflow.scenario import Scenario, load_scenario
from leanflow.scenario.references import check_references

QUEUEING = Path(__file__).resolve().parent.parent / "scenarios" / "queueing"
CONFIDENCE = 0.99
MAX_REL_HALF_WIDTH = 0.10
JOBS = 2
HOURS = 24.0  # the queueing roles sell 168 h/week: one effort hour is one hour of clock time


# ---------------------------------------------------------------- theory


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = l/m < c."""
    if not 0 < a < c:
        raise ValueError("need 0 < a < c")
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wq(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c station: C / (c m - l)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_w(c: int, lam: float, mu: float) -> float:
    """Mean sojourn of an M/M/c station: Wq + 1/m."""
    return mmc_wq(c, lam, mu) + 1.0 / mu


def test_erlang_c_helper_matches_known_values():
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = utilisation
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert mmc_wq(1, 0.8, 1.0) == pytest.approx(4.0)
    assert mmc_w(1, 0.8, 1.0) == pytest.approx(5.0)
    assert erlang_c(2, 1.6) == pytest.approx(6.4 / 9.0)


# ---------------------------------------------------------------- helpers


def load(name: str) -> Scenario:
    return load_scenario(QUEUEING / f"{name}.yaml")


def assert_ci_contains(samples, expected: float, label: str, max_rel: float = MAX_REL_HALF_WIDTH) -> None:
    """The 99% t interval of the per-replication estimates holds ``expected`` and is narrow."""
    samples = np.asarray(samples, dtype=float)
    assert samples.size >= 5 and np.isfinite(samples).all(), f"{label}: bad estimates {samples}"
    mean, lo, hi = mean_ci(samples, CONFIDENCE)
    half = (hi - lo) / 2
    assert lo <= expected <= hi, (
        f"{label}: theory {expected:.5g} outside the {CONFIDENCE:.0%} CI [{lo:.5g}, {hi:.5g}] "
        f"(mean {mean:.5g}, {samples.size} replications)"
    )
    assert half < max_rel * abs(expected), (
        f"{label}: CI half-width {half:.3g} is not below {max_rel:.0%} of {expected:.5g}; the test is too weak"
    )


def wait_share(result: RunResult, stage: str, threshold: float = 0.0) -> np.ndarray:
    """Per replication: share of deals created after the warm-up, and served, whose queue wait exceeds threshold."""
    sc = result.scenario
    d = result.deals
    served = (d["created"] >= sc.warmup_days) & d[f"start_{stage}"].notna()
    waited = d["queue_days"] > threshold
    per_rep = pd.DataFrame({"replication": d["replication"][served], "waited": waited[served]})
    return per_rep.groupby("replication")["waited"].mean().to_numpy()


# ---------------------------------------------------------------- M/M/1


@pytest.fixture(scope="module")
def mm1() -> RunResult:
    return run_scenario(load("mm1"), jobs=JOBS)


@pytest.mark.slow
def test_mm1_queue_wait(mm1):
    assert_ci_contains(mm1.summary["queue_days_server"], mmc_wq(1, 0.8, 1.0), "M/M/1 Wq")  # 4 days


@pytest.mark.slow
def test_mm1_sojourn(mm1):
    w = mmc_w(1, 0.8, 1.0)  # 5 days
    assert_ci_contains(mm1.summary["cycle_mean"], w, "M/M/1 W (cycle)")
    assert_ci_contains(mm1.summary["stage_days_serve"], w, "M/M/1 W (stage)")


@pytest.mark.slow
def test_mm1_utilisation_and_number_in_system(mm1):
    assert_ci_contains(mm1.summary["utilisation_server"], 0.8, "M/M/1 utilisation", max_rel=0.02)
    assert_ci_contains(mm1.summary["wip_serve"], 0.8 * mmc_w(1, 0.8, 1.0), "M/M/1 L")  # 4 deals
    assert_ci_contains(mm1.summary["won_per_week"], 0.8 * 7, "M/M/1 throughput", max_rel=0.02)


@pytest.mark.slow
def test_mm1_probability_of_waiting(mm1):
    assert_ci_contains(wait_share(mm1, "serve"), 0.8, "M/M/1 P(wait > 0)", max_rel=0.03)


# ---------------------------------------------------------------- M/M/c (Erlang C)


@pytest.fixture(scope="module")
def mmc() -> RunResult:
    return run_scenario(load("mmc"), jobs=JOBS)


@pytest.mark.slow
def test_mmc_queue_wait(mmc):
    assert_ci_contains(mmc.summary["queue_days_servers"], mmc_wq(3, 2.0, 1.0), "M/M/3 Wq")  # 4/9 day


@pytest.mark.slow
def test_mmc_sojourn_and_utilisation(mmc):
    assert_ci_contains(mmc.summary["cycle_mean"], mmc_w(3, 2.0, 1.0), "M/M/3 W")
    assert_ci_contains(mmc.summary["utilisation_servers"], 2 / 3, "M/M/3 utilisation", max_rel=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("t", [0.0, 0.5, 1.0])
def test_mmc_wait_distribution(mmc, t):
    """P(wait > t) = C exp(-(c m - l) t); at t = 0 the share of deals that wait at all is Erlang C."""
    expected = erlang_c(3, 2.0) * math.exp(-(3 * 1.0 - 2.0) * t)
    assert_ci_contains(wait_share(mmc, "serve", t), expected, f"M/M/3 P(wait > {t})")


# ---------------------------------------------------------------- Jackson tandem

# (stage, role, servers, mean service hours); arrivals 1 per hour
TANDEM = [("cut", "cutters", 2, 1.6), ("weld", "welders", 3, 2.4), ("paint", "painters", 1, 0.7)]


@pytest.fixture(scope="module")
def tandem() -> RunResult:
    return run_scenario(load("tandem"), jobs=JOBS)


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "role", "servers", "hours"), TANDEM)
def test_tandem_station(tandem, stage, role, servers, hours):
    """Each station is an independent M/M/c (Jackson): wait, sojourn and utilisation per station."""
    mu = 1.0 / hours
    s = tandem.summary
    assert_ci_contains(s[f"queue_days_{role}"], mmc_wq(servers, 1.0, mu) / HOURS, f"{stage} Wq")
    assert_ci_contains(s[f"stage_days_{stage}"], mmc_w(servers, 1.0, mu) / HOURS, f"{stage} W")
    assert_ci_contains(s[f"utilisation_{role}"], hours / servers, f"{stage} utilisation", max_rel=0.02)


@pytest.mark.slow
def test_tandem_total_sojourn(tandem):
    total = sum(mmc_w(c, 1.0, 1.0 / h) for _, _, c, h in TANDEM) / HOURS  # 11.77 h
    assert_ci_contains(tandem.summary["cycle_mean"], total, "tandem W")
    assert_ci_contains(tandem.summary["wip_total"], total * HOURS, "tandem L")  # l = 24 per day


# ---------------------------------------------------------------- Little's law


def _little(sc: Scenario, plan: str, replication: int = 0) -> pd.DataFrame:
    records = Funnel(sc, plan, replication_seed(sc.seed, replication)).run()
    return little_check(run_data(sc, plan, replication, records))


def assert_little(table: pd.DataFrame, label: str) -> None:
    assert list(table["span"])[-1] == "system"
    for row in table.itertuples():
        assert row.L > 0, f"{label} {row.span}: empty span"
        assert abs(row.L - row.lambda_W) <= 0.01 * row.lambda_W, (
            f"{label} {row.span}: L = {row.L:.4f} but lambda * W = {row.lambda_W:.4f}"
        )


@pytest.mark.parametrize("name", ["mm1", "mmc", "tandem"])
def test_littles_law_queueing(name):
    sc = load(name)
    assert_little(_little(sc, next(iter(sc.plans))), name)


# ---------------------------------------------------------------- everything at once


def everything() -> Scenario:
    """A small scenario that uses every mechanism: stale, decay, gates, WIP limits, owners, prospecting, backlog."""
    stage = {"effort_hours": {"dist": "gamma", "mean": 2.0, "cv": 0.8}}
    data = {
        "name": "everything",
        "horizon_days": 3650,
        "warmup_days": 180,
        "replications": 2,
        "seed": 11,
        "market": {
            "segments": {
                "smb": {
                    "share": 3,
                    "deal_value": {"dist": "lognormal", "mean": 8000, "cv": 0.6},
                    "fit": {"dist": "beta", "a": 2, "b": 2},
                },
                "enterprise": {
                    "share": 1,
                    "deal_value": {"dist": "constant", "value": 60000},
                    "fit": {"dist": "uniform", "low": 0.2, "high": 0.9},
                    "effort_scale": 1.6,
                    "buyer_scale": 2.0,
                },
            },
            "sources": {
                "inbound": {
                    "kind": "poisson",
                    "per_week": 14,
                    "seasonality": [1, 1, 1.2, 1, 0.8, 0.6, 0.5, 0.7, 1.1, 1.3, 1.2, 0.9],
                    "campaigns": [{"start_day": 200, "days": 30, "extra_per_week": 20}],
                },
                "outbound": {"kind": "prospecting", "hours_per_lead": 4},
                "target_list": {"kind": "backlog"},
            },
            "buyer": {"cold_half_life_days": 20, "stale_after_days": 25},
        },
        "process": {
            "stages": [
                {"name": "qualify", **stage, "gate": {"noise": 0.15}},
                {
                    "name": "discover",
                    **stage,
                    "buyer_days": {"dist": "exponential", "mean": 4},
                    "advance": {"base": 0.4, "per_fit": 0.5},
                },
                {
                    "name": "propose",
                    "effort_hours": {"dist": "exponential", "mean": 6},
                    "buyer_days": {"dist": "exponential", "mean": 10},
                    "advance": {"base": 0.3, "per_fit": 0.6},
                    "lost_share": 0.6,
                },
                {
                    "name": "close",
                    **stage,
                    "buyer_days": {"dist": "uniform", "low": 2, "high": 30},
                    "advance": {"base": 0.2, "per_fit": 0.7},
                },
            ]
        },
        "plans": {
            "specialists": {
                "roles": {
                    "sdr": {"headcount": 2, "works": ["qualify"], "prospects": "when_idle"},
                    "ae": {
                        "headcount": 3,
                        "works": ["discover", "propose", "close"],
                        "owns_deals": True,
                        "wip_limit_per_person": 5,
                        "prospects": 0.1,
                    },
                },
                "policy": {
                    "priority": "latest_stage_first",
                    "gate_threshold": 0.35,
                    "handoff_hours": 1.0,
                    "context_switch": {"per_open_deal": 0.05, "max_multiplier": 1.5},
                    "wip_limits": {"stages": {"discover": 6, "propose": 5}, "total": 30},
                },
            },
            "pooled": {
                "roles": {
                    "team": {
                        "headcount": 4,
                        "selling_hours_per_week": 30,
                        "works": ["qualify", "discover", "propose", "close"],
                        "wip_limit_per_person": 4,
                        "prospects": "when_idle",
                    },
                },
                "policy": {"priority": "value_per_effort", "wip_limits": {"total": 20}},
            },
            "owners_fifo": {
                "roles": {
                    "rep": {
                        "headcount": 4,
                        "works": ["qualify", "discover", "propose", "close"],
                        "owns_deals": True,
                        "prospects": 0.2,
                    },
                },
                "policy": {"gate_threshold": 0.5, "wip_limits": {"stages": {"close": 8}, "total": 25}},
            },
        },
    }
    sc = Scenario.model_validate(data)
    assert check_references(sc) == []
    return sc


def max_concurrent(a: np.ndarray, b: np.ndarray) -> int:
    """Most intervals [a, b) open at once (an interval ending at t frees its place before one starting at t)."""
    times = np.concatenate([b, a])
    steps = np.concatenate([-np.ones(b.size), np.ones(a.size)])
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max()) if times.size else 0


@pytest.mark.parametrize("plan", ["specialists", "pooled", "owners_fifo"])
def test_conservation_with_every_mechanism(plan):
    sc = everything()
    stages = [s.name for s in sc.process.stages]
    n_st = len(stages)
    for r in range(sc.replications):
        rep = replication_seed(sc.seed, r)
        rec = Funnel(sc, plan, rep).run()
        rd = run_data(sc, plan, r, rec)
        c = rd.cols
        n = len(rec)
        outcome, closed, created, state = c["outcome"], c["closed"], c["created"], c["state"]
        is_open = outcome == OUTCOMES.index("open")
        label = f"{plan} rep {r}"

        # every lead recorded once, ids 0..n-1, one valid outcome each
        assert n > 100, label
        assert np.array_equal(np.sort(c["deal_id"]), np.arange(n)), f"{label}: deal ids not 0..n-1"
        assert ((outcome >= 0) & (outcome < len(OUTCOMES))).all()
        assert ((state >= 0) & (state < len(STATES))).all()
        # every mechanism actually happened
        for name in ("won", "lost", "stale", "disqualified", "open"):
            assert (outcome == OUTCOMES.index(name)).any(), f"{label}: no {name} deals"
        # leads per source: Poisson arrivals all became deals; each prospecting stretch made one lead
        src = list(sc.market.sources)
        inbound = poisson_arrivals(sc.market.sources["inbound"], sc.horizon_days, stream(rep, "inbound", "arrivals"))
        assert (c["source"] == src.index("inbound")).sum() == inbound.size, label
        assert (c["source"] == src.index("outbound")).sum() == rd.prospecting["person"].size > 0, label
        assert (c["source"] == src.index("target_list")).sum() > 0, label

        # open deals are not closed; closed deals closed in [created, horizon]
        closed_state = STATES.index("closed")
        assert (state[is_open] != closed_state).all(), f"{label}: open deal in state closed"
        assert np.isnan(closed[is_open]).all(), f"{label}: open deal with a close time"
        assert (state[~is_open] == closed_state).all(), f"{label}: closed deal not in state closed"
        assert (closed[~is_open] <= sc.horizon_days).all()
        assert (closed[~is_open] >= created[~is_open]).all()
        assert ((created >= 0) & (created <= sc.horizon_days)).all()
        # won deals went through every stage
        won = outcome == OUTCOMES.index("won")
        assert not np.isnan(rd.done[won, -1]).any()

        # stage timestamps are ordered and contiguous
        for s in range(n_st):
            e, st, dn = rd.enter[:, s], rd.start[:, s], rd.done[:, s]
            assert (st[~np.isnan(st)] >= e[~np.isnan(st)]).all() and not np.isnan(e[~np.isnan(st)]).any()
            assert (dn[~np.isnan(dn)] >= st[~np.isnan(dn)]).all() and not np.isnan(st[~np.isnan(dn)]).any()
            if s + 1 < n_st:
                nxt = rd.enter[:, s + 1]
                went = ~np.isnan(nxt)
                assert not np.isnan(dn[went]).any(), f"{label}: entered {stages[s + 1]} before finishing {stages[s]}"
                assert (nxt[went] >= dn[went]).all()
        # a deal's stage is the last one it entered, or the next one while blocked on (or gone stale at) its WIP limit
        last = np.maximum((~np.isnan(rd.enter)).sum(axis=1) - 1, 0)
        blocked = (state == STATES.index("blocked")) | (outcome == OUTCOMES.index("stale"))
        assert ((c["stage"] == last) | (blocked & (c["stage"] == last + 1))).all(), f"{label}: stage out of step"
        for col in ("touch_days", "queue_days", "buyer_days", "blocked_days"):
            assert (c[col] >= 0).all(), f"{label}: negative {col}"

        # pull limits hold: deals in a limited stage, and deals in the system past admission
        limits = sc.plans[plan].policy.wip_limits
        for name, limit in limits.stages.items():
            s = stages.index(name)
            inside = ~np.isnan(rd.enter[:, s])
            assert max_concurrent(rd.enter[inside, s], rd.leave[inside, s]) <= limit, f"{label}: {name} over limit"
        if limits.total is not None:
            inside = ~np.isnan(rd.enter[:, 0])
            end = np.where(np.isnan(closed), sc.horizon_days, closed)
            assert max_concurrent(rd.enter[inside, 0], end[inside]) <= limits.total, f"{label}: total WIP over limit"

        # a person only works the stages of their role
        roles = list(sc.plans[plan].roles.values())
        for s, name in enumerate(stages):
            who = rd.person[:, s]
            who = who[who >= 0]
            assert all(name in roles[rd.person_role[p]].works for p in np.unique(who)), f"{label}: {name}"

        # Little's law for every stage and the whole system
        assert_little(little_check(rd), label)


@pytest.mark.slow
def test_run_scenario_tables_are_consistent():
    """The runner's deal table has every plan x replication with deal ids 0..n-1 and one summary row each."""
    sc = everything()
    res = run_scenario(sc, jobs=JOBS)
    assert len(res.summary) == len(sc.plans) * sc.replications
    for (plan, r), group in res.deals.groupby(["plan", "replication"], observed=True):
        ids = np.sort(group["deal_id"].to_numpy())
        assert np.array_equal(ids, np.arange(len(ids))), (plan, r)
        is_open = group["outcome"] == "open"
        assert (group.loc[is_open, "state"] != "closed").all()
        assert (group.loc[~is_open, "closed"] <= sc.horizon_days).all()
