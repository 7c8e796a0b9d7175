"""Lead sources: arrival times and each lead's pre-drawn randomness.

Every lead draws everything it will ever need (segment, value, fit, effort,
buyer wait and outcome draws for each stage) when it is created, from its
source's own streams and in creation order. The n-th lead of a source is
therefore the same lead under every plan, however the plans route it.
"""

from __future__ import annotations

import numpy as np

from leanflow.random import stream
from leanflow.scenario.schema import PoissonSource, Scenario

DAYS_PER_MONTH = 365.25 / 12
BLOCK = 512


def poisson_arrivals(src: PoissonSource, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival days in [0, horizon) of a non-homogeneous Poisson source (thinning)."""
    season = np.asarray(src.seasonality if src.seasonality else [1.0] * 12)
    base = src.per_week / 7.0
    peak = base * season.max() + sum(c.extra_per_week for c in src.campaigns) / 7.0
    if peak <= 0:
        return np.empty(0)
    n = rng.poisson(peak * horizon * 1.1 + 10 * np.sqrt(peak * horizon) + 10)
    times = np.cumsum(rng.exponential(1.0 / peak, size=n))
    while times.size == 0 or times[-1] < horizon:
        more = times[-1] if times.size else 0.0
        times = np.concatenate([times, more + np.cumsum(rng.exponential(1.0 / peak, size=n + 1))])
    times = times[times < horizon]
    rate = base * season[(times // DAYS_PER_MONTH).astype(int) % 12]
    for c in src.campaigns:
        rate = rate + np.where((times >= c.start_day) & (times < c.start_day + c.days), c.extra_per_week / 7.0, 0.0)
    keep = rng.random(times.size) * peak < rate
    return times[keep]


Lead = tuple[int, float, float, list[float], list[float], list[float], list[float], list[float], int]
"""segment, value, fit, then flat per-stage effort, buyer-wait, outcome-uniform, gate-normal and
owner-assignment-uniform lists of the lead's block, and the offset of this lead's first stage in them."""


class LeadFactory:
    """Makes the leads of one source, drawing their randomness in blocks."""

    def __init__(self, sc: Scenario, rep: np.random.SeedSequence, source: str) -> None:
        self._sc = sc
        self._attr = stream(rep, source, "attributes")
        self._eff = stream(rep, source, "efforts")
        self._buy = stream(rep, source, "buyer_waits")
        self._out = stream(rep, source, "outcomes")
        segs = list(sc.market.segments.values())
        shares = np.array([s.share for s in segs])
        self._cum_share = np.cumsum(shares / shares.sum())
        self._segs = segs
        self._effort_scale = np.array([s.effort_scale for s in segs])
        self._buyer_scale = np.array([s.buyer_scale for s in segs])
        self._n = len(sc.process.stages)
        self._has_buyer = any(st.buyer_days for st in sc.process.stages)
        self._has_gate = any(st.gate for st in sc.process.stages)
        self._buyer: list[float] = []
        self._z: list[float] = []
        self._assign: list[float] = []
        self._row = BLOCK

    def next(self) -> Lead:
        """The next lead of this source."""
        if self._row == BLOCK:
            self._block()
        row = self._row
        self._row += 1
        return (self._seg[row], self._value[row], self._fit[row], self._effort, self._buyer, self._u, self._z,
                self._assign, row * self._n)  # fmt: skip

    def _block(self) -> None:
        stages = self._sc.process.stages
        n = self._n
        seg = np.minimum(np.searchsorted(self._cum_share, self._attr.random(BLOCK), side="right"), len(self._segs) - 1)
        values = np.stack([s.deal_value.sample(self._attr, BLOCK) for s in self._segs])
        fits = np.stack([s.fit.sample(self._attr, BLOCK) for s in self._segs])
        rows = np.arange(BLOCK)
        effort = np.stack([st.effort_hours.sample(self._eff, BLOCK) for st in stages], axis=1)
        effort *= self._effort_scale[seg, None]
        self._seg = seg.tolist()
        self._value = values[seg, rows].tolist()
        self._fit = np.clip(fits[seg, rows], 0.0, 1.0).tolist()
        self._effort = effort.ravel().tolist()
        if self._has_buyer:
            buyer = np.stack(
                [st.buyer_days.sample(self._buy, BLOCK) if st.buyer_days else np.zeros(BLOCK) for st in stages], axis=1
            )
            self._buyer = (buyer * self._buyer_scale[seg, None]).ravel().tolist()
        self._u = self._out.random(BLOCK * n).tolist()
        if self._has_gate:
            self._z = self._out.standard_normal(BLOCK * n).tolist()
        self._assign = self._out.random(BLOCK * n).tolist()
        self._row = 0
