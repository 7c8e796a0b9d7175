"""The sweep file schema: a base scenario, factors (levers and uncertainties), a design."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leanflow.scenario.schema import Strict

DESIGN_KINDS = ("grid", "random", "latin_hypercube", "sobol", "morris", "sobol_indices")
SENSITIVITY_KINDS = ("morris", "sobol_indices")
Level = float | int | str | bool | None


class Range(Strict):
    """An uncertainty: a continuous range sampled by the design."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    integer: bool = Field(False, description="round sampled values to whole numbers")
    levels: Annotated[int, Field(ge=2, le=1000)] | None = Field(
        None, description="number of evenly spaced levels from low to high, for the grid design"
    )


class Design(Strict):
    """How uncertainty samples are drawn (levers always enter with all their levels)."""

    kind: Literal[DESIGN_KINDS] = "grid"  # type: ignore[valid-type]
    n: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="samples (random, latin_hypercube, sobol: points; morris: trajectories; "
        "sobol_indices: base samples N, giving N*(k+2) points)"
    )
    seed: Annotated[int, Field(ge=0)] = 0
    morris_levels: Annotated[int, Field(ge=2, le=100)] = 4


class Sweep(Strict):
    """A whole sweep file."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str = Field(min_length=1, description="the base scenario file, relative to this sweep file")
    seed: Annotated[int, Field(ge=0)] | None = Field(None, description="replication seed (default: the base's)")
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    plans: list[str] | None = Field(None, description="plans to run at each point (default: all)")
    levers: dict[str, Annotated[list[Level], Field(min_length=1)]] = Field(
        default_factory=dict, description="decisions: dotted scenario path -> levels"
    )
    uncertainties: dict[str, Range] = Field(
        default_factory=dict, description="environment factors: dotted scenario path -> range"
    )
    design: Design = Field(default_factory=Design)
    combine: Literal["factorial", "zip"] = Field(
        "factorial", description="levers x uncertainty samples: every combination, or paired one to one"
    )
    outputs: list[str] = Field(
        default_factory=lambda: ["won_revenue_per_week", "won_per_week", "win_rate", "cycle_p50", "cycle_p85"],
        min_length=1,
    )
    common_random_numbers: bool = Field(True, description="every point uses the same replication seeds")
    overrides: dict[str, Level | list | dict] = Field(
        default_factory=dict, description="fixed changes to the base scenario at every point"
    )
