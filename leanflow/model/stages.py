"""A plan's teams and per-stage constants, resolved once before a run."""

from __future__ import annotations

import simpy

from leanflow.model.desk import Desk
from leanflow.model.people import Skills
from leanflow.model.teams import Team
from leanflow.scenario.schema import Plan, Scenario


class StageRun:
    """Per-stage constants of a plan, resolved once (``priority``: None when it depends on the deal; ``odds``: the
    replication's odds ratio on advancing, from ``leanflow.model.uncertainty``)."""

    __slots__ = (
        "admits",
        "base",
        "certain",
        "days_per_hour",
        "decay",
        "done_at",
        "gate",
        "has_buyer",
        "index",
        "lost_share",
        "may_block",
        "noise",
        "odds",
        "per_fit",
        "pool",
        "priority",
        "prospect_switch",
        "skills",
        "span_end",
        "start_at",
        "team",
        "team_index",
        "wip",
    )  # fmt: skip



STAGE_PRIORITY = {"fifo": lambda i: 0.0, "latest_stage_first": lambda i: float(-i)}  # the same for every deal


def build_teams(env: simpy.Environment, plan: Plan) -> list[Team]:
    """One team per role; people get global ids in role order."""
    teams, first = [], 0
    promoted_from = {r.attrition.promote_from for r in plan.roles.values()}
    for ti, (name, role) in enumerate(plan.roles.items()):
        people = list(range(first, first + role.headcount))
        teams.append(Team(env, name, ti, role, people, name in promoted_from))
        first += role.headcount
    return teams


def build_stages(
    env: simpy.Environment, sc: Scenario, plan: Plan, teams: list[Team], decay: float, first_decay: float | None
) -> list[StageRun]:
    """Each stage's team, limits, exit rule and cooling, as the deal process reads them."""
    names = [s.name for s in sc.process.stages]
    n = len(names)
    limits = plan.policy.wip_limits.stages
    switching = plan.policy.context_switch.per_open_deal > 0
    runs = []
    for i, spec in enumerate(sc.process.stages):
        r = StageRun()
        r.index = i
        r.team_index = next(k for k, t in enumerate(teams) if spec.name in t.role.works)
        r.team = teams[r.team_index]
        r.days_per_hour = r.team.days_per_hour
        r.prospect_switch = r.team.role.prospect_switch_hours
        r.priority = STAGE_PRIORITY[plan.policy.priority](i) if plan.policy.priority in STAGE_PRIORITY else None
        span = sorted(names.index(w) for w in r.team.role.works)
        # a deal is admitted to a role's span (an owner, WIP and context-switch counts)
        # only when something depends on it
        needs_admission = r.team.owned or r.team.limit is not None or switching
        r.admits = i == span[0] and needs_admission
        r.span_end = i == span[-1]
        r.wip = Desk(env, limits[spec.name]) if spec.name in limits else None
        r.base, r.per_fit = spec.advance.base, spec.advance.per_fit
        last = i == n - 1
        r.lost_share = spec.lost_share if spec.lost_share is not None else (1.0 if last else 0.0)
        r.gate = spec.gate is not None
        r.noise = spec.gate.noise if spec.gate else 0.0
        r.has_buyer = spec.buyer_days is not None
        r.start_at, r.done_at = n + i, 2 * n + i  # offsets in Deal.times
        r.may_block = i > 0 and r.wip is not None
        r.pool = None if r.team.owned else r.team.desks[0]
        skills = Skills(r.team, names)
        r.skills = None if skills.neutral else skills
        r.decay = first_decay if i == 0 and first_decay is not None else decay
        r.certain = r.base >= 1.0 and r.per_fit == 0.0 and not r.decay
        r.odds = 1.0
        runs.append(r)
    return runs


def expected_remaining_effort(sc: Scenario) -> list[list[float]]:
    """Expected effort hours from each stage to the end, per segment (for value_per_effort)."""
    means = [s.effort_hours.mean() for s in sc.process.stages]
    n = len(means)
    tails = [sum(means[i:]) for i in range(n)]
    return [[t * seg.effort_scale for t in tails] for seg in sc.market.segments.values()]
