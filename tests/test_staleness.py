"""The staleness clock: one timer for every waiting deal gives exactly the outcomes of a deadline per wait.

The reference is the straightforward implementation: every wait that is not
granted at once arms its own timeout at the deal's last contact plus
``stale_after_days`` and gives the wait up if it is still pending at the end of
that instant (a grant at the deadline itself counts, the convention of both). On
random scenarios (WIP limits, CONWIP, owners with per-person limits,
departures that hand queues on, prospecting, priorities) the shared clock and
the reference give the same outcome and the same times, deal by deal; and
every stale deal closed exactly ``stale_after_days`` after its last two-way
contact.
"""

from __future__ import annotations

import math

import numpy as np
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leanflow.model import Funnel
from leanflow.model.desk import Desk
from leanflow.model.records import STALE
from leanflow.model.staleness import Deadline, StaleClock
from leanflow.random import replication_seed
from leanflow.scenario import load_scenario_text


class PerWaitClock:
    """The reference: a timeout per wait."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def watch(self, wait, deadline: float) -> None:
        Deadline(self.env, deadline).callbacks.append(lambda _: wait.triggered or wait.expire())


class Watched(Funnel):
    """A funnel that logs each close with the deal's last contact; optionally with the reference clock."""

    def __init__(self, sc, plan, rep, reference: bool) -> None:
        super().__init__(sc, plan, rep)
        self.closes: list[tuple[int, int, float, float]] = []
        if reference and self.clock is not None:
            self.clock = PerWaitClock(self.env)

    def _close(self, d, outcome, conwip_slot, held_slot) -> None:
        self.closes.append((d.id, outcome, self.env.now, d.last_contact))
        super()._close(d, outcome, conwip_slot, held_slot)


def _scenario(p: dict) -> str:
    stages = ["open", "pitch", "close"][: p["stages"]]
    buyer = f"{{dist: exponential, mean: {p['buyer_days']}}}"
    lines = []
    for k, name in enumerate(stages):
        gate = ", gate: {noise: 0.2}" if k == 0 else ""
        lines.append(
            f"    - {{name: {name}, effort_hours: {{dist: gamma, mean: {p['effort']}, cv: 0.7}}, buyer_days: {buyer},"
            f" advance: {{base: 0.6, per_fit: 0.3}}{gate}}}"
        )
    split = p["split"] and len(stages) > 1
    roles = [("sdr", stages[:1], p["owns"][0]), ("ae", stages[1:], p["owns"][1])]
    if not split:
        roles = [("rep", stages, p["owns"][0])]
    role_lines = []
    for k, (name, works, owns) in enumerate(roles):
        extra = f", wip_limit_per_person: {p['person_wip']}" if p["person_wip"] and owns else ""
        if p["attrition"]:
            extra += f", attrition: {{annual_rate: {p['attrition']}, backfill_days: 10}}"
        if k == 0 and p["prospecting"]:
            extra += ", prospects: when_idle"
        role_lines.append(
            f"      {name}: {{headcount: {p['heads'][k]}, selling_hours_per_week: 20, owns_deals: {str(owns).lower()},"
            f" works: [{', '.join(works)}]{extra}}}"
        )
    limits = []
    if p["stage_wip"] and len(stages) > 1:
        limits.append(f"stages: {{{stages[1]}: {p['stage_wip']}}}")
    if p["conwip"]:
        limits.append(f"total: {p['conwip']}")
    sources = f"    inbound: {{kind: poisson, per_week: {p['per_week']}}}\n"
    if p["prospecting"]:
        sources += "    outbound: {kind: prospecting, hours_per_lead: 2}\n"
    return f"""
name: random staleness
horizon_days: 150
seed: {p["seed"]}
market:
  segments:
    a: {{share: 1, deal_value: {{dist: lognormal, median: 10000, sigma: 0.6}}, fit: {{dist: beta, a: 2, b: 2}}}}
  sources:
{sources}  buyer: {{stale_after_days: {p["stale"]}, cold_half_life_days: 20}}
process:
  stages:
{chr(10).join(lines)}
plans:
  p:
    roles:
{chr(10).join(role_lines)}
    policy: {{priority: {p["priority"]}, gate_threshold: 0.3, wip_limits: {{{", ".join(limits)}}}}}
"""


params = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "stages": st.integers(1, 3),
        "split": st.booleans(),
        "owns": st.tuples(st.booleans(), st.booleans()),
        "heads": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "person_wip": st.sampled_from([None, 2, 5]),
        "stage_wip": st.sampled_from([None, 1, 3]),
        "conwip": st.sampled_from([None, 4, 12]),
        "attrition": st.sampled_from([0, 3.0]),
        "prospecting": st.booleans(),
        "priority": st.sampled_from(["fifo", "latest_stage_first", "highest_value_first", "oldest_first"]),
        "per_week": st.sampled_from([5, 15, 40]),
        "effort": st.sampled_from([1.0, 4.0]),
        "buyer_days": st.sampled_from([1, 6]),
        "stale": st.sampled_from([3, 10, 30]),
    }
)


def _run(text: str, reference: bool) -> Watched:
    sc = load_scenario_text(text, "random.yaml")
    f = Watched(sc, "p", replication_seed(sc.seed, 0), reference)
    f.run()
    return f


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params)
def test_one_clock_for_all_waits_matches_a_deadline_per_wait(p: dict) -> None:
    text = _scenario(p)
    fast, ref = _run(text, reference=False), _run(text, reference=True)
    a, b = sorted(fast.closes), sorted(ref.closes)
    assert [c[:2] for c in a] == [c[:2] for c in b], "a deal ended differently"
    np.testing.assert_allclose([c[2:] for c in a], [c[2:] for c in b], rtol=0, atol=1e-9)
    assert len(fast.records) == len(ref.records)
    stale_after = float(p["stale"])
    for _, outcome, closed, last in a:
        if outcome == STALE:
            assert math.isclose(closed - last, stale_after, abs_tol=1e-9)


def test_the_random_scenarios_do_go_stale() -> None:
    """A heavily loaded example of the generator: many deals go stale in every way, so the test above bites."""
    p = dict(
        seed=1, stages=3, split=True, owns=(False, True), heads=(1, 1), person_wip=2, stage_wip=1, conwip=12,
        attrition=3.0, prospecting=True, priority="latest_stage_first", per_week=40, effort=4.0, buyer_days=6,
        stale=10,
    )  # fmt: skip
    f = _run(_scenario(p), reference=False)
    stale = [c for c in f.closes if c[1] == STALE]
    assert len(stale) > 50
    assert all(math.isclose(c[2] - c[3], 10.0, abs_tol=1e-9) for c in stale)


# ---------------------------------------------------------------- the clock on its own


def test_a_wait_expires_at_its_deadline_unless_granted() -> None:
    env = simpy.Environment()
    clock, desk = StaleClock(env), Desk(env, 0)
    late, early, granted = desk.request(0.0, 1), desk.request(0.0, 2), desk.request(0.0, 3)
    log: list[tuple[str, float, object]] = []
    for name, g in (("late", late), ("early", early), ("granted", granted)):
        g.callbacks.append(lambda ev, name=name: log.append((name, env.now, ev.value)))
    clock.watch(late, 9.0)
    clock.watch(early, 4.0)  # an earlier deadline after a later one re-arms the clock
    clock.watch(granted, 2.0)

    def grant_one():
        yield env.timeout(1.0)
        desk.capacity = 1
        desk.serve()  # the first in line is ``late``: granted before its deadline

    env.process(grant_one())
    env.run()
    assert log == [("late", 1.0, None), ("granted", 2.0, False), ("early", 4.0, False)]
    assert desk.waiting == 0 and desk.users == 1


def test_a_grant_at_the_deadline_itself_counts() -> None:
    """Whichever was scheduled first: the release at day 3 beats the deadline at day 3."""
    env = simpy.Environment()
    clock, desk = StaleClock(env), Desk(env, 1)
    assert desk.request() is None
    g = desk.request(0.0, 1)
    clock.watch(g, 3.0)  # armed before the release below was scheduled
    env.timeout(3.0).callbacks.append(lambda _: desk.release())
    env.run()
    assert g.value is None and desk.users == 1


def test_a_deadline_now_expires_at_the_end_of_the_instant() -> None:
    env = simpy.Environment()
    desk = Desk(env, 0)
    g = desk.request(0.0, 1)
    StaleClock(env).watch(g, env.now)
    assert not g.triggered
    env.run()
    assert g.value is False and desk.waiting == 0 and env.now == 0.0


def test_a_free_seller_is_granted_with_no_event_and_a_release_schedules_none() -> None:
    env = simpy.Environment()
    desk = Desk(env, 2)
    assert desk.request() is None and desk.request() is None
    assert desk.users == 2 and not env._queue
    desk.release()
    assert desk.users == 1 and not env._queue
