"""Model invariants: common random numbers, limits, gates, staleness, prospecting."""

from __future__ import annotations

import numpy as np
import pytest

from leanflow.experiment.runner import run_scenario
from leanflow.metrics import run_data
from leanflow.model import Funnel, simulate
from leanflow.model.records import OPEN, STALE
from leanflow.random import replication_seed
from leanflow.scenario import load_scenario_text

BASE = """
name: invariants
horizon_days: 240
warmup_days: 30
replications: 3
seed: 11
market:
  segments:
    a: {share: 0.6, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 3}}
    b: {share: 0.4, deal_value: {dist: gamma, mean: 50000, cv: 0.7}, fit: {dist: uniform, low: 0, high: 1},
        effort_scale: 1.5, buyer_scale: 2}
  sources:
    inbound: {kind: poisson, per_week: 30}
    outbound: {kind: prospecting, hours_per_lead: 1.5}
  buyer: {cold_half_life_days: 10, stale_after_days: 30}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.5, per_fit: 0.4}}
    - {name: qualify, effort_hours: {dist: constant, value: 1}, gate: {noise: 0.2}}
    - {name: demo, effort_hours: {dist: gamma, mean: 3, cv: 0.5}, buyer_days: {dist: exponential, mean: 8},
       advance: {base: 0.6, per_fit: 0.3}, lost_share: 0.5}
    - {name: close, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 10},
       advance: {base: 0.4, per_fit: 0.5}}
plans:
  full_cycle:
    roles:
      rep: {headcount: 5, selling_hours_per_week: 25, owns_deals: true, works: [contact, qualify, demo, close],
            prospects: when_idle, wip_limit_per_person: 15}
    policy: {priority: latest_stage_first, gate_threshold: 0.3,
             context_switch: {per_open_deal: 0.02, max_multiplier: 1.5}}
  specialised:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 25, works: [contact, qualify], prospects: 0.25}
      ae: {headcount: 3, selling_hours_per_week: 25, owns_deals: true, works: [demo, close], wip_limit_per_person: 4}
    policy: {priority: fifo, gate_threshold: 0.5, handoff_hours: 0.5, wip_limits: {stages: {demo: 8}}}
"""


@pytest.fixture(scope="module")
def scenario():
    return load_scenario_text(BASE, "invariants.yaml")


def _run(sc, plan: str, rep: int = 0):
    return run_data(sc, plan, rep, simulate(sc, plan, replication_seed(sc.seed, rep)))


def test_identical_plans_give_identical_numbers(scenario) -> None:
    data = scenario.model_dump(by_alias=True)
    data["plans"] = {"one": data["plans"]["full_cycle"], "two": data["plans"]["full_cycle"]}
    sc = type(scenario).model_validate(data)
    summary = run_scenario(sc, 3, jobs=1).summary
    one = summary[summary.plan == "one"].drop(columns="plan").reset_index(drop=True)
    two = summary[summary.plan == "two"].drop(columns="plan").reset_index(drop=True)
    assert one.equals(two)


def test_plans_see_the_same_inbound_leads(scenario) -> None:
    a, b = _run(scenario, "full_cycle"), _run(scenario, "specialised")
    inbound = 0  # source index of 'inbound'
    cols = ("created", "value", "fit", "segment")
    la = {k: a.cols[k][a.cols["source"] == inbound] for k in cols}
    lb = {k: b.cols[k][b.cols["source"] == inbound] for k in cols}
    order_a, order_b = np.argsort(la["created"]), np.argsort(lb["created"])
    for k in cols:
        assert np.array_equal(la[k][order_a], lb[k][order_b]), k


def test_gate_errs_both_ways(scenario) -> None:
    rd = _run(scenario, "specialised")
    gate_done = ~np.isnan(rd.done[:, 1])
    qualified = rd.cols["qualified"] == 1
    fit = rd.cols["fit"]
    assert (gate_done & qualified & (fit < 0.5)).any(), "no false positive"
    assert (gate_done & ~qualified & (fit >= 0.5)).any(), "no false negative"


def _max_concurrent(a: np.ndarray, b: np.ndarray) -> int:
    keep = ~np.isnan(a)
    times = np.concatenate([a[keep], b[keep]])
    steps = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
    order = np.lexsort((steps, times))  # at equal times, leave before enter
    return int(np.cumsum(steps[order]).max())


def test_stage_wip_limit_holds(scenario) -> None:
    rd = _run(scenario, "specialised")
    demo = rd.stages.index("demo")
    assert _max_concurrent(rd.enter[:, demo], rd.leave[:, demo]) <= 8
    assert rd.cols["blocked_days"].max() > 0, "the limit never bit: the test proves nothing"


@pytest.mark.parametrize(("plan", "team", "limit"), [("specialised", 1, 4), ("full_cycle", 0, 15)])
def test_per_person_wip_limit_holds(scenario, plan: str, team: int, limit: int) -> None:
    """Also for reps who prospect: they stop making leads while at their limit."""
    funnel = Funnel(scenario, plan, replication_seed(scenario.seed, 0))
    ae = funnel.teams[team]
    peaks: list[int] = []

    def probe():
        while True:
            peaks.append(max(ae.open))
            yield funnel.env.timeout(0.05)

    funnel.env.process(probe())
    funnel.run()
    assert max(peaks) == limit, "the per-person limit is either broken or never reached"


def test_no_deal_goes_longer_than_stale_after_without_two_way_contact(scenario) -> None:
    """The clock restarts at a seller's touch and at the buyer's reply, which is when the deal enters its next
    stage (nothing blocks between stages in this plan): no deal queues for a seller longer than the limit."""
    rd = _run(scenario, "full_cycle")
    entered = np.column_stack([rd.cols["created"], rd.enter[:, 1:]])
    assert np.nanmax(rd.start - entered) <= 30 + 1e-9
    stale = rd.cols["outcome"] == STALE
    assert stale.any()
    contacts = np.column_stack([entered, rd.done])
    last = np.nanmax(contacts[stale], axis=1)
    assert np.allclose(rd.cols["closed"][stale] - last, 30)
    assert (rd.start - rd.done[:, :1] > 30)[:, 1:].any(), "no deal waited past the old clock: the test proves nothing"


CLOCK = """
name: staleness clock
horizon_days: 120
seed: 3
market:
  segments: {a: {share: 1, deal_value: {dist: constant, value: 1000}, fit: {dist: constant, value: 0.5}}}
  sources: {inbound: {kind: poisson, per_week: 0.000001}}
  buyer: {stale_after_days: 42}
process:
  stages:
    - {name: ask, effort_hours: {dist: constant, value: 0.1}, buyer_days: {dist: constant, value: 35}}
    - {name: close, effort_hours: {dist: constant, value: 0.1}}
plans:
  one:
    roles:
      sdr: {headcount: 1, works: [ask]}
      ae: {headcount: 1, owns_deals: true, works: [close]}
"""


def test_a_buyer_reply_restarts_the_staleness_clock() -> None:
    """The buyer replies after 35 days, then the deal waits 20 days for a busy seller: it is not stale at 42."""
    sc = load_scenario_text(CLOCK, "clock.yaml")
    funnel = Funnel(sc, "one", replication_seed(sc.seed, 0))
    ae = funnel.teams[1]

    def scripted():
        funnel.spawn(0)
        yield funnel.env.timeout(30)
        desk = ae.desk(0)
        assert desk.request(float("-inf")) is None  # the AE is free: granted at once
        yield funnel.env.timeout(25)  # the AE is tied up from day 30 to day 55
        desk.release()

    funnel.env.process(scripted())
    rd = run_data(sc, "one", 0, funnel.run())
    first = rd.cols["deal_id"] == 0
    assert rd.start[first, 1][0] == pytest.approx(55.0)
    assert rd.cols["outcome"][first][0] != STALE
def test_prospecting_share_is_respected(scenario) -> None:
    from leanflow.metrics import run_metrics

    m = run_metrics(_run(scenario, "specialised"))
    assert m["prospecting_share_sdr"] == pytest.approx(0.25, abs=0.02)
    assert m["prospecting_share_ae"] == 0.0


def test_every_lead_is_accounted_for(scenario) -> None:
    for plan in scenario.plans:
        rd = _run(scenario, plan)
        c = rd.cols
        assert np.array_equal(np.sort(c["deal_id"]), np.arange(len(c["deal_id"])))
        open_ = c["outcome"] == OPEN
        assert np.all(np.isnan(c["closed"][open_]))
        assert np.all(c["state"][open_] > 0)
        assert np.all(c["closed"][~open_] <= scenario.horizon_days)
        assert np.all(c["state"][~open_] == 0)
