"""The verdict's "why" line: what the metrics show behind each headline, with no cause claimed beyond them.

For each plan against the baseline it names the binding bottleneck of both
plans (the role with the highest deal-work utilisation, with its mean queue
wait), the velocity factor with the largest |log contribution|, and each
plan's largest mechanism losses: the larger of the deal losses (cooled, stale;
deals per week) and the largest of the effort losses (hours per week), each
only when above zero. Deals and hours are not comparable, so one of each.
"""

from __future__ import annotations

import math

import pandas as pd

from leanflow.metrics.compare import bottleneck_of, bottleneck_role

DEAL_LOSSES = (("cooled_per_week", "deals lost to cooling"), ("stale_per_week", "stale deals"))
EFFORT_LOSSES = (
    ("handoff_hours_per_week", "hand-off"),
    ("switch_hours_per_week", "context switching"),
    ("learning_hours_per_week", "learning still to come"),
    ("ramp_hours_per_week", "ramp-up"),
)


def why_lines(summary: pd.DataFrame, velocity: pd.DataFrame, plans: list[str]) -> list[str]:
    """One line per plan after the first (the baseline), from means over replications."""
    means = summary.groupby("plan", observed=True).mean(numeric_only=True)
    base = plans[0]
    lines = []
    for plan in plans[1:]:
        parts = [f"bottleneck {bottleneck(means.loc[base], base)}; {bottleneck(means.loc[plan], plan)}"]
        factor = largest_factor(velocity, plan)
        if factor:
            parts.append(f"largest velocity factor: {factor}")
        parts.append("largest losses: " + "; ".join(f"{p} {losses(means.loc[p])}" for p in (base, plan)))
        lines.append(f"why {plan}: " + " | ".join(parts))
    return lines


def bottleneck(m: pd.Series, plan: str) -> str:
    """The plan's role with the highest deal-work utilisation, with it and the role's mean queue wait."""
    role = bottleneck_role(m)
    if role is None:
        return f"{plan}: no role data"
    queue = m.get(f"queue_days_{role}", float("nan"))
    wait = "no deal queued" if queue != queue else f"{queue:.1f} d queue"
    return f"{plan}: {role} {100 * m[f'utilisation_deal_{role}']:.0f}% busy on deal work, {wait}"


def largest_factor(velocity: pd.DataFrame, plan: str) -> str:
    """The velocity factor with the largest |log contribution| for this plan ('' when none is finite)."""
    rows = velocity[(velocity["plan"].astype(str) == plan) & (velocity["view"] == "factor")]
    rows = rows[rows["log_contribution"].map(math.isfinite)]
    if rows.empty:
        return ""
    r = rows.loc[rows["log_contribution"].abs().idxmax()]
    share = "" if math.isnan(r.share) else f", {100 * r.share:.0f}% of the log change"
    return f"{r.label} x{r.ratio:.2f}{share}"


def losses(m: pd.Series) -> str:
    """The larger deal loss and the largest effort loss of a plan, each when above zero."""
    said = []
    for group, unit in ((DEAL_LOSSES, "/week"), (EFFORT_LOSSES, " h/week")):
        values = [(m.get(k, float("nan")), label) for k, label in group]
        value, label = max(values, key=lambda v: -math.inf if math.isnan(v[0]) else v[0])
        if value > 0:
            said.append(f"{label} {value:.1f}{unit}")
    return ", ".join(said) if said else "none recorded"


def bottleneck_note(metric: str, plans: tuple[str, str], roles: dict[str, str]) -> str:
    """`` (bottleneck of both)`` or `` (bottleneck of <plan>)`` on a row of a plan's bottleneck role, else ''."""
    who = bottleneck_of(metric, plans, roles)
    return "" if not who else " (bottleneck of both)" if len(who) == 2 else f" (bottleneck of {who[0]})"
