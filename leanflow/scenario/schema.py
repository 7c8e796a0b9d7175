"""The scenario schema: pydantic models for a validated, immutable scenario.

Time is in days throughout; seller effort is in hours and becomes busy time
through each role's selling hours per week (see ``leanflow.model.roles``).
Structural checks live here; cross-references (roles, stages) are checked by
``leanflow.scenario.references`` so that every error can be located.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from leanflow.distributions import Distribution, Flag, integer, number
from leanflow.errors import LeanflowError

if TYPE_CHECKING:
    from leanflow.scenario.pipeline import OpenDeals

# Bounds of every input: generous for real teams and for the queueing checks, but refusing values that
# would exhaust memory or time, or draw absurd figures, instead of running on silently.
MAX_HORIZON_DAYS = 36_500  # horizon, warm-up, any day: 100 years, for the M/M/c check (experiments/validation)
MAX_HOURS = 24 * MAX_HORIZON_DAYS  # any span in hours (speed to lead): the longest horizon
MAX_TASK_HOURS = 1000.0  # one task (a lead's prospecting, a handoff, a switch): half a person-year
MIN_HOURS_PER_LEAD = 0.1  # prospecting: six minutes a lead; less makes leads without limit from idle time
MIN_SELLING_HOURS = 1.0  # selling hours per week: below one hour a week a deal's busy time is years
MAX_SELLING_HOURS = 168.0  # selling hours per week: every hour of the week (the queueing servers)
MAX_LEADS_PER_WEEK = 50_000.0  # one source's rate (a campaign's, a refill's): 2.6 million leads a year
MAX_SEASONALITY = 12.0  # a month's rate multiplier: a whole year's leads in one month
MAX_CAMPAIGNS = 100  # campaigns of one source
MAX_LEADS_PER_REPLICATION = 2_000_000  # peak rate x horizon over all poisson sources: a few minutes a plan
MAX_MARKET_SIZE = 1_000_000_000  # accounts to prospect: every company in the world, several times over
MAX_WEIGHT = 1_000_000.0  # relative segment shares: a million to one is already all of one segment
MIN_SCALE = 0.01  # multipliers (effort, buyer wait, value, proficiency): a hundredth ...
MAX_SCALE = 100.0  # ... to a hundred times the stage's values, beyond any real difference
MAX_GATE_NOISE = 10.0  # gate noise: fit lies in [0, 1], so beyond this the gate is a coin toss
MAX_HEADCOUNT = 10_000  # people in one role (and hires at once): a very large sales organisation
MAX_HIRES = 1000  # dated hires of one role
MAX_WIP = 1_000_000  # any WIP limit or pull limit: far above any team's open deals
MAX_COST_PER_HEAD = 1e8  # yearly cost of one person
MAX_REPETITIONS = 1_000_000  # learning: experience a person brings, in repetitions of a stage
MAX_CONVERSION_GAIN = 10.0  # learning: the odds rise by at most ten times at the floor
MAX_PER_OPEN_DEAL = 10.0  # context switch: each open deal adding ten times the effort is already saturation
MAX_MULTIPLIER = 100.0  # context switch cap
MAX_RAMP_WEEKS = MAX_HORIZON_DAYS / 7  # ramp-up weeks: the longest horizon
MAX_SEGMENTS = 50  # segments (and sources) of a market
MAX_PLANS = 10  # plans of a scenario: the report draws them side by side
MAX_ROLES = 20  # roles of one plan
MAX_REPLICATIONS = 10_000  # replications: a 90% interval narrows by 1/sqrt(n); beyond this it is not the noise
MAX_SEED = 2**64 - 1  # seeds: numpy's SeedSequence takes any; 64 bits is plenty of distinct streams
MAX_LABEL_CHARS = 200  # a scenario name, a metric, a file name: printed on one line of the console
MAX_TEXT_CHARS = 5000  # a description: a few paragraphs
MAX_PATH_CHARS = 1000  # a file path, or a dotted scenario path

Probability = number(ge=0, le=1)
Days = number(ge=0, le=MAX_HORIZON_DAYS)
PositiveDays = number(gt=0, le=MAX_HORIZON_DAYS)
TaskHours = number(ge=0, le=MAX_TASK_HOURS)
LeadsPerWeek = number(ge=0, le=MAX_LEADS_PER_WEEK)
Scale = number(ge=MIN_SCALE, le=MAX_SCALE)
Fraction = number(gt=0, le=1)
Seed = integer(ge=0, le=MAX_SEED)
WipLimit = integer(ge=1, le=MAX_WIP)
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
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

    share: number(gt=0, le=MAX_WEIGHT)
    deal_value: Distribution
    fit: Distribution = Field(description="latent deal quality in [0, 1]")
    effort_scale: Scale = Field(1.0, description="multiplies seller effort hours")
    buyer_scale: Scale = Field(1.0, description="multiplies buyer wait days")


class LeadQuality(Strict):
    """How a source's leads differ from the market's: segment mix, fit and deal value."""

    segment_shares: dict[Name, number(gt=0, le=MAX_WEIGHT)] | None = Field(
        None, max_length=MAX_SEGMENTS,
        description="this source's own segment mix (relative weights); default: the segments' shares",
    )
    fit: Distribution | None = Field(None, description="this source's own fit distribution; default: the segment's")
    fit_shift: number(ge=-1, le=1) = Field(0.0, description="added to fit, then clipped to [0, 1]")
    value_scale: Scale = Field(1.0, description="multiplies deal values")


class Campaign(Strict):
    """A dated burst of extra inbound leads."""

    start_day: Days
    days: PositiveDays
    extra_per_week: number(gt=0, le=MAX_LEADS_PER_WEEK)


class PoissonSource(Strict):
    """Inbound leads: a Poisson stream with monthly seasonality and campaigns."""

    kind: Literal["poisson"]
    per_week: number(gt=0, le=MAX_LEADS_PER_WEEK)
    seasonality: list[number(ge=0, le=MAX_SEASONALITY)] | None = Field(
        None, min_length=12, max_length=12, description="12 monthly rate multipliers"
    )
    campaigns: list[Campaign] = Field(default_factory=list, max_length=MAX_CAMPAIGNS)
    quality: LeadQuality = Field(default_factory=LeadQuality)
    rate_cv: number(ge=0, le=MAX_CV) = Field(
        0.0,
        description="uncertainty about the rate over the run (estimation error plus slow drift): each replication's "
        "per_week is multiplied by a Gamma factor of mean 1 and this cv (negative-binomial counts); 0: off",
    )

    def peak_per_week(self) -> float:
        """The highest weekly rate the source can reach: its busiest month with every campaign at once."""
        return self.per_week * max(self.seasonality or [1.0]) + sum(c.extra_per_week for c in self.campaigns)


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
    hours_per_lead: number(ge=MIN_HOURS_PER_LEAD, le=MAX_TASK_HOURS)
    market_size: integer(ge=1, le=MAX_MARKET_SIZE) | None = Field(
        None, description="accounts to prospect; null: unlimited"
    )
    replenish_per_week: LeadsPerWeek = Field(0.0, description="new accounts entering the target list per week")
    quality: LeadQuality = Field(default_factory=LeadQuality)


Source = Annotated[PoissonSource | BacklogSource | ProspectingSource, Field(discriminator="kind")]


class Recycle(Strict):
    """Leads that come back: a closed lead returns once more as a new deal with its fit, segment and value."""

    probability: Probability = Field(0.0, description="chance that a lead closed with one of ``outcomes`` returns")
    after_days: Distribution = Field(description="nurture delay before it returns")
    outcomes: list[Literal["disqualified", "stale"]] = Field(["disqualified", "stale"], min_length=1, max_length=2)
    max_returns: integer(ge=1, le=10) = 1


class Buyer(Strict):
    """How buyers react to waiting."""

    cold_half_life_days: PositiveDays | None = Field(
        None, description="win propensity halves per this many days a deal waits for a seller; null: no decay"
    )
    stale_after_days: PositiveDays | None = Field(
        None,
        description="a deal with no two-way contact (a seller's touch or the buyer's reply) for this long ends as "
        "no decision; null: never",
    )
    first_touch_half_life_hours: number(gt=0, le=MAX_HOURS) | None = Field(
        None,
        description="speed to lead: the first stage's advance probability halves per this many hours between the "
        "lead's creation and the first touch (replaces cooling at the first stage); null: no decay",
    )
    recycle: Recycle | None = Field(None, description="disqualified or stale leads that return after nurture")


class Market(Strict):
    """Everything outside the sales team: segments, lead sources, buyers."""

    segments: dict[Name, Segment] = Field(min_length=1, max_length=MAX_SEGMENTS)
    sources: dict[Name, Source] = Field(min_length=1, max_length=MAX_SEGMENTS)
    buyer: Buyer = Field(default_factory=Buyer)


# ---------------------------------------------------------------- process


class Advance(Strict):
    """Probability a deal leaves a stage forward: base + per_fit * fit, clipped to [0, 1]; odds by log_odds_sd."""

    base: Probability = 1.0
    per_fit: number(ge=-1, le=1) = 0.0
    log_odds_sd: number(ge=0, le=MAX_LOG_ODDS_SD) = Field(
        0.0,
        description="uncertainty about the advance probability: each replication multiplies its odds by "
        "exp(Normal(0, this sd)) (the sd of its log odds); 0: off",
    )


class Gate(Strict):
    """A qualification gate: observed = fit + Normal(0, noise); pass if observed >= threshold."""

    noise: number(ge=0, le=MAX_GATE_NOISE)


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

    effort: Scale = Field(1.0, description="multiplies effort hours (below 1: faster than the stage says)")
    odds: Scale = Field(1.0, description="odds ratio on advancing (above 1: converts better)")


class Proficiency(Skill):
    """Proficiency of a role, optionally per stage (a stage entry replaces the role-wide values)."""

    stages: dict[Name, Skill] = Field(default_factory=dict, max_length=12)


class Learning(Strict):
    """Wright's learning curve per person and stage: effort(n) = max(floor, (start + n)^log2(progress_ratio)).

    The stage's effort is then a novice's first repetition; ``start_repetitions`` is the experience each
    person of the role brings. ``conversion_gain`` raises the advance odds along the same curve, by
    up to that fraction at the floor. A progress ratio of 1 turns learning off.
    """

    progress_ratio: Fraction = 1.0
    start_repetitions: number(ge=0, le=MAX_REPETITIONS) = 0.0
    floor: Fraction = 0.6
    conversion_gain: number(ge=0, le=MAX_CONVERSION_GAIN) = 0.0


class Ramp(Strict):
    """New people's productivity rises linearly from ``start_productivity`` to 1 over ``weeks``."""

    start_productivity: Fraction = 1.0
    weeks: number(ge=0, le=MAX_RAMP_WEEKS) = 0.0


class Hire(Strict):
    """People joining the role on a date (they ramp up)."""

    day: Days
    count: integer(ge=1, le=MAX_HEADCOUNT) = 1


class Attrition(Strict):
    """People leaving at an annual rate; each seat is backfilled after a delay by a hire who ramps.

    With ``promote_from`` the backfill is a person of that role, promoted: they start at
    ``promoted_start_productivity`` and their old seat is backfilled in turn.
    """

    annual_rate: number(ge=0, le=20) = 0.0
    backfill_days: Days = 60.0
    promote_from: Name | None = None
    promoted_start_productivity: Fraction = 0.6


class Role(Strict):
    """A pool of sellers with the stages they work."""

    headcount: integer(ge=1, le=MAX_HEADCOUNT)
    selling_hours_per_week: number(ge=MIN_SELLING_HOURS, le=MAX_SELLING_HOURS) = 40.0
    works: list[Name] = Field(default_factory=list, max_length=12)
    owns_deals: Flag = False
    prospects: Literal["never", "when_idle"] | number(gt=0, lt=1) = Field(
        "never", description="never, when_idle, or a fixed share of selling time (0 < share < 1)"
    )
    wip_limit_per_person: WipLimit | None = None
    assignment: Literal["least_loaded", "random"] = Field(
        "least_loaded", description="how an owning role gives a new deal an owner: the least loaded, or at random"
    )
    cost_per_head: number(ge=0, le=MAX_COST_PER_HEAD) | None = Field(None, description="yearly cost of one person")
    prospect_pull_limit: integer(ge=0, le=MAX_WIP) | None = Field(
        None, description="pull signal: prospect only while at most this many deals wait for the first stage"
    )
    prospect_switch_hours: TaskHours = Field(0.0, description="effort lost at each switch between prospecting "
                                             "and selling")
    proficiency: Proficiency = Field(default_factory=Proficiency)
    learning: Learning = Field(default_factory=Learning)
    ramp: Ramp = Field(default_factory=Ramp)
    hires: list[Hire] = Field(default_factory=list, max_length=MAX_HIRES)
    attrition: Attrition = Field(default_factory=Attrition)


class ContextSwitch(Strict):
    """Effort multiplier 1 + per_open_deal * (open deals - 1), capped at max_multiplier."""

    per_open_deal: number(ge=0, le=MAX_PER_OPEN_DEAL) = 0.0
    max_multiplier: number(ge=1, le=MAX_MULTIPLIER) = 2.0


class WipLimits(Strict):
    """Pull limits: deals per stage (blocking upstream) and in the whole system (CONWIP)."""

    stages: dict[Name, WipLimit] = Field(default_factory=dict, max_length=12)
    total: WipLimit | None = None


class Policy(Strict):
    """How a plan runs its team; never changes the market."""

    priority: Literal[DISCIPLINES] = "fifo"  # type: ignore[valid-type]
    gate_threshold: number(ge=-1, le=2) = 0.0
    handoff_hours: TaskHours = 0.0
    context_switch: ContextSwitch = Field(default_factory=ContextSwitch)
    wip_limits: WipLimits = Field(default_factory=WipLimits)


class Plan(Strict):
    """A staffing plan: roles plus policy."""

    roles: dict[Name, Role] = Field(min_length=1, max_length=MAX_ROLES)
    policy: Policy = Field(default_factory=Policy)


# ---------------------------------------------------------------- scenario


class InitialPipeline(Strict):
    """Today's open deals, placed into the model at time 0 with their elapsed time respected."""

    file: str = Field(
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="CSV of open deals, relative to the scenario file: id, stage, age_days, value; optional owner, "
        "segment, days_in_stage",
    )
    max_age_days: PositiveDays | None = Field(
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

    name: Label
    description: Text = ""
    horizon_days: PositiveDays
    warmup_days: Days = 0.0
    replications: integer(ge=1, le=MAX_REPLICATIONS) = 10
    seed: Seed = 0
    market: Market
    process: Process
    plans: dict[Name, Plan] = Field(min_length=1, max_length=MAX_PLANS)
    initial_pipeline: InitialPipeline | None = Field(
        None, description="start from today's open deals (then warmup_days may be 0); null: start empty"
    )
    currency: str = Field("", max_length=8, pattern=r"^[^\s\d]*$",
                          description="how amounts are shown: a symbol before them (€) or a code after them (EUR); "
                                      "'' bare numbers")  # fmt: skip
    allow_unstable: Flag = Field(False, description="run on when open deals grow without bound (a role overloaded), "
                                 "up to a memory bound, instead of stopping with a message")  # fmt: skip
