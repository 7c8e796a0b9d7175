"""Distribution specs for scenario files and their vectorised samplers.

Every distribution describes a non-negative quantity (hours, days, money or a
fit score in [0, 1]). Each spec is a frozen pydantic model tagged by ``dist``
with two methods: ``mean()`` (exact analytic mean) and
``sample(rng, size)`` (float64 array of shape ``(size,)``).

Because ``mean`` is both a parameter name and a method, specs store that
parameter in the attribute ``mean_``; the scenario key (alias) is ``mean``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_VALUE = 1e9  # any parameter: a billion covers the largest deal value; hours, days and fit are far below
MAX_DIST_CV = 20.0  # cv: a spread beyond twenty times the mean is no longer an estimate of anything
MAX_SIGMA = 5.0  # lognormal sigma of the log: already puts the 99th percentile 10^5 times the median
MIN_SHAPE = 0.1  # weibull shape: below it the mean, scale * Gamma(1 + 1/shape), overflows to absurdity
MAX_SHAPE = 100.0  # weibull shape: beyond it the distribution is a constant in all but name
MIN_BETA = 0.01  # beta a, b: below it every draw is 0 or 1 to machine precision
MAX_BETA = 10_000.0  # beta a, b: beyond it the fit is a constant in all but name
MAX_PHASES = 1000  # erlang k: beyond it the sum of phases is a constant in all but name
MAX_EMPIRICAL_VALUES = 10_000  # empirical values: calibrate keeps a few hundred quantiles; more is a data dump


def _no_bool(value: Any) -> Any:
    """Refuse a boolean where a number belongs (pydantic would read true as 1)."""
    if isinstance(value, bool | np.bool_):
        raise PydanticCustomError("number_not_bool", "expected a number, got a boolean")
    return value


def _only_bool(value: Any) -> Any:
    """Refuse anything but true or false where a flag belongs (pydantic would read 1 or 'yes' as true)."""
    if not isinstance(value, bool | np.bool_):
        raise PydanticCustomError("bool_not_other", "expected true or false")
    return bool(value)


NOT_BOOL = BeforeValidator(_no_bool)
Flag = Annotated[bool, BeforeValidator(_only_bool)]


def number(**bounds: float) -> Any:
    """A finite float, not a boolean, within pydantic ``bounds`` (ge, gt, le, lt: shown in the JSON Schema)."""
    return Annotated[float, Field(allow_inf_nan=False, **bounds), NOT_BOOL]


def integer(**bounds: int) -> Any:
    """A whole number, not a boolean, within pydantic ``bounds`` (ge, gt, le, lt: shown in the JSON Schema)."""
    return Annotated[int, Field(**bounds), NOT_BOOL]


FiniteFloat = number(ge=-MAX_VALUE, le=MAX_VALUE)
NonNegativeFloat = number(ge=0, le=MAX_VALUE)
PositiveFloat = number(gt=0, le=MAX_VALUE)
Spread = number(gt=0, le=MAX_DIST_CV)
Sigma = number(gt=0, le=MAX_SIGMA)
Shape = number(ge=MIN_SHAPE, le=MAX_SHAPE)
BetaParameter = number(ge=MIN_BETA, le=MAX_BETA)
Phases = integer(ge=1, le=MAX_PHASES)


class _Spec(BaseModel):
    """Shared pydantic configuration of all distribution specs."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)


class Exponential(_Spec):
    """Exponential distribution with the given mean."""

    dist: Literal["exponential"] = "exponential"
    mean_: PositiveFloat = Field(alias="mean")

    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)


class Constant(_Spec):
    """Degenerate distribution that always yields ``value``."""

    dist: Literal["constant"] = "constant"
    value: NonNegativeFloat

    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=np.float64)


class Uniform(_Spec):
    """Continuous uniform distribution on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: NonNegativeFloat
    high: FiniteFloat

    @model_validator(mode="after")
    def _check_order(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(
                f"high must be >= low (got low={self.low}, high={self.high})"
            )
        return self

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Triangular(_Spec):
    """Triangular distribution on [low, high] with peak at mode."""

    dist: Literal["triangular"] = "triangular"
    low: NonNegativeFloat
    mode: FiniteFloat
    high: FiniteFloat

    @model_validator(mode="after")
    def _check_order(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                "need low <= mode <= high "
                f"(got low={self.low}, mode={self.mode}, high={self.high})"
            )
        if not self.high > self.low:
            raise ValueError(
                f"high must be > low (got low={self.low}, high={self.high})"
            )
        return self

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size)


class Normal(_Spec):
    """Normal(mean, sd) truncated to x >= 0; ``mean()`` is the truncated mean."""

    dist: Literal["normal"] = "normal"
    mean_: FiniteFloat = Field(alias="mean")
    sd: PositiveFloat

    def mean(self) -> float:
        # E[X | X >= 0] = mu + sd * phi(b) / Phi(b) with b = mu / sd; log space
        # keeps the ratio finite under deep truncation (very negative b).
        from scipy import special  # loaded where used: only a normal distribution needs it

        b = self.mean_ / self.sd
        log_mills = (
            -0.5 * b * b - 0.5 * math.log(2.0 * math.pi) - float(special.log_ndtr(b))
        )
        return max(self.mean_ + self.sd * math.exp(log_mills), 0.0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        from scipy import special

        # Inverse CDF of the upper tail: Z = -ndtri(u * Phi(b)) >= -b, in log space.
        log_u = np.log1p(-rng.random(size))  # log of u in (0, 1]
        z = -special.ndtri_exp(log_u + special.log_ndtr(self.mean_ / self.sd))
        return np.maximum(self.mean_ + self.sd * z, 0.0)


class LogNormal(_Spec):
    """Lognormal given either (mean, cv) or (median, sigma) of the log."""

    dist: Literal["lognormal"] = "lognormal"
    mean_: PositiveFloat | None = Field(default=None, alias="mean")
    cv: Spread | None = None
    median: PositiveFloat | None = None
    sigma: Sigma | None = None

    @model_validator(mode="after")
    def _check_parametrisation(self) -> LogNormal:
        by_mean = (self.mean_ is not None, self.cv is not None)
        by_median = (self.median is not None, self.sigma is not None)
        if not (
            (all(by_mean) and not any(by_median))
            or (all(by_median) and not any(by_mean))
        ):
            raise ValueError(
                "lognormal expects exactly one parameter pair: "
                "(mean, cv) or (median, sigma)"
            )
        return self

    def _log_params(self) -> tuple[float, float]:
        """Return (mu, sigma) of the underlying normal."""
        if self.median is not None and self.sigma is not None:
            return math.log(self.median), self.sigma
        assert self.mean_ is not None and self.cv is not None
        var_log = math.log1p(self.cv * self.cv)
        return math.log(self.mean_) - 0.5 * var_log, math.sqrt(var_log)

    def mean(self) -> float:
        if self.mean_ is not None:
            return self.mean_
        mu, sigma = self._log_params()
        return math.exp(mu + 0.5 * sigma * sigma)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        mu, sigma = self._log_params()
        return rng.lognormal(mu, sigma, size)


class Gamma(_Spec):
    """Gamma distribution given mean and coefficient of variation."""

    dist: Literal["gamma"] = "gamma"
    mean_: PositiveFloat = Field(alias="mean")
    cv: Spread

    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        cv2 = self.cv * self.cv
        return rng.gamma(1.0 / cv2, self.mean_ * cv2, size)


class Erlang(_Spec):
    """Erlang distribution: sum of k exponential phases with total mean ``mean``."""

    dist: Literal["erlang"] = "erlang"
    k: Phases
    mean_: PositiveFloat = Field(alias="mean")

    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.gamma(float(self.k), self.mean_ / self.k, size)


class Weibull(_Spec):
    """Weibull distribution with the given shape and scale."""

    dist: Literal["weibull"] = "weibull"
    shape: Shape
    scale: PositiveFloat

    def mean(self) -> float:
        return self.scale * math.exp(math.lgamma(1.0 + 1.0 / self.shape))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, size)


class Beta(_Spec):
    """Beta(a, b) distribution on [0, 1]."""

    dist: Literal["beta"] = "beta"
    a: BetaParameter
    b: BetaParameter

    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.beta(self.a, self.b, size)


class Empirical(_Spec):
    """Uniform resampling, with replacement, of observed values."""

    dist: Literal["empirical"] = "empirical"
    values: tuple[NonNegativeFloat, ...] = Field(min_length=1, max_length=MAX_EMPIRICAL_VALUES)

    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        values = np.asarray(self.values, dtype=np.float64)
        return values[rng.integers(0, values.size, size)]


Distribution = Annotated[
    (
        Exponential
        | Constant
        | Uniform
        | Triangular
        | Normal
        | LogNormal
        | Gamma
        | Erlang
        | Weibull
        | Beta
        | Empirical
    ),
    Field(discriminator="dist"),
]

DIST_NAMES: tuple[str, ...] = tuple(
    cls.model_fields["dist"].default for cls in get_args(get_args(Distribution)[0])
)
