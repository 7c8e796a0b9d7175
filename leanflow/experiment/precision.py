"""Add replications in blocks until a metric's confidence intervals are narrow enough."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leanflow.errors import LeanflowError
from leanflow.experiment.runner import RunResult
from leanflow.metrics.catalog import FIXED, PREFIXED
from leanflow.metrics.compare import adjusted_confidence, paired_t
from leanflow.metrics.stats import mean_ci

if TYPE_CHECKING:
    from leanflow.scenario.schema import Scenario


@dataclass(frozen=True)
class PrecisionTarget:
    """A metric whose interval half-widths must fall below ``half_width``."""

    metric: str
    half_width: float

    @classmethod
    def parse(cls, text: str) -> PrecisionTarget:
        """From ``metric=half_width`` as given on the command line."""
        name, sep, value = text.partition("=")
        try:
            width = float(value)
        except ValueError:
            width = float("nan")
        if not sep or not name.strip() or not width > 0:
            raise LeanflowError(f"--precision {text!r}: expected metric=half_width with a positive number")
        return cls(name.strip(), width)

    def check(self, *scenarios: Scenario) -> PrecisionTarget:
        """Itself, if its metric is one the scenarios' runs report (before anything is simulated); else a one-line
        error with the nearest names."""
        known = metric_names(*scenarios)
        if self.metric not in known:
            near = difflib.get_close_matches(self.metric, sorted(known), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise LeanflowError(f"--precision: unknown metric '{self.metric}'{hint}; the metrics are the columns of "
                                "summary.csv")  # fmt: skip
        return self


def metric_names(*scenarios: Scenario) -> set[str]:
    """Every summary metric a run of these scenarios reports: the fixed ones, and the per-stage and per-role ones."""
    names = {key for key, *_ in FIXED}
    for sc in scenarios:
        stages = [st.name for st in sc.process.stages]
        roles = {role for plan in sc.plans.values() for role in plan.roles}
        for prefix, _, _, group in PREFIXED:
            names |= {prefix + x for x in (stages if group == "stages" else roles)}
    return names


def half_widths(result: RunResult, metric: str, confidence: float) -> dict[str, float]:
    """Half-width of each plan's mean and of each paired difference against the baseline."""
    s = result.summary
    if metric not in s.columns:
        choices = ", ".join(c for c in s.columns if c not in ("plan", "replication"))
        raise LeanflowError(f"--precision: unknown metric '{metric}'; choose one of: {choices}")
    out = {}
    by_plan = {p: g.set_index("replication").sort_index()[metric] for p, g in s.groupby("plan", observed=True)}
    for plan in result.plans:
        _, lo, hi = mean_ci(by_plan[plan].to_numpy(float), confidence)
        out[plan] = (hi - lo) / 2
    level = adjusted_confidence(confidence, len(result.plans) - 1)
    base = by_plan[result.plans[0]]
    for plan in result.plans[1:]:
        pair = pd.concat([base, by_plan[plan]], axis=1, join="inner").dropna().to_numpy(float)
        _, lo, hi = paired_t(pair[:, 0], pair[:, 1], level)
        out[f"{plan} - {result.plans[0]}"] = (hi - lo) / 2
    return out


def met(widths: dict[str, float], target: PrecisionTarget) -> bool:
    """Every half-width is known and under the target."""
    return all(np.isfinite(w) and w <= target.half_width for w in widths.values())


def run_to_precision(
    run_block: Callable[[int, int], RunResult],
    target: PrecisionTarget,
    start: int,
    block: int,
    maximum: int,
    confidence: float = 0.90,
) -> tuple[RunResult, bool]:
    """Run ``start`` replications, then blocks of ``block`` more until the target is met or ``maximum`` is
    reached. ``run_block(first, n)`` runs replications first..first+n-1. Returns the result and whether the
    target was met."""
    result = run_block(0, min(start, maximum))
    while not met(half_widths(result, target.metric, confidence), target) and result.replications < maximum:
        n = min(block, maximum - result.replications)
        before = result.replications
        result = result.extended(run_block(before, n))
        if result.replications <= before:
            raise LeanflowError("internal error: a block of replications added nothing")
    return result, met(half_widths(result, target.metric, confidence), target)
