"""The verdict: every plan against the baseline, with the reasons, in tables and plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from leanflow.metrics.compare import adjusted_confidence, bottleneck_roles, compare_plans, headline_metrics
from leanflow.metrics.explain import costs, efficiency_matrix, time_split, velocity_decomposition
from leanflow.metrics.warmup import warmup_check, warmup_warnings
from leanflow.metrics.why import why_lines
from leanflow.scenario.schema import Scenario


@dataclass
class Verdict:
    """Everything the verdict says, as tables (written to CSV) and sentences (printed)."""

    plans: list[str]
    confidence: float
    comparison: pd.DataFrame
    velocity: pd.DataFrame
    time_split: pd.DataFrame
    efficiency: pd.DataFrame
    costs: pd.DataFrame
    warmup: pd.DataFrame | None = None  # MSER-5 truncation points per plan and weekly series
    headlines: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)  # one line per plan after the baseline, under its headline
    notes: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (baseline, plan) compared; empty: all vs the first
    bottlenecks: dict[str, str] = field(default_factory=dict)  # each plan's bottleneck role (highest deal work)

    @property
    def baseline(self) -> str:
        return self.plans[0]

    @property
    def compared(self) -> list[tuple[str, str]]:
        """Each (baseline, plan) the verdict compares."""
        return self.pairs or [(self.plans[0], p) for p in self.plans[1:]]


def build_verdict(
    summary: pd.DataFrame,
    deals: pd.DataFrame,
    plans: list[str],
    scenarios: dict[str, tuple[Scenario, str]],
    confidence: float = 0.90,
    seed: int = 0,
    weekly: pd.DataFrame | None = None,
) -> Verdict:
    """Compare every plan with the first; ``scenarios`` maps each plan label to (scenario, plan name).

    With the weekly series the warm-up is checked too (MSER-5), and a short one is noted.
    """
    comparison = compare_plans(summary, plans, headline_metrics(summary), confidence, seed)
    base_scenario = scenarios[plans[0]][0]
    verdict = Verdict(
        plans=plans,
        confidence=confidence,
        comparison=comparison,
        velocity=velocity_decomposition(summary, plans),
        time_split=time_split(deals, base_scenario, plans),
        efficiency=efficiency_matrix(summary, plans),
        costs=costs(summary, scenarios, plans),
        warmup=None if weekly is None else warmup_check(weekly, scenarios),
        bottlenecks=bottleneck_roles(summary),
    )
    closed = closed_deals(summary)
    verdict.headlines = [_headline(comparison, plan, plans[0], closed) for plan in plans[1:]]
    verdict.why = why_lines(summary, verdict.velocity, plans)
    verdict.notes = [*no_deals_notes(summary), *_notes(verdict, closed)]
    return verdict


def paired_verdict(
    summary: pd.DataFrame,
    deals: pd.DataFrame,
    plans: list[str],
    pairs: list[tuple[str, str]],
    scenarios: dict[str, tuple[Scenario, str]],
    confidence: float = 0.90,
    seed: int = 0,
    weekly: pd.DataFrame | None = None,
) -> Verdict:
    """Compare each plan with its own baseline (``pairs`` of (baseline, plan), e.g. the same plan in two scenario
    files); the intervals are Bonferroni-adjusted over the pairs, so that all of them hold together at
    ``confidence``."""
    each = adjusted_confidence(confidence, len(pairs))
    parts = []
    for base, plan in pairs:
        two = [base, plan]
        parts.append(build_verdict(_only(summary, two), _only(deals, two), two, scenarios, each, seed))
    first = lambda frames: pd.concat(frames, ignore_index=True).drop_duplicates("plan", keep="first")  # noqa: E731
    verdict = Verdict(
        plans=plans,
        confidence=confidence,
        comparison=pd.concat([v.comparison for v in parts], ignore_index=True),
        velocity=pd.concat([v.velocity for v in parts], ignore_index=True),
        time_split=pd.concat([v.time_split for v in parts], ignore_index=True).drop_duplicates(["plan", "stage"]),
        efficiency=first([v.efficiency for v in parts]),
        costs=first([v.costs for v in parts]),
        warmup=None if weekly is None else warmup_check(weekly, scenarios),
        headlines=[],
        why=[w for v in parts for w in v.why],
        pairs=list(pairs),
        bottlenecks=bottleneck_roles(summary),
    )
    closed = closed_deals(summary)
    verdict.headlines = [_headline(verdict.comparison, plan, base, closed) for base, plan in pairs]  # joint level
    joint = ([f"{len(pairs)} pairs, each plan against its own baseline: intervals are Bonferroni-adjusted to "
              f"{each:.1%} each, so that all of them hold together at {confidence:.0%}."] if len(pairs) > 1 else [])
    said = [n for v in parts for n in v.notes]
    verdict.notes = [*joint, *dict.fromkeys(said), *(warmup_warnings(verdict.warmup) if verdict.warmup is not None
                                                      else [])]  # fmt: skip
    return verdict


def _only(table: pd.DataFrame, plans: list[str]) -> pd.DataFrame:
    """The rows of these plans, the plan column a categorical in their order."""
    rows = table[table["plan"].astype(str).isin(plans)]
    return rows.assign(plan=pd.Categorical(rows["plan"].astype(str), plans))


def closed_deals(summary: pd.DataFrame) -> dict[str, int]:
    """Deals won or lost in the window per plan, over all replications."""
    closed = summary.assign(closed=summary["won"] + summary["lost"]).groupby("plan", observed=True, sort=False)
    return {str(plan): int(n) for plan, n in closed["closed"].sum().items()}


def no_deals_notes(summary: pd.DataFrame) -> list[str]:
    """A note for every plan that closed no deal in the window (its deal metrics are then n/a)."""
    empty = [plan for plan, n in closed_deals(summary).items() if n == 0]
    if not empty:
        return []
    return [f"no deals closed in the window ({', '.join(empty)}): deal metrics are n/a; "
            "lengthen horizon_days or shorten warmup_days"]  # fmt: skip


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:+.0f}%"


def _fmt(x: float, spec: str) -> str:
    """A number for a sentence, ``n/a`` when missing."""
    return "n/a" if x != x else format(x, spec)


def ci_level(comparison: pd.DataFrame) -> str:
    """The intervals' level as the user asked for it: '90%', or with several plans against the baseline '90% joint'
    (each interval is Bonferroni-adjusted so that all of them hold together at 90%; the notes say so in words)."""
    if comparison.empty:
        return ""
    each = float(comparison["confidence"].iloc[0])
    k = int(comparison["plan"].nunique())
    family = 1.0 - (1.0 - each) * k
    return f"{round(100 * family, 1):g}%" + (" joint" if k > 1 else "")


def _ci(r: pd.Series, level: str) -> str:
    """The relative change's interval in words: n/a with a single replication or when it is undefined."""
    if r.n < 2:
        return "CI n/a: one replication"
    if r.rel_low != r.rel_low or r.rel_high != r.rel_high:
        return "CI n/a"
    return f"{level} CI {_pct(r.rel_low)} to {_pct(r.rel_high)}"


def _headline(comparison: pd.DataFrame, plan: str, baseline: str, closed: dict[str, int]) -> str:
    if not closed.get(plan, 0) and not closed.get(baseline, 0):
        return f"{plan}: no deals closed in the window, in it or in {baseline}: nothing to compare on revenue or cycle"
    rows = comparison[comparison["plan"] == plan].set_index("metric")
    level = ci_level(comparison)
    parts = []
    if "won_revenue_per_week" in rows.index:
        r = rows.loc["won_revenue_per_week"]
        ci = _ci(r, level)
        if r.significant:
            parts.append(f"{_pct(r.rel)} won revenue per week ({ci})")
        else:
            parts.append(f"no distinguishable change in won revenue per week ({_pct(r.rel)}, {ci})")
    if "cycle_p50" in rows.index:
        r = rows.loc["cycle_p50"]
        sig = "" if r.significant else ", not distinguishable"
        parts.append(f"median cycle {_fmt(r.base_mean, '.0f')} -> {_fmt(r.plan_mean, '.0f')} days{sig}")
    if "win_rate" in rows.index:
        r = rows.loc["win_rate"]
        parts.append(f"win rate {_fmt(100 * r.base_mean, '.0f')}% -> {_fmt(100 * r.plan_mean, '.0f')}% "
                     f"({_fmt(100 * r['diff'], '+.0f')} pts)")  # fmt: skip
    if "revenue_per_cost" in rows.index:
        r = rows.loc["revenue_per_cost"]
        sig = "" if r.significant else ", not distinguishable"
        parts.append(f"revenue per unit cost {_fmt(r.base_mean, '.2f')} -> {_fmt(r.plan_mean, '.2f')} "
                     f"({_pct(r.rel)}, {_ci(r, level)}{sig})")  # fmt: skip
    return f"{plan}: " + "; ".join(parts)


CRN_USEFUL = 0.3  # a correlation this high narrows the paired interval noticeably (sd of the difference x0.84)


def _correlation(r: Any, closed: dict[str, int], baseline: str) -> str:
    """The CRN correlation with what it means for the interval, or why there is none."""
    if r.correlation == r.correlation:
        if r.correlation >= CRN_USEFUL:
            return (f"{r.correlation:.2f}: the shared leads make the plans' replications move together, so the "
                    "paired interval is narrower than an unpaired one")  # fmt: skip
        return (f"{r.correlation:.2f}: low, as when the plans treat the same leads differently (other gates, "
                "owners, hand-offs); pairing then narrows the interval little, and it stays valid")  # fmt: skip
    if r.n < 2:
        return "n/a: one replication"
    if not closed.get(baseline, 0) and not closed.get(str(r.plan), 0):
        return "n/a: no deals closed"
    return "n/a: no variation across replications"


def _notes(v: Verdict, closed: dict[str, int]) -> list[str]:
    notes = []
    if len(v.plans) > 2:
        level = v.comparison["confidence"].iloc[0] if len(v.comparison) else v.confidence
        notes.append(
            f"{len(v.plans) - 1} plans against the baseline: intervals are Bonferroni-adjusted to {level:.1%} each, "
            f"so that all of them hold together at {v.confidence:.0%}."
        )
    crn = v.comparison[v.comparison["metric"] == "won_revenue_per_week"]
    for r in crn.itertuples():
        notes.append(
            f"common random numbers: correlation of won revenue per week between {v.baseline} and {r.plan} "
            f"across replications = {_correlation(r, closed, v.baseline)}"
        )
    base = v.costs.iloc[0]
    for r in v.costs.iloc[1:].itertuples():
        if not r.like_for_like:
            notes.append(f"{r.plan} is not like-for-like: {r.headcount} people against {base.headcount} "
                         f"in {v.baseline}")  # fmt: skip
        gap, head = abs(r.cost_per_year - base.cost_per_year), max(r.head_cost, base.head_cost)
        if gap > head:
            notes.append(f"{r.plan} is not equal cost: {r.cost_per_year:,.0f} / year against {base.cost_per_year:,.0f} "
                         f"in {v.baseline}, a gap above one head's cost ({head:,.0f}); compare revenue per unit cost")
    if v.warmup is not None:
        notes += warmup_warnings(v.warmup)
    return notes
