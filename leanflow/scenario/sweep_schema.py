"""The sweep file schema: a base scenario, factors (levers and uncertainties), a design."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leanflow.distributions import Flag, integer, number
from leanflow.scenario.schema import (
    MAX_LABEL_CHARS,
    MAX_PATH_CHARS,
    MAX_PLANS,
    MAX_REPLICATIONS,
    Label,
    Seed,
    Strict,
    Text,
)

MAX_FACTORS = 50  # levers or uncertainties of one study: a design over more is never run to the end
MAX_LEVELS = 1000  # levels of one lever (or one choice of an optimisation family)
MAX_OUTPUTS = 200  # outputs of a sweep: more than every metric a run has
MAX_OVERRIDES = 200  # fixed overrides of a study
MAX_FACTOR_VALUE = 1e12  # a range's ends: above every bound of the scenario (a deal value, a cost)
MAX_SAMPLES = 1_000_000  # design points (random, latin_hypercube, sobol) or Morris trajectories
ScenarioPath = Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)]
FactorValue = number(ge=-MAX_FACTOR_VALUE, le=MAX_FACTOR_VALUE)
GridLevels = integer(ge=2, le=MAX_LEVELS)  # an alias: Range has a field named ``integer``

DESIGN_KINDS = ("grid", "random", "latin_hypercube", "sobol", "morris", "sobol_indices")
SENSITIVITY_KINDS = ("morris", "sobol_indices")
# the built-in experiment figures `leanflow analyze` draws (leanflow.report.experiment_figures)
FIGURES = ("utilisation", "gate_threshold", "staffing_mix", "validation", "validation_tandem", "fairness")
Level = (
    bool
    | integer(ge=-MAX_FACTOR_VALUE, le=MAX_FACTOR_VALUE)
    | FactorValue
    | Annotated[str, Field(max_length=MAX_LABEL_CHARS)]
    | None
)


class Range(Strict):
    """An uncertainty: a continuous range sampled by the design."""

    low: FactorValue
    high: FactorValue
    integer: Flag = Field(False, description="round sampled values to whole numbers")
    levels: GridLevels | None = Field(
        None, description="number of evenly spaced levels from low to high, for the grid design"
    )


class Design(Strict):
    """How uncertainty samples are drawn (levers always enter with all their levels)."""

    kind: Literal[DESIGN_KINDS] = "grid"  # type: ignore[valid-type]
    n: integer(ge=1, le=MAX_SAMPLES) | None = Field(
        None, description="samples (random, latin_hypercube, sobol: points; morris: trajectories; "
        "sobol_indices: base samples N, giving N*(k+2) points)"
    )
    seed: Seed = 0
    morris_levels: integer(ge=2, le=100) = 4


class Sweep(Strict):
    """A whole sweep file."""

    name: Label
    description: Text = ""
    base: ScenarioPath = Field(description="the base scenario file, relative to this sweep file")
    seed: Seed | None = Field(None, description="replication seed (default: the base's)")
    replications: integer(ge=1, le=MAX_REPLICATIONS) = 10
    plans: list[Label] | None = Field(
        None, max_length=MAX_PLANS, description="plans to run at each point (default: all)"
    )
    levers: dict[ScenarioPath, Annotated[list[Level], Field(min_length=1, max_length=MAX_LEVELS)]] = Field(
        default_factory=dict, max_length=MAX_FACTORS, description="decisions: dotted scenario path -> levels"
    )
    uncertainties: dict[ScenarioPath, Range] = Field(
        default_factory=dict, max_length=MAX_FACTORS, description="environment factors: dotted scenario path -> range"
    )
    design: Design = Field(default_factory=Design)
    combine: Literal["factorial", "zip"] = Field(
        "factorial", description="levers x uncertainty samples: every combination, or paired one to one"
    )
    outputs: list[Label] = Field(
        default_factory=lambda: ["won_revenue_per_week", "won_per_week", "win_rate", "cycle_p50", "cycle_p85"],
        min_length=1,
        max_length=MAX_OUTPUTS,
    )
    common_random_numbers: Flag = Field(True, description="every point uses the same replication seeds")
    figure: Literal[FIGURES] | None = Field(  # type: ignore[valid-type]
        None, description="the built-in experiment figure `leanflow analyze` draws from the results"
    )
    overrides: dict[ScenarioPath, Level | list | dict] = Field(
        default_factory=dict, max_length=MAX_OVERRIDES, description="fixed changes to the base scenario at every point"
    )
