"""Parameter uncertainty: a source's rate_cv, a stage's log_odds_sd, their estimators, and old open deals.

Statistical checks run on a fixed seed and compare with the exact value within three standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from leanflow.crm.uncertainty import log_odds_sd_from, rate_cv_from_weekly, rate_variance_from_weekly
from leanflow.errors import LeanflowError, ScenarioError
from leanflow.experiment.forecast import forecast
from leanflow.model import simulate
from leanflow.model.funnel import Funnel
from leanflow.model.leads import poisson_arrivals
from leanflow.model.records import NEW, OLD, OPEN, PLACED, STALE, WON
from leanflow.model.uncertainty import odds_factors, rate_multiplier, with_odds
from leanflow.random import replication_seed, stream
from leanflow.scenario import load_scenario_text
from leanflow.scenario.pipeline import parse_rows, with_pipeline

SCENARIO = """
name: uncertain
horizon_days: 70
seed: 5
market:
  segments: {{all: {{share: 1, deal_value: {{dist: constant, value: 100}}, fit: {{dist: uniform, low: 0, high: 1}}}}}}
  sources:
    inbound: {{kind: poisson, per_week: 10{rate}}}
    partner: {{kind: poisson, per_week: 5}}
process:
  stages:
    - {{name: talk, effort_hours: {{dist: constant, value: 0.1}}, buyer_days: {{dist: exponential, mean: 3}},
       advance: {{base: 0.8{talk}}}}}
    - {{name: close, effort_hours: {{dist: constant, value: 0.1}}, buyer_days: {{dist: exponential, mean: 5}},
       advance: {{base: 0.3, per_fit: 0.4{close}}}}}
plans:
  a: {{roles: {{rep: {{headcount: 50, works: [talk, close]}}}}}}
  b: {{roles: {{rep: {{headcount: 2, selling_hours_per_week: 4, works: [talk, close]}}}}}}
"""


def scenario(rate: str = "", talk: str = "", close: str = ""):
    return load_scenario_text(SCENARIO.format(rate=rate, talk=talk, close=close), "u.yaml")


def columns(sc, plan: str, rep: int) -> dict[str, np.ndarray]:
    return simulate(sc, plan, replication_seed(sc.seed, rep)).columns()


# ---------------------------------------------------------------- off: the same numbers


def test_zero_uncertainty_changes_nothing_to_the_bit() -> None:
    plain = scenario()
    zero = scenario(", rate_cv: 0", ", log_odds_sd: 0", ", log_odds_sd: 0")
    for plan in plain.plans:
        a, b = columns(plain, plan, 3), columns(zero, plan, 3)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_rate_cv_moves_only_its_own_source() -> None:
    cols, uncertain = columns(scenario(), "a", 1), columns(scenario(", rate_cv: 0.5"), "a", 1)
    for source in (0, 1):
        n, m = (c["source"] == source for c in (cols, uncertain))
        if source == 1:  # the other source: the same leads at the same times
            assert np.array_equal(cols["created"][n], uncertain["created"][m])
        else:
            assert n.sum() != m.sum()


def test_bounds_are_validated() -> None:
    for bad in (", rate_cv: -0.1", ", rate_cv: 5"):
        with pytest.raises(ScenarioError, match="rate_cv"):
            scenario(bad)
    with pytest.raises(ScenarioError, match="log_odds_sd"):
        scenario(close=", log_odds_sd: 4")


# ---------------------------------------------------------------- the draws


def test_rate_cv_gives_negative_binomial_counts() -> None:
    sc = scenario(", rate_cv: 0.3")
    src = sc.market.sources["inbound"]
    counts = []
    for r in range(3000):
        rep = replication_seed(11, r)
        rng = stream(rep, "inbound", "arrivals")
        counts.append(poisson_arrivals(src, 70.0, rng, rate_multiplier(src, rep, "inbound")).size)
    x = np.array(counts, dtype=float)
    mu = 10 * 70 / 7
    var = mu + 0.3**2 * mu**2
    assert abs(x.mean() - mu) < 3 * np.sqrt(var / x.size)
    m4 = np.mean((x - x.mean()) ** 4)
    se_var = np.sqrt((m4 - x.var() ** 2) / x.size)
    assert abs(x.var(ddof=1) - var) < 3 * se_var, (x.var(ddof=1), var, se_var)


def test_odds_factors_are_lognormal_per_stage_and_shared_by_plans() -> None:
    sc = scenario(talk=", log_odds_sd: 0.2", close=", log_odds_sd: 0.5")
    draws = np.array([odds_factors(sc, replication_seed(2, r)) for r in range(2000)])
    logs = np.log(draws)
    for k, sd in enumerate((0.2, 0.5)):
        assert stats.kstest(logs[:, k], "norm", args=(0.0, sd)).pvalue > 0.01
    assert abs(np.corrcoef(logs.T)[0, 1]) < 3 / np.sqrt(len(logs))
    assert odds_factors(scenario(close=", log_odds_sd: 0.5"), replication_seed(2, 0))[0] == 1.0
    rep = replication_seed(sc.seed, 4)
    for plan in sc.plans:
        assert [st.odds for st in Funnel(sc, plan, rep).stages] == pytest.approx(odds_factors(sc, rep), abs=0)


def test_the_drawn_odds_reach_the_outcomes() -> None:
    """One replication with a known factor: the close stage's win share is the odds-shifted probability."""
    sc = scenario(close=", log_odds_sd: 1").model_copy(update={"horizon_days": 1500.0})
    rep = next(
        replication_seed(sc.seed, r)
        for r in range(50)
        if abs(np.log(odds_factors(sc, replication_seed(sc.seed, r))[1])) > 0.5
    )
    factor = odds_factors(sc, rep)[1]
    cols = simulate(sc, "a", rep).columns()
    reached = (cols["stage"] == 1) & (cols["outcome"] != OPEN)  # decided at the close stage
    won = cols["outcome"][reached] == WON
    fit = cols["fit"][reached]
    p = np.mean([with_odds(0.3 + 0.4 * x, factor) for x in fit])
    assert abs(won.mean() - p) < 3 * np.sqrt(p * (1 - p) / won.size), (won.mean(), p, won.size)


# ---------------------------------------------------------------- the estimators


def weekly(rng: np.random.Generator, weeks: int, rate: float, cv: float, step: float) -> np.ndarray:
    """Weekly true rates: gamma-mixed (cv) around a level that drifts as a random walk of log-step ``step``."""
    level = rate * np.exp(np.cumsum(rng.normal(0.0, step, weeks)))
    return level * rng.gamma(1 / cv**2, cv**2, weeks)


@pytest.mark.parametrize(("fitted", "cv", "step"), [(26, 0.1, 0.0), (17, 0.1, 0.03), (10, 0.05, 0.03)])
def test_rate_variance_recovers_the_horizon_spread(fitted: int, cv: float, step: float) -> None:
    """Against what happened next: the realised (horizon mean rate / fitted rate - 1)^2, pairwise."""
    rng = np.random.default_rng(7)
    horizon, diff = 13, []
    for _ in range(1000):
        rate = weekly(rng, fitted + horizon, 180.0, cv, step)
        counts = rng.poisson(rate[:fitted])
        real = rate[fitted:].mean() / counts.mean() - 1
        diff.append(rate_variance_from_weekly(counts, horizon) - real**2)
    d = np.array(diff)
    assert abs(d.mean()) < 3 * d.std() / np.sqrt(d.size), (d.mean(), d.std() / np.sqrt(d.size))


def test_rate_cv_is_its_square_root_and_bad_input_is_an_error() -> None:
    rng = np.random.default_rng(3)
    counts = rng.poisson(weekly(rng, 20, 50.0, 0.2, 0.02))
    assert rate_cv_from_weekly(counts, 90 / 7) == pytest.approx(np.sqrt(max(0, rate_variance_from_weekly(counts, 13))))
    assert rate_cv_from_weekly(np.full(10, 100), 13) == 0.0  # steadier than Poisson: a negative variance, taken as 0
    for bad in ([1, 2, 3], [1, 2, -3, 4], [0, 0, 0, 0]):
        with pytest.raises(LeanflowError, match="weekly counts"):
            rate_cv_from_weekly(np.array(bad), 13)


def test_log_odds_sd_is_the_delta_method() -> None:
    rng = np.random.default_rng(9)
    p, n = 0.65, 400
    hat = rng.binomial(n, p, 4000) / n
    sd = np.std(np.log(hat / (1 - hat)), ddof=1)
    expected = log_odds_sd_from(p, np.sqrt(p * (1 - p) / n))
    assert expected == pytest.approx(1 / np.sqrt(n * p * (1 - p)))
    assert abs(sd - expected) < 3 * sd / np.sqrt(2 * (hat.size - 1))
    for bad in ((0.0, 0.1), (0.5, -1.0)):
        with pytest.raises(LeanflowError):
            log_odds_sd_from(*bad)


# ---------------------------------------------------------------- old open deals


def with_old_deals(old: str | None = None):
    sc = scenario()
    rows = [{"id": "fresh", "stage": "close", "age_days": 4, "value": 100},
            {"id": "ancient", "stage": "close", "age_days": 900, "value": 100}]  # fmt: skip
    return with_pipeline(sc, parse_rows(rows, sc), old=old)


def test_old_deals_restart_by_default_or_close_stale_at_time_zero() -> None:
    restart, stale = (initial(with_old_deals(old)) for old in (None, "stale"))
    assert list(restart["initial"]) == list(stale["initial"]) == [PLACED, OLD]
    assert not (restart["outcome"][1] == STALE and restart["closed"][1] == 0)
    assert stale["outcome"][1] == STALE and stale["closed"][1] == 0.0
    assert with_old_deals().initial_pipeline.old == "restart"
    kept = with_pipeline(with_old_deals("stale"), with_old_deals().initial_pipeline.deals)
    assert kept.initial_pipeline.old == "stale"


def initial(sc) -> dict[str, np.ndarray]:
    cols = columns(sc, "a", 0)
    keep = cols["initial"] != NEW
    return {k: v[keep][np.argsort(cols["deal_id"][keep])] for k, v in cols.items()}


def test_forecast_takes_the_old_policy() -> None:
    from datetime import date

    sc = with_old_deals()
    day = date(2017, 1, 1)
    stale = forecast(sc, None, day, date(2017, 2, 1), n=2, plans=["a"], jobs=1, old="stale")
    restart = forecast(sc, None, day, date(2017, 2, 1), n=2, plans=["a"], jobs=1)
    assert stale.old_ids["a"] == restart.old_ids["a"] == ("ancient",)
    assert stale.paths["a"][:, 2, -1].max() <= 100 < restart.paths["a"][:, 2, -1].max() + 100  # at most the fresh one
    with pytest.raises(LeanflowError, match="old: expected one of restart, stale"):
        forecast(sc, None, day, date(2017, 2, 1), n=1, jobs=1, old="drop")
