"""Left truncation: which deals the estimates rest on, and the check of the deals created before the first close,
on synthetic exports whose truncation is independent of the outcome (kept) or not (rejected)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from leanflow.crm.calibrate import observe
from leanflow.crm.survival import incidence
from leanflow.crm.truncation import CHECK_LEVEL, cohorts, truncation_check

START = pd.Timestamp("2016-01-01")
FIRST_CLOSE = pd.Timestamp("2016-07-01")  # the export keeps only deals still open on this day


def export(seed: int, drop_undecided: float = 0.0, n: int = 6000, days: int = 400) -> pd.DataFrame:
    """Deals created uniformly over ``days``: won 50% (gamma days, mean 40), lost 30% (mean 15), never decided
    20%; the export drops those closed before FIRST_CLOSE and, of the undecided deals created before it, a
    share ``drop_undecided`` (a truncation that depends on the outcome)."""
    rng = np.random.default_rng(seed)
    created = START + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    kind = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    cycle = np.where(kind == 0, rng.gamma(4.0, 10.0, n), rng.gamma(2.0, 7.5, n)).clip(1, 120).round()
    closed = pd.Series(created + pd.to_timedelta(cycle, unit="D")).where(kind < 2)
    outcome = np.select([kind == 0, kind == 1], ["won", "lost"], "open")
    t = pd.DataFrame({"id": [f"d{i}" for i in range(n)], "created": created, "closed": closed, "outcome": outcome})
    early = t["created"] < FIRST_CLOSE
    keep = ~(t["closed"] < FIRST_CLOSE)
    keep &= ~(early & (t["outcome"] == "open") & (rng.random(n) < drop_undecided))
    return t[keep.to_numpy()].reset_index(drop=True)


def checked(t: pd.DataFrame, as_of: date):
    obs = observe(t, as_of)
    used = cohorts(obs.table, obs.first_close, obs.as_of)
    inc = incidence(used.days, used.code, used.entry)
    return used, inc, truncation_check(obs.table, obs.first_close, inc, used.longest) if used.complete_only else None


def test_a_window_shorter_than_the_longest_cycle_uses_every_deal_with_delayed_entry() -> None:
    used, _, check = checked(export(1), date(2016, 9, 1))  # 62 days since the first close, cycles to 120
    assert not used.complete_only and check is None
    assert used.truncated > 0 and (used.entry > 0).sum() == used.truncated


def test_a_window_longer_than_the_longest_cycle_uses_the_complete_cohorts_alone() -> None:
    used, inc, _ = checked(export(1), date(2017, 2, 1))  # 215 days
    assert used.complete_only and (used.entry == 0).all()
    assert used.days.size < len(observe(export(1), date(2017, 2, 1)).table)
    assert abs(inc.p_won - 0.5) < 0.03 and abs(inc.p_open - 0.2) < 0.03  # SE about 0.01 on 2,800 deals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_independent_truncation_passes_the_check(seed: int) -> None:
    _, _, check = checked(export(seed), date(2017, 2, 1))
    assert check is not None and check.n > 500
    assert check.p > CHECK_LEVEL, check.describe()
    assert "consistent with a fair sample" in check.describe()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dropping_old_undecided_deals_fails_the_check(seed: int) -> None:
    _, _, check = checked(export(seed, drop_undecided=0.5), date(2017, 2, 1))
    assert check is not None and check.rejected, check.describe()
    assert check.observed[2] < check.expected[2]  # too few undecided old deals, as the export dropped them
    assert "NOT a fair sample" in check.describe()


def test_an_export_that_is_not_truncated_has_only_its_first_days_to_check() -> None:
    t = export(1)
    t = t[t["created"] >= FIRST_CLOSE]  # every deal from the export's first day: nothing was dropped
    _, _, check = checked(t, date(2017, 2, 1))
    assert check is not None and check.n < 200  # the deals created before the first close, days after the first
    assert not check.rejected, check.describe()
