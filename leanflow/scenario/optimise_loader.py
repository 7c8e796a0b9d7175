"""Load an optimisation file: its schema, its base scenario, every family path and the budget, located.

Errors read FILE:LINE: path.to.key: message, as for scenarios and sweeps. A
decision path is tried on the base scenario's plan with its extreme values; a
family none of whose configurations meets the budget is an error at the
family's line, naming the heads (or cost) its choices can reach.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from os import PathLike
from typing import Any

from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario.configurations import apply, configurations, levels, space_size, spend
from leanflow.scenario.optimise_schema import Optimisation
from leanflow.scenario.paths import did_you_mean
from leanflow.scenario.schema import Scenario
from leanflow.scenario.sweep_loader import known_outputs, load_with_base, try_changes
from leanflow.scenario.yaml_source import LineMap, format_path, line_for

MAX_SPACE = 10_000_000  # combinations a family may have before it is refused (checked without enumerating)


@dataclass(frozen=True)
class LoadedOptimisation:
    """A validated optimisation file with its base scenario (raw data too, for workers)."""

    opt: Optimisation
    file: str
    base_file: str
    base_data: dict[str, Any]
    base: Scenario
    texts: tuple[str, str]

    @property
    def sha256(self) -> str:
        """Identity of the study: both files' texts."""
        return hashlib.sha256("\0".join(self.texts).encode()).hexdigest()

    @property
    def seed(self) -> int:
        return self.base.seed if self.opt.seed is None else self.opt.seed


def load_optimisation(path: str | PathLike[str]) -> LoadedOptimisation:
    """Load and validate an optimisation file and its base scenario; raise ScenarioError with every error."""
    f = load_with_base(path, Optimisation)
    problems = list(_check(f.parsed, f.base, f.base_data, f.name, f.lines))
    if problems:
        raise ScenarioError(problems)
    return LoadedOptimisation(f.parsed, f.name, f.base_file, f.base_data, f.base, f.texts)


def _check(opt: Optimisation, base: Scenario, base_data: dict, name: str, lines: LineMap):
    """Located errors for metrics, families (plans, paths, budget) and uncertainties."""

    def at(*path) -> tuple[int, str]:
        return line_for(lines, path), format_path(path)

    known = known_outputs(base)
    metrics = [(("objective", "metric"), opt.objective.metric)]
    metrics += [(("constraints", i, "metric"), c.metric) for i, c in enumerate(opt.constraints)]
    for where, metric in metrics:
        if metric not in known:
            yield LocatedError(name, *at(*where), f"unknown metric '{metric}'{did_you_mean(metric, sorted(known))}")
    fixed = dict(opt.overrides)
    if fixed and (problem := try_changes(base_data, fixed)):
        yield LocatedError(name, *at("overrides"), problem)
    for family, choices in opt.families.items():
        if family not in base.plans:
            hint = did_you_mean(family, list(base.plans))
            yield LocatedError(name, *at("families", family), f"no plan '{family}' in the base scenario{hint}")
            continue
        bad = False
        for path, choice in choices.items():
            values = levels(choice)
            if not values:
                yield LocatedError(name, *at("families", family, path), "no values: low is above high")
                bad = True
                continue
            for value in {0: values[0], -1: values[-1]}.values():
                if problem := try_changes(base_data, {**fixed, f"plans.{family}.{path}": value}):
                    yield LocatedError(name, *at("families", family, path), problem)
                    bad = True
                    break
        if bad:
            continue
        yield from _budget_problems(opt, family, base_data, name, at)
    for key, rng in opt.uncertainties.items():
        if rng.low > rng.high:
            yield LocatedError(name, *at("uncertainties", key), f"low ({rng.low:g}) is above high ({rng.high:g})")
            continue
        for value in (rng.low, rng.high):
            if problem := try_changes(base_data, {**fixed, key: round(value) if rng.integer else value}):
                yield LocatedError(name, *at("uncertainties", key), problem)
                break


def _budget_problems(opt: Optimisation, family: str, base_data: dict, name: str, at):
    """A family too large to search, a cost budget without costs, or no configuration within the budget."""
    choices = opt.families[family]
    if space_size(choices) > MAX_SPACE:
        yield LocatedError(name, *at("families", family),
                           f"{space_size(choices):,d} combinations: more than {MAX_SPACE:,d}; narrow the choices")
        return  # fmt: skip
    plan = base_data["plans"][family]
    budget = opt.budget
    if budget is None:
        return
    if budget.cost is not None and spend(plan).cost is None:
        yield LocatedError(name, *at("budget", "cost"), f"a cost budget needs cost_per_head on every role of "
                           f"plan '{family}'")  # fmt: skip
        return
    if any(c is not None for c in configurations(plan, choices, budget)):
        return
    spends = [spend(apply(plan, dict(zip(choices, combo, strict=True)))) for combo in _corners(choices)]
    if budget.headcount is not None:
        reach = f"heads from {min(s.heads for s in spends)} to {max(s.heads for s in spends)}"
        want = f"{budget.headcount} heads"
    else:
        reach = f"cost from {min(s.cost for s in spends):,.0f} to {max(s.cost for s in spends):,.0f}"
        want = f"a cost of {budget.cost:,.0f}"
    yield LocatedError(name, *at("families", family), f"no configuration meets the budget of {want} (the "
                       f"choices reach {reach})")  # fmt: skip


def _corners(choices) -> list[tuple]:
    """The lowest and highest value of every choice, combined (the range a budget could hit)."""
    ends = [(levels(c)[0], levels(c)[-1]) for c in choices.values()]
    return list(itertools.product(*ends))
