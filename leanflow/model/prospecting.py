"""Outbound prospecting: sellers turn hours into leads, when idle or for a protected share of their time.

Fair prospecting: a prospector stops while the queue its leads join is above
the role's pull limit, or while they are at their own WIP limit; switching
between prospecting and selling costs effort; a finite target market depletes
(a stretch yields less as fewer accounts are left) and refills. A person
still ramping up spends the same stretch and makes that share of a lead.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from leanflow.model.teams import IDLE_PRIORITY, PROTECTED_PRIORITY, VACANT, Team
from leanflow.scenario.schema import ProspectingSource

if TYPE_CHECKING:
    from leanflow.model.funnel import Funnel


class TargetMarket:
    """The accounts left to prospect. A stretch of ``hours_per_lead`` yields left / size of a lead (a whole
    lead in an unlimited market); a lead is made when a prospector's yield reaches one. The list refills."""

    def __init__(self, src: ProspectingSource) -> None:
        self.size = src.market_size
        self.left = float(src.market_size or 0)
        self.refill = src.replenish_per_week / 7.0
        self.since = 0.0

    def stretch_yield(self, now: float) -> float:
        """The share of a lead one stretch makes now, taking it from the list."""
        if self.size is None:
            return 1.0
        self.left = min(float(self.size), self.left + self.refill * (now - self.since))
        self.since = now
        share = self.left / self.size
        self.left = max(0.0, self.left - share)
        return share


def prospector(f: Funnel, source: int, team: Team, seat: int, hours: float, market: TargetMarket) -> Generator:
    """One seat's prospecting, forever: wait for room, take the desk, spend the hours, make a lead."""
    env = f.env
    role = team.role
    mode = role.prospects
    base_chunk = hours * team.days_per_hour
    if mode == "when_idle":
        priority, period = IDLE_PRIORITY, 0.0
    else:  # a share: stretches start on a fixed schedule, so waiting for the desk does not erode the share
        priority, period = PROTECTED_PRIORITY, base_chunk / float(mode)
    capped = team.owned and team.limit is not None
    pull = role.prospect_pull_limit
    switch = role.prospect_switch_hours * team.days_per_hour
    due = period * (1.0 - float(mode)) if period else 0.0
    made = 0.0  # this seat's share of the next lead, in a finite market
    while True:
        if due > env.now:
            yield env.timeout(due - env.now)
        while team.people[seat] == VACANT or (capped and team.open[seat] >= team.limit):
            yield team.room(seat)
        while pull is not None and f.first_waiting > pull:
            yield f.pulled()
        desk = team.desk(seat)
        req = desk.request(priority)
        if req is not None:
            yield req
            desk = req.desk
        who = team.take(seat, team.people[seat])
        start = env.now
        chunk = base_chunk  # a ramping prospector spends the same time and makes less of a lead
        prod = f.people.productivity(who, start)
        switched = 0.0
        if switch and not f.people.prospected_last[who]:
            switched = role.prospect_switch_hours
            chunk += switch
        f.people.prospected_last[who] = True
        yield env.timeout(chunk)
        team.finish(desk, who)
        f.records.add_prospecting(who, start, env.now, switched)
        made += market.stretch_yield(env.now) * prod
        if made >= 1.0 - 1e-12:
            made -= 1.0
            f.spawn(source, prospector=(team.index, who))
        due = max(due + period, env.now - period)  # catch up at most one missed stretch
