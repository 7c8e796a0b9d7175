"""Parameter uncertainty: uncertain parameters drawn once per replication, each from a stream of its own.

A poisson source's ``rate_cv`` scales its weekly rate for the whole run by M ~ Gamma(mean 1, cv rate_cv), so
its lead count over the run is a gamma-mixed Poisson (negative binomial: mean mu, variance mu + cv^2 mu^2).
A stage's ``advance.log_odds_sd`` multiplies the odds of its advance probability by exp(N(0, sd^2)) (median
1). The draws depend on the replication alone, so every plan of a replication sees the same parameters
(common random numbers); with every cv and sd at 0 nothing is drawn and the numbers are the same to the bit.
"""

from __future__ import annotations

import numpy as np

from leanflow.random import stream
from leanflow.scenario.schema import PoissonSource, Scenario

ODDS_KEY = "uncertainty:advance"  # a source name cannot hold ':', so these streams are new ones


def rate_multiplier(src: PoissonSource, rep: np.random.SeedSequence, name: str) -> float:
    """The replication's factor on a poisson source's rate: Gamma(mean 1, cv ``rate_cv``); 1 when it is 0."""
    cv = src.rate_cv
    if cv == 0:
        return 1.0
    shape = 1.0 / cv**2
    return float(stream(rep, f"{name}:rate", "arrivals").gamma(shape, 1.0 / shape))


def odds_factors(sc: Scenario, rep: np.random.SeedSequence) -> list[float]:
    """The replication's odds ratio on each stage's advance probability: exp(N(0, log_odds_sd^2)), 1 for 0."""
    sds = np.array([st.advance.log_odds_sd for st in sc.process.stages])
    if not sds.any():
        return [1.0] * sds.size
    z = stream(rep, ODDS_KEY, "outcomes").standard_normal(sds.size)  # one per stage, in stage order
    return [float(x) if s else 1.0 for x, s in zip(np.exp(sds * z), sds, strict=True)]


def with_odds(p: float, odds: float) -> float:
    """The probability ``p`` with its odds multiplied by ``odds``."""
    return p * odds / (1.0 - p + p * odds)
