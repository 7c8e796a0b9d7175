"""The configurations of a family: every combination of its choices that meets the budget.

A family is a plan of the base scenario; its decision paths are relative to
the plan (``roles.ae.headcount``). A headcount budget is an equality on the
plan's total heads; a cost budget spends the money: the plan's yearly cost
(heads x cost_per_head) is at most the budget and less than one more head of
its cheapest role away from it.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from leanflow.scenario.optimise_schema import Budget, Choice, IntRange
from leanflow.scenario.paths import set_path, split_path


def levels(choice: Choice) -> list[Any]:
    """The values a choice offers, in order."""
    if isinstance(choice, IntRange):
        return list(range(choice.low, choice.high + 1, choice.step))
    return list(choice)


def space_size(family: dict[str, Choice]) -> int:
    """How many combinations the family's choices make (feasible or not)."""
    return math.prod(len(levels(c)) for c in family.values())


@dataclass(frozen=True)
class Spend:
    """A plan's heads and yearly cost (None when a role has no cost_per_head)."""

    heads: int
    cost: float | None
    cheapest: float | None  # the cost of one head of the plan's cheapest role


def spend(plan: dict[str, Any]) -> Spend:
    """Heads and cost of a plan given as raw scenario data."""
    roles = plan.get("roles", {}).values()
    heads = sum(int(r.get("headcount", 0)) for r in roles)
    costs = [r.get("cost_per_head") for r in roles]
    if any(c is None for c in costs):
        return Spend(heads, None, None)
    cost = sum(int(r.get("headcount", 0)) * float(r["cost_per_head"]) for r in roles)
    return Spend(heads, cost, min(float(c) for c in costs) if costs else None)


def within(s: Spend, budget: Budget | None) -> bool:
    """Whether a plan meets the budget."""
    if budget is None:
        return True
    if budget.headcount is not None:
        return s.heads == budget.headcount
    if s.cost is None or s.cheapest is None:
        return False
    return budget.cost - s.cheapest < s.cost <= budget.cost + 1e-9


def apply(plan: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A copy of the plan's raw data with the configuration's values set at their paths."""
    out = copy.deepcopy(plan)
    for path, value in config.items():
        set_path(out, split_path(path), value)
    return out


def configurations(plan: dict[str, Any], family: dict[str, Choice], budget: Budget | None) -> Iterator[dict]:
    """Every combination of the family's choices, with ``None`` in place of those that break the budget."""
    paths = list(family)
    for combo in itertools.product(*(levels(family[p]) for p in paths)):
        config = dict(zip(paths, combo, strict=True))
        yield config if within(spend(apply(plan, config)), budget) else None


def feasible(plan: dict[str, Any], family: dict[str, Choice], budget: Budget | None) -> tuple[list[dict], int]:
    """The family's configurations that meet the budget, and how many were skipped for breaking it."""
    kept, skipped = [], 0
    for config in configurations(plan, family, budget):
        if config is None:
            skipped += 1
        else:
            kept.append(config)
    return kept, skipped
