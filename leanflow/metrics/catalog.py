"""The metric catalogue: display label, unit kind and group of every summary column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """How to show one metric."""

    name: str
    label: str
    kind: str  # count | rate | money | days | ratio | number
    group: str


FIXED = [
    ("leads", "leads created", "count", "volume"),
    ("qualified", "qualified (passed the gate)", "count", "volume"),
    ("won", "won", "count", "volume"),
    ("lost", "lost", "count", "volume"),
    ("stale", "stale (no decision)", "count", "volume"),
    ("disqualified", "disqualified", "count", "volume"),
    ("open_end", "open at horizon", "count", "volume"),
    ("won_per_week", "won deals / week", "number", "throughput"),
    ("won_revenue_per_week", "won revenue / week", "money", "throughput"),
    ("revenue_per_seller_year", "won revenue / seller / year", "money", "throughput"),
    ("win_rate", "win rate (won/(won+lost))", "rate", "win rate"),
    ("win_rate_stale_as_lost", "win rate, stale as lost", "rate", "win rate"),
    ("win_rate_value", "value win rate", "rate", "win rate"),
    ("cycle_mean", "cycle time, mean (won)", "days", "cycle time"),
    ("cycle_p50", "cycle time, p50", "days", "cycle time"),
    ("cycle_p85", "cycle time, p85", "days", "cycle time"),
    ("cycle_p95", "cycle time, p95", "days", "cycle time"),
    ("flow_efficiency", "flow efficiency (touch/lead time)", "rate", "flow"),
    ("wip_total", "WIP, all stages (time-avg)", "number", "flow"),
    ("opportunities", "open opportunities (time-avg)", "number", "velocity"),
    ("mean_won_value", "mean won deal value", "money", "velocity"),
    ("opportunity_win_rate", "opportunity win rate (won/closed)", "rate", "velocity"),
    ("opportunity_cycle_days", "opportunity cycle (qualified->close)", "days", "velocity"),
    ("velocity_per_week", "sales velocity / week (formula)", "money", "velocity"),
    ("utilisation", "utilisation, whole team", "rate", "flow"),
    ("headcount", "headcount", "count", "cost"),
]

PREFIXED = [
    ("wip_", "WIP in {}", "number", "stages"),
    ("stage_days_", "days in {}", "days", "stages"),
    ("conversion_", "conversion out of {}", "rate", "stages"),
    ("utilisation_", "utilisation {}", "rate", "roles"),
    ("prospecting_share_", "prospecting share {}", "rate", "roles"),
    ("queue_days_", "queue wait for {}", "days", "roles"),
]


def metric_info(name: str) -> MetricInfo:
    """Label, unit kind and group of a summary column."""
    for key, label, kind, group in FIXED:
        if key == name:
            return MetricInfo(name, label, kind, group)
    for prefix, label, kind, group in PREFIXED:
        if name.startswith(prefix):
            return MetricInfo(name, label.format(name[len(prefix):]), kind, group)
    return MetricInfo(name, name, "number", "other")


def metric_order(columns: list[str]) -> list[str]:
    """Summary metric columns in display order: fixed headline metrics, then stages, then roles."""
    fixed = [k for k, *_ in FIXED if k in columns]
    rest = [c for c in columns if c not in fixed and c not in ("plan", "replication")]
    groups = [p for p, *_ in PREFIXED]
    return fixed + sorted(rest, key=lambda c: next((i for i, p in enumerate(groups) if c.startswith(p)), 99))


def format_value(kind: str, x: float) -> str:
    """A value as a person reads it."""
    if x != x:  # nan
        return "-"
    if kind == "rate":
        return f"{100 * x:.1f}%"
    if kind == "money":
        return f"{x:,.0f}"
    if kind == "count":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"
    if kind == "days":
        return f"{x:.1f} d"
    return f"{x:.2f}"


def format_signed(kind: str, x: float) -> str:
    """A difference as a person reads it, with its sign."""
    if x != x:
        return "-"
    text = format_value(kind, abs(x))
    return f"-{text}" if x < 0 else f"+{text}"
