"""The queueing knee (experiments/utilisation.yaml): cycle time against each plan's bottleneck utilisation."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from leanflow.errors import ResultsError
from leanflow.report.experiment_figures.common import (
    COLOURS,
    FLOW,
    PER_WEEK,
    RESOURCE,
    ExperimentFigure,
    SweepInput,
    bottleneck_role,
    markdown,
    paired,
    reps,
    require,
    style,
    wide,
)

NAME = "utilisation"
PLANS = (RESOURCE, FLOW)
OUTPUTS = ("cycle_p50", "cycle_p85", "won_per_week", "won_revenue_per_week", "win_rate", "stale", "utilisation")


def utilisation(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """Cycle time and queue wait against the bottleneck's utilisation, and paired differences per lead rate.

    Each plan's bottleneck is its busiest role on average over the sweep (nobody prospects in this sweep, so
    ``utilisation_<role>`` is deal work).
    """
    require(sweep, NAME, [PER_WEEK, *OUTPUTS], PLANS)
    summary, results = sweep.summary, sweep.results
    w = wide(summary, [PER_WEEK, "plan"])
    neck = {plan: bottleneck_role(w[w.plan == plan]) for plan in PLANS}
    if None in neck.values():
        raise ResultsError(f"{sweep.directory}: the {NAME} figure needs utilisation_<role> and queue_days_<role> "
                           "outputs of each plan's roles, which this sweep does not have")  # fmt: skip
    chunks = ["utilisation: bottleneck roles " + ", ".join(f"{plan} {role}" for plan, role in neck.items())]
    for col in ("utilisation", "queue_days"):
        out_col = "bottleneck" if col == "utilisation" else "bottleneck_queue"
        w[out_col] = [w.loc[i, f"{col}_{neck[p]}"] for i, p in w["plan"].items()]
        w[f"{out_col}_ci"] = [w.loc[i, f"{col}_{neck[p]}_ci"] for i, p in w["plan"].items()]
    diff = paired(results, PER_WEEK, "cycle_p50")
    diff85 = paired(results, PER_WEEK, "cycle_p85")
    rev = paired(results, PER_WEEK, "won_revenue_per_week")
    fig = _figure(w, neck, diff, diff85, reps(results))
    chunks += ["\n## utilisation: means over replications\n", markdown(_means_table(w))]
    chunks += ["\n## utilisation: paired differences (90% CI)\n", markdown(_differences_table(diff, diff85, rev))]
    return ExperimentFigure(NAME, fig, chunks)


def _figure(w: pd.DataFrame, neck: dict, diff: pd.DataFrame, diff85: pd.DataFrame, n: int) -> Figure:
    """Four panels: cycle and bottleneck wait against utilisation, the cycle difference and revenue per lead rate."""
    fig = Figure(figsize=(12, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    for plan in PLANS:
        g = w[w.plan == plan]
        for metric, fmt in (("cycle_p50", "-o"), ("cycle_p85", "--s")):
            ax.errorbar(g["bottleneck"], g[metric], yerr=g[f"{metric}_ci"], fmt=fmt, ms=4, capsize=2,
                        color=COLOURS[plan], label=f"{plan}: {metric.replace('cycle_', '')}")  # fmt: skip
    style(ax, f"bottleneck utilisation (resource: {neck[RESOURCE].upper()}s; flow: {neck[FLOW].upper()}s)",
          "cycle time of won deals (days)", "Cycle time against bottleneck utilisation")  # fmt: skip
    ax = axes[0, 1]
    for plan in PLANS:
        g = w[w.plan == plan]
        ax.errorbar(g["bottleneck"], g["bottleneck_queue"], yerr=g["bottleneck_queue_ci"], fmt="-o", ms=4,
                    capsize=2, color=COLOURS[plan], label=plan)  # fmt: skip
    style(ax, "bottleneck utilisation", "mean queue wait at the bottleneck (days)",
          "The queueing knee: wait for the bottleneck role")  # fmt: skip
    ax = axes[1, 0]
    for d, fmt, label in ((diff, "-o", "p50"), (diff85, "--s", "p85")):
        ax.errorbar(d[PER_WEEK], d["diff"], yerr=[d["diff"] - d["lo"], d["hi"] - d["diff"]], fmt=fmt, ms=4,
                    capsize=2, color="#444444", label=f"cycle {label}")  # fmt: skip
    ax.axhline(0, color="black", lw=0.8)
    style(ax, "inbound leads per week", "flow - resource (days, 90% CI, paired)",
          "Cycle-time difference at the same lead rate")  # fmt: skip
    ax = axes[1, 1]
    for plan in PLANS:
        g = w[w.plan == plan]
        ax.errorbar(g[PER_WEEK], g["won_revenue_per_week"] / 1000, yerr=g["won_revenue_per_week_ci"] / 1000,
                    fmt="-o", ms=4, capsize=2, color=COLOURS[plan], label=plan)  # fmt: skip
    style(ax, "inbound leads per week", "won revenue per week (k)", "Won revenue")
    fig.suptitle(f"Utilisation sweep: default scenario, inbound leads only, no prospecting "
                 f"({n} replications, 90% CIs)")  # fmt: skip
    return fig


def _means_table(w: pd.DataFrame) -> pd.DataFrame:
    """Per lead rate and plan: utilisation, bottleneck wait, cycle, throughput, revenue and win rate."""
    table = w.sort_values([PER_WEEK, "plan"])
    return pd.DataFrame({
        "leads/wk": table[PER_WEEK].map("{:g}".format),
        "plan": table["plan"],
        "bottleneck util": table["bottleneck"].map("{:.0%}".format),
        "team util": table["utilisation"].map("{:.0%}".format),
        "bottleneck queue (d)": table["bottleneck_queue"].map("{:.1f}".format),
        "cycle p50 (d)": table["cycle_p50"].map("{:.1f}".format),
        "cycle p85 (d)": table["cycle_p85"].map("{:.1f}".format),
        "won/wk": table["won_per_week"].map("{:.2f}".format),
        "revenue/wk": table["won_revenue_per_week"].map("{:,.0f}".format),
        "win rate": table["win_rate"].map("{:.0%}".format),
    })  # fmt: skip


def _differences_table(diff: pd.DataFrame, diff85: pd.DataFrame, rev: pd.DataFrame) -> pd.DataFrame:
    """Per lead rate: flow - resource in cycle p50, p85 and revenue, paired, with 90% CIs."""
    d = diff.merge(diff85, on=PER_WEEK, suffixes=("", "85")).merge(rev, on=PER_WEEK, suffixes=("", "_rev"))

    def cells(suffix: str, fmt: str) -> list[str]:
        return [f"{fmt.format(m)} ({fmt.format(lo)} .. {fmt.format(hi)})" for m, lo, hi in
                zip(d[f"diff{suffix}"], d[f"lo{suffix}"], d[f"hi{suffix}"], strict=True)]  # fmt: skip

    return pd.DataFrame({
        "leads/wk": d[PER_WEEK].map("{:g}".format),
        "cycle p50 flow - resource (d)": cells("", "{:+.1f}"),
        "cycle p85 flow - resource (d)": cells("85", "{:+.1f}"),
        "revenue/wk flow - resource": cells("_rev", "{:+,.0f}"),
    })  # fmt: skip
