"""Today's pipeline at time 0: each open deal placed at its stage, with its elapsed time respected.

A deal of age ``a`` at stage ``s`` draws ``CANDIDATES`` paths through stages 0..s. A stage's duration on a
path is its seller effort at the role's pace (effort x 7 / selling hours per week, days: no queueing) plus its
buyer wait, both scaled by the segment. The deal takes the first path whose earlier stages end before ``a``
and whose stage ``s`` ends after it (rejection sampling: an exact draw of the path given that the deal is in
stage ``s`` at age ``a``), and resumes at time 0 with the rest of it: still to be worked (the effort left of
the stage, then its whole buyer wait) or waiting for the buyer (the wait left). With ``days_in_stage`` only
the stage itself is conditioned, on that elapsed time. With ``stale_after_days``, a path must also be one the
model leaves open: no earlier buyer wait, nor the silence so far in this stage, reaching the limit (a buyer
wait that reaches it later makes the deal stale at that moment, as in the model). The fit is drawn the same
way, given that the deal passed the gates (at the plan's threshold) and advance draws of the earlier stages.

A deal older than ``OLD_QUANTILE`` of the model's path time to the end of its stage (its time in the stage,
with ``days_in_stage``) is flagged OLD. The quantiles come from ``REFERENCE`` paths drawn on replication 0's
stream, so the same deals are flagged in every replication. An OLD deal, and one no candidate matched
(UNMATCHED), restarts its stage at time 0 with fresh draws, or with ``old: stale`` is closed as stale at time
0. With ``max_age_days``, a deal older than that is closed as stale at time 0 (EXPIRED), before anything runs.

A placed deal holds its stage's WIP slot, a CONWIP slot and an owner in every role whose span covers its
stage from time 0, whatever the limits (it is there already; new deals wait until the pipeline drains below
them). A CRM owner maps to a seat of the owning role at the deal's stage (the k-th distinct owner to seat k
modulo the seats); without one the deal goes to the least loaded. Today's deals are not in the prospectors'
pull signal and do not recycle. Their draws come from streams of their own (key ``initial:pipeline``), in
amounts fixed by the deals alone, so the other streams, and every result without a pipeline, are unchanged,
and every plan sees the same draws.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from leanflow.model.records import EXPIRED, OLD, PLACED, STALE, UNMATCHED, Deal
from leanflow.model.uncertainty import with_odds
from leanflow.random import replication_seed, stream

if TYPE_CHECKING:
    from leanflow.model.desk import Desk
    from leanflow.model.funnel import Funnel
    from leanflow.scenario.pipeline import OpenDeals
    from leanflow.scenario.schema import InitialPipeline

CANDIDATES = 128  # paths drawn per deal: the first that matches its age is its own
RETRY = 2048  # paths drawn for a deal none of the first matched (its age is in the tail)
REFERENCE = 4096  # paths per segment behind the OLD quantiles
OLD_QUANTILE = 0.99
CHUNK = 256  # deals conditioned together (bounds the memory of the candidate arrays)
KEY = "initial:pipeline"  # a source name cannot hold ':', so these streams are new ones
WORK_LEFT, BUYER_LEFT = 1, 2  # where a placed deal resumes in its stage (``Funnel._deal``'s phase)


class Paths:
    """Candidate paths of some deals: nominal touch and buyer days per stage, (deals, candidates, stages)."""

    def __init__(
        self, f: Funnel, seg: np.ndarray, stage: np.ndarray, k: int, eff: np.random.Generator, buy: np.random.Generator
    ) -> None:
        m, n = len(seg), f.n_stages
        self.touch = np.zeros((m, k, n))
        self.wait = np.zeros((m, k, n))
        effort_scale, buyer_scale = _scales(f)
        for j, spec in enumerate(f.sc.process.stages):
            rows = np.flatnonzero(stage >= j)
            size = rows.size * k
            scale = (effort_scale[seg[rows]] * f.stages[j].days_per_hour)[:, None]
            self.touch[rows, :, j] = spec.effort_hours.sample(eff, size).reshape(rows.size, k) * scale
            if spec.buyer_days is not None:
                scale = buyer_scale[seg[rows]][:, None]
                self.wait[rows, :, j] = spec.buyer_days.sample(buy, size).reshape(rows.size, k) * scale

    def ends(self) -> np.ndarray:
        """Day each stage ends on each path, counted from the deal's creation."""
        return np.cumsum(self.touch + self.wait, axis=2)


def place_pipeline(f: Funnel, spec: InitialPipeline, rep: np.random.SeedSequence) -> None:
    """Place today's open deals into the funnel at time 0 (before the sources start)."""
    deals = spec.deals
    old_after = _old_thresholds(f)
    kinds = ("attributes", "efforts", "buyer_waits", "outcomes")
    keys = {"first": KEY, "retry": f"{KEY}:retry"}
    rngs = {r: {kind: stream(rep, key, kind) for kind in kinds} for r, key in keys.items()}
    spans = _spans(f)
    for lo in range(0, len(deals), CHUNK):
        chunk = range(lo, min(lo + CHUNK, len(deals)))
        _place_chunk(f, deals, spec.max_age_days, spec.old == "stale", chunk, old_after, rngs, spans)


def _scales(f: Funnel) -> tuple[np.ndarray, np.ndarray]:
    segs = f.sc.market.segments.values()
    return np.array([s.effort_scale for s in segs]), np.array([s.buyer_scale for s in segs])


def _draw_segments(f: Funnel, given: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The given segments; the others drawn by the segments' shares."""
    shares = np.array([s.share for s in f.sc.market.segments.values()])
    drawn = np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(given.size), side="right")
    return np.where(given >= 0, given, np.minimum(drawn, shares.size - 1))


def _old_thresholds(f: Funnel) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (the last row: segments mixed by share) and stage, the ``OLD_QUANTILE`` of the age and of the
    time in the stage at which a path can still be open in the stage, under this plan, from replication 0's
    reference stream. With stale_after_days a path is open while no buyer silence has reached the limit."""
    ref = replication_seed(f.sc.seed, 0)
    rng = {kind: stream(ref, f"{KEY}:reference", kind) for kind in ("attributes", "efforts", "buyer_waits")}
    n, limit = f.n_stages, math.inf if f.stale_after is None else f.stale_after
    groups = [np.full(REFERENCE, g) for g in range(len(f.sc.market.segments))]
    groups.append(_draw_segments(f, np.full(REFERENCE, -1), rng["attributes"]))
    to_end, within = np.empty((len(groups), n)), np.empty((len(groups), n))
    for g, seg in enumerate(groups):
        paths = Paths(f, seg, np.full(REFERENCE, n - 1), 1, rng["efforts"], rng["buyer_waits"])
        touch, wait = paths.touch[:, 0, :], paths.wait[:, 0, :]
        open_for = touch + np.minimum(wait, limit)  # the longest a path can be open in each stage
        since = np.cumsum(touch + wait, axis=1) - touch - wait
        quiet = np.cumprod(wait < limit, axis=1)  # no buyer silence reached the limit up to and including the stage
        for s in range(n):
            alive = quiet[:, s - 1].astype(bool) if s else np.ones(REFERENCE, dtype=bool)
            to_end[g, s] = np.quantile((since + open_for)[alive, s], OLD_QUANTILE) if alive.any() else math.inf
            within[g, s] = np.quantile(open_for[:, s], OLD_QUANTILE)
    return to_end, within


def _survival(
    f: Funnel, fit: np.ndarray, stage: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each candidate fit passed the gates and advance draws of the stages before the deal's, and
    whether it passes the gate of the deal's own stage (True where it has none): two (deals, candidates)."""
    m, k = fit.shape
    before = np.ones((m, k), dtype=bool)
    own_gate = np.ones((m, k), dtype=bool)
    threshold = f.threshold
    for j, st in enumerate(f.stages):
        rows = np.flatnonzero(stage >= j)
        u = rng.random((rows.size, k))
        z = rng.standard_normal((rows.size, k))
        x = fit[rows]
        passed = x + st.noise * z >= threshold if st.gate else np.ones_like(x, dtype=bool)
        at = stage[rows] == j
        own_gate[rows[at]] = passed[at]
        p = np.clip(st.base + st.per_fit * x, 0.0, 1.0)
        advanced = passed & (u < (p if st.odds == 1.0 else with_odds(p, st.odds)))
        before[rows[~at]] &= advanced[~at]
    return before, own_gate


def _place_chunk(
    f: Funnel, deals: OpenDeals, max_age: float | None, stale_old: bool, idx: range,
    old_after: tuple[np.ndarray, np.ndarray],
    rngs: dict[str, dict[str, np.random.Generator]], spans: list[tuple[int, int, int]],
) -> None:
    """Condition a chunk of deals on their ages and put each into the funnel (``stale_old``: close the OLD and
    UNMATCHED ones as stale at time 0)."""
    sl = slice(idx.start, idx.stop)
    stage, age = np.array(deals.stage[sl]), np.array(deals.age[sl])
    in_stage, given = np.array(deals.in_stage[sl]), np.array(deals.segment[sl])
    m, k, n = len(idx), CANDIDATES, f.n_stages
    draw = rngs["first"]
    seg = _draw_segments(f, given, draw["attributes"])
    fit = np.empty((m, k))
    for g, spec in enumerate(f.sc.market.segments.values()):
        at = np.flatnonzero(seg == g)
        fit[at] = spec.fit.sample(draw["attributes"], at.size * k).reshape(at.size, k)
    fit = np.clip(fit, 0.0, 1.0)
    found, elapsed, touch, wait = _match(f, Paths(f, seg, stage, k, draw["efforts"], draw["buyer_waits"]),
                                         stage, age, in_stage)  # fmt: skip
    before, own_gate = _survival(f, fit, stage, draw["outcomes"])
    fresh = Paths(f, seg, np.full(m, n - 1), 1, draw["efforts"], draw["buyer_waits"])
    out = draw["outcomes"]
    u, z, asg = out.random((m, n)).tolist(), out.standard_normal((m, n)).tolist(), out.random((m, n)).tolist()
    hours = (fresh.touch[:, 0, :] / np.array([st.days_per_hour for st in f.stages])).tolist()
    waits = fresh.wait[:, 0, :].tolist()
    known = ~np.isnan(in_stage)
    ref = np.where(given >= 0, given, len(f.sc.market.segments))
    old = np.where(known, in_stage > old_after[1][ref, stage], age > old_after[0][ref, stage])
    expired = age > max_age if max_age is not None else np.zeros(m, dtype=bool)
    again = np.flatnonzero(~found & ~old & ~expired)  # in the tail: many more candidates, from streams of their own
    if again.size:
        retry = rngs["retry"]
        more = Paths(f, seg[again], stage[again], RETRY, retry["efforts"], retry["buyer_waits"])
        found[again], elapsed[again], touch[again], wait[again] = _match(f, more, stage[again], age[again],
                                                                         in_stage[again])  # fmt: skip
    for i in range(m):
        code = EXPIRED if expired[i] else OLD if old[i] else PLACED if found[i] else UNMATCHED
        e = elapsed[i] if code == PLACED else (in_stage[i] if known[i] else 0.0)
        phase = BUYER_LEFT if code == PLACED and e >= touch[i] else WORK_LEFT
        passes = before[i] & own_gate[i] if phase == BUYER_LEFT else before[i]
        lead = (int(seg[i]), deals.value[idx[i]], float(fit[i, passes.argmax()]), hours[i], waits[i], u[i], z[i],
                asg[i], 0, math.inf, 0.0)  # fmt: skip
        d = Deal(f.next_id, -1, lead, -float(age[i]), n, f.n_teams)
        f.next_id += 1
        d.initial = code
        f.live[d.id] = d
        s = int(stage[i])
        d.times[s] = -float(e)
        d.last_contact = 0.0  # in touch now (a deal waiting for its buyer: since its work was done, below)
        if code == EXPIRED or (stale_old and code != PLACED):
            f._close(d, STALE, False, None)
            continue
        stale_in = _resume(f, d, s, phase, float(e), touch[i], wait[i]) if code == PLACED else None
        _take_places(f, d, s, deals.owner[idx[i]], phase, spans)
        held, conwip = f.stages[s].wip, f.conwip is not None
        if stale_in is None:
            f.env.process(f._deal(d, conwip, s, phase))
        else:
            f.env.process(_goes_stale(f, d, stale_in, held, conwip))


def _match(
    f: Funnel, paths: Paths, stage: np.ndarray, age: np.ndarray, in_stage: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per deal: whether a candidate path matches its age, and on the first that does, the days it has been in
    its stage and the stage's touch and buyer days."""
    rows, n = np.arange(stage.size), paths.touch.shape[2]
    touch, wait = paths.touch[rows, :, stage], paths.wait[rows, :, stage]
    known = ~np.isnan(in_stage)
    since = paths.ends()[rows, :, stage] - touch - wait  # the stage's start on each path
    elapsed = np.where(known[:, None], in_stage[:, None], age[:, None] - since)
    ok = (elapsed >= 0) & (elapsed < touch + wait)
    stale_after = f.stale_after
    if stale_after is not None:
        earlier = np.arange(n)[None, None, :] < stage[:, None, None]
        quiet = (np.where(earlier, paths.wait, 0.0) < stale_after).all(axis=2)
        ok &= (known[:, None] | quiet) & ((elapsed < touch) | (elapsed - touch < stale_after))
    j = ok.argmax(axis=1)
    return ok.any(axis=1), elapsed[rows, j], touch[rows, j], wait[rows, j]


def _resume(f: Funnel, d: Deal, s: int, phase: int, e: float, touch: float, wait: float) -> float | None:
    """Set a conditioned deal's stage ``s`` to what is left of it at time 0, ``e`` days into the stage; the days
    until it goes stale if the buyer, silent already, will stay silent past stale_after_days."""
    st = f.stages[s]
    if phase == WORK_LEFT:
        d.eff[s] = (touch - e) / st.days_per_hour
        d.buy[s] = wait
        return None
    silent = e - touch  # days the buyer has been silent since the work was done
    d.times[st.start_at] = -e
    d.times[st.done_at] = d.last_contact = -silent
    d.buy[s] = wait - silent
    stale_after = f.stale_after
    return stale_after - silent if stale_after is not None and wait >= stale_after else None


def _take_places(f: Funnel, d: Deal, s: int, owner: int, phase: int, spans: list[tuple[int, int, int]]) -> None:
    """The deal's stage slot, CONWIP slot and owners, taken at once; the qualification it has passed."""
    st = f.stages[s]
    if st.wip is not None:
        st.wip.occupy()
    if f.conwip is not None:
        f.conwip.occupy()
    covering = [(ti, first) for ti, first, last in spans if first <= s <= last]
    owning = [ti for ti, _ in covering if f.teams[ti].owned]
    crm_team = st.team_index if st.team_index in owning else (owning[0] if owning else -1)
    for ti, _ in covering:
        team = f.teams[ti]
        team.place(d, ti, owner % team.seats if ti == crm_team and owner >= 0 else None)
    if st.team.owned and d.owners[st.team_index] >= 0:
        d.last_person = st.team.people[d.owners[st.team_index]]
    passed = any(g.gate for g in f.stages[:s]) or (st.gate and phase == BUYER_LEFT)
    d.qualified = int(f.ungated or passed)


def _spans(f: Funnel) -> list[tuple[int, int, int]]:
    """(team, first stage, last stage) of every role that admits deals to its span."""
    spans = []
    for st in f.stages:
        if st.admits:
            last = max(x.index for x in f.stages if x.team_index == st.team_index and x.span_end)
            spans.append((st.team_index, st.index, last))
    return spans


def _goes_stale(f: Funnel, d: Deal, delay: float, held: Desk | None, conwip: bool) -> Generator:
    """The deal ends stale when the buyer's silence reaches stale_after_days."""
    yield f.env.timeout(delay)
    d.buyer += delay
    f._close(d, STALE, conwip, held)
