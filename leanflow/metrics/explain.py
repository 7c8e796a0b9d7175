"""Why plans differ: velocity factors, where the time goes, the efficiency matrix and costs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leanflow.scenario.schema import Scenario

VELOCITY_FACTORS = (
    ("opportunities", "open opportunities", 1),
    ("mean_won_value", "mean won deal value", 1),
    ("opportunity_win_rate", "opportunity win rate", 1),
    ("opportunity_cycle_days", "opportunity cycle days", -1),
)
WEEKS_PER_YEAR = 365.25 / 7


def velocity_decomposition(summary: pd.DataFrame, plans: list[str]) -> pd.DataFrame:
    """Each plan's velocity ratio to the baseline split into its four factors.

    velocity = opportunities x value x win rate / cycle, so the log of the
    velocity ratio is the sum of the factors' log ratios (cycle with a minus
    sign); a factor's share is its log ratio over the total.
    """
    means = summary.groupby("plan", observed=True)[[f for f, _, _ in VELOCITY_FACTORS]].mean()
    base = means.loc[plans[0]]
    rows = []
    for plan in plans[1:]:
        cur = means.loc[plan]
        logs = {f: sign * _log_ratio(cur[f], base[f]) for f, _, sign in VELOCITY_FACTORS}
        total = sum(logs.values())
        for f, label, sign in VELOCITY_FACTORS:
            rows.append({
                "plan": plan, "factor": f, "label": label, "baseline": base[f], "value": cur[f],
                "ratio": cur[f] / base[f] if base[f] else float("nan"), "sign": sign, "log_contribution": logs[f],
                "share": logs[f] / total if total and math.isfinite(total) else float("nan"),
                "velocity_ratio": math.exp(total) if math.isfinite(total) else float("nan"),
            })  # fmt: skip
    return pd.DataFrame(rows)


def _log_ratio(a: float, b: float) -> float:
    return math.log(a / b) if a > 0 and b > 0 else float("nan")


def time_split(deals: pd.DataFrame, scenario: Scenario, plans: list[str]) -> pd.DataFrame:
    """Mean touch, queue and after-touch (buyer and blocked) days per stage and plan, over deals that left the
    stage within the window, pooled across replications."""
    stages = [s.name for s in scenario.process.stages]
    lo, hi = scenario.warmup_days, scenario.horizon_days
    rows = []
    for plan, g in deals.groupby("plan", observed=True):
        closed = g["closed"].to_numpy()
        for i, name in enumerate(stages):
            enter, start, done = (g[f"{k}_{name}"].to_numpy() for k in ("enter", "start", "done"))
            nxt = g[f"enter_{stages[i + 1]}"].to_numpy() if i + 1 < len(stages) else np.full(len(g), np.nan)
            leave = np.where(np.isnan(nxt), closed, nxt)
            ok = ~np.isnan(done) & ~np.isnan(leave) & (leave >= lo) & (leave <= hi)
            if not ok.any():
                rows.append({"plan": plan, "stage": name, "deals": 0, "touch_days": np.nan, "queue_days": np.nan,
                             "buyer_days": np.nan})  # fmt: skip
                continue
            rows.append({
                "plan": plan, "stage": name, "deals": int(ok.sum()),
                "touch_days": float((done - start)[ok].mean()),
                "queue_days": float((start - enter)[ok].mean()),
                "buyer_days": float((leave - done)[ok].mean()),
            })  # fmt: skip
    out = pd.DataFrame(rows)
    out["plan"] = pd.Categorical(out["plan"], categories=plans)
    return out.sort_values(["plan"], kind="stable").reset_index(drop=True)


def efficiency_matrix(summary: pd.DataFrame, plans: list[str]) -> pd.DataFrame:
    """Each plan as a point: resource efficiency (team utilisation) and flow efficiency, means over replications."""
    means = summary.groupby("plan", observed=True)[["utilisation", "flow_efficiency"]].mean()
    return means.loc[plans].rename(columns={"utilisation": "resource_efficiency"}).reset_index()


def costs(summary: pd.DataFrame, scenarios: dict[str, tuple[Scenario, str]], plans: list[str]) -> pd.DataFrame:
    """Headcount per plan, yearly cost of sales and revenue per unit cost where every role has a cost per head.

    ``scenarios`` maps each plan label to (its scenario, the plan's name in it).
    """
    revenue = summary.groupby("plan", observed=True)["won_revenue_per_week"].mean()
    base_heads = None
    rows = []
    for label in plans:
        sc, name = scenarios[label]
        roles = sc.plans[name].roles.values()
        heads = sum(r.headcount for r in roles)
        base_heads = heads if base_heads is None else base_heads
        priced = all(r.cost_per_head is not None for r in roles)
        cost = sum(r.headcount * r.cost_per_head for r in roles) if priced else float("nan")  # type: ignore[operator]
        yearly_revenue = float(revenue[label] * WEEKS_PER_YEAR)
        rows.append({
            "plan": label, "headcount": heads, "like_for_like": heads == base_heads,
            "cost_per_year": cost, "won_revenue_per_year": yearly_revenue,
            "revenue_per_unit_cost": yearly_revenue / cost if priced and cost > 0 else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows)
