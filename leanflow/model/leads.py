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


def poisson_arrivals(src: PoissonSource, horizon: float, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Arrival days in [0, horizon) of a non-homogeneous Poisson source (thinning); ``scale`` multiplies per_week
    (the replication's rate factor, ``leanflow.model.uncertainty``)."""
    season = np.asarray(src.seasonality if src.seasonality else [1.0] * 12)
    base = src.per_week / 7.0 if scale == 1.0 else src.per_week * scale / 7.0
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


Lead = tuple[int, float, float, list[float], list[float], list[float], list[float], list[float], int, float, float]
"""segment, value, fit, then flat per-stage effort, buyer-wait, outcome-uniform, gate-normal and
owner-assignment-uniform lists of the lead's block, the offset of this lead's first stage in them,
and the lead's recycling draws: a uniform (it returns if below the probability) and the nurture delay."""


class LeadFactory:
    """Makes the leads of one source, drawing their randomness in blocks.

    ``key`` names the streams (the source's name; ``<source>:recycled`` for the fresh per-stage draws of
    recycled leads, which keep their segment, value and fit)."""

    def __init__(self, sc: Scenario, rep: np.random.SeedSequence, source: str, key: str | None = None) -> None:
        key = key or source
        self._sc = sc
        self._attr = stream(rep, key, "attributes")
        self._eff = stream(rep, key, "efforts")
        self._buy = stream(rep, key, "buyer_waits")
        self._out = stream(rep, key, "outcomes")
        recycle = sc.market.buyer.recycle
        self._recycle = recycle if recycle is not None and recycle.probability > 0 else None
        self._rec_rng = stream(rep, key, "recycling") if self._recycle else None
        self._quality = sc.market.sources[source].quality
        segs = list(sc.market.segments.values())
        mix = self._quality.segment_shares
        shares = np.array([mix.get(n, 0.0) for n in sc.market.segments] if mix else [s.share for s in segs])
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
        if self._recycle:
            back, delay = self._back[row], self._delay[row]
        else:
            back, delay = 1.0, 0.0
        return (self._seg[row], self._value[row], self._fit[row], self._effort, self._buyer, self._u, self._z,
                self._assign, row * self._n, back, delay)  # fmt: skip

    def again(self, segment: int, value: float, fit: float) -> Lead:
        """Fresh per-stage draws for a returning lead that keeps its segment, value and fit."""
        lead = self.next()
        old, base, n = lead[0], lead[8], self._n
        if old != segment:  # rescale this row's efforts and waits from the drawn segment to the lead's own
            for flat, scale in ((lead[3], self._effort_scale), (lead[4], self._buyer_scale)):
                if flat:
                    ratio = scale[segment] / scale[old]
                    for k in range(base, base + n):
                        flat[k] *= ratio
        return (segment, value, fit, *lead[3:])

    def _block(self) -> None:
        stages = self._sc.process.stages
        n = self._n
        seg = np.minimum(np.searchsorted(self._cum_share, self._attr.random(BLOCK), side="right"), len(self._segs) - 1)
        values = np.stack([s.deal_value.sample(self._attr, BLOCK) for s in self._segs])
        fits = np.stack([s.fit.sample(self._attr, BLOCK) for s in self._segs])
        rows = np.arange(BLOCK)
        effort = np.stack([st.effort_hours.sample(self._eff, BLOCK) for st in stages], axis=1)
        effort *= self._effort_scale[seg, None]
        q = self._quality
        value = values[seg, rows]
        fit = q.fit.sample(self._attr, BLOCK) if q.fit is not None else fits[seg, rows]
        if q.value_scale != 1.0:
            value = value * q.value_scale
        if q.fit_shift:
            fit = fit + q.fit_shift
        self._seg = seg.tolist()
        self._value = value.tolist()
        self._fit = np.clip(fit, 0.0, 1.0).tolist()
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
        if self._recycle:
            self._back = self._rec_rng.random(BLOCK).tolist()
            self._delay = self._recycle.after_days.sample(self._rec_rng, BLOCK).tolist()
        self._row = 0
