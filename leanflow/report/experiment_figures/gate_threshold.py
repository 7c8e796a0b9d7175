"""How hard to qualify (experiments/gate_threshold.yaml): both plans' outcomes as the gate threshold tightens."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leanflow.errors import ResultsError
from leanflow.report.experiment_figures.common import (
    COLOURS,
    FLOW,
    RESOURCE,
    ExperimentFigure,
    SweepInput,
    column,
    deal_utilisation,
    interval,
    markdown,
    reps,
    require,
    wide,
)

NAME = "gate_threshold"
LEVER = "plans.flow_optimised.policy.gate_threshold"  # the resource plan's threshold is the same at every point
SHIPPED = {RESOURCE: 0.2, FLOW: 0.45}  # the default scenario's thresholds
PANELS = (
    ("win_rate", "win rate won/(won+lost)", 100),
    ("won_per_week", "won deals per week", 1),
    ("won_revenue_per_week", "won revenue per week (k)", 1 / 1000),
    ("qualified", "qualified leads (passed the gate, 365 days)", 1),
    ("revenue_per_cost", "won revenue / unit cost (per year)", 1),
    ("cycle_p50", "median cycle time, won deals (days)", 1),
)
PAIRED = (("won_revenue_per_week", "{:+,.0f}"), ("win_rate", "{:+.1%}"), ("won_per_week", "{:+.2f}"),
          ("revenue_per_cost", "{:+.2f}"))  # fmt: skip


def gate_threshold(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """Six outcome panels against the threshold, the table of means, and each plan's best threshold against its
    shipped one and the flow plan at every threshold against the resource plan as shipped (all paired)."""
    require(sweep, NAME, [LEVER, *(m for m, _, _ in PANELS), "cooled_per_week"], (RESOURCE, FLOW))
    results = sweep.results
    for plan, threshold in SHIPPED.items():
        if not np.isclose(results[LEVER], threshold).any():
            raise ResultsError(f"{sweep.directory}: the {NAME} figure needs the shipped threshold {threshold} of "
                               f"{plan} among the levels of {LEVER}")  # fmt: skip
    w = wide(sweep.summary, [LEVER, "plan"])
    fig = _figure(w, reps(results))
    chunks = ["\n## gate_threshold: means ± 90% CI half-width\n", markdown(_means_table(w))]
    chunks += _best_against_shipped(w, results)
    chunks += _against_own_shipped(results)
    chunks += _flow_against_resource(results)
    return ExperimentFigure(NAME, fig, chunks)


def _figure(w: pd.DataFrame, n: int) -> Figure:
    """Six panels, one outcome each, both plans, the shipped thresholds dotted."""
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (metric, label, scale) in zip(axes.ravel(), PANELS, strict=True):
        for plan in (RESOURCE, FLOW):
            g = w[w.plan == plan]
            ax.errorbar(g[LEVER], g[metric] * scale, yerr=g[f"{metric}_ci"] * scale, fmt="-o", ms=4, capsize=2,
                        color=COLOURS[plan], label=plan)  # fmt: skip
        for plan, threshold in SHIPPED.items():
            ax.axvline(threshold, color=COLOURS[plan], lw=0.8, ls=":")
        ax.set(xlabel="gate threshold", title=label)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Gate threshold sweep, default scenario ({n} replications, 90% CIs; dotted: shipped thresholds)")
    return fig


def _means_table(w: pd.DataFrame) -> pd.DataFrame:
    """Per plan and threshold: means ± half-widths of the outcomes, deal work, prospecting and queues per role."""
    out = w.sort_values(["plan", LEVER], ascending=[False, True])

    def pm(metric: str, fmt: str) -> list[str]:
        return [f"{fmt.format(m)} ± {fmt.format(h)}" for m, h in zip(out[metric], out[f"{metric}_ci"], strict=True)]

    roles = ("sdr", "ae", "se")
    return pd.DataFrame({
        "threshold": out[LEVER].map("{:.2f}".format),
        "plan": out["plan"],
        "qualified": out["qualified"].map("{:.0f}".format),
        "win rate": pm("win_rate", "{:.1%}"),
        "won/wk": pm("won_per_week", "{:.2f}"),
        "revenue/wk": pm("won_revenue_per_week", "{:,.0f}"),
        "revenue/cost": out["revenue_per_cost"].map("{:.2f}".format),
        "cycle p50 (d)": out["cycle_p50"].map("{:.1f}".format),
        "cooled/wk": out["cooled_per_week"].map("{:.2f}".format),
        "deal util SDR / AE / SE": [" / ".join("-" if pd.isna(u) else f"{u:.0%}" for u in us) for us in
                                    zip(*(deal_utilisation(out, r) for r in roles), strict=True)],
        "prospecting AE / SDR": [f"{a:.0%} / {b:.0%}" if pd.notna(b) else f"{a:.0%} / -" for a, b in
                                 zip(column(out, "prospecting_share_ae").fillna(0),
                                     column(out, "prospecting_share_sdr"), strict=True)],
        "queue SDR / AE / SE (d)": [" / ".join("-" if pd.isna(q) else f"{q:.1f}" for q in qs) for qs in
                                    zip(*(column(out, f"queue_days_{r}") for r in roles), strict=True)],
    })  # fmt: skip


def _at(rows: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The rows at one threshold, indexed by replication."""
    return rows[np.isclose(rows[LEVER], threshold)].set_index("replication")


def _best_against_shipped(w: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """Per plan: its revenue-best threshold minus its shipped one, paired, and the peak."""
    chunks = []
    for plan in (RESOURCE, FLOW):
        g = w[w.plan == plan].reset_index(drop=True)
        best = g["won_revenue_per_week"].idxmax()
        r = results[results.plan == plan]
        top, shipped = _at(r, g.loc[best, LEVER]), _at(r, SHIPPED[plan])
        for metric, fmt in PAIRED:
            mean, lo, hi = interval(top[metric] - shipped[metric])
            chunks.append(f"{plan}: {metric} at {g.loc[best, LEVER]:.2f} minus at shipped {SHIPPED[plan]}: "
                          f"{fmt.format(mean)} ({fmt.format(lo)} .. {fmt.format(hi)}), paired, 90% CI")  # fmt: skip
        peak, half = g.loc[best, "won_revenue_per_week"], g.loc[best, "won_revenue_per_week_ci"]
        chunks.append(f"{plan}: revenue peaks at threshold {g.loc[best, LEVER]:.2f} ({peak:,.0f} ± {half:,.0f}/wk)")
    return chunks


def _against_own_shipped(results: pd.DataFrame) -> list[str]:
    """Each plan at every threshold minus at its own shipped one, paired."""
    chunks = []
    for plan in (RESOURCE, FLOW):
        r = results[results.plan == plan]
        ship = _at(r, SHIPPED[plan])["won_revenue_per_week"]
        parts = []
        for level, g in r.groupby(LEVER):
            mean, lo, hi = interval(g.set_index("replication")["won_revenue_per_week"] - ship)
            parts.append(f"{level:.2f}: {mean:+,.0f} ({lo:+,.0f} .. {hi:+,.0f})")
        chunks.append(f"\n{plan} revenue/wk minus at its shipped {SHIPPED[plan]}, paired, 90% CI:")
        chunks.append("  " + "\n  ".join(parts))
    return chunks


def _flow_against_resource(results: pd.DataFrame) -> list[str]:
    """The flow plan at each threshold minus the resource plan as shipped, on the same replications (leads)."""
    res = _at(results[results.plan == RESOURCE], SHIPPED[RESOURCE])
    chunks = [f"\nflow_optimised at each threshold minus resource_optimised as shipped ({SHIPPED[RESOURCE]}), "
              "paired, 90% CI:"]  # fmt: skip
    for level, g in results[results.plan == FLOW].groupby(LEVER):
        g = g.set_index("replication")
        parts = []
        for metric, fmt in (("won_revenue_per_week", "{:+,.0f}"), ("revenue_per_cost", "{:+.2f}")):
            mean, lo, hi = interval(g[metric] - res[metric])
            parts.append(f"{metric} {fmt.format(mean)} ({fmt.format(lo)} .. {fmt.format(hi)})")
        chunks.append(f"  {level:.2f}: " + "; ".join(parts))
    return chunks
