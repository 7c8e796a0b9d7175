"""The metric catalogue: display label, unit kind and group of every summary column."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_CURRENCY: ContextVar[str] = ContextVar("currency", default="")  # the scenario's, while its outputs are shown


@contextmanager
def currency(code: str) -> Iterator[None]:
    """Within the block, amounts of money are shown in ``code``: a symbol before them (€12,000) or a code after
    them (12,000 EUR); '' shows bare numbers."""
    token = _CURRENCY.set(code.strip())
    try:
        yield
    finally:
        _CURRENCY.reset(token)


def money_text(text: str) -> str:
    """A formatted amount with the currency: the symbol before it, a code (several letters) after it."""
    code = _CURRENCY.get()
    if not code:
        return text
    return f"{code}{text}" if len(code) == 1 else f"{text} {code}"


def money_unit() -> str:
    """The unit of money for a label: the currency, or the word 'currency' when the scenario names none."""
    return _CURRENCY.get() or "currency"


@dataclass(frozen=True)
class MetricInfo:
    """How to show one metric."""

    name: str
    label: str
    kind: str  # count | rate | money | days | ratio (a multiple, shown 2.50x) | number
    group: str


FIXED = [
    ("leads", "leads created", "count", "volume"),
    ("qualified", "qualified (passed the gate)", "count", "volume"),
    ("won", "won", "count", "volume"),
    ("lost", "lost", "count", "volume"),
    ("stale", "stale (no decision)", "count", "volume"),
    ("disqualified", "disqualified", "count", "volume"),
    ("open_end", "open at horizon", "count", "volume"),
    ("open_aged", "open at horizon, older than p95 won cycle", "count", "volume"),
    ("recycled_leads", "recycled leads returning (created in window)", "count", "volume"),
    ("won_per_week", "won deals / week", "number", "throughput"),
    ("won_revenue_per_week", "won revenue / week", "money", "throughput"),
    ("revenue_per_seller_year", "won revenue / person present / year", "money", "throughput"),
    ("win_rate", "win rate (won/(won+lost)), %", "rate", "win rate"),
    ("win_rate_stale_as_lost", "win rate, stale as lost, %", "rate", "win rate"),
    ("win_rate_aged_as_lost", "win rate, open beyond p95 cycle as lost, %", "rate", "win rate"),
    ("win_rate_value", "value win rate, %", "rate", "win rate"),
    ("cycle_mean", "cycle time, mean (won), days", "days", "cycle time"),
    ("cycle_p50", "cycle time, p50, days", "days", "cycle time"),
    ("cycle_p85", "cycle time, p85, days", "days", "cycle time"),
    ("cycle_p95", "cycle time, p95, days", "days", "cycle time"),
    ("flow_efficiency", "flow efficiency (touch/lead time), %", "rate", "flow"),
    ("wip_total", "WIP, all stages (time-avg deals)", "number", "flow"),
    ("opportunity_rate_per_week", "opportunities closed / week", "number", "velocity"),
    ("mean_won_value", "mean won deal value", "money", "velocity"),
    ("opportunity_win_rate", "opportunity win rate (won/closed), %", "rate", "velocity"),
    ("velocity_per_week", "sales velocity / week (rate x value x win rate)", "money", "velocity"),
    ("opportunity_cycle_days", "speed view: opportunity cycle (qualified->close), days", "days", "velocity"),
    ("opportunities", "speed view: open opportunities (time-avg)", "number", "velocity"),
    ("utilisation", "utilisation, whole team (with prospecting), %", "rate", "flow"),
    ("utilisation_deal", "utilisation, whole team (deal work), %", "rate", "flow"),
    ("cooled_per_week", "deals lost to cooling / week", "number", "losses"),
    ("stale_per_week", "stale deals / week", "number", "losses"),
    ("handoff_hours_per_week", "hand-off effort, hours / week", "number", "losses"),
    ("switch_hours_per_week", "context-switching effort, hours / week", "number", "losses"),
    ("learning_hours_per_week", "learning still to come, hours / week", "number", "losses"),
    ("ramp_hours_per_week", "ramp-up effort, hours / week", "number", "losses"),
    ("headcount", "people present (time-avg)", "number", "cost"),
    ("cost_per_year", "cost of the people present / year", "money", "cost"),
    ("revenue_per_cost", "won revenue / unit cost (per year)", "number", "cost"),
    ("initial_deals", "today's pipeline: open deals at time 0", "count", "today's pipeline"),
    ("initial_old", "today's pipeline: older than the model's paths (flagged)", "count", "today's pipeline"),
    ("initial_unmatched", "today's pipeline: no path matched their age", "count", "today's pipeline"),
    ("initial_expired", "today's pipeline: older than max_age_days (stale at 0)", "count", "today's pipeline"),
    ("initial_won", "today's pipeline: won", "count", "today's pipeline"),
    ("initial_won_revenue", "today's pipeline: won revenue", "money", "today's pipeline"),
    ("initial_open_end", "today's pipeline: still open at horizon", "count", "today's pipeline"),
]

PREFIXED = [
    ("wip_", "WIP in {} (time-avg deals)", "number", "stages"),
    ("stage_days_", "days in {}", "days", "stages"),
    ("conversion_", "conversion out of {}, %", "rate", "stages"),
    ("win_from_", "won from {} (of deals entering it), %", "rate", "stages"),
    ("coverage_", "pipeline coverage at {}, x target", "ratio", "stages"),
    ("utilisation_deal_", "utilisation {} (deal work), %", "rate", "roles"),
    ("utilisation_", "utilisation {} (with prospecting), %", "rate", "roles"),
    ("prospecting_share_", "prospecting share {}, %", "rate", "roles"),
    ("queue_days_", "queue wait for {}, days", "days", "roles"),
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
        return money_text(f"{x:,.0f}")
    if kind == "count":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"
    if kind == "days":
        return f"{x:.1f} d"
    if kind == "ratio":
        return f"{x:.2f}x"
    return f"{x:.2f}"


def format_signed(kind: str, x: float) -> str:
    """A difference as a person reads it, with its sign; differences of rates in percentage points."""
    if x != x:
        return "-"
    if kind == "rate":
        return f"{100 * x:+.1f} pts"
    text = format_value(kind, abs(x))
    return f"-{text}" if x < 0 else f"+{text}"
