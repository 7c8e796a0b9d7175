"""The market mechanisms move the numbers the right way: lead quality by source, fair prospecting, speed to
lead and recycling; their neutral settings change nothing; common random numbers survive the new streams.

House style of ``tests/test_mechanisms.py``: paired comparisons on common random
numbers over several replications (two plans of one scenario, or two loads of one
scenario that differ in one market value, same seed); a direction holds only if the
mean paired difference points the right way and its 95% CI excludes zero (``pytest
-s`` prints the effect sizes). Where a mechanism is deterministic given the lead's
draws, the test checks it exactly on matched leads. Only per-deal columns, the
prospecting stretches and the long-standing summary metrics are read.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mechanism_helpers import (
    OPEN,
    WON,
    Loads,
    assert_direction,
    assert_same_deals,
    assert_same_run,
    compare,
    load,
    matched,
    per_rep,
    simulate_plans,
    window,
)

from leanflow.model.records import OUTCOMES

# ---------------------------------------------------------------- lead quality by source

QUALITY = """
name: lead quality
horizon_days: 300
warmup_days: 60
seed: 2001
market:
  segments:
    a: {share: 0.7, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 2}}
    b: {share: 0.3, deal_value: {dist: gamma, mean: 30000, cv: 0.5}, fit: {dist: uniform, low: 0, high: 1}}
  sources:
    inbound: {kind: poisson, per_week: 10}
    outbound: {kind: prospecting, hours_per_lead: 2}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.2, per_fit: 0.6}}
    - {name: demo, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 4},
       advance: {base: 0.2, per_fit: 0.6}}
    - {name: close, effort_hours: {dist: gamma, mean: 1, cv: 0.5}, advance: {base: 0.1, per_fit: 0.6}}
plans:
  team:
    roles:
      rep: {headcount: 3, selling_hours_per_week: 20, works: [contact, demo, close], prospects: 0.3}
"""
OUTBOUND_QUALITY = "market.sources.outbound.quality"


@pytest.fixture(scope="module")
def quality_runs():
    loads = {
        "same": (),
        "worse_fit": (f"{OUTBOUND_QUALITY}.fit_shift=-0.15",),
        "mix": (f"{OUTBOUND_QUALITY}.segment_shares={{a: 1, b: 3}}",),
        "value": (f"{OUTBOUND_QUALITY}.value_scale=2.5",),
        "own_fit": (f"{OUTBOUND_QUALITY}.fit={{dist: constant, value: 0.9}}",),
    }
    return Loads(QUALITY, loads, "team")


LEAD = ("created", "segment", "value", "fit")


def _leads(run, source: str) -> dict[str, np.ndarray]:
    """One source's leads in creation order: their creation day and attributes."""
    keep = run.by_id(run.source(source))
    return {k: run.by_id(run.cols[k])[keep] for k in LEAD}


def _assert_inbound_unchanged(base_runs, variant_runs) -> None:
    for a, b in zip(base_runs, variant_runs, strict=True):
        la, lb = _leads(a, "inbound"), _leads(b, "inbound")
        assert la["created"].size > 100
        for k in LEAD:
            np.testing.assert_array_equal(la[k], lb[k], err_msg=f"inbound {k} changed")


def _outbound_won_share(run) -> float:
    """Share of the outbound deals created in the window and closed that were won."""
    c = run.cols
    keep = run.source("outbound") & window(run) & (c["outcome"] != OPEN)
    return float((c["outcome"][keep] == WON).mean())


def test_worse_outbound_fit_lowers_outbound_fit_and_wins_only(quality_runs) -> None:
    same, worse = quality_runs["same"], quality_runs["worse_fit"]
    _assert_inbound_unchanged(same, worse)
    for a, b in zip(same, worse, strict=True):  # the n-th outbound lead: the same draw, shifted and clipped
        fa, fb = matched(_leads(a, "outbound")["fit"], _leads(b, "outbound")["fit"])
        assert fa.size > 100
        np.testing.assert_allclose(fb, np.clip(fa - 0.15, 0, 1), rtol=0, atol=1e-12)
    compare(same, worse, lambda run: run.cols["fit"][run.source("outbound")].mean(), -1, "mean outbound fit")
    compare(same, worse, _outbound_won_share, -1, "won share of closed outbound deals")


def test_segment_mix_by_source(quality_runs) -> None:
    same, mix = quality_runs["same"], quality_runs["mix"]
    _assert_inbound_unchanged(same, mix)
    share_b = lambda run: (_leads(run, "outbound")["segment"] == 1).mean()  # noqa: E731
    compare(same, mix, share_b, +1, "segment b share of outbound leads")
    segments = np.concatenate([_leads(run, "outbound")["segment"] for run in mix])
    se = math.sqrt(0.75 * 0.25 / segments.size)
    print(f"segment b share of outbound leads: {(segments == 1).mean():.4f} (want 0.75 +- {4 * se:.4f})")
    assert abs((segments == 1).mean() - 0.75) < 4 * se


def test_value_scale_scales_outbound_values_exactly(quality_runs) -> None:
    same, value = quality_runs["same"], quality_runs["value"]
    _assert_inbound_unchanged(same, value)
    for a, b in zip(same, value, strict=True):
        va, vb = matched(_leads(a, "outbound")["value"], _leads(b, "outbound")["value"])
        assert va.size > 100
        np.testing.assert_allclose(vb, 2.5 * va, rtol=1e-12)


def test_a_source_may_have_its_own_fit_distribution(quality_runs) -> None:
    _assert_inbound_unchanged(quality_runs["same"], quality_runs["own_fit"])
    for run in quality_runs["own_fit"]:
        assert (_leads(run, "outbound")["fit"] == 0.9).all()


# ---------------------------------------------------------------- fair prospecting

PROSPECTING = """
name: fair prospecting
horizon_days: 300
warmup_days: 60
seed: 2101
market:
  segments:
    a: {share: 1, deal_value: {dist: constant, value: 10000}, fit: {dist: beta, a: 2, b: 2}}
  sources:
    inbound: {kind: poisson, per_week: 4}
    outbound: {kind: prospecting, hours_per_lead: 1}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 1, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.1, per_fit: 0.2}}
    - {name: demo, effort_hours: {dist: gamma, mean: 3, cv: 0.5}, buyer_days: {dist: exponential, mean: 4},
       advance: {base: 0.3, per_fit: 0.5}}
    - {name: close, effort_hours: {dist: gamma, mean: 1.5, cv: 0.5}, advance: {base: 0.2, per_fit: 0.5}}
plans:
  flood:
    roles:
      sdr: {headcount: 1, selling_hours_per_week: 20, works: [contact]}
      ae: {headcount: 2, selling_hours_per_week: 20, works: [demo, close], prospects: when_idle}
  pulled:
    roles:
      sdr: {headcount: 1, selling_hours_per_week: 20, works: [contact]}
      ae: {headcount: 2, selling_hours_per_week: 20, works: [demo, close], prospects: when_idle,
           prospect_pull_limit: 4}
  switching:
    roles:
      sdr: {headcount: 1, selling_hours_per_week: 20, works: [contact]}
      ae: {headcount: 2, selling_hours_per_week: 20, works: [demo, close], prospects: when_idle,
           prospect_switch_hours: 1}
"""
PULL_LIMIT, PROSPECTORS = 4, 2
OUTBOUND = "market.sources.outbound"


@pytest.fixture(scope="module")
def prospecting_runs():
    return simulate_plans(load(PROSPECTING))


def _waiting_for_first_touch(run) -> tuple[np.ndarray, np.ndarray]:
    """The number of deals created but not yet touched at the first stage, as a step function (times, levels)."""
    c = run.cols
    first = run.stage("start", "contact")
    gone = np.where(np.isnan(first), np.where(np.isnan(c["closed"]), run.sc.horizon_days, c["closed"]), first)
    times = np.concatenate([c["created"], gone])
    steps = np.concatenate([np.ones(len(gone)), -np.ones(len(gone))])
    order = np.lexsort((steps, times))  # at a tie, leave before arriving
    return times[order], np.cumsum(steps[order])


def _outbound_in_window(run) -> float:
    return float((run.source("outbound") & window(run)).sum())


def test_pull_limit_caps_the_first_stage_queue(prospecting_runs) -> None:
    """While more than N deals wait for their first touch no prospector starts a stretch; the queue can still pass
    N by the stretches already under way (one per prospector) and by inbound leads."""
    r = prospecting_runs
    flood_peak = per_rep(r["flood"], lambda run: _waiting_for_first_touch(run)[1].max())
    assert flood_peak.min() > 5 * PULL_LIMIT, "prospecting does not flood the first stage: a cap could not show"
    for run in r["pulled"]:
        _, level = _waiting_for_first_touch(run)
        inbound = np.sort(run.cols["created"][run.source("inbound")])
        week_burst = int((np.searchsorted(inbound, inbound + 7.0) - np.arange(inbound.size)).max())
        print(f"peak waiting for a first touch: {level.max():.0f} (N {PULL_LIMIT}, prospectors {PROSPECTORS}, "
              f"most inbound in a week {week_burst})")  # fmt: skip
        assert level.max() <= PULL_LIMIT + PROSPECTORS + week_burst
    compare(r["flood"], r["pulled"], "queue_days_sdr", -1, "queue_days_sdr")
    compare(r["flood"], r["pulled"], _outbound_in_window, -1, "outbound leads")


def test_switching_costs_hours_and_leads(prospecting_runs) -> None:
    r = prospecting_runs
    for run in r["switching"]:
        stretch = run.rd.prospecting
        assert set(np.unique(stretch["switch_hours"]).tolist()) == {0.0, 1.0}
        np.testing.assert_allclose(stretch["end"] - stretch["start"], (1 + stretch["switch_hours"]) * 7 / 20)
        deal = run.cols["switch_hours"]
        assert (deal > 0).any(), "no deal touch paid for a switch back from prospecting"
        np.testing.assert_array_equal(deal, np.round(deal))  # whole switches of 1 hour each
    for run in r["flood"]:
        assert (run.rd.prospecting["switch_hours"] == 0).all() and (run.cols["switch_hours"] == 0).all()
    compare(r["flood"], r["switching"], _outbound_in_window, -1, "outbound leads, switch 1 h vs 0")


def test_switching_is_charged_exactly_at_each_change_of_work(prospecting_runs) -> None:
    """Per person, in order of start: a stretch after selling (or the first one) and a touch after a stretch pay
    the switch; a deal's switch_hours is the sum over its touches."""
    stages = ("contact", "demo", "close")
    for run in prospecting_runs["switching"]:
        stretch = run.rd.prospecting
        want = np.zeros(len(run.cols["deal_id"]))
        for who in np.unique(stretch["person"]):
            items = [(t, 1, -1) for t in stretch["start"][stretch["person"] == who]]
            for stage in stages:
                mine = run.stage("person", stage) == who
                items += [(t, 0, k) for t, k in zip(run.stage("start", stage)[mine], np.flatnonzero(mine), strict=True)]
            items.sort()
            prospecting = False
            charged = []
            for _, is_stretch, row in items:
                if is_stretch:
                    charged.append(1.0 if not prospecting else 0.0)
                elif prospecting:
                    want[row] += 1.0
                prospecting = bool(is_stretch)
            np.testing.assert_array_equal(stretch["switch_hours"][stretch["person"] == who], charged)
        np.testing.assert_array_equal(run.cols["switch_hours"], want)


@pytest.fixture(scope="module")
def market_runs():
    loads = {
        "unlimited": (),
        "finite": (f"{OUTBOUND}.market_size=300",),
        "replenished": (f"{OUTBOUND}.market_size=300", f"{OUTBOUND}.replenish_per_week=10"),
    }
    return Loads(PROSPECTING, loads, "pulled")


def test_a_finite_market_has_diminishing_returns(market_runs) -> None:
    r = market_runs
    made = lambda run: float(run.source("outbound").sum())  # noqa: E731  (over the whole run)
    compare(r["unlimited"], r["finite"], made, -1, "outbound leads, market of 300 vs unlimited")
    compare(r["finite"], r["replenished"], made, +1, "outbound leads, replenish 10/week vs 0")
    for run in r["finite"]:  # the yield of a stretch falls as the list depletes: no more leads than accounts
        assert made(run) <= 300
        half = run.sc.horizon_days / 2
        created = run.cols["created"][run.source("outbound")]
        assert (created < half).sum() > (created >= half).sum()


# ---------------------------------------------------------------- speed to lead

SPEED = """
name: speed to lead
horizon_days: 300
warmup_days: 60
seed: 2201
market:
  segments:
    a: {share: 1, deal_value: {dist: constant, value: 10000}, fit: {dist: beta, a: 2, b: 2}}
  sources:
    inbound: {kind: poisson, per_week: 20}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.8, cv: 0.8}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.4, per_fit: 0.4}}
    - {name: demo, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 4},
       advance: {base: 0.3, per_fit: 0.5}}
    - {name: close, effort_hours: {dist: gamma, mean: 1, cv: 0.5}, advance: {base: 0.2, per_fit: 0.5}}
plans:
  team:
    roles:
      sdr: {headcount: 1, selling_hours_per_week: 20, works: [contact]}
      ae: {headcount: 2, selling_hours_per_week: 20, works: [demo, close]}
"""
HALF_LIFE = "market.buyer.first_touch_half_life_hours"


@pytest.fixture(scope="module")
def speed_runs():
    loads = {
        "patient": (),
        "slow_decay": (f"{HALF_LIFE}=48",),
        "fast_decay": (f"{HALF_LIFE}=8",),
        "fast_and_cold": (f"{HALF_LIFE}=8", "market.buyer.cold_half_life_days=2"),
    }
    return Loads(SPEED, loads, "team")


def _first_touch_hours(run) -> np.ndarray:
    return 24.0 * (run.stage("start", "contact") - run.cols["created"])


def test_speed_to_lead_lowers_first_stage_conversion(speed_runs) -> None:
    r = speed_runs
    wait = np.concatenate([_first_touch_hours(run) for run in r["patient"]])
    print(f"hours to the first touch: median {np.nanmedian(wait):.1f}, p90 {np.nanpercentile(wait, 90):.1f}")
    assert np.nanmedian(wait) > 4, "leads are touched at once: decay could not show"
    compare(r["patient"], r["slow_decay"], "conversion_contact", -1, "conversion_contact, half-life 48 h vs none")
    compare(r["slow_decay"], r["fast_decay"], "conversion_contact", -1, "conversion_contact, half-life 8 h vs 48 h")
    compare(r["patient"], r["fast_decay"], "won", -1, "won, half-life 8 h vs none")


def _contact_fate(run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per deal (by id): fate at contact known, went on, and the cooled flag."""
    went_on = ~np.isnan(run.stage("enter", "demo"))
    known = ~np.isnan(run.stage("done", "contact")) & (went_on | (run.cols["outcome"] != OPEN))
    return run.by_id(known), run.by_id(went_on), run.by_id(run.cols["cooled"] == 1)


def test_leads_touched_later_convert_less(speed_runs) -> None:
    short, long_ = [], []
    for run in speed_runs["slow_decay"]:
        known, went_on, _ = _contact_fate(run)
        wait = run.by_id(_first_touch_hours(run))[known]
        cut = np.median(wait)
        short.append(went_on[known][wait <= cut].mean())
        long_.append(went_on[known][wait > cut].mean())
    print(f"contact conversion: faster half {np.mean(short):.3f}, slower half {np.mean(long_):.3f}")
    assert_direction(np.array(long_) - np.array(short), -1, "contact conversion, slower minus faster half")


def test_cooled_flags_exactly_the_deals_lost_to_waiting(speed_runs) -> None:
    """The sdr works only the first stage, so its queue is the same in both runs: a deal cooled at contact under
    decay is exactly one that went on without it, and every other deal's contact fate is the same."""
    checked = 0
    for patient, fast in zip(speed_runs["patient"], speed_runs["fast_decay"], strict=True):
        kp, on_p, _ = _contact_fate(patient)
        kf, on_f, cooled = _contact_fate(fast)
        assert kp.size == kf.size, "the runs made different leads"
        first_p, first_f = (run.by_id(run.stage("start", "contact")) for run in (patient, fast))
        np.testing.assert_array_equal(first_p, first_f)  # the same first touches
        both = kp & kf
        failed_here = both & ~on_f
        np.testing.assert_array_equal(cooled[failed_here], on_p[failed_here])
        assert not (both & on_f & ~on_p).any(), "decay made a deal go on"
        assert cooled[failed_here].sum() > 20
        checked += int(failed_here.sum())
    assert checked > 500


def test_first_touch_decay_replaces_cooling_at_the_first_stage(speed_runs) -> None:
    """With a first-touch half-life, the lead's cooling per day no longer applies at the first stage: the contact
    fates are exactly the same with and without it, and later stages do cool."""
    for fast, cold in zip(speed_runs["fast_decay"], speed_runs["fast_and_cold"], strict=True):
        kf, on_f, _ = _contact_fate(fast)
        kc, on_c, _ = _contact_fate(cold)
        np.testing.assert_array_equal(kf, kc)
        np.testing.assert_array_equal(on_f, on_c)
    cooled_later = [
        int(((run.cols["cooled"] == 1) & (run.cols["stage"] > 0)).sum()) for run in speed_runs["fast_and_cold"]
    ]
    assert min(cooled_later) > 0, "cooling never bit at a later stage"


def test_first_touch_decay_follows_the_half_life(speed_runs) -> None:
    """Observed contact conversion = mean of p * 2^(-hours / 8) over the deals (within 4 binomial errors)."""
    went, want, n = 0, 0.0, 0
    for run in speed_runs["fast_decay"]:
        known, went_on, _ = _contact_fate(run)
        p = np.clip(0.4 + 0.4 * run.by_id(run.cols["fit"])[known], 0, 1)
        hours = run.by_id(_first_touch_hours(run))[known]
        went += int(went_on[known].sum())
        want += float((p * 2.0 ** (-hours / 8.0)).sum())
        n += int(known.sum())
    rate, expected = went / n, want / n
    se = math.sqrt(expected * (1 - expected) / n)
    print(f"contact conversion at half-life 8 h: observed {rate:.4f}, formula {expected:.4f} (se {se:.4f}, n={n})")
    assert abs(rate - expected) < 4 * se


# ---------------------------------------------------------------- recycling

RECYCLING = """
name: recycling
horizon_days: 300
warmup_days: 60
seed: 2301
market:
  segments:
    a: {share: 0.6, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 2}}
    b: {share: 0.4, deal_value: {dist: gamma, mean: 30000, cv: 0.5}, fit: {dist: uniform, low: 0, high: 1},
        effort_scale: 1.5}
  sources:
    inbound: {kind: poisson, per_week: 15}
  buyer: {stale_after_days: 25}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 3},
       advance: {base: 0.5, per_fit: 0.4}}
    - {name: qualify, effort_hours: {dist: gamma, mean: 0.5, cv: 0.3}, gate: {noise: 0.3}}
    - {name: demo, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 8},
       advance: {base: 0.3, per_fit: 0.5}}
    - {name: close, effort_hours: {dist: gamma, mean: 1, cv: 0.5}, buyer_days: {dist: exponential, mean: 8},
       advance: {base: 0.2, per_fit: 0.5}}
plans:
  team:
    roles:
      rep: {headcount: 3, selling_hours_per_week: 20, works: [contact, qualify, demo, close]}
    policy: {gate_threshold: 0.5}
"""
RECYCLE = "market.buyer.recycle"
NURTURE_DAYS = 20.0
RETURN_DELAY = f"{{dist: constant, value: {NURTURE_DAYS}}}"


@pytest.fixture(scope="module")
def recycling_runs():
    loads = {
        "none": (),
        "twice": (f"{RECYCLE}={{probability: 0.5, after_days: {RETURN_DELAY}, max_returns: 2}}",),
        "stale_only": (
            f"{RECYCLE}={{probability: 0.5, after_days: {{dist: exponential, mean: 20}}, outcomes: [stale]}}",
        ),
    }
    return Loads(RECYCLING, loads, "team")


def _returns(run) -> dict[str, np.ndarray]:
    """Per deal by id: the columns a return is checked on."""
    return {k: run.by_id(run.cols[k]) for k in ("deal_id", "generation", "origin", "segment", "value", "fit",
                                                 "created", "closed", "outcome", "source", "touch_days")}  # fmt: skip


def test_recycled_leads_return_with_their_history(recycling_runs) -> None:
    back = 0
    for run in recycling_runs["twice"]:
        d = _returns(run)
        gen = d["generation"]
        assert gen.max() == 2, "no lead came back twice: max_returns is not shown to bind"
        assert (gen <= 2).all()
        again = np.flatnonzero(gen > 0)
        back += again.size
        origin = d["origin"][again]
        assert (gen[origin] == 0).all() and (d["origin"][d["generation"] == 0] == d["deal_id"][gen == 0]).all()
        for k in ("segment", "value", "fit", "source"):
            np.testing.assert_array_equal(d[k][again], d[k][origin], err_msg=f"a returning lead changed its {k}")
        for k in again:  # its parent: the previous generation of the same lead
            parent = np.flatnonzero((d["origin"] == d["origin"][k]) & (gen == gen[k] - 1))
            assert parent.size == 1
            parent = parent[0]
            assert OUTCOMES[d["outcome"][parent]] in ("disqualified", "stale")
            assert d["created"][k] == d["closed"][parent] + NURTURE_DAYS
        same_touch = np.isclose(d["touch_days"][again], d["touch_days"][origin]).mean()
        assert same_touch < 0.1, "a returning lead reuses its old per-stage draws"
    assert back > 100


def test_recycling_only_the_listed_outcomes(recycling_runs) -> None:
    back = 0
    for run in recycling_runs["stale_only"]:
        d = _returns(run)
        again = np.flatnonzero(d["generation"] > 0)
        back += again.size
        assert (d["generation"] <= 1).all()  # max_returns defaults to 1
        assert all(OUTCOMES[o] == "stale" for o in d["outcome"][d["origin"][again]])
    assert back > 40, "too few returns to prove anything"


def test_recycling_raises_wins(recycling_runs) -> None:
    r = recycling_runs
    compare(r["none"], r["twice"], "won", +1, "won, recycling 0.5 vs none")
    compare(r["none"], r["twice"], "leads", +1, "leads, recycling 0.5 vs none")
    for none, twice in zip(r["none"], r["twice"], strict=True):  # the first generation is the same leads
        a, b = _leads(none, "inbound"), _leads(twice, "inbound")
        first = twice.by_id(twice.cols["generation"])[twice.by_id(twice.source("inbound"))] == 0
        for k in LEAD:
            np.testing.assert_array_equal(a[k], b[k][first])


# ---------------------------------------------------------------- neutral settings change nothing

NEUTRAL = """
name: neutral settings
horizon_days: 200
warmup_days: 40
seed: 2401
market:
  segments:
    a: {share: 0.6, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 2}}
    b: {share: 0.4, deal_value: {dist: gamma, mean: 30000, cv: 0.5}, fit: {dist: uniform, low: 0, high: 1}}
  sources:
    inbound: {kind: poisson, per_week: 15}
    outbound: {kind: prospecting, hours_per_lead: 2}
  buyer: {cold_half_life_days: 10, stale_after_days: 30}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.5, per_fit: 0.4}}
    - {name: qualify, effort_hours: {dist: gamma, mean: 0.5, cv: 0.3}, gate: {noise: 0.2}}
    - {name: demo, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 5},
       advance: {base: 0.4, per_fit: 0.5}, lost_share: 0.5}
    - {name: close, effort_hours: {dist: gamma, mean: 1.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 6},
       advance: {base: 0.3, per_fit: 0.5}}
plans:
  split:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 20, works: [contact, qualify], prospects: when_idle}
      ae: {headcount: 2, selling_hours_per_week: 20, works: [demo, close], owns_deals: true,
           hires: [{day: 60, count: 1}]}
    policy: {gate_threshold: 0.3, handoff_hours: 0.5, context_switch: {per_open_deal: 0.02, max_multiplier: 1.5}}
"""
SDR, AE = "plans.split.roles.sdr", "plans.split.roles.ae"
NEUTRAL_SETTINGS = {
    "proficiency": (f"{AE}.proficiency={{effort: 1, odds: 1, stages: {{demo: {{effort: 1, odds: 1}}}}}}",),
    "learning": (f"{SDR}.learning={{progress_ratio: 1, start_repetitions: 5, floor: 0.5, conversion_gain: 0.2}}",),
    "ramp": (f"{AE}.ramp={{start_productivity: 1, weeks: 8}}",),
    "attrition": (f"{AE}.attrition={{annual_rate: 0, backfill_days: 10, promote_from: sdr}}",),
    "hires": (f"{SDR}.hires=[]",),
    "quality": (f"{OUTBOUND}.quality={{fit_shift: 0, value_scale: 1}}", "market.sources.inbound.quality={}"),
    "pull_limit": (f"{SDR}.prospect_pull_limit=null",),
    "switching": (f"{SDR}.prospect_switch_hours=0",),
    "market": (f"{OUTBOUND}.market_size=null", f"{OUTBOUND}.replenish_per_week=5"),
    "first_touch": ("market.buyer.first_touch_half_life_hours=null",),
    "recycle": (f"{RECYCLE}={{probability: 0, after_days: {{dist: constant, value: 10}}}}",),
}
NEUTRAL_REPS = 3


@pytest.fixture(scope="module")
def neutral_base():
    return simulate_plans(load(NEUTRAL), NEUTRAL_REPS)["split"]


@pytest.mark.parametrize("mechanism", [*NEUTRAL_SETTINGS, "all"])
def test_neutral_setting_is_byte_identical_to_none(neutral_base, mechanism: str) -> None:
    overrides = [o for v in NEUTRAL_SETTINGS.values() for o in v] if mechanism == "all" else NEUTRAL_SETTINGS[mechanism]
    runs = simulate_plans(load(NEUTRAL, overrides), NEUTRAL_REPS)["split"]
    for base, run in zip(neutral_base, runs, strict=True):
        assert_same_run(base, run)


def test_neutral_base_exercises_the_mechanisms(neutral_base) -> None:
    """The scenario the neutral settings are checked on prospects, hires, hands off and cools."""
    for run in neutral_base:
        c = run.cols
        assert run.source("outbound").any() and (c["handoffs"] > 0).any() and (c["cooled"] == 1).any()
        assert len(run.spells("ae")["person"]) == 3


# ---------------------------------------------------------------- common random numbers with the new streams

CRN = """
name: common random numbers with people and recycling
horizon_days: 250
warmup_days: 50
seed: 2501
market:
  segments:
    a: {share: 0.6, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 2}}
    b: {share: 0.4, deal_value: {dist: gamma, mean: 30000, cv: 0.5}, fit: {dist: uniform, low: 0, high: 1}}
  sources:
    inbound: {kind: poisson, per_week: 15}
    outbound: {kind: prospecting, hours_per_lead: 2, quality: {fit_shift: -0.1}}
  buyer:
    stale_after_days: 30
    first_touch_half_life_hours: 24
    recycle: {probability: 0.4, after_days: {dist: exponential, mean: 30}, max_returns: 2}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.5, per_fit: 0.4}}
    - {name: qualify, effort_hours: {dist: gamma, mean: 0.5, cv: 0.3}, gate: {noise: 0.2}}
    - {name: demo, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 5},
       advance: {base: 0.4, per_fit: 0.5}, lost_share: 0.5}
    - {name: close, effort_hours: {dist: gamma, mean: 1.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 6},
       advance: {base: 0.3, per_fit: 0.5}}
plans:
  churn:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 20, works: [contact, qualify], prospects: when_idle,
            prospect_pull_limit: 5, attrition: {annual_rate: 1, backfill_days: 20}}
      ae: {headcount: 3, selling_hours_per_week: 20, works: [demo, close], owns_deals: true,
           attrition: {annual_rate: 2, backfill_days: 30, promote_from: sdr}, ramp: {start_productivity: 0.5, weeks: 6},
           learning: {progress_ratio: 0.9}}
    policy: {gate_threshold: 0.3, handoff_hours: 0.5}
  churn_again:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 20, works: [contact, qualify], prospects: when_idle,
            prospect_pull_limit: 5, attrition: {annual_rate: 1, backfill_days: 20}}
      ae: {headcount: 3, selling_hours_per_week: 20, works: [demo, close], owns_deals: true,
           attrition: {annual_rate: 2, backfill_days: 30, promote_from: sdr}, ramp: {start_productivity: 0.5, weeks: 6},
           learning: {progress_ratio: 0.9}}
    policy: {gate_threshold: 0.3, handoff_hours: 0.5}
  steady:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 20, works: [contact, qualify], prospects: when_idle,
            prospect_pull_limit: 5}
      ae: {headcount: 3, selling_hours_per_week: 20, works: [demo, close], owns_deals: true}
    policy: {gate_threshold: 0.3, handoff_hours: 0.5}
"""


@pytest.fixture(scope="module")
def crn_runs():
    return simulate_plans(load(CRN), 6)


def test_identical_plans_with_the_new_streams_differ_by_exactly_zero(crn_runs) -> None:
    one, two = crn_runs["churn"], crn_runs["churn_again"]
    for a in one:
        left = (a.spells("ae")["end"] < a.sc.horizon_days).any()
        assert (a.cols["generation"] > 0).any() and left, "the new streams never drew"
    metrics = list(one[0].metrics)
    assert len(metrics) > 30
    np.testing.assert_array_equal(
        [[run.metrics[k] for k in metrics] for run in one], [[run.metrics[k] for k in metrics] for run in two]
    )
    for a, b in zip(one, two, strict=True):
        assert_same_deals(a, b)


def test_people_and_recycling_streams_leave_the_leads_alone(crn_runs) -> None:
    """Attrition and recycling draw from their own streams: the plan without them sees the same inbound leads, at
    the same times, with the same attributes (first generation)."""
    for churn, steady in zip(crn_runs["churn"], crn_runs["steady"], strict=True):
        a, b = _leads(churn, "inbound"), _leads(steady, "inbound")
        first_a = churn.by_id(churn.cols["generation"])[churn.by_id(churn.source("inbound"))] == 0
        first_b = steady.by_id(steady.cols["generation"])[steady.by_id(steady.source("inbound"))] == 0
        for k in LEAD:
            np.testing.assert_array_equal(a[k][first_a], b[k][first_b])
    assert not np.array_equal(per_rep(crn_runs["churn"], "won"), per_rep(crn_runs["steady"], "won"))
