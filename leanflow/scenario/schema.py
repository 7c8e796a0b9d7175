"""The scenario schema: pydantic models for a validated, immutable scenario.

Time is in days throughout; seller effort is in hours and becomes busy time
through each role's selling hours per week (see ``leanflow.model.roles``).
Structural checks live here; cross-references (roles, stages) are checked by
``leanflow.scenario.references`` so that every error can be located.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from leanflow.distributions import Distribution
from leanflow.errors import LeanflowError

if TYPE_CHECKING:
    from leanflow.scenario.pipeline import OpenDeals

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)]

MAX_CV = 2.0  # rate_cv: beyond this the rate is not known to within a factor of several
MAX_LOG_ODDS_SD = 3.0  # log_odds_sd: beyond this the odds are not known to within a factor of twenty
OLD_POLICIES = ("restart", "stale")

DISCIPLINES = (
    "fifo",
    "latest_stage_first",
    "highest_value_first",
    "oldest_first",
    "value_per_effort",
)


class Strict(BaseModel):
    """Base for every scenario model: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- market


class Segment(Strict):
    """A buyer segment: its share of leads, deal values and latent fit."""

    share: PositiveFloat
    deal_value: Distribution
    fit: Distribution = Field(description="latent deal quality in [0, 1]")
    effort_scale: PositiveFloat = Field(1.0, description="multiplies seller effort hours")
    buyer_scale: PositiveFloat = Field(1.0, description="multiplies buyer wait days")


class LeadQuality(Strict):
    """How a source's leads differ from the market's: segment mix, fit and deal value."""

    segment_shares: dict[Name, PositiveFloat] | None = Field(
        None, description="this source's own segment mix (relative weights); default: the segments' shares"
    )
    fit: Distribution | None = Field(None, description="this source's own fit distribution; default: the segment's")
    fit_shift: float = Field(0.0, ge=-1, le=1, allow_inf_nan=False, description="added to fit, then clipped to [0, 1]")
    value_scale: PositiveFloat = Field(1.0, description="multiplies deal values")


class Campaign(Strict):
    """A dated burst of extra inbound leads."""

    start_day: NonNegFloat
    days: PositiveFloat
    extra_per_week: PositiveFloat


class PoissonSource(Strict):
    """Inbound leads: a Poisson stream with monthly seasonality and campaigns."""

    kind: Literal["poisson"]
    per_week: PositiveFloat
    seasonality: list[NonNegFloat] | None = Field(
        None, min_length=12, max_length=12, description="12 monthly rate multipliers"
    )
    campaigns: list[Campaign] = Field(default_factory=list)
    quality: LeadQuality = Field(default_factory=LeadQuality)
    rate_cv: Annotated[float, Field(ge=0, le=MAX_CV, allow_inf_nan=False)] = Field(
        0.0,
        description="uncertainty about the rate over the run (estimation error plus slow drift): each replication's "
        "per_week is multiplied by a Gamma factor of mean 1 and this cv (negative-binomial counts); 0: off",
    )


class BacklogSource(Strict):
    """An unbounded target list, drawn whenever the plan's global WIP limit allows (CONWIP)."""

    kind: Literal["backlog"]
    quality: LeadQuality = Field(default_factory=LeadQuality)


class ProspectingSource(Strict):
    """Outbound leads made by seller effort: roles with ``prospects`` spend these hours per lead.

    With a finite ``market_size`` the target list depletes: a stretch of ``hours_per_lead`` makes
    accounts left / market_size of a lead, and the list refills at ``replenish_per_week`` (diminishing returns).
    """

    kind: Literal["prospecting"]
    hours_per_lead: PositiveFloat
    market_size: Annotated[int, Field(ge=1)] | None = Field(None, description="accounts to prospect; null: unlimited")
    replenish_per_week: NonNegFloat = Field(0.0, description="new accounts entering the target list per week")
    quality: LeadQuality = Field(default_factory=LeadQuality)


Source = Annotated[PoissonSource | BacklogSource | ProspectingSource, Field(discriminator="kind")]


class Recycle(Strict):
    """Leads that come back: a closed lead returns once more as a new deal with its fit, segment and value."""

    probability: Probability = Field(0.0, description="chance that a lead closed with one of ``outcomes`` returns")
    after_days: Distribution = Field(description="nurture delay before it returns")
    outcomes: list[Literal["disqualified", "stale"]] = Field(["disqualified", "stale"], min_length=1)
    max_returns: Annotated[int, Field(ge=1, le=10)] = 1


class Buyer(Strict):
    """How buyers react to waiting."""

    cold_half_life_days: PositiveFloat | None = Field(
        None, description="win propensity halves per this many days a deal waits for a seller; null: no decay"
    )
    stale_after_days: PositiveFloat | None = Field(
        None,
        description="a deal with no two-way contact (a seller's touch or the buyer's reply) for this long ends as "
        "no decision; null: never",
    )
    first_touch_half_life_hours: PositiveFloat | None = Field(
        None,
        description="speed to lead: the first stage's advance probability halves per this many hours between the "
        "lead's creation and the first touch (replaces cooling at the first stage); null: no decay",
    )
    recycle: Recycle | None = Field(None, description="disqualified or stale leads that return after nurture")


class Market(Strict):
    """Everything outside the sales team: segments, lead sources, buyers."""

    segments: dict[Name, Segment] = Field(min_length=1)
    sources: dict[Name, Source] = Field(min_length=1)
    buyer: Buyer = Field(default_factory=Buyer)


# ---------------------------------------------------------------- process


class Advance(Strict):
    """Probability a deal leaves a stage forward: base + per_fit * fit, clipped to [0, 1]; odds by log_odds_sd."""

    base: Probability = 1.0
    per_fit: float = Field(0.0, ge=-1, le=1, allow_inf_nan=False)
    log_odds_sd: Annotated[float, Field(ge=0, le=MAX_LOG_ODDS_SD, allow_inf_nan=False)] = Field(
        0.0,
        description="uncertainty about the advance probability: each replication multiplies its odds by "
        "exp(Normal(0, this sd)) (the sd of its log odds); 0: off",
    )


class Gate(Strict):
    """A qualification gate: observed = fit + Normal(0, noise); pass if observed >= threshold."""

    noise: NonNegFloat


class Stage(Strict):
    """One step of the funnel: seller effort, then buyer wait, then an exit."""

    name: Name
    effort_hours: Distribution
    buyer_days: Distribution | None = None
    advance: Advance = Field(default_factory=Advance)
    lost_share: Probability | None = Field(
        None,
        description="share of non-advancing deals lost to a competitor; the rest are disqualified. "
        "Default: 0 before the last stage, 1 at the last",
    )
    gate: Gate | None = None


class Process(Strict):
    """The ordered stages; the last one ends in won or lost."""

    stages: list[Stage] = Field(min_length=1, max_length=12)


# ---------------------------------------------------------------- plans


class Skill(Strict):
    """A role's proficiency at a stage: effort multiplier and odds ratio on the advance probability."""

    effort: PositiveFloat = Field(1.0, description="multiplies effort hours (below 1: faster than the stage says)")
    odds: PositiveFloat = Field(1.0, description="odds ratio on advancing (above 1: converts better)")


class Proficiency(Skill):
    """Proficiency of a role, optionally per stage (a stage entry replaces the role-wide values)."""

    stages: dict[Name, Skill] = Field(default_factory=dict)


class Learning(Strict):
    """Wright's learning curve per person and stage: effort(n) = max(floor, (start + n)^log2(progress_ratio)).

    The stage's effort is then a novice's first repetition; ``start_repetitions`` is the experience each
    person of the role brings. ``conversion_gain`` raises the advance odds along the same curve, by
    up to that fraction at the floor. A progress ratio of 1 turns learning off.
    """

    progress_ratio: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    start_repetitions: NonNegFloat = 0.0
    floor: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.6
    conversion_gain: NonNegFloat = 0.0


class Ramp(Strict):
    """New people's productivity rises linearly from ``start_productivity`` to 1 over ``weeks``."""

    start_productivity: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    weeks: NonNegFloat = 0.0


class Hire(Strict):
    """People joining the role on a date (they ramp up)."""

    day: NonNegFloat
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class Attrition(Strict):
    """People leaving at an annual rate; each seat is backfilled after a delay by a hire who ramps.

    With ``promote_from`` the backfill is a person of that role, promoted: they start at
    ``promoted_start_productivity`` and their old seat is backfilled in turn.
    """

    annual_rate: Annotated[float, Field(ge=0, le=20, allow_inf_nan=False)] = 0.0
    backfill_days: NonNegFloat = 60.0
    promote_from: Name | None = None
    promoted_start_productivity: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.6


class Role(Strict):
    """A pool of sellers with the stages they work."""

    headcount: Annotated[int, Field(ge=1, le=10_000)]
    selling_hours_per_week: Annotated[float, Field(gt=0, le=168, allow_inf_nan=False)] = 40.0
    works: list[Name] = Field(default_factory=list)
    owns_deals: bool = False
    prospects: Literal["never", "when_idle"] | Annotated[float, Field(gt=0, lt=1)] = Field(
        "never", description="never, when_idle, or a fixed share of selling time (0 < share < 1)"
    )
    wip_limit_per_person: Annotated[int, Field(ge=1)] | None = None
    assignment: Literal["least_loaded", "random"] = Field(
        "least_loaded", description="how an owning role gives a new deal an owner: the least loaded, or at random"
    )
    cost_per_head: NonNegFloat | None = Field(None, description="yearly cost of one person")
    prospect_pull_limit: Annotated[int, Field(ge=0)] | None = Field(
        None, description="pull signal: prospect only while at most this many deals wait for the first stage"
    )
    prospect_switch_hours: NonNegFloat = Field(0.0, description="effort lost at each switch between prospecting "
                                               "and selling")
    proficiency: Proficiency = Field(default_factory=Proficiency)
    learning: Learning = Field(default_factory=Learning)
    ramp: Ramp = Field(default_factory=Ramp)
    hires: list[Hire] = Field(default_factory=list)
    attrition: Attrition = Field(default_factory=Attrition)


class ContextSwitch(Strict):
    """Effort multiplier 1 + per_open_deal * (open deals - 1), capped at max_multiplier."""

    per_open_deal: NonNegFloat = 0.0
    max_multiplier: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 2.0


class WipLimits(Strict):
    """Pull limits: deals per stage (blocking upstream) and in the whole system (CONWIP)."""

    stages: dict[Name, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    total: Annotated[int, Field(ge=1)] | None = None


class Policy(Strict):
    """How a plan runs its team; never changes the market."""

    priority: Literal[DISCIPLINES] = "fifo"  # type: ignore[valid-type]
    gate_threshold: Annotated[float, Field(ge=-1, le=2, allow_inf_nan=False)] = 0.0
    handoff_hours: NonNegFloat = 0.0
    context_switch: ContextSwitch = Field(default_factory=ContextSwitch)
    wip_limits: WipLimits = Field(default_factory=WipLimits)


class Plan(Strict):
    """A staffing plan: roles plus policy."""

    roles: dict[Name, Role] = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)


# ---------------------------------------------------------------- scenario


class InitialPipeline(Strict):
    """Today's open deals, placed into the model at time 0 with their elapsed time respected."""

    file: str = Field(
        min_length=1,
        description="CSV of open deals, relative to the scenario file: id, stage, age_days, value; optional owner, "
        "segment, days_in_stage",
    )
    max_age_days: PositiveFloat | None = Field(
        None, description="open deals older than this are closed as stale at time 0; null: keep them all"
    )
    old: Literal[OLD_POLICIES] = Field(  # type: ignore[valid-type]
        "restart",
        description="an open deal older than the model's paths to its stage, or that no path matched: restart its "
        "stage as a fresh deal, or close it as stale at time 0",
    )
    _deals: OpenDeals | None = PrivateAttr(None)  # the file's rows, read by the loader

    @property
    def deals(self) -> OpenDeals:
        """The open deals read from ``file`` (only a scenario loaded from its file has them)."""
        if self._deals is None:
            raise LeanflowError(f"initial_pipeline: the open deals of {self.file} were not read; load the scenario "
                                "from its file (sweeps and optimisations do not read an initial pipeline)")  # fmt: skip
        return self._deals


class Scenario(Strict):
    """A whole scenario file."""

    name: str = Field(min_length=1)
    description: str = ""
    horizon_days: Annotated[float, Field(gt=0, le=36_500, allow_inf_nan=False)]
    warmup_days: NonNegFloat = 0.0
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    market: Market
    process: Process
    plans: dict[Name, Plan] = Field(min_length=1)
    initial_pipeline: InitialPipeline | None = Field(
        None, description="start from today's open deals (then warmup_days may be 0); null: start empty"
    )
