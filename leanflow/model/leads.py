"""Lead sources: arrival times and each lead's pre-drawn randomness.

Every lead draws everything it will ever need (segment, value, fit, effort,
buyer wait and outcome draws for each stage) when it is created, from its
source's own streams and in creation order. The n-th lead of a source is
therefore the same lead under every plan, however the plans route it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(slots=True)
class LeadDraw:
    """One lead's attributes and per-stage draws (plain Python floats, fast to index)."""

    segment: int
    value: float
    fit: float
    effort: list[float]
    buyer: list[float]
    u: list[float]
    z: list[float]


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
        self._queue: list[LeadDraw] = []

    def next(self) -> LeadDraw:
        """The next lead of this source."""
        if not self._queue:
            self._queue = self._block()[::-1]
        return self._queue.pop()

    def _block(self) -> list[LeadDraw]:
        stages = self._sc.process.stages
        seg = np.minimum(np.searchsorted(self._cum_share, self._attr.random(BLOCK), side="right"), len(self._segs) - 1)
        values = np.stack([s.deal_value.sample(self._attr, BLOCK) for s in self._segs])
        fits = np.stack([s.fit.sample(self._attr, BLOCK) for s in self._segs])
        rows = np.arange(BLOCK)
        value, fit = values[seg, rows], np.clip(fits[seg, rows], 0.0, 1.0)
        effort = np.stack([st.effort_hours.sample(self._eff, BLOCK) for st in stages], axis=1)
        effort *= self._effort_scale[seg, None]
        buyer = np.stack(
            [st.buyer_days.sample(self._buy, BLOCK) if st.buyer_days else np.zeros(BLOCK) for st in stages], axis=1
        )
        buyer *= self._buyer_scale[seg, None]
        u = self._out.random((BLOCK, len(stages)))
        z = self._out.standard_normal((BLOCK, len(stages)))
        return [
            LeadDraw(int(s), float(v), float(f), e, b, uu, zz)
            for s, v, f, e, b, uu, zz in zip(
                seg.tolist(), value.tolist(), fit.tolist(), effort.tolist(), buyer.tolist(), u.tolist(), z.tolist(),
                strict=True,
            )
        ]
