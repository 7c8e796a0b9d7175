"""Selection of the best (screen + KN) on problems whose best is known.

Normal populations with known means, correlated across designs as common
random numbers make them. Over hundreds of macro-replications the empirical
probability of correct selection must be at least 1 - alpha, judged by the
one-sided 95% Clopper-Pearson lower bound of the observed proportion.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from leanflow.experiment.selection import SelectionError, kn_constant, screen, select_best

MACRO = 400


def _population(means, sd, rho: float, reps: int, seed: int) -> np.ndarray:
    """designs x replications; replication j shares a common shock across designs (CRN), correlation rho."""
    rng = np.random.default_rng(seed)
    means, sd = np.asarray(means, float), np.broadcast_to(np.asarray(sd, float), len(means))
    common = rng.standard_normal(reps)
    own = rng.standard_normal((len(means), reps))
    return means[:, None] + sd[:, None] * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own)


def _sampler(x: np.ndarray):
    return lambda designs, start, count: x[designs, start : start + count]


def _lower_bound(successes: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson lower bound of a proportion."""
    return float(stats.beta.ppf(0.05, successes, n - successes + 1)) if successes else 0.0


@pytest.mark.parametrize(
    ("k", "sd", "rho", "delta"),
    [(10, 1.0, 0.5, 0.5), (25, 1.0, 0.0, 0.5), (6, [1.0, 2.0, 0.5, 3.0, 1.0, 1.5], 0.3, 1.0)],
    ids=["ten designs, CRN", "twenty-five, independent", "unequal variances"],
)
def test_probability_of_correct_selection_in_the_slippage_configuration(k, sd, rho, delta) -> None:
    """The best is exactly delta above all the others (the hardest case for the guarantee); a cap high enough
    that no run is truncated (a truncated run would count as a failure)."""
    alpha, cap = 0.05, 2000
    means = np.zeros(k)
    means[k // 2] = delta
    correct = 0
    for m in range(MACRO):
        x = _population(means, sd, rho, cap, seed=1000 * k + m)
        result = select_best(_sampler(x), k, alpha=alpha, delta=delta, n0=10, max_replications=cap, batch=4)
        correct += result.best == k // 2 and not result.truncated
    assert _lower_bound(correct, MACRO) >= 1 - alpha, f"{correct}/{MACRO} correct"


def test_within_delta_of_the_best_when_means_are_close() -> None:
    """Means spaced by delta/4: any design within delta of the best counts as a good selection."""
    delta, alpha, k = 0.4, 0.05, 8
    means = np.arange(k) * delta / 4
    good = 0
    for m in range(MACRO):
        x = _population(means, 1.0, 0.5, 200, seed=77 + m)
        result = select_best(_sampler(x), k, alpha=alpha, delta=delta, n0=10, max_replications=200, batch=8)
        good += means[result.best] >= means.max() - delta
    assert _lower_bound(good, MACRO) >= 1 - alpha, f"{good}/{MACRO} within delta"


def test_batches_change_what_is_simulated_not_what_is_decided() -> None:
    """Eliminations are judged one replication at a time in order, whatever the batch size."""
    x = _population(np.linspace(0, 1, 12), 1.0, 0.4, 200, seed=5)
    one = select_best(_sampler(x), 12, delta=0.3, batch=1)
    many = select_best(_sampler(x), 12, delta=0.3, batch=16)
    assert (one.best, one.survivors, one.screened_out, one.eliminated) == (
        many.best, many.survivors, many.screened_out, many.eliminated
    )  # fmt: skip
    np.testing.assert_array_equal(one.means, many.means)
    assert many.total_replications >= one.total_replications
    assert one.total_replications < 12 * 200, "nothing was eliminated early: the test proves nothing"


def test_truncation_is_reported_without_a_guarantee() -> None:
    x = _population(np.zeros(3), 1.0, 0.0, 30, seed=1)
    result = select_best(_sampler(x), 3, delta=0.01, n0=10, max_replications=30)
    assert result.truncated and "no guarantee" in result.guarantee()
    assert result.replications.max() == 30


def test_one_design_needs_no_selection() -> None:
    x = _population([1.0], 1.0, 0.0, 10, seed=2)
    result = select_best(_sampler(x), 1, delta=1.0)
    assert result.best == 0 and not result.truncated and "nothing to select" in result.guarantee()


def test_the_guarantee_in_plain_words() -> None:
    x = _population([0.0, 5.0], 1.0, 0.5, 200, seed=3)
    result = select_best(_sampler(x), 2, delta=1.0, alpha=0.1)
    assert result.best == 1
    assert "at least 90%" in result.guarantee() and "within 1 of the best" in result.guarantee()


def test_kn_constant_matches_the_paper_formula() -> None:
    """h^2 = (n0 - 1) * ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1), worked by hand for k=2, n0=3, alpha=0.05."""
    assert kn_constant(0.05, 2, 3) == pytest.approx(2 * ((0.1 ** -1) - 1))
    assert kn_constant(0.05, 10, 10) > kn_constant(0.05, 2, 10) > kn_constant(0.1, 2, 10)


def test_screen_keeps_the_best_and_drops_the_hopeless() -> None:
    x = _population([0.0, 0.0, 10.0, -10.0], 1.0, 0.5, 10, seed=4)
    kept = screen(x, 0.025)
    assert kept[2] and not kept[3]


@pytest.mark.parametrize(
    "kwargs", [dict(alpha=0.0, delta=1.0), dict(alpha=1.0, delta=1.0), dict(delta=0.0), dict(delta=1.0, n0=1),
               dict(delta=1.0, n0=10, max_replications=5)],
)  # fmt: skip
def test_bad_settings_are_refused(kwargs) -> None:
    x = _population([0.0, 1.0], 1.0, 0.0, 20, seed=6)
    with pytest.raises(SelectionError):
        select_best(_sampler(x), 2, **kwargs)
