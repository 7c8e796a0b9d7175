"""The optimisation file schema: families of designs to search at a budget, and how to select the best."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from leanflow.distributions import integer, number
from leanflow.scenario.schema import MAX_PLANS, MAX_REPLICATIONS, MAX_WIP, Label, Seed, Strict, Text
from leanflow.scenario.sweep_schema import (
    MAX_FACTORS,
    MAX_LEVELS,
    MAX_OVERRIDES,
    Design,
    Level,
    Range,
    ScenarioPath,
)

MAX_METRIC = 1e15  # a constraint's bound or the indifference zone: above any metric a run reports
MAX_BUDGET_COST = 1e12  # a yearly cost budget: ten thousand people at the largest cost per head, and more
MAX_CONSTRAINTS = 50  # constraints of one study
MAX_CHOICE = MAX_WIP  # the ends of a whole-number choice: the largest value any integer setting takes
MetricBound = number(ge=-MAX_METRIC, le=MAX_METRIC)
WholeChoice = integer(ge=-MAX_CHOICE, le=MAX_CHOICE)


class Objective(Strict):
    """The summary metric to optimise (its mean over replications)."""

    metric: Label
    goal: Literal["maximise", "minimise"] = "maximise"


class Constraint(Strict):
    """A bound on a summary metric's mean; a configuration outside it is not eligible."""

    metric: Label
    max: MetricBound | None = None
    min: MetricBound | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if self.max is None and self.min is None:
            raise ValueError("give max, min or both")
        return self


class Budget(Strict):
    """Equal resources for every family: a head count, or a yearly cost (headcount x cost_per_head)."""

    headcount: integer(ge=1, le=100_000) | None = None
    cost: number(gt=0, le=MAX_BUDGET_COST) | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Budget:
        if (self.headcount is None) == (self.cost is None):
            raise ValueError("give exactly one of headcount or cost")
        return self


class IntRange(Strict):
    """Whole numbers from low to high (inclusive), e.g. a head count."""

    low: WholeChoice
    high: WholeChoice
    step: integer(ge=1, le=2 * MAX_CHOICE) = 1


Choice = Annotated[
    IntRange | Annotated[list[Level], Field(min_length=1, max_length=MAX_LEVELS)], Field(union_mode="left_to_right")
]


class SelectionSettings(Strict):
    """Screening plus KN: the guarantee's confidence and indifference zone, and the replication budget."""

    indifference: number(gt=0, le=MAX_METRIC) = Field(
        description="delta: a difference in the objective smaller than this is not worth telling apart"
    )
    confidence: number(gt=0.5, lt=1) = 0.95
    first_stage: integer(ge=2, le=MAX_REPLICATIONS) = 10
    max_replications: integer(ge=2, le=MAX_REPLICATIONS) = 200
    batch: integer(ge=1, le=1000) = Field(
        5, description="replications per survivor simulated at a time (in parallel); decisions do not depend on it"
    )

    @model_validator(mode="after")
    def _cap_above_first(self) -> SelectionSettings:
        if self.max_replications < self.first_stage:
            raise ValueError("max_replications must be at least first_stage")
        return self


class Search(Strict):
    """When a family has more feasible configurations than ``enumerate_up_to``: a seeded search (optuna)."""

    enumerate_up_to: integer(ge=1, le=100_000) = 2000
    trials: integer(ge=1, le=100_000) = 300
    replications: integer(ge=1, le=1000) = 5
    keep: integer(ge=2, le=10_000) = Field(30, description="the best searched configurations taken into selection")
    seed: Seed = 0


class Optimisation(Strict):
    """A whole optimisation file."""

    name: Label
    description: Text = ""
    base: ScenarioPath = Field(description="the base scenario file, relative to this file")
    seed: Seed | None = Field(None, description="replication seed (default: the base's)")
    objective: Objective
    constraints: list[Constraint] = Field(default_factory=list, max_length=MAX_CONSTRAINTS)
    budget: Budget | None = None
    families: dict[Label, Annotated[dict[ScenarioPath, Choice], Field(max_length=MAX_FACTORS)]] = Field(
        min_length=1, max_length=MAX_PLANS,
        description="plans of the base scenario -> decision paths (relative to the plan) -> choices",
    )
    selection: SelectionSettings
    search: Search = Field(default_factory=Search)
    verdict_replications: integer(ge=2, le=MAX_REPLICATIONS) = Field(
        30, description="fresh replications for the best-against-best verdict"
    )
    uncertainties: dict[ScenarioPath, Range] = Field(
        default_factory=dict, max_length=MAX_FACTORS,
        description="the where-flow-wins map: dotted scenario path -> range",
    )
    design: Design = Field(default_factory=lambda: Design(kind="latin_hypercube", n=20, seed=1))
    winmap_replications: integer(ge=2, le=MAX_REPLICATIONS) = Field(
        10, description="replications of each selected design at every point of the map"
    )
    overrides: dict[ScenarioPath, Level | list | dict] = Field(
        default_factory=dict, max_length=MAX_OVERRIDES, description="fixed changes to the base scenario"
    )
