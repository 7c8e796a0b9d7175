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
from leanflow.model.desk import Desk
from leanflow.model.leads import LeadFactory, poisson_arrivals
from leanflow.model.people import Workforce
from leanflow.model.pipeline_start import BUYER_LEFT, place_pipeline
from leanflow.model.prospecting import TargetMarket, prospector
from leanflow.model.records import (
    ADMISSION,
    BLOCKED,
    BUYER,
    DISQUALIFIED,
    LOST,
    OUTCOMES,
    QUEUED,
    STALE,
    WON,
    WORKED,
    Deal,
    Records,
)  # fmt: skip
from leanflow.model.stages import build_stages, build_teams, expected_remaining_effort
from leanflow.model.staleness import StaleClock
from leanflow.model.teams import Team
from leanflow.model.uncertainty import odds_factors, rate_multiplier
from leanflow.model.watchdog import watch
from leanflow.random import stream
from leanflow.scenario.schema import Plan, Scenario

LN2 = math.log(2.0)


class Funnel:
    """One plan of one scenario in one replication."""

    def __init__(self, sc: Scenario, plan_name: str, rep: np.random.SeedSequence) -> None:
        self.sc = sc
        self.plan_name = plan_name
        self.plan: Plan = sc.plans[plan_name]
        self.env = simpy.Environment()
        self.n_stages = len(sc.process.stages)
        self.records = Records(self.n_stages)
        self.live: dict[int, Deal] = {}
        self.next_id = 0
        policy = self.plan.policy
        self.discipline = policy.priority
        self.handoff_hours = policy.handoff_hours
        self.switch_cost = policy.context_switch.per_open_deal
        self.switch_max = policy.context_switch.max_multiplier
        self.threshold = policy.gate_threshold
        buyer = sc.market.buyer
        self.decay = LN2 / buyer.cold_half_life_days if buyer.cold_half_life_days else 0.0
        # speed to lead: the first touch's own decay, per day (half-life given in hours)
        self.first_decay = LN2 * 24.0 / buyer.first_touch_half_life_hours if buyer.first_touch_half_life_hours else None
        self.stale_after = buyer.stale_after_days
        self.recycle = buyer.recycle if buyer.recycle is not None and buyer.recycle.probability > 0 else None
        self.teams = build_teams(self.env, self.plan)
        self.n_teams = len(self.teams)
        self.people = Workforce(self.env, self.teams, self.n_stages, self.records, rep, sc.horizon_days)
        self.pulls = any(r.prospect_pull_limit is not None for r in self.plan.roles.values())
        self.first_waiting = 0  # deals created but not yet touched at the first stage (the prospectors' pull signal)
        self._pull: simpy.Event | None = None
        self.stages = build_stages(self.env, sc, self.plan, self.teams, self.decay, self.first_decay)
        for st, odds in zip(self.stages, odds_factors(sc, rep), strict=True):
            st.odds = odds
        self.ungated = int(not any(st.gate for st in self.stages))
        self.admitting = any(st.admits for st in self.stages)
        self.remaining = expected_remaining_effort(sc)
        self.conwip = Desk(self.env, policy.wip_limits.total) if policy.wip_limits.total else None
        self.clock = StaleClock(self.env) if self.stale_after is not None else None
        self.source_names = list(sc.market.sources)
        self.factories = [LeadFactory(sc, rep, name) for name in self.source_names]
        self.returning = (
            [LeadFactory(sc, rep, name, f"{name}:recycled") for name in self.source_names] if self.recycle else []
        )
        if sc.initial_pipeline is not None:  # today's deals first: they hold their slots and owners at time 0
            place_pipeline(self, sc.initial_pipeline, rep)
        self._start_sources(rep)
        self.people.start()
        self.env.process(watch(self))

    # ------------------------------------------------------------ building

    def _start_sources(self, rep: np.random.SeedSequence) -> None:
        horizon = self.sc.horizon_days
        for k, (name, src) in enumerate(self.sc.market.sources.items()):
            if src.kind == "poisson":
                scale = rate_multiplier(src, rep, name)
                times = poisson_arrivals(src, horizon, stream(rep, name, "arrivals"), scale)
                self.env.process(self._arrivals(k, times.tolist()))
            elif src.kind == "backlog":
                self.env.process(self._backlog(k))
            else:
                self._start_prospecting(k, src)

    def _start_prospecting(self, source: int, src) -> None:
        market = TargetMarket(src)
        prospecting = [t for t in self.teams if t.role.prospects != "never"]
        for team in prospecting:
            for seat in range(team.seats):
                self.env.process(prospector(self, source, team, seat, src.hours_per_lead, market))

        def open_seat(team: Team, seat: int) -> None:
            if team in prospecting:
                self.env.process(prospector(self, source, team, seat, src.hours_per_lead, market))

        self.people.on_seat = open_seat

    def pulled(self) -> simpy.Event:
        """An event that fires when a deal waiting for the first stage is taken (or leaves)."""
        if self._pull is None:
            self._pull = self.env.event()
        return self._pull

    def _first_taken(self) -> None:
        self.first_waiting -= 1
        if self._pull is not None:
            ev, self._pull = self._pull, None
            ev.succeed()

    # ------------------------------------------------------------ sources

    def _arrivals(self, source: int, times: list[float]) -> Generator:
        env = self.env
        for t in times:
            yield env.timeout(t - env.now)
            self.spawn(source)

    def _backlog(self, source: int) -> Generator:
        conwip = self.conwip
        assert conwip is not None
        while True:
            req = conwip.request(1.0)
            if req is not None:
                yield req
            self.spawn(source, slot=True)

    def spawn(self, source: int, slot: bool = False, prospector: tuple[int, int] | None = None, lead=None) -> Deal:
        """A new deal from a source (``lead``: a returning lead's draws) enters the funnel."""
        lead = lead or self.factories[source].next()
        d = Deal(self.next_id, source, lead, self.env.now, self.n_stages, self.n_teams)
        self.next_id += 1
        d.qualified = self.ungated
        self.live[d.id] = d
        if prospector is not None:
            ti, who = prospector
            team = self.teams[ti]
            if team.owned and self.stages[0].team_index == ti:
                team.admit_to(d, ti, who)
        if self.pulls:
            self.first_waiting += 1
        self.env.process(self._deal(d, slot))
        return d

    def _return(self, d: Deal, delay: float) -> Generator:
        """A recycled lead comes back after nurture, as a new deal with the same segment, value and fit."""
        yield self.env.timeout(delay)
        lead = self.returning[d.source].again(d.segment, d.value, d.fit)
        new = self.spawn(d.source, lead=lead)
        new.generation = d.generation + 1
        new.origin = d.origin

    # ------------------------------------------------------------ the deal

    def _deal(self, d: Deal, conwip_slot: bool, first: int = 0, phase: int = 0) -> Generator:
        """One deal's life. Each wait that is not granted at once yields an event whose value is ``False``
        if the deal went stale waiting (the staleness clock expired it).

        A deal of today's pipeline resumes at stage ``first``, already holding its slot and owners: still to be
        worked (``phase`` WORK_LEFT: ``d.eff`` holds the effort left) or waiting for the buyer (BUYER_LEFT:
        ``d.buy`` holds the wait left); see ``leanflow.model.pipeline_start``."""
        env = self.env
        clock, stale_after = self.clock, self.stale_after
        if self.conwip is not None and not conwip_slot:
            req = self.conwip.request(0.0)
            if req is not None:
                if clock is not None:
                    clock.watch(req, d.last_contact + stale_after)
                if (yield req) is False:
                    return self._close(d, STALE, False, None)
            conwip_slot = True
        held_slot: Desk | None = self.stages[first].wip if phase else None
        ready = d.created
        if phase:
            ready = d.times[self.stages[first].start_at] if phase == BUYER_LEFT else env.now
        base = d.base
        switch_cost, timeout, people = self.switch_cost, env.timeout, self.people
        for st in self.stages[first:] if first else self.stages:
            s = st.index
            team = st.team
            ti = st.team_index
            if not phase:
                if st.wip is not None:
                    req = st.wip.request()
                    if req is not None:
                        if clock is not None:
                            clock.watch(req, d.last_contact + stale_after)
                        if (yield req) is False:
                            return self._close(d, STALE, conwip_slot, held_slot)
                    if held_slot is not None:
                        held_slot.release()
                    held_slot = st.wip
                elif held_slot is not None:
                    held_slot.release()
                    held_slot = None
                now = d.times[s] = env.now
                if st.may_block:
                    d.blocked += now - ready
                if st.admits and d.owners[ti] == -1:
                    ev = team.admit(d, ti, d.asg[base + s])
                    if ev is not None:
                        if clock is not None:
                            clock.watch(ev, d.last_contact + stale_after)
                        if (yield ev) is False:
                            return self._close(d, STALE, conwip_slot, held_slot)
            odds = st.odds
            if phase != BUYER_LEFT:
                desk = st.pool or team.desks[d.owners[ti]]
                priority = st.priority
                req = desk.request(self._priority(d, s) if priority is None else priority, d)
                if req is not None:
                    if clock is not None:
                        clock.watch(req, d.last_contact + stale_after)
                    if (yield req) is False:
                        return self._close(d, STALE, conwip_slot, held_slot)
                    desk = req.desk  # the deal may have been handed to a colleague's desk while it waited
                person = team.take(d.owners[ti], d.last_person)
                now = env.now
                if s == 0 and self.pulls and not d.initial:  # today's pipeline: no pull signal
                    self._first_taken()
                d.times[st.start_at] = now
                d.person[s] = person
                hours = d.eff[base + s]
                if st.skills is not None or people.ramp_days[person]:
                    hours, learning, ramp, skill = people.effort(st.skills, person, s, hours, now)
                    odds *= skill
                    d.learning_hours += learning
                    d.ramp_hours += ramp
                if switch_cost:
                    juggled = max(0.0, team.open_per_person(d.owners[ti]) - 1.0)
                    switched = hours * min(self.switch_max, 1.0 + switch_cost * juggled)
                    d.switch_hours += switched - hours
                    hours = switched
                if st.prospect_switch and people.prospected_last[person]:
                    hours += st.prospect_switch
                    d.switch_hours += st.prospect_switch
                    people.prospected_last[person] = False
                if d.last_person >= 0 and person != d.last_person:
                    d.handoffs += 1
                    hours += self.handoff_hours
                    d.handoff_hours += self.handoff_hours
                yield timeout(hours * st.days_per_hour)
                team.finish(desk, person)
                d.last_person = person
                now = d.last_contact = d.times[st.done_at] = env.now
                if st.gate:
                    if d.fit + st.noise * d.z[base + s] < self.threshold:
                        return self._close(d, DISQUALIFIED, conwip_slot, held_slot)
                    d.qualified = 1
            phase = 0
            if st.has_buyer:
                wait = d.buy[base + s]
                if stale_after is not None and wait >= stale_after:
                    yield env.timeout(stale_after)
                    d.buyer += stale_after
                    return self._close(d, STALE, conwip_slot, held_slot)
                yield env.timeout(wait)
                d.buyer += wait
                d.last_contact = env.now  # the buyer's reply restarts the staleness clock too
            waited = d.times[st.start_at] - ready  # days since the last buyer reply spent waiting on us
            ready = env.now
            if st.span_end and d.owners[ti] >= 0:
                self._leave_team(d, ti)
            if st.certain:
                continue
            p = st.base + st.per_fit * d.fit
            p = 0.0 if p < 0.0 else (1.0 if p > 1.0 else p)
            if odds != 1.0:
                p = p * odds / (1.0 - p + p * odds)
            warm = p
            if st.decay:
                p *= math.exp(-st.decay * waited)
            u = d.u[base + s]
            if u >= p:
                d.cooled = int(u < warm)
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
            # max: a deal of today's pipeline waiting for the buyer at time 0 holds the wait left from then
            return BLOCKED if max(t[st.done_at], 0.0) + wait <= self.env.now else BUYER
        if t[st.start_at] == t[st.start_at]:
            return WORKED
        return ADMISSION if st.admits and d.owners[st.team_index] == -1 else QUEUED

    def _leave_team(self, d: Deal, ti: int) -> None:
        """The deal leaves a role's span; an owning role's person is remembered as owner."""
        team = self.teams[ti]
        seat = d.owners[ti]
        team.leave(seat, d)
        if team.owned:
            d.owner = team.people[seat]
        d.owners[ti] = -2

    def _priority(self, d: Deal, s: int) -> float:
        """A deal's place in a seller's queue under the disciplines that depend on the deal."""
        disc = self.discipline
        if disc == "highest_value_first":
            return -d.value
        if disc == "oldest_first":
            return d.created
        return -d.value / max(self.remaining[d.segment][s], 1e-9)

    def _close(self, d: Deal, outcome: int, conwip_slot: bool, held_slot: Desk | None) -> None:
        d.outcome = outcome
        d.closed = self.env.now
        if self.admitting:
            for ti, local in enumerate(d.owners):
                if local >= 0:
                    self._leave_team(d, ti)
        if held_slot is not None:
            held_slot.release()
        if conwip_slot:
            self.conwip.release()
        if self.pulls and not d.initial and d.times[self.stages[0].start_at] != d.times[self.stages[0].start_at]:
            self._first_taken()  # it left before its first touch
        del self.live[d.id]
        self.records.add(d)
        rc = self.recycle
        if rc is not None and d.recycle[0] < rc.probability and d.generation < rc.max_returns and (
            OUTCOMES[outcome] in rc.outcomes
        ):
            self.env.process(self._return(d, d.recycle[1]))

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
        self.people.close()
        if len(self.records) != self.next_id:
            raise SimulationError(f"conservation broken: {self.next_id} leads created, {len(self.records)} recorded")
        return self.records
