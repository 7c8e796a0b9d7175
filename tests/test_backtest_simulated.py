"""Forecast coverage on simulated data: a known stationary funnel is simulated for three years and exported as
a left-truncated CRM export; a rolling back-test over it (calibrate before each date, forecast the next 28
days from the pipeline open then, compare) must cover near the nominal 80% and beat the naive baseline."""

from __future__ import annotations

import pandas as pd
import pytest
from test_calibrate import ROUND_TRIP, START, _export, _imported

from leanflow.experiment.backtest import rolling
from leanflow.experiment.replication import run_replication
from leanflow.scenario import load_scenario

DAYS = 1100  # three years of the round-trip funnel: 40 opportunities a week, cycles up to about 150 days
FIRST = 380  # the first as-of day: the complete window (from day 120) has run longer than the longest cycle
HORIZON = STEP = 28  # windows whose horizons do not overlap


@pytest.fixture(scope="module")
def simulated_rolling():
    sc = load_scenario(ROUND_TRIP).model_copy(update={"horizon_days": float(DAYS)})
    table, _ = _export(run_replication(sc, "as_is", 0).deals)
    day = lambda d: (START + pd.Timedelta(days=d)).date()  # noqa: E731
    return rolling(_imported(table, None), day(FIRST), day(DAYS - HORIZON - 1), STEP, HORIZON, 20, seed=1, jobs=1)


@pytest.mark.slow
def test_rolling_backtest_on_a_known_funnel_covers_near_80_percent(simulated_rolling) -> None:
    r = simulated_rolling
    assert len(r.windows) == 25 and r.skipped == []
    lo, hi = r.coverage_range()  # 64%..96% for 25 windows
    for m in ("won_revenue", "won_deals"):
        assert lo <= r.coverage(m) <= hi, f"{m}: coverage {r.coverage(m):.0%} outside {lo:.0%}..{hi:.0%}"
        assert r.mape(m) < r.mape(m, baseline=True)
    print(f"\nsimulated rolling back-test, {len(r.windows)} windows of {HORIZON} days: coverage revenue "
          f"{r.coverage('won_revenue'):.0%}, deals {r.coverage('won_deals'):.0%} (range {lo:.0%}..{hi:.0%}); MAPE "
          f"{r.mape('won_revenue'):.1%} against the baseline's {r.mape('won_revenue', baseline=True):.1%}")  # fmt: skip
