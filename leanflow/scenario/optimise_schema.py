"""The optimisation file schema: families of designs to search at a budget, and how to select the best."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from leanflow.scenario.schema import Strict
from leanflow.scenario.sweep_schema import Design, Level, Range


class Objective(Strict):
    """The summary metric to optimise (its mean over replications)."""

    metric: str = Field(min_length=1)
    goal: Literal["maximise", "minimise"] = "maximise"


class Constraint(Strict):
    """A bound on a summary metric's mean; a configuration outside it is not eligible."""

    metric: str = Field(min_length=1)
    max: float | None = Field(None, allow_inf_nan=False)
    min: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if self.max is None and self.min is None:
            raise ValueError("give max, min or both")
        return self


class Budget(Strict):
    """Equal resources for every family: a head count, or a yearly cost (headcount x cost_per_head)."""

    headcount: Annotated[int, Field(ge=1, le=100_000)] | None = None
    cost: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Budget:
        if (self.headcount is None) == (self.cost is None):
            raise ValueError("give exactly one of headcount or cost")
        return self


class IntRange(Strict):
    """Whole numbers from low to high (inclusive), e.g. a head count."""

    low: int
    high: int
    step: Annotated[int, Field(ge=1)] = 1


Choice = Annotated[IntRange | Annotated[list[Level], Field(min_length=1)], Field(union_mode="left_to_right")]


class SelectionSettings(Strict):
    """Screening plus KN: the guarantee's confidence and indifference zone, and the replication budget."""

    indifference: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        description="delta: a difference in the objective smaller than this is not worth telling apart"
    )
    confidence: Annotated[float, Field(gt=0.5, lt=1, allow_inf_nan=False)] = 0.95
    first_stage: Annotated[int, Field(ge=2, le=10_000)] = 10
    max_replications: Annotated[int, Field(ge=2, le=100_000)] = 200
    batch: Annotated[int, Field(ge=1, le=1000)] = Field(
        5, description="replications per survivor simulated at a time (in parallel); decisions do not depend on it"
    )

    @model_validator(mode="after")
    def _cap_above_first(self) -> SelectionSettings:
        if self.max_replications < self.first_stage:
            raise ValueError("max_replications must be at least first_stage")
        return self


class Search(Strict):
    """When a family has more feasible configurations than ``enumerate_up_to``: a seeded search (optuna)."""

    enumerate_up_to: Annotated[int, Field(ge=1, le=100_000)] = 2000
    trials: Annotated[int, Field(ge=1, le=100_000)] = 300
    replications: Annotated[int, Field(ge=1, le=1000)] = 5
    keep: Annotated[int, Field(ge=2, le=10_000)] = Field(30, description="the best searched configurations "
                                                         "taken into selection")  # fmt: skip
    seed: Annotated[int, Field(ge=0)] = 0


class Optimisation(Strict):
    """A whole optimisation file."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str = Field(min_length=1, description="the base scenario file, relative to this file")
    seed: Annotated[int, Field(ge=0)] | None = Field(None, description="replication seed (default: the base's)")
    objective: Objective
    constraints: list[Constraint] = Field(default_factory=list)
    budget: Budget | None = None
    families: dict[str, dict[str, Choice]] = Field(
        min_length=1, description="plans of the base scenario -> decision paths (relative to the plan) -> choices"
    )
    selection: SelectionSettings
    search: Search = Field(default_factory=Search)
    verdict_replications: Annotated[int, Field(ge=2, le=100_000)] = Field(
        30, description="fresh replications for the best-against-best verdict"
    )
    uncertainties: dict[str, Range] = Field(
        default_factory=dict, description="the where-flow-wins map: dotted scenario path -> range"
    )
    design: Design = Field(default_factory=lambda: Design(kind="latin_hypercube", n=20, seed=1))
    winmap_replications: Annotated[int, Field(ge=2, le=10_000)] = Field(
        10, description="replications of each selected design at every point of the map"
    )
    overrides: dict[str, Level | list | dict] = Field(
        default_factory=dict, description="fixed changes to the base scenario"
    )
