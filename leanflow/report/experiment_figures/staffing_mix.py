"""The flow plan's SDR / AE / SE mix at 14 heads (experiments/staffing_mix.yaml): revenue, cycle and load per mix."""

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

NAME = "staffing_mix"
HEADS = 14  # every mix of the sweep spends the same headcount
SHIPPED_MIX = "5/6/3"  # the default scenario's flow plan, SDR/AE/SE
SDR, AE, SE = (f"plans.flow_optimised.roles.{r}.headcount" for r in ("sdr", "ae", "se"))
RESOURCE_GATE = "plans.resource_optimised.policy.gate_threshold"
SE_COLOUR = {2: "#56B4E9", 3: "#009E73", 4: "#999933"}
ROLE_COLOUR = {"sdr": "#CC79A7", "ae": "#E69F00", "se": "#D55E00"}
OUTPUTS = ("won_revenue_per_week", "revenue_per_cost", "won_per_week", "win_rate", "cycle_p50", "cycle_p85")


def shipped_resource_revenue(gate: SweepInput | None) -> float | None:
    """The resource plan's won revenue per week as shipped (gate 0.2) in the gate_threshold sweep: the same
    scenario, seed and replications as the staffing-mix sweep, so the same leads (None when it has no such row)."""
    if gate is None or RESOURCE_GATE not in gate.summary:
        return None
    s = gate.summary
    row = s[(s.plan == RESOURCE) & (s.metric == "won_revenue_per_week") & np.isclose(s[RESOURCE_GATE], 0.2)]
    return float(row["mean"].iloc[0]) if len(row) else None


def staffing_mix(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """Revenue, p85 cycle and deal work per role for each mix, the table of means, and each mix paired against
    the shipped one; ``second``, the gate_threshold sweep, adds the resource plan as shipped for reference."""
    require(sweep, NAME, [SDR, AE, SE, *OUTPUTS], (FLOW,))
    summary, results = sweep.summary, sweep.results
    w = wide(summary[summary.plan == FLOW], [SDR, AE, SE, "plan"])
    total = w[SDR] + w[AE] + w[SE]
    if not (total == HEADS).all():
        raise ResultsError(f"staffing_mix: a mix does not have {HEADS} heads: {total.tolist()}")
    w["mix"] = [f"{a}/{b}/{c}" for a, b, c in zip(w[SDR], w[AE], w[SE], strict=True)]
    w = w.sort_values([SE, SDR], ascending=[True, False]).reset_index(drop=True)
    for role in ROLE_COLOUR:
        w[f"deal_{role}"] = deal_utilisation(w, role)
    reference = shipped_resource_revenue(second)
    fig = _figure(w, reference, reps(results))
    chunks = ["\n## staffing_mix: means (± 90% CI half-width)\n", markdown(_means_table(w))]
    results = results[results.plan == FLOW]
    results = results.assign(mix=[f"{a}/{b}/{c}" for a, b, c in zip(results[SDR], results[AE], results[SE],
                                                                     strict=True)])  # fmt: skip
    if (results.mix == SHIPPED_MIX).any():
        chunks.append(f"\npaired against the shipped {SHIPPED_MIX} (same leads in every replication), 90% CI:")
        base = results[results.mix == SHIPPED_MIX].set_index("replication")
        for mix in w.sort_values("won_revenue_per_week", ascending=False)["mix"]:
            r = results[results.mix == mix].set_index("replication")
            parts = []
            for metric, fmt in (("won_revenue_per_week", "{:+,.0f}"), ("revenue_per_cost", "{:+.2f}")):
                mean, lo, hi = interval(r[metric] - base[metric])
                parts.append(f"{metric} {fmt.format(mean)} ({fmt.format(lo)} .. {fmt.format(hi)})")
            chunks.append(f"  {mix}: " + "; ".join(parts))
    if reference is not None:
        chunks.append(f"resource_optimised as shipped (gate_threshold sweep at 0.2): {reference:,.0f} / week")
    elif second is not None:
        chunks.append(f"({second.directory} has no resource_optimised row at gate 0.2: no reference line)")
    return ExperimentFigure(NAME, fig, chunks)


def _figure(w: pd.DataFrame, reference: float | None, n: int) -> Figure:
    """Three bar panels per mix: revenue (the shipped mix outlined), p85 cycle, and deal work per role."""
    x = np.arange(len(w))
    fig = Figure(figsize=(13, 9), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    ax = axes[0]
    colours = [SE_COLOUR.get(int(s), "#999999") for s in w[SE]]
    ax.bar(x, w["won_revenue_per_week"] / 1000, yerr=w["won_revenue_per_week_ci"] / 1000, capsize=3, color=colours)
    shipped = w.index[w["mix"] == SHIPPED_MIX]
    if len(shipped):
        ax.bar(shipped, w.loc[shipped, "won_revenue_per_week"] / 1000, fill=False, edgecolor="black", lw=1.5)
    top = max(w["won_revenue_per_week"] + w["won_revenue_per_week_ci"].fillna(0)) / 1000
    if reference is not None:
        ax.axhline(reference / 1000, color=COLOURS[RESOURCE], ls="--", lw=1.2)
        ax.text(x[-1] + 0.4, reference / 1000, f"resource_optimised as shipped, same leads: {reference / 1000:.1f}k",
                ha="right", va="bottom", fontsize=8, color=COLOURS[RESOURCE])  # fmt: skip
        top = max(top, reference / 1000)
    ax.set_ylim(0, top * 1.12)
    ax.set(ylabel="won revenue / week (k)",
           title=f"Won revenue per mix (blue: 2 SEs, green: 3, olive: 4; black outline: shipped {SHIPPED_MIX})")
    ax.grid(alpha=0.3, axis="y")
    ax = axes[1]
    ax.bar(x, w["cycle_p85"], yerr=w["cycle_p85_ci"], capsize=3, color=colours)
    ax.set(ylabel="cycle time p85 (days)", ylim=(min(w["cycle_p85"]) * 0.9, max(w["cycle_p85"]) * 1.05))
    ax.grid(alpha=0.3, axis="y")
    ax = axes[2]
    width = 0.27
    for k, (role, colour) in enumerate(ROLE_COLOUR.items()):
        ax.bar(x + (k - 1) * width, w[f"deal_{role}"] * 100, width, capsize=2, color=colour, label=role.upper())
    ax.axhline(85, color="black", lw=0.8, ls=":")
    ax.set(ylabel="utilisation on deal work (%)", xlabel=f"SDR / AE / SE headcount ({HEADS} in all)", ylim=(0, 105))
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    ax.grid(alpha=0.3, axis="y")
    ax.set_xticks(x, w["mix"])
    fig.suptitle(f"Staffing mix of the flow-optimised plan, default scenario ({n} replications, 90% CIs; "
                 "dotted: 85% busy)")  # fmt: skip
    return fig


def _means_table(w: pd.DataFrame) -> pd.DataFrame:
    """Per mix: revenue ± half-width, revenue per cost, throughput, win rate, cycle, deal work and queues."""
    q = {r: column(w, f"queue_days_{r}") for r in ROLE_COLOUR}
    return pd.DataFrame({
        "SDR/AE/SE": w["mix"],
        "revenue/wk": [f"{m:,.0f} ± {h:,.0f}" for m, h in
                       zip(w["won_revenue_per_week"], w["won_revenue_per_week_ci"], strict=True)],
        "revenue/cost": w["revenue_per_cost"].map("{:.2f}".format),
        "won/wk": w["won_per_week"].map("{:.2f}".format),
        "win rate": w["win_rate"].map("{:.0%}".format),
        "cycle p50 / p85 (d)": [f"{a:.0f} / {b:.0f}" for a, b in zip(w["cycle_p50"], w["cycle_p85"], strict=True)],
        "deal util SDR / AE / SE": [f"{a:.0%} / {b:.0%} / {c:.0%}" for a, b, c in
                                    zip(w["deal_sdr"], w["deal_ae"], w["deal_se"], strict=True)],
        "queue SDR / AE / SE (d)": [f"{a:.1f} / {b:.1f} / {c:.1f}" for a, b, c in
                                    zip(q["sdr"], q["ae"], q["se"], strict=True)],
    })  # fmt: skip
