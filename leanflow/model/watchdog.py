"""Stop a run that cannot settle: more work arrives than a role can do, so its open deals grow without bound.

Every week of simulated time the watchdog counts the deals alive in the model. Past ``UNSTABLE_OPEN`` and still
growing, the run stops with a message naming the role with the longest queue per seller and how busy its sellers
are; a scenario with ``allow_unstable`` runs on, up to ``HARD_OPEN`` open deals, so memory stays bounded either
way. It draws no random numbers and only adds its own timeouts, so every other event keeps its order and a run
that stays under the limit gives the same numbers to the bit.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from leanflow.errors import UnstableRun

if TYPE_CHECKING:
    from leanflow.model.funnel import Funnel

UNSTABLE_OPEN = 50_000  # open deals (about 100 MB) that a settled sales funnel does not reach
HARD_OPEN = 400_000  # with allow_unstable: the most open deals a run may hold (about 1 GB)
CHECK_DAYS = 7.0


def watch(funnel: Funnel) -> Generator:
    """The watchdog process of one run."""
    limit = HARD_OPEN if funnel.sc.allow_unstable else UNSTABLE_OPEN
    previous = 0
    while True:
        yield funnel.env.timeout(CHECK_DAYS)
        open_now = len(funnel.live)
        if open_now > limit and open_now > previous:
            raise UnstableRun(unstable_message(funnel, open_now, limit))
        previous = open_now


def unstable_message(funnel: Funnel, open_now: int, limit: int) -> str:
    """One line: the plan, the day, the open deals, and the role that is overloaded."""
    load = []
    for team in funnel.teams:
        waiting = sum(d.waiting for d in team.desks) + len(team.waiting)
        busy = sum(d.users for d in team.desks) / max(team.present, 1)
        load.append((waiting / max(team.present, 1), waiting, busy, team))
    per_seller, waiting, busy, team = max(load, key=lambda x: x[0])
    what = (f"role '{team.name}' has {waiting:,} deals waiting for {team.present} seller(s) "
            f"({per_seller:,.0f} each), {busy:.0%} of them busy")  # fmt: skip
    plan, day = funnel.plan_name, funnel.env.now
    if funnel.sc.allow_unstable:
        return (f"plan '{plan}': stopped at day {day:.0f} with {open_now:,} open deals, the most allow_unstable "
                f"lets a run hold (memory); {what}")  # fmt: skip
    return (f"plan '{plan}' is unstable: {open_now:,} open deals by day {day:.0f} and growing; {what}: the work "
            f"offered exceeds its selling hours. Add sellers, lower the lead rate, or let leads go cold or stale; "
            f"allow_unstable: true runs on, up to {HARD_OPEN:,} open deals")  # fmt: skip
