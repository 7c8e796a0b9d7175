"""Tests for leanflow.distributions: moments, support, validation, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from scipy import stats

from leanflow.distributions import (
    DIST_NAMES,
    Beta,
    Constant,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
)

ADAPTER: TypeAdapter = TypeAdapter(Distribution)
N = 200_000
SEED = 12345

MEAN_CASES = [
    {"dist": "exponential", "mean": 0.5},
    {"dist": "exponential", "mean": 40.0},
    {"dist": "constant", "value": 0.0},
    {"dist": "constant", "value": 3.25},
    {"dist": "uniform", "low": 0.0, "high": 1.0},
    {"dist": "uniform", "low": 2.0, "high": 10.0},
    {"dist": "uniform", "low": 4.0, "high": 4.0},
    {"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 5.0},
    {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 8.0},
    {"dist": "triangular", "low": 1.0, "mode": 8.0, "high": 8.0},
    {"dist": "normal", "mean": 10.0, "sd": 2.0},
    {"dist": "normal", "mean": 1.0, "sd": 2.0},
    {"dist": "normal", "mean": -3.0, "sd": 1.0},
    {"dist": "normal", "mean": -60.0, "sd": 1.0},
    {"dist": "lognormal", "mean": 3.0, "cv": 0.5},
    {"dist": "lognormal", "mean": 100.0, "cv": 1.0},
    {"dist": "lognormal", "median": 2.0, "sigma": 0.8},
    {"dist": "gamma", "mean": 2.0, "cv": 0.5},
    {"dist": "gamma", "mean": 8.0, "cv": 1.5},
    {"dist": "erlang", "k": 1, "mean": 3.0},
    {"dist": "erlang", "k": 4, "mean": 12.0},
    {"dist": "weibull", "shape": 0.7, "scale": 2.0},
    {"dist": "weibull", "shape": 3.0, "scale": 10.0},
    {"dist": "beta", "a": 2.0, "b": 5.0},
    {"dist": "beta", "a": 0.5, "b": 0.5},
    {"dist": "empirical", "values": [1.0, 2.0, 2.0, 7.5]},
    {"dist": "empirical", "values": [0.0, 100.0]},
]


def _case_id(params: dict) -> str:
    return (
        "-".join(f"{k}={v}" for k, v in params.items() if k != "dist") or params["dist"]
    )


def _draw(params: dict) -> tuple[BaseModel, np.ndarray]:
    spec = ADAPTER.validate_python(params)
    return spec, spec.sample(np.random.default_rng(SEED), N)


def _expected_cv(spec: BaseModel) -> float:
    if isinstance(spec, Exponential):
        return 1.0
    if isinstance(spec, LogNormal) and spec.sigma is not None:
        return math.sqrt(math.expm1(spec.sigma**2))
    return spec.cv


def _scipy_frozen(spec: BaseModel):
    """Independent scipy.stats reference for the analytic mean."""
    if isinstance(spec, Exponential):
        return stats.expon(scale=spec.mean_)
    if isinstance(spec, Uniform) and spec.high > spec.low:
        return stats.uniform(loc=spec.low, scale=spec.high - spec.low)
    if isinstance(spec, Triangular):
        width = spec.high - spec.low
        return stats.triang((spec.mode - spec.low) / width, loc=spec.low, scale=width)
    if isinstance(spec, Normal):
        return stats.truncnorm(
            -spec.mean_ / spec.sd, np.inf, loc=spec.mean_, scale=spec.sd
        )
    if isinstance(spec, LogNormal):
        if spec.sigma is not None:
            return stats.lognorm(spec.sigma, scale=spec.median)
        sigma = math.sqrt(math.log1p(spec.cv**2))
        return stats.lognorm(sigma, scale=spec.mean_ * math.exp(-0.5 * sigma**2))
    if isinstance(spec, Gamma):
        return stats.gamma(spec.cv**-2, scale=spec.mean_ * spec.cv**2)
    if isinstance(spec, Erlang):
        return stats.gamma(spec.k, scale=spec.mean_ / spec.k)
    if isinstance(spec, Weibull):
        return stats.weibull_min(spec.shape, scale=spec.scale)
    if isinstance(spec, Beta):
        return stats.beta(spec.a, spec.b)
    return None


@pytest.mark.parametrize("params", MEAN_CASES, ids=_case_id)
def test_sample_shape_dtype_and_support(params: dict) -> None:
    spec, x = _draw(params)
    assert x.shape == (N,)
    assert x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert np.all(x >= 0.0)
    if isinstance(spec, Beta):
        assert np.all(x <= 1.0)
    if isinstance(spec, Uniform | Triangular):
        assert np.all((x >= spec.low) & (x <= spec.high))
    if isinstance(spec, Empirical):
        assert set(np.unique(x)) == set(spec.values)
    if isinstance(spec, Constant):
        assert np.array_equal(x, np.full(N, spec.value))


@pytest.mark.parametrize("params", MEAN_CASES, ids=_case_id)
def test_sample_mean_within_four_standard_errors(params: dict) -> None:
    spec, x = _draw(params)
    se = x.std(ddof=1) / math.sqrt(N)
    if se == 0.0:
        assert x.mean() == spec.mean()
    else:
        assert abs(x.mean() - spec.mean()) <= 4.0 * se


@pytest.mark.parametrize("params", MEAN_CASES, ids=_case_id)
def test_analytic_mean_matches_scipy(params: dict) -> None:
    spec = ADAPTER.validate_python(params)
    reference = _scipy_frozen(spec)
    if reference is not None:
        assert spec.mean() == pytest.approx(reference.mean(), rel=1e-9)


@pytest.mark.parametrize(
    "params",
    [p for p in MEAN_CASES if p["dist"] in {"exponential", "gamma", "lognormal"}],
    ids=_case_id,
)
def test_sample_cv(params: dict) -> None:
    """Sample variance vs (cv * mean)^2 within 5 SEs; Var(s^2) ~ (m4 - s^4) / n."""
    spec, x = _draw(params)
    var = x.var(ddof=1)
    m4 = np.mean((x - x.mean()) ** 4)
    se_var = math.sqrt((m4 - var**2) / N)
    expected_var = (_expected_cv(spec) * spec.mean()) ** 2
    assert abs(var - expected_var) <= 5.0 * se_var
    assert x.std(ddof=1) / x.mean() == pytest.approx(_expected_cv(spec), rel=0.05)


def test_type_adapter_builds_gamma() -> None:
    spec = ADAPTER.validate_python({"dist": "gamma", "mean": 2, "cv": 0.5})
    assert isinstance(spec, Gamma)
    assert spec.mean() == 2.0
    assert spec.cv == 0.5


def test_dist_names_cover_every_spec() -> None:
    assert set(DIST_NAMES) == {p["dist"] for p in MEAN_CASES}
    assert len(DIST_NAMES) == len(set(DIST_NAMES)) == 11


@pytest.mark.parametrize("params", MEAN_CASES, ids=_case_id)
def test_dump_round_trips(params: dict) -> None:
    spec = ADAPTER.validate_python(params)
    assert ADAPTER.validate_python(spec.model_dump()) == spec
    assert ADAPTER.validate_json(ADAPTER.dump_json(spec)) == spec


def test_specs_are_frozen() -> None:
    spec = Gamma(mean=2.0, cv=0.5)
    with pytest.raises(ValidationError):
        spec.cv = 1.0


def test_lognormal_parametrisations_agree() -> None:
    by_mean = LogNormal(mean=5.0, cv=0.8)
    sigma = math.sqrt(math.log1p(0.8**2))
    by_median = LogNormal(median=5.0 / math.sqrt(1.0 + 0.8**2), sigma=sigma)
    assert by_median.mean() == pytest.approx(5.0, rel=1e-12)
    np.testing.assert_allclose(
        by_mean.sample(np.random.default_rng(1), 100),
        by_median.sample(np.random.default_rng(1), 100),
        rtol=1e-12,
    )


BAD_CASES = [
    {"dist": "exponential", "mean": -1.0},
    {"dist": "exponential", "mean": 0.0},
    {"dist": "exponential", "mean": float("nan")},
    {"dist": "exponential", "mean": float("inf")},
    {"dist": "exponential"},
    {"dist": "exponential", "mean": 1.0, "sd": 1.0},
    {"dist": "exponential", "mean_": 1.0},
    {"dist": "constant", "value": -0.1},
    {"dist": "uniform", "low": -1.0, "high": 1.0},
    {"dist": "uniform", "low": 2.0, "high": 1.0},
    {"dist": "triangular", "low": 1.0, "mode": 0.5, "high": 3.0},
    {"dist": "triangular", "low": 1.0, "mode": 4.0, "high": 3.0},
    {"dist": "triangular", "low": 2.0, "mode": 2.0, "high": 2.0},
    {"dist": "triangular", "low": -1.0, "mode": 0.0, "high": 1.0},
    {"dist": "normal", "mean": 1.0, "sd": 0.0},
    {"dist": "normal", "mean": float("-inf"), "sd": 1.0},
    {"dist": "lognormal", "mean": 1.0, "cv": 0.5, "median": 1.0, "sigma": 0.5},
    {"dist": "lognormal"},
    {"dist": "lognormal", "mean": 1.0},
    {"dist": "lognormal", "mean": 1.0, "sigma": 0.5},
    {"dist": "lognormal", "median": 1.0, "sigma": 0.5, "cv": 0.3},
    {"dist": "lognormal", "mean": -1.0, "cv": 0.5},
    {"dist": "gamma", "mean": 1.0, "cv": 0.0},
    {"dist": "gamma", "mean": -1.0, "cv": 1.0},
    {"dist": "erlang", "k": 0, "mean": 1.0},
    {"dist": "erlang", "k": 2.5, "mean": 1.0},
    {"dist": "erlang", "k": 2, "mean": 0.0},
    {"dist": "weibull", "shape": 0.0, "scale": 1.0},
    {"dist": "weibull", "shape": 1.0, "scale": -1.0},
    {"dist": "beta", "a": 0.0, "b": 1.0},
    {"dist": "beta", "a": 1.0, "b": -2.0},
    {"dist": "empirical", "values": []},
    {"dist": "empirical", "values": [1.0, -2.0]},
    {"dist": "empirical", "values": [1.0, float("nan")]},
    {"dist": "poisson", "mean": 1.0},
    {"mean": 1.0},
]


@pytest.mark.parametrize("params", BAD_CASES, ids=lambda p: repr(p))
def test_invalid_parameters_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"dist": "lognormal", "mean": 1.0, "cv": 0.5, "median": 1.0, "sigma": 0.5},
            "exactly one",
        ),
        ({"dist": "lognormal", "mean": 1.0}, "(median, sigma)"),
        (
            {"dist": "triangular", "low": 1.0, "mode": 0.5, "high": 3.0},
            "low <= mode <= high",
        ),
        ({"dist": "uniform", "low": 2.0, "high": 1.0}, "high must be >= low"),
        ({"dist": "exponential", "mean": -1.0}, "greater than 0"),
        ({"dist": "poisson"}, "does not match any of the expected tags"),
    ],
)
def test_error_messages_are_informative(params: dict, message: str) -> None:
    with pytest.raises(
        ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        ADAPTER.validate_python(params)


finite_pos = st.floats(
    min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False
)
valid_specs = st.one_of(
    st.builds(
        lambda m, cv: Gamma(mean=m, cv=cv),
        finite_pos,
        st.floats(min_value=0.01, max_value=5.0),
    ),
    st.builds(
        lambda m, cv: LogNormal(mean=m, cv=cv),
        finite_pos,
        st.floats(min_value=0.01, max_value=5.0),
    ),
    st.builds(
        lambda med, s: LogNormal(median=med, sigma=s),
        finite_pos,
        st.floats(min_value=0.01, max_value=3.0),
    ),
    st.builds(
        lambda lo, width: Uniform(low=lo, high=lo + width),
        st.floats(min_value=0.0, max_value=1e6),
        st.floats(min_value=0.0, max_value=1e6),
    ),
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(spec=valid_specs, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_samples_finite_nonnegative_and_reproducible(
    spec: BaseModel, seed: int
) -> None:
    first = spec.sample(np.random.default_rng(seed), 1000)
    second = spec.sample(np.random.default_rng(seed), 1000)
    assert first.shape == (1000,)
    assert np.all(np.isfinite(first))
    assert np.all(first >= 0.0)
    np.testing.assert_array_equal(first, second)
