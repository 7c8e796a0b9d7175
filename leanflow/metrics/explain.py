"""Why plans differ: velocity factors, where the time goes, the efficiency matrix and costs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leanflow.scenario.schema import Scenario

VELOCITY_FACTORS = (
    ("opportunity_rate_per_week", "opportunities closed / week"),
    ("mean_won_value", "mean won deal value, all replications pooled"),
    ("opportunity_win_rate", "opportunity win rate"),
)
SPEED_VIEW = ("opportunity_cycle_days", "opportunity cycle days")
WEEKS_PER_YEAR = 365.25 / 7


def pooled_factors(summary: pd.DataFrame) -> pd.DataFrame:
    """Each plan's velocity factors pooled over replications (ratios of totals), and the mean cycle.

    rate = mean opportunities closed per week; win rate = total won / total
    closed; value = total won revenue / total won, so rate x value x win rate
    equals the mean velocity (won revenue per week from opportunities) exactly.
    """
    g = summary.assign(
        won_rate=summary["opportunity_rate_per_week"] * summary["opportunity_win_rate"]
    ).groupby("plan", observed=True)
    rate, won, velocity = (g[c].apply(lambda x: np.nansum(x) / len(x)) for c in
                           ("opportunity_rate_per_week", "won_rate", "velocity_per_week"))  # fmt: skip
    return pd.DataFrame({
        "opportunity_rate_per_week": rate, "mean_won_value": velocity / won, "opportunity_win_rate": won / rate,
        "velocity_per_week": velocity, "opportunity_cycle_days": g["opportunity_cycle_days"].mean(),
    })  # fmt: skip


def velocity_decomposition(summary: pd.DataFrame, plans: list[str]) -> pd.DataFrame:
    """Each plan's velocity ratio to the baseline split into its three factors, with the cycle beside them.

    velocity = opportunities closed per week x mean won value x win rate (the
    won revenue per week from opportunities, an identity), so the log of the
    velocity ratio is the sum of the factors' log ratios and a factor's share is
    its log ratio over the total (shares sum to 1). The opportunity cycle is the
    speed view (view = "speed"): by Little's law open opportunities = rate x
    cycle, so it is shown, not counted as a factor.
    """
    means = pooled_factors(summary)
    base = means.loc[plans[0]]
    rows = []
    for plan in plans[1:]:
        cur = means.loc[plan]
        logs = {f: _log_ratio(cur[f], base[f]) for f, _ in VELOCITY_FACTORS}
        total = sum(logs.values())
        for f, label in (*VELOCITY_FACTORS, SPEED_VIEW):
            factor = f in logs
            rows.append({
                "plan": plan, "factor": f, "label": label, "view": "factor" if factor else "speed",
                "baseline": base[f], "value": cur[f], "ratio": cur[f] / base[f] if base[f] else float("nan"),
                "log_contribution": logs[f] if factor else float("nan"),
                "share": logs[f] / total if factor and total and math.isfinite(total) else float("nan"),
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
    out = pd.DataFrame(rows, columns=["plan", "stage", "deals", "touch_days", "queue_days", "buyer_days"])
    out["plan"] = pd.Categorical(out["plan"], categories=plans)
    return out.sort_values(["plan"], kind="stable").reset_index(drop=True)


def efficiency_matrix(summary: pd.DataFrame, plans: list[str]) -> pd.DataFrame:
    """Each plan as a point: resource efficiency (team utilisation) and flow efficiency, means over replications."""
    means = summary.groupby("plan", observed=True)[["utilisation", "flow_efficiency"]].mean()
    return means.loc[plans].rename(columns={"utilisation": "resource_efficiency"}).reset_index()


def costs(summary: pd.DataFrame, scenarios: dict[str, tuple[Scenario, str]], plans: list[str]) -> pd.DataFrame:
    """Per plan: planned headcount, people present, yearly cost of the people present and revenue per unit cost
    (means over replications; nan where a role has no cost per head), and the dearest head's yearly cost.

    ``scenarios`` maps each plan label to (its scenario, the plan's name in it).
    """
    means = summary.groupby("plan", observed=True)[
        ["won_revenue_per_week", "headcount", "cost_per_year", "revenue_per_cost"]
    ].mean()
    base_heads = None
    rows = []
    for label in plans:
        sc, name = scenarios[label]
        roles = sc.plans[name].roles.values()
        heads = sum(r.headcount for r in roles)
        base_heads = heads if base_heads is None else base_heads
        priced = all(r.cost_per_head is not None for r in roles)
        m = means.loc[label]
        rows.append({
            "plan": label, "headcount": heads, "like_for_like": heads == base_heads, "people_present": m.headcount,
            "cost_per_year": m.cost_per_year, "won_revenue_per_year": float(m.won_revenue_per_week * WEEKS_PER_YEAR),
            "revenue_per_cost": m.revenue_per_cost,
            "head_cost": max(r.cost_per_head for r in roles) if priced else float("nan"),  # type: ignore[type-var]
        })  # fmt: skip
    return pd.DataFrame(rows)
