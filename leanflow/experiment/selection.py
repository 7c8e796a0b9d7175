"""Selecting the best of many simulated designs, with a guarantee, under common random numbers.

Two steps, with the error rate split between them (Bonferroni, so the data of
the first stage may be shared):

1. **Screening** (the paired subset-selection screen of Nelson, Swann,
   Goldsman and Song 2001): on the first ``n0`` replications, design i
   survives if its mean is no worse than every other design's mean minus
   ``t * S_il / sqrt(n0)``, with ``S_il`` the standard deviation of the paired
   differences and ``t`` the Student quantile at ``1 - alpha1 / (k - 1)``.
2. **KN** (Kim and Nelson 2001, a fully sequential indifference-zone
   procedure): one more replication at a time for every survivor; after each,
   drop design i if its mean falls below another survivor's by more than
   ``W_il(r) = max(0, delta / (2r) * (h^2 S_il^2 / delta^2 - r))``, with
   ``eta = ((2 alpha2 / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2`` and
   ``h^2 = 2 eta (n0 - 1)``; stop when one design is left.

The guarantee, for normally distributed replication results: if the best true
mean exceeds every other by at least ``delta``, the selected design is the
best with probability at least ``1 - alpha``; otherwise it is within ``delta``
of the best with that probability. Replications are asked for in batches (to
run in parallel), but eliminations are decided one replication at a time, in
order, exactly as the fully sequential procedure does; a batch only wastes
the replications drawn past an elimination. The procedure maximises; to
minimise, pass the negated results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from leanflow.errors import LeanflowError

# (designs, first replication, count) -> results, shape (len(designs), count): replication j of every design
# uses the same seed j (common random numbers)
Sampler = Callable[[np.ndarray, int, int], np.ndarray]


class SelectionError(LeanflowError):
    """Selection settings that cannot work."""


@dataclass
class Selection:
    """What the procedure did and chose (indices into the designs it was given)."""

    best: int
    alpha: float
    delta: float
    n0: int
    designs: int
    screened_out: int  # dropped by the first-stage screen
    eliminated: int  # dropped by KN after the screen
    truncated: bool  # stopped at max_replications with several survivors: no guarantee
    replications: np.ndarray  # replications simulated per design
    means: np.ndarray  # each design's mean over its own replications
    survivors: list[int] = field(default_factory=list)  # designs left after the screen and after each elimination

    @property
    def total_replications(self) -> int:
        return int(self.replications.sum())

    def guarantee(self) -> str:
        """The guarantee in plain words."""
        level = f"{1 - self.alpha:.0%}"
        if self.designs == 1:
            return "only one design was feasible: nothing to select"
        if self.truncated:
            return (
                f"no guarantee: {self.survivors[-1]} designs were still in contention after the replication cap; "
                "the one with the best mean was taken"
            )
        return (
            f"with probability at least {level}, the selected design is the best of the {self.designs}, or within "
            f"{self.delta:,.6g} of the best (assuming roughly normal replication results)"
        )


def kn_constant(alpha: float, k: int, n0: int) -> float:
    """KN's h^2 for ``k`` designs and a first stage of ``n0``."""
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return 2.0 * eta * (n0 - 1)


def paired_variances(x: np.ndarray) -> np.ndarray:
    """S_il^2: the sample variance of the paired differences of every two designs (rows of ``x``)."""
    cov = np.atleast_2d(np.cov(x))
    var = np.diag(cov)
    return np.maximum(var[:, None] + var[None, :] - 2.0 * cov, 0.0)


def screen(x: np.ndarray, alpha: float) -> np.ndarray:
    """Which designs survive the paired subset-selection screen on first-stage results ``x`` (designs x n0)."""
    from scipy import stats

    k, n0 = x.shape
    t = stats.t.ppf(1.0 - alpha / (k - 1), n0 - 1)
    w = t * np.sqrt(paired_variances(x) / n0)
    means = x.mean(axis=1)
    keep = means[:, None] >= means[None, :] - w  # [i, l]: i is not beaten by l
    return keep.all(axis=1)


def select_best(
    sample: Sampler,
    k: int,
    *,
    alpha: float = 0.05,
    delta: float,
    n0: int = 10,
    max_replications: int = 200,
    batch: int = 1,
) -> Selection:
    """Run screening plus KN on ``k`` designs; ``sample`` simulates the replications asked for."""
    if k < 1:
        raise SelectionError("selection needs at least one design")
    if not 0 < alpha < 1 or not delta > 0:
        raise SelectionError(f"selection needs 0 < confidence < 1 and indifference > 0 (got alpha {alpha}, "
                             f"indifference {delta})")  # fmt: skip
    if n0 < 2 or max_replications < n0:
        raise SelectionError(f"selection needs first_stage >= 2 and max_replications >= first_stage "
                             f"(got {n0} and {max_replications})")  # fmt: skip
    everyone = np.arange(k)
    first = np.asarray(sample(everyone, 0, n0), dtype=float).reshape(k, n0)
    simulated = np.full(k, n0)
    total, judged = first.sum(axis=1), np.full(k, n0)
    if k == 1:
        return Selection(0, alpha, delta, n0, 1, 0, 0, False, simulated, total / judged, [1])
    alive = everyone[screen(first, alpha / 2.0)]
    screened_out = k - len(alive)
    h2 = kn_constant(alpha / 2.0, k, n0)
    s2 = paired_variances(first[alive])  # KN's S_il^2 among the survivors, from the first stage
    survivors = [len(alive)]
    pending = np.empty((len(alive), 0))  # replications simulated but not yet judged
    r = n0
    while True:
        keep = _kn_step(total[alive] / r, s2, h2, delta, r)
        if not keep.all():
            alive, s2, pending = alive[keep], s2[np.ix_(keep, keep)], pending[keep]
            survivors.append(len(alive))
        if len(alive) == 1 or r >= max_replications:
            break
        if pending.shape[1] == 0:
            size = min(batch, max_replications - r)
            pending = np.asarray(sample(alive, r, size), dtype=float).reshape(len(alive), size)
            simulated[alive] += size
        total[alive] += pending[:, 0]
        judged[alive] += 1
        pending = pending[:, 1:]
        r += 1
    best = int(alive[np.argmax(total[alive])])
    eliminated = k - screened_out - len(alive)
    return Selection(best, alpha, delta, n0, k, screened_out, eliminated, len(alive) > 1, simulated,
                     total / judged, survivors)  # fmt: skip


def _kn_step(means: np.ndarray, s2: np.ndarray, h2: float, delta: float, r: int) -> np.ndarray:
    """Which of the current designs survive KN's screening after ``r`` replications each."""
    w = np.maximum(0.0, delta / (2.0 * r) * (h2 * s2 / delta**2 - r))
    keep = means[:, None] >= means[None, :] - w
    np.fill_diagonal(keep, True)
    return keep.all(axis=1)
