"""The SimPy world: lead sources feed one process per deal through the stages.

A deal at each stage: waits (stage WIP slot, role admission, a seller), is
worked (seller effort, plus hand-off and context-switch costs), waits for the
buyer (no seller held), then exits forward, lost or disqualified. Waiting for a
seller cools the lead; a long silence makes it stale (no decision).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Generator

import numpy as np
import simpy

from leanflow.errors import SimulationError
from leanflow.model.leads import LeadFactory, poisson_arrivals
from leanflow.model.records import (
    ADMISSION,
    BLOCKED,
    BUYER,
    DISQUALIFIED,
    LOST,
    QUEUED,
    STALE,
    WON,
    WORKED,
    Deal,
    Records,
)  # fmt: skip
from leanflow.model.teams import IDLE_PRIORITY, PROTECTED_PRIORITY, Team
from leanflow.random import stream
from leanflow.scenario.schema import Plan, Scenario

LN2 = math.log(2.0)


class StageRun:
    """Per-stage constants of a plan, resolved once."""

    __slots__ = (
        "admits",
        "base",
        "certain",
        "done_at",
        "gate",
        "has_buyer",
        "index",
        "lost_share",
        "may_block",
        "noise",
        "per_fit",
        "pool",
        "span_end",
        "start_at",
        "team",
        "team_index",
        "wip",
    )  # fmt: skip  # fmt: skip


class Funnel:
    """One plan of one scenario in one replication."""

    def __init__(self, sc: Scenario, plan_name: str, rep: np.random.SeedSequence) -> None:
        self.sc = sc
        self.plan: Plan = sc.plans[plan_name]
        self.env = simpy.Environment()
        self.n_stages = len(sc.process.stages)
        self.records = Records(self.n_stages)
        self.live: dict[int, Deal] = {}
        self.next_id = 0
        policy = self.plan.policy
        self.discipline = policy.priority
        self.fifo = policy.priority == "fifo"
        self.handoff_hours = policy.handoff_hours
        self.switch_cost = policy.context_switch.per_open_deal
        self.switch_max = policy.context_switch.max_multiplier
        self.threshold = policy.gate_threshold
        buyer = sc.market.buyer
        self.decay = LN2 / buyer.cold_half_life_days if buyer.cold_half_life_days else 0.0
        self.stale_after = buyer.stale_after_days
        self.teams = self._build_teams()
        self.n_teams = len(self.teams)
        self.stages = self._build_stages()
        self.ungated = int(not any(st.gate for st in self.stages))
        self.admitting = any(st.admits for st in self.stages)
        self.remaining = self._expected_remaining_effort()
        self.conwip = simpy.PriorityResource(self.env, policy.wip_limits.total) if policy.wip_limits.total else None
        self.source_names = list(sc.market.sources)
        self.factories = [LeadFactory(sc, rep, name) for name in self.source_names]
        self._start_sources(rep)

    # ------------------------------------------------------------ building

    def _build_teams(self) -> list[Team]:
        prioritized = self.discipline != "fifo"
        teams, first = [], 0
        for name, role in self.plan.roles.items():
            teams.append(Team(self.env, name, role, first, prioritized or role.prospects != "never"))
            first += role.headcount
        return teams

    def _build_stages(self) -> list[StageRun]:
        names = [s.name for s in self.sc.process.stages]
        limits = self.plan.policy.wip_limits.stages
        runs = []
        for i, spec in enumerate(self.sc.process.stages):
            r = StageRun()
            r.index = i
            r.team_index = next(k for k, t in enumerate(self.teams) if spec.name in t.role.works)
            r.team = self.teams[r.team_index]
            span = sorted(names.index(w) for w in r.team.role.works)
            # a deal is admitted to a role's span (an owner, WIP and context-switch counts)
            # only when something depends on it
            needs_admission = r.team.owned or r.team.limit is not None or self.switch_cost > 0
            r.admits = i == span[0] and needs_admission
            r.span_end = i == span[-1]
            r.wip = simpy.Resource(self.env, limits[spec.name]) if spec.name in limits else None
            r.base, r.per_fit = spec.advance.base, spec.advance.per_fit
            last = i == self.n_stages - 1
            r.lost_share = spec.lost_share if spec.lost_share is not None else (1.0 if last else 0.0)
            r.gate = spec.gate is not None
            r.noise = spec.gate.noise if spec.gate else 0.0
            r.has_buyer = spec.buyer_days is not None
            r.start_at, r.done_at = self.n_stages + i, 2 * self.n_stages + i  # offsets in Deal.times
            r.may_block = i > 0 and r.wip is not None
            r.pool = None if r.team.owned else r.team.desks[0]
            r.certain = r.base >= 1.0 and r.per_fit == 0.0 and not self.decay
            runs.append(r)
        return runs

    def _expected_remaining_effort(self) -> list[list[float]]:
        """Expected effort hours from each stage to the end, per segment (for value_per_effort)."""
        means = [s.effort_hours.mean() for s in self.sc.process.stages]
        tails = [sum(means[i:]) for i in range(self.n_stages)]
        return [[t * seg.effort_scale for t in tails] for seg in self.sc.market.segments.values()]

    def _start_sources(self, rep: np.random.SeedSequence) -> None:
        horizon = self.sc.horizon_days
        for k, (name, src) in enumerate(self.sc.market.sources.items()):
            if src.kind == "poisson":
                times = poisson_arrivals(src, horizon, stream(rep, name, "arrivals"))
                self.env.process(self._arrivals(k, times.tolist()))
            elif src.kind == "backlog":
                self.env.process(self._backlog(k))
            else:
                self._start_prospecting(k, src.hours_per_lead)

    def _start_prospecting(self, source: int, hours: float) -> None:
        for ti, team in enumerate(self.teams):
            mode = team.role.prospects
            if mode == "never":
                continue
            for local, person in enumerate(team.people):
                self.env.process(self._prospector(source, ti, team, local, person, hours, mode))

    # ------------------------------------------------------------ sources

    def _arrivals(self, source: int, times: list[float]) -> Generator:
        env = self.env
        for t in times:
            yield env.timeout(t - env.now)
            self._spawn(source)

    def _backlog(self, source: int) -> Generator:
        assert self.conwip is not None
        while True:
            req = self.conwip.request(priority=1)
            yield req
            self._spawn(source, slot=req)

    def _prospector(
        self, source: int, ti: int, team: Team, local: int, person: int, hours: float, mode: str | float
    ) -> Generator:
        env = self.env
        chunk = hours * team.days_per_hour
        desk = team.desk(local)
        if mode == "when_idle":
            priority, period = IDLE_PRIORITY, 0.0
        else:  # a share: stretches start on a fixed schedule, so waiting for the desk does not erode the share
            priority, period = PROTECTED_PRIORITY, chunk / float(mode)
        # a prospector who keeps what they make stops while at their WIP limit
        capped = team.owned and team.limit is not None and self.stages[0].team_index == ti
        due = period * (1.0 - float(mode)) if period else 0.0
        while True:
            if due > env.now:
                yield env.timeout(due - env.now)
            while capped and team.open[local] >= team.limit:
                yield team.room(local)
            req = desk.request(priority=priority)
            yield req
            who = team.take(local, person)
            start = env.now
            yield env.timeout(chunk)
            desk.release(req)
            team.give_back(who)
            self.records.add_prospecting(who, start, env.now)
            self._spawn(source, prospector=(ti, who))
            due = max(due + period, env.now - period)  # catch up at most one missed stretch

    def _spawn(self, source: int, slot=None, prospector: tuple[int, int] | None = None) -> None:
        d = Deal(self.next_id, source, self.factories[source].next(), self.env.now, self.n_stages, self.n_teams)
        self.next_id += 1
        d.qualified = self.ungated
        self.live[d.id] = d
        if prospector is not None:
            ti, who = prospector
            team = self.teams[ti]
            if team.owned and self.stages[0].team_index == ti:
                team.admit_to(d.owners, ti, who)
        self.env.process(self._deal(d, slot))

    # ------------------------------------------------------------ waiting with a deadline

    def _wait(self, event: simpy.Event, d: Deal) -> Generator:
        """Wait for ``event`` until the deal would go stale; the result says whether it came."""
        remaining = d.last_contact + self.stale_after - self.env.now
        if remaining > 0:
            yield event | self.env.timeout(remaining)
        return event.triggered

    # ------------------------------------------------------------ the deal

    def _deal(self, d: Deal, conwip_slot) -> Generator:
        env = self.env
        patient = self.stale_after is None  # no deadline: wait for events directly (fast path)
        if self.conwip is not None and conwip_slot is None:
            conwip_slot = self.conwip.request(priority=0)
            if patient:
                yield conwip_slot
            elif not (yield from self._wait(conwip_slot, d)):
                conwip_slot.cancel()
                return self._close(d, STALE, conwip_slot, None)
        held_slot = None
        ready = d.created
        base = d.base
        fifo, switch_cost, decay, timeout = self.fifo, self.switch_cost, self.decay, env.timeout
        for st in self.stages:
            s = st.index
            if st.wip is not None:
                slot = st.wip.request()
                if patient:
                    yield slot
                elif not (yield from self._wait(slot, d)):
                    slot.cancel()
                    return self._close(d, STALE, conwip_slot, held_slot)
                if held_slot is not None:
                    held_slot.resource.release(held_slot)
                held_slot = slot
            elif held_slot is not None:
                held_slot.resource.release(held_slot)
                held_slot = None
            now = d.times[s] = env.now
            if st.may_block:
                d.blocked += now - ready
            team = st.team
            ti = st.team_index
            if st.admits and d.owners[ti] == -1:
                ev = team.admit(d.owners, ti, d.asg[base + s])
                if ev is not None:
                    if patient:
                        yield ev
                    elif not (yield from self._wait(ev, d)):
                        team.cancel_admission(ev)
                        return self._close(d, STALE, conwip_slot, held_slot)
            local = d.owners[ti]
            desk = st.pool or team.desks[local]
            req = desk.request() if fifo else desk.request(priority=self._priority(d, s))
            if patient:
                yield req
            elif not (yield from self._wait(req, d)):
                req.cancel()
                return self._close(d, STALE, conwip_slot, held_slot)
            if st.pool is None:
                person = team.people[local]
            else:
                person = d.last_person
                free = team.free
                if person in free:
                    free.remove(person)
                else:
                    person = free.pop()
            now = env.now
            d.times[st.start_at] = now
            d.person[s] = person
            hours = d.eff[base + s]
            if switch_cost:
                hours *= min(self.switch_max, 1.0 + switch_cost * max(0.0, team.open_per_person(local) - 1.0))
            if d.last_person >= 0 and person != d.last_person:
                d.handoffs += 1
                hours += self.handoff_hours
            yield timeout(hours * team.days_per_hour)
            desk.release(req)
            if st.pool is not None:
                team.free.append(person)
            d.last_person = person
            now = d.last_contact = d.times[st.done_at] = env.now
            if st.gate:
                if d.fit + st.noise * d.z[base + s] < self.threshold:
                    return self._close(d, DISQUALIFIED, conwip_slot, held_slot)
                d.qualified = 1
            if st.has_buyer:
                wait = d.buy[base + s]
                if not patient and wait >= self.stale_after:
                    yield env.timeout(self.stale_after)
                    d.buyer += self.stale_after
                    return self._close(d, STALE, conwip_slot, held_slot)
                yield env.timeout(wait)
                d.buyer += wait
            waited = d.times[st.start_at] - ready  # days since the last buyer reply spent waiting on us
            ready = env.now
            if st.span_end and d.owners[ti] >= 0:
                self._leave_team(d, ti)
            if st.certain:
                continue
            p = st.base + st.per_fit * d.fit
            p = 0.0 if p < 0.0 else (1.0 if p > 1.0 else p)
            if decay:
                p *= math.exp(-decay * waited)
            u = d.u[base + s]
            if u >= p:
                lost = (u - p) / (1.0 - p) < st.lost_share
                return self._close(d, LOST if lost else DISQUALIFIED, conwip_slot, held_slot)
        return self._close(d, WON, conwip_slot, held_slot)

    def _open_state(self, d: Deal) -> int:
        """Where an open deal is at the horizon, read off its timestamps."""
        t = d.times
        entered = [s for s in range(self.n_stages) if t[s] == t[s]]
        if not entered:  # waiting for the first stage's slot
            return ADMISSION
        s = entered[-1]
        st = self.stages[s]
        if t[st.done_at] == t[st.done_at]:
            wait = d.buy[d.base + s] if self.stages[s].has_buyer else 0.0
            return BLOCKED if d.last_contact + wait <= self.env.now else BUYER
        if t[st.start_at] == t[st.start_at]:
            return WORKED
        return ADMISSION if st.admits and d.owners[st.team_index] == -1 else QUEUED

    def _leave_team(self, d: Deal, ti: int) -> None:
        """The deal leaves a role's span; an owning role's person is remembered as owner."""
        team = self.teams[ti]
        local = d.owners[ti]
        team.leave(local)
        if team.owned:
            d.owner = team.people[local]
        d.owners[ti] = -2

    def _priority(self, d: Deal, s: int) -> float:
        disc = self.discipline
        if disc == "latest_stage_first":
            return -s
        if disc == "highest_value_first":
            return -d.value
        if disc == "oldest_first":
            return d.created
        return -d.value / max(self.remaining[d.segment][s], 1e-9)

    def _close(self, d: Deal, outcome: int, conwip_slot, held_slot) -> None:
        d.outcome = outcome
        d.closed = self.env.now
        if self.admitting:
            for ti, local in enumerate(d.owners):
                if local >= 0:
                    self._leave_team(d, ti)
        if held_slot is not None:
            held_slot.resource.release(held_slot)
        if conwip_slot is not None:
            conwip_slot.resource.release(conwip_slot)
        del self.live[d.id]
        self.records.add(d)

    # ------------------------------------------------------------ running

    def run(self) -> Records:
        """Run to the horizon; record open deals; check that every lead is accounted for."""
        # The cyclic collector would rescan every live deal and generator over and
        # over as the run allocates; nearly all garbage here dies by reference
        # count, so collect rarely (still bounded) while the model runs.
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            self.env.run(until=self.sc.horizon_days)
        finally:
            gc.set_threshold(*thresholds)
        for d in self.live.values():
            d.state = self._open_state(d)
            self.records.add(d)
        for ti, team in enumerate(self.teams):
            for person in team.people:
                self.records.add_spell(person, ti, 0.0, self.sc.horizon_days)
        if len(self.records) != self.next_id:
            raise SimulationError(f"conservation broken: {self.next_id} leads created, {len(self.records)} recorded")
        return self.records
