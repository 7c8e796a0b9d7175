"""Plots and tables of the shipped experiments, from their sweep results directories.

    python experiments/make_plots.py [--results results] [NAME ...]

For each experiment whose results directory exists (default ``results/<name>``,
written by ``leanflow sweep experiments/<name>.yaml -o results/<name>``), this
writes ``experiments/<name>.png`` and prints the tables quoted in
``experiments/README.md``. Only the sweeps' own files are read: ``summary.csv``
(mean and 90% CI half-width per point x plan x metric) and ``results.parquet``
(one row per point x plan x replication).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

HERE = Path(__file__).resolve().parent
RESOURCE, FLOW = "resource_optimised", "flow_optimised"
# Okabe & Ito, as leanflow's own charts (the first plan of a scenario gets the first colour)
COLOURS = {RESOURCE: "#0072B2", FLOW: "#E69F00"}
C_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7"]
FLOW_WIN, RES_WIN = COLOURS[FLOW], COLOURS[RESOURCE]
DIVERGING = matplotlib.colors.LinearSegmentedColormap.from_list("res_flow", [RES_WIN, "#FFFFFF", FLOW_WIN])
PER_WEEK = "market.sources.inbound.per_week"
SHIPPED_MIX = "5/6/3"  # the default scenario's flow plan, SDR/AE/SE


# ---------------------------------------------------------------- helpers


def read(root: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(summary, results) of one sweep, or None when it has not been run."""
    d = root / name
    if not (d / "summary.csv").is_file():
        print(f"{name}: no results in {d} (run: leanflow sweep experiments/{name}.yaml -o {d})", file=sys.stderr)
        return None
    return pd.read_csv(d / "summary.csv"), pd.read_parquet(d / "results.parquet")


def wide(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per point x plan: each metric's mean, and its 90% CI half-width as ``<metric>_ci``."""
    mean = summary.pivot_table(index=keys, columns="metric", values="mean", sort=False)
    half = summary.pivot_table(index=keys, columns="metric", values="ci_half_width", sort=False)
    return mean.join(half.add_suffix("_ci")).reset_index()


def t_ci(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """Mean and t-interval half-width of the mean of ``x``."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()), float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def paired(results: pd.DataFrame, by: str, metric: str, a: str = FLOW, b: str = RESOURCE) -> pd.DataFrame:
    """Per level of ``by``: mean paired difference a - b of ``metric`` (same replication, common random
    numbers) with its 90% t interval."""
    rows = []
    for level, g in results.groupby(by, sort=True):
        x = g[g.plan == a].set_index("replication")[metric]
        y = g[g.plan == b].set_index("replication")[metric]
        mean, half = t_ci((x - y).dropna().to_numpy(), 0.90)
        rows.append({by: level, "diff": mean, "lo": mean - half, "hi": mean + half})
    return pd.DataFrame(rows)


def reps(results: pd.DataFrame) -> int:
    """Replications per point and plan."""
    return int(results.groupby(["point", "plan"]).size().iloc[0])


def bottleneck_role(w: pd.DataFrame) -> str:
    """The role whose mean ``utilisation_<role>`` over the rows of one plan is highest (roles the plan has)."""
    cols = [c for c in w.columns if c.startswith("utilisation_") and not c.endswith("_ci")
            and c not in ("utilisation_deal",) and w[c].notna().any()]  # fmt: skip
    return max(cols, key=lambda c: w[c].mean()).removeprefix("utilisation_")


def deal_utilisation(w: pd.DataFrame, role: str) -> pd.Series:
    """A role's utilisation on deal work: ``utilisation_deal_<role>`` if the sweep kept it, else
    ``utilisation_<role>`` less its prospecting share, if any (the same number: when these sweeps were run, the
    sweep loader did not yet accept ``utilisation_deal_<role>`` as an output)."""
    if f"utilisation_deal_{role}" in w:
        return w[f"utilisation_deal_{role}"]
    share = w.get(f"prospecting_share_{role}")
    return w[f"utilisation_{role}"] - (share.fillna(0) if share is not None else 0)


def markdown(df: pd.DataFrame) -> str:
    """A pandas frame as a GitHub markdown table (strings as given)."""
    head = "| " + " | ".join(df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def save(fig: Figure, name: str) -> None:
    path = HERE / f"{name}.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path.relative_to(HERE.parent)}")


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu < c."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wq(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c station: C / (c mu - lambda)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


# ---------------------------------------------------------------- 1. utilisation


def utilisation(root: Path) -> None:
    got = read(root, "utilisation")
    if got is None:
        return
    summary, results = got
    w = wide(summary, [PER_WEEK, "plan"])
    # the bottleneck: each plan's busiest role on average over the sweep (nobody prospects here, so
    # utilisation_<role> is deal work); the resource plan has one role
    neck = {plan: bottleneck_role(w[w.plan == plan]) for plan in (RESOURCE, FLOW)}
    print(f"utilisation: bottleneck roles {neck}")
    for col in ("utilisation", "queue_days"):
        out_col = "bottleneck" if col == "utilisation" else "bottleneck_queue"
        w[out_col] = [w.loc[i, f"{col}_{neck[p]}"] for i, p in w["plan"].items()]
        w[f"{out_col}_ci"] = [w.loc[i, f"{col}_{neck[p]}_ci"] for i, p in w["plan"].items()]
    diff = paired(results, PER_WEEK, "cycle_p50")
    diff85 = paired(results, PER_WEEK, "cycle_p85")
    rev = paired(results, PER_WEEK, "won_revenue_per_week")

    fig = Figure(figsize=(12, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    for plan in (RESOURCE, FLOW):
        g = w[w.plan == plan]
        for metric, style in (("cycle_p50", "-o"), ("cycle_p85", "--s")):
            ax.errorbar(g["bottleneck"], g[metric], yerr=g[f"{metric}_ci"], fmt=style, ms=4, capsize=2,
                        color=COLOURS[plan], label=f"{plan}: {metric.replace('cycle_', '')}")  # fmt: skip
    ax.set(xlabel=f"bottleneck utilisation (resource: {neck[RESOURCE].upper()}s; flow: {neck[FLOW].upper()}s)",
           ylabel="cycle time of won deals (days)",
           title="Cycle time against bottleneck utilisation")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[0, 1]
    for plan in (RESOURCE, FLOW):
        g = w[w.plan == plan]
        ax.errorbar(g["bottleneck"], g["bottleneck_queue"], yerr=g["bottleneck_queue_ci"], fmt="-o", ms=4,
                    capsize=2, color=COLOURS[plan], label=plan)  # fmt: skip
    ax.set(xlabel="bottleneck utilisation", ylabel="mean queue wait at the bottleneck (days)",
           title="The queueing knee: wait for the bottleneck role")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[1, 0]
    for d, style, label in ((diff, "-o", "p50"), (diff85, "--s", "p85")):
        ax.errorbar(d[PER_WEEK], d["diff"], yerr=[d["diff"] - d["lo"], d["hi"] - d["diff"]], fmt=style, ms=4,
                    capsize=2, color="#444444", label=f"cycle {label}")  # fmt: skip
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xlabel="inbound leads per week", ylabel="flow - resource (days, 90% CI, paired)",
           title="Cycle-time difference at the same lead rate")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[1, 1]
    for plan in (RESOURCE, FLOW):
        g = w[w.plan == plan]
        ax.errorbar(g[PER_WEEK], g["won_revenue_per_week"] / 1000, yerr=g["won_revenue_per_week_ci"] / 1000,
                    fmt="-o", ms=4, capsize=2, color=COLOURS[plan], label=plan)  # fmt: skip
    ax.set(xlabel="inbound leads per week", ylabel="won revenue per week (k)", title="Won revenue")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(f"Utilisation sweep: default scenario, inbound leads only, no prospecting "
                 f"({reps(results)} replications, 90% CIs)")
    save(fig, "utilisation")

    table = w[[PER_WEEK, "plan", "bottleneck", "utilisation", "bottleneck_queue", "cycle_p50", "cycle_p85",
               "won_per_week", "won_revenue_per_week", "win_rate", "stale"]].copy()  # fmt: skip
    table = table.sort_values([PER_WEEK, "plan"])
    out = pd.DataFrame({
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
    print("\n## utilisation: means over replications\n")
    print(markdown(out))
    d = diff.merge(diff85, on=PER_WEEK, suffixes=("", "85")).merge(rev, on=PER_WEEK, suffixes=("", "_rev"))
    out = pd.DataFrame({
        "leads/wk": d[PER_WEEK].map("{:g}".format),
        "cycle p50 flow - resource (d)": [f"{m:+.1f} ({lo:+.1f} .. {hi:+.1f})" for m, lo, hi in
                                          zip(d["diff"], d["lo"], d["hi"], strict=True)],
        "cycle p85 flow - resource (d)": [f"{m:+.1f} ({lo:+.1f} .. {hi:+.1f})" for m, lo, hi in
                                          zip(d["diff85"], d["lo85"], d["hi85"], strict=True)],
        "revenue/wk flow - resource": [f"{m:+,.0f} ({lo:+,.0f} .. {hi:+,.0f})" for m, lo, hi in
                                       zip(d["diff_rev"], d["lo_rev"], d["hi_rev"], strict=True)],
    })  # fmt: skip
    print("\n## utilisation: paired differences (90% CI)\n")
    print(markdown(out))


# ---------------------------------------------------------------- 2. gate threshold


def gate_threshold(root: Path) -> None:
    got = read(root, "gate_threshold")
    if got is None:
        return
    summary, _ = got
    lever = "plans.flow_optimised.policy.gate_threshold"  # the resource plan's threshold is the same at every point
    w = wide(summary, [lever, "plan"])
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(2, 3)
    panels = [
        ("win_rate", "win rate won/(won+lost)", 100, "%"),
        ("won_per_week", "won deals per week", 1, ""),
        ("won_revenue_per_week", "won revenue per week (k)", 1 / 1000, ""),
        ("qualified", "qualified leads (passed the gate, 365 days)", 1, ""),
        ("revenue_per_cost", "won revenue / unit cost (per year)", 1, ""),
        ("cycle_p50", "median cycle time, won deals (days)", 1, ""),
    ]
    for ax, (metric, label, scale, _) in zip(axes.ravel(), panels, strict=True):
        for plan in (RESOURCE, FLOW):
            g = w[w.plan == plan]
            ax.errorbar(g[lever], g[metric] * scale, yerr=g[f"{metric}_ci"] * scale, fmt="-o", ms=4, capsize=2,
                        color=COLOURS[plan], label=plan)  # fmt: skip
        ax.axvline(0.2, color=COLOURS[RESOURCE], lw=0.8, ls=":")
        ax.axvline(0.45, color=COLOURS[FLOW], lw=0.8, ls=":")
        ax.set(xlabel="gate threshold", title=label)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Gate threshold sweep, default scenario ({reps(got[1])} replications, 90% CIs; "
                 "dotted: shipped thresholds)")
    save(fig, "gate_threshold")

    out = w.sort_values(["plan", lever], ascending=[False, True])
    out = pd.DataFrame({
        "threshold": out[lever].map("{:.2f}".format),
        "plan": out["plan"],
        "qualified": out["qualified"].map("{:.0f}".format),
        "win rate": [f"{m:.1%} ± {h:.1%}" for m, h in zip(out["win_rate"], out["win_rate_ci"], strict=True)],
        "won/wk": [f"{m:.2f} ± {h:.2f}" for m, h in zip(out["won_per_week"], out["won_per_week_ci"], strict=True)],
        "revenue/wk": [f"{m:,.0f} ± {h:,.0f}" for m, h in
                       zip(out["won_revenue_per_week"], out["won_revenue_per_week_ci"], strict=True)],
        "revenue/cost": out["revenue_per_cost"].map("{:.2f}".format),
        "cycle p50 (d)": out["cycle_p50"].map("{:.1f}".format),
        "cooled/wk": out["cooled_per_week"].map("{:.2f}".format),
        "deal util SDR / AE / SE": [
            " / ".join("-" if pd.isna(u) else f"{u:.0%}" for u in us)
            for us in zip(*(deal_utilisation(out, r) for r in ("sdr", "ae", "se")), strict=True)],
        "prospecting AE / SDR": [f"{a:.0%} / {b:.0%}" if pd.notna(b) else f"{a:.0%} / -" for a, b in
                                 zip(out["prospecting_share_ae"].fillna(0), out["prospecting_share_sdr"], strict=True)],
        "queue SDR / AE / SE (d)": [" / ".join("-" if pd.isna(q) else f"{q:.1f}" for q in qs) for qs in
                                    zip(*(out[f"queue_days_{r}"] for r in ("sdr", "ae", "se")), strict=True)],
    })  # fmt: skip
    print("\n## gate_threshold: means ± 90% CI half-width\n")
    print(markdown(out))
    _, results = got
    shipped_threshold = {RESOURCE: 0.2, FLOW: 0.45}
    for plan in (RESOURCE, FLOW):
        g = w[w.plan == plan].reset_index(drop=True)
        best = g["won_revenue_per_week"].idxmax()
        r = results[results.plan == plan]
        top = r[np.isclose(r[lever], g.loc[best, lever])].set_index("replication")
        shipped = r[np.isclose(r[lever], shipped_threshold[plan])].set_index("replication")
        for metric, fmt in (("won_revenue_per_week", "{:+,.0f}"), ("win_rate", "{:+.1%}"), ("won_per_week", "{:+.2f}"),
                            ("revenue_per_cost", "{:+.2f}")):
            mean, half = t_ci((top[metric] - shipped[metric]).to_numpy(), 0.90)
            lo, hi = fmt.format(mean - half), fmt.format(mean + half)
            print(f"{plan}: {metric} at {g.loc[best, lever]:.2f} minus at shipped {shipped_threshold[plan]}: "
                  f"{fmt.format(mean)} ({lo} .. {hi}), paired, 90% CI")  # fmt: skip
        peak, half = g.loc[best, "won_revenue_per_week"], g.loc[best, "won_revenue_per_week_ci"]
        print(f"{plan}: revenue peaks at threshold {g.loc[best, lever]:.2f} ({peak:,.0f} ± {half:,.0f}/wk)")
    # each plan at every threshold against its own shipped one, paired
    for plan in (RESOURCE, FLOW):
        r = results[results.plan == plan]
        ship = r[np.isclose(r[lever], shipped_threshold[plan])].set_index("replication")["won_revenue_per_week"]
        parts = []
        for level, g in r.groupby(lever):
            mean, half = t_ci((g.set_index("replication")["won_revenue_per_week"] - ship).to_numpy(), 0.90)
            parts.append(f"{level:.2f}: {mean:+,.0f} ({mean - half:+,.0f} .. {mean + half:+,.0f})")
        print(f"\n{plan} revenue/wk minus at its shipped {shipped_threshold[plan]}, paired, 90% CI:")
        print("  " + "\n  ".join(parts))
    # flow at each threshold against resource as shipped (0.2), same replications (same leads)
    res = results[(results.plan == RESOURCE) & np.isclose(results[lever], 0.2)].set_index("replication")
    print("\nflow_optimised at each threshold minus resource_optimised as shipped (0.2), paired, 90% CI:")
    for level, g in results[results.plan == FLOW].groupby(lever):
        g = g.set_index("replication")
        parts = []
        for metric, fmt in (("won_revenue_per_week", "{:+,.0f}"), ("revenue_per_cost", "{:+.2f}")):
            mean, half = t_ci((g[metric] - res[metric]).to_numpy(), 0.90)
            parts.append(f"{metric} {fmt.format(mean)} ({fmt.format(mean - half)} .. {fmt.format(mean + half)})")
        print(f"  {level:.2f}: " + "; ".join(parts))


# ---------------------------------------------------------------- 3. staffing mix


def shipped_resource_revenue(root: Path) -> float | None:
    """The resource plan's won revenue per week as shipped (gate 0.2), from the gate_threshold sweep: the same
    scenario, seed and replications as the staffing-mix sweep, so the same leads."""
    path = root / "gate_threshold" / "summary.csv"
    if not path.is_file():
        return None
    s = pd.read_csv(path)
    row = s[(s.plan == RESOURCE) & (s.metric == "won_revenue_per_week")
            & np.isclose(s["plans.resource_optimised.policy.gate_threshold"], 0.2)]  # fmt: skip
    return float(row["mean"].iloc[0]) if len(row) else None


def staffing_mix(root: Path) -> None:
    got = read(root, "staffing_mix")
    if got is None:
        return
    summary, results = got
    sdr, ae, se = (f"plans.flow_optimised.roles.{r}.headcount" for r in ("sdr", "ae", "se"))
    w = wide(summary, [sdr, ae, se, "plan"])
    total = w[sdr] + w[ae] + w[se]
    if not (total == 14).all():
        raise SystemExit(f"staffing_mix: a mix does not have 14 heads: {total.tolist()}")
    w["mix"] = [f"{a}/{b}/{c}" for a, b, c in zip(w[sdr], w[ae], w[se], strict=True)]
    w = w.sort_values([se, sdr], ascending=[True, False]).reset_index(drop=True)
    for role in ("sdr", "ae", "se"):
        w[f"deal_{role}"] = deal_utilisation(w, role)
    x = np.arange(len(w))
    n = reps(results)

    fig = Figure(figsize=(13, 9), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    ax = axes[0]
    se_colour = {2: "#56B4E9", 3: "#009E73", 4: "#999933"}
    colours = [se_colour.get(int(s), "#999999") for s in w[se]]
    ax.bar(x, w["won_revenue_per_week"] / 1000, yerr=w["won_revenue_per_week_ci"] / 1000, capsize=3, color=colours)
    shipped = w.index[w["mix"] == SHIPPED_MIX]
    if len(shipped):
        ax.bar(shipped, w.loc[shipped, "won_revenue_per_week"] / 1000, fill=False, edgecolor="black", lw=1.5)
    reference = shipped_resource_revenue(root)
    top = max(w["won_revenue_per_week"] + w["won_revenue_per_week_ci"]) / 1000
    if reference is not None:
        ax.axhline(reference / 1000, color=COLOURS[RESOURCE], ls="--", lw=1.2)
        ax.text(x[-1] + 0.4, reference / 1000, f"resource_optimised as shipped, same leads: {reference / 1000:.1f}k",
                ha="right", va="bottom", fontsize=8, color=COLOURS[RESOURCE])  # fmt: skip
        top = max(top, reference / 1000)
    ax.set_ylim(0, top * 1.12)
    ax.set(ylabel="won revenue / week (k)",
           title="Won revenue per mix (blue: 2 SEs, green: 3, olive: 4; "
                 f"black outline: shipped {SHIPPED_MIX})")  # fmt: skip
    ax.grid(alpha=0.3, axis="y")
    ax = axes[1]
    ax.bar(x, w["cycle_p85"], yerr=w["cycle_p85_ci"], capsize=3, color=colours)
    ax.set(ylabel="cycle time p85 (days)", ylim=(min(w["cycle_p85"]) * 0.9, max(w["cycle_p85"]) * 1.05))
    ax.grid(alpha=0.3, axis="y")
    ax = axes[2]
    width = 0.27
    for k, (role, colour) in enumerate((("sdr", "#CC79A7"), ("ae", "#E69F00"), ("se", "#D55E00"))):
        ax.bar(x + (k - 1) * width, w[f"deal_{role}"] * 100, width, capsize=2, color=colour, label=role.upper())
    ax.axhline(85, color="black", lw=0.8, ls=":")
    ax.set(ylabel="utilisation on deal work (%)", xlabel="SDR / AE / SE headcount (14 in all)", ylim=(0, 105))
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    ax.grid(alpha=0.3, axis="y")
    ax.set_xticks(x, w["mix"])
    fig.suptitle(f"Staffing mix of the flow-optimised plan, default scenario ({n} replications, 90% CIs; "
                 "dotted: 85% busy)")  # fmt: skip
    save(fig, "staffing_mix")

    out = pd.DataFrame({
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
                                    zip(w["queue_days_sdr"], w["queue_days_ae"], w["queue_days_se"], strict=True)],
    })  # fmt: skip
    print("\n## staffing_mix: means (± 90% CI half-width)\n")
    print(markdown(out))
    results = results.assign(mix=[f"{a}/{b}/{c}" for a, b, c in zip(results[sdr], results[ae], results[se],
                                                                     strict=True)])  # fmt: skip
    print(f"\npaired against the shipped {SHIPPED_MIX} (same leads in every replication), 90% CI:")
    base = results[results.mix == SHIPPED_MIX].set_index("replication")
    for mix in w.sort_values("won_revenue_per_week", ascending=False)["mix"]:
        r = results[results.mix == mix].set_index("replication")
        parts = []
        for metric, fmt in (("won_revenue_per_week", "{:+,.0f}"), ("revenue_per_cost", "{:+.2f}")):
            mean, half = t_ci((r[metric] - base[metric]).to_numpy(), 0.90)
            parts.append(f"{metric} {fmt.format(mean)} ({fmt.format(mean - half)} .. {fmt.format(mean + half)})")
        print(f"  {mix}: " + "; ".join(parts))
    if reference is not None:
        print(f"resource_optimised as shipped (gate_threshold sweep at 0.2): {reference:,.0f} / week")


# ---------------------------------------------------------------- 4. validation


def validation_mmc(root: Path) -> None:
    got = read(root, "validation")
    if got is None:
        return
    _, results = got
    c_col, effort, rate = "plans.pooled.roles.servers.headcount", "process.stages.0.effort_hours.mean", PER_WEEK
    rows = []
    for point, g in results.groupby("point"):
        c = int(g[c_col].iloc[0])
        service_days = float(g[effort].iloc[0]) / 24.0  # 168 selling hours/week: one effort hour = one hour
        lam, mu = float(g[rate].iloc[0]) / 7.0, 1.0 / service_days
        theory = mmc_wq(c, lam, mu)
        x = g["queue_days_servers"].to_numpy()
        mean, h90 = t_ci(x, 0.90)
        _, h99 = t_ci(x, 0.99)
        u, uh99 = t_ci(g["utilisation_servers"].to_numpy(), 0.99)
        rows.append({"point": point, "c": c, "rho": lam / (c * mu), "theory": theory, "sim": mean, "h90": h90,
                     "h99": h99, "n": x.size, "util": u, "util_h99": uh99})  # fmt: skip
    t = pd.DataFrame(rows)
    t["in90"] = (t.sim - t.theory).abs() <= t.h90
    t["in99"] = (t.sim - t.theory).abs() <= t.h99
    t["util_in99"] = (t.util - t.rho).abs() <= t.util_h99
    t["rel"] = t.sim / t.theory - 1

    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, (c, g) in enumerate(t.groupby("c")):
        ax.errorbar(g.theory, g.sim, yerr=g.h99, fmt="o", ms=4, capsize=3, color=C_COLOURS[i], label=f"c = {c}")
        bx.errorbar(g.rho + (i - 2) * 0.008, g.rel * 100, yerr=g.h99 / g.theory * 100, fmt="o", ms=4, capsize=3,
                    color=C_COLOURS[i], label=f"c = {c}")  # fmt: skip
    lim = [t.theory.min() * 0.7, t.theory.max() * 1.3]
    ax.plot(lim, lim, color="black", lw=0.8, label="simulated = analytic")
    ax.set(xscale="log", yscale="log", xlabel="analytic Wq, Erlang C (days)", ylabel="simulated mean queue wait (days)",
           title="M/M/c: simulated vs analytic mean wait (99% CIs)")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    bx.axhline(0, color="black", lw=0.8)
    bx.set(xlabel="utilisation rho (points offset by c)", ylabel="simulated / analytic - 1 (%)",
           title="Relative error with its 99% CI")  # fmt: skip
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    n = int(t.n.iloc[0])
    fig.suptitle(f"M/M/c validation: {len(t)} points, {n} replications each, 34,000 measured days per replication")
    save(fig, "validation")

    out = pd.DataFrame({
        "c": t.c, "rho": t.rho.map("{:.1f}".format), "analytic Wq (d)": t.theory.map("{:.4f}".format),
        "simulated (d)": t.sim.map("{:.4f}".format),
        "90% CI": [f"{m - h:.4f} .. {m + h:.4f}" for m, h in zip(t.sim, t.h90, strict=True)],
        "99% CI": [f"{m - h:.4f} .. {m + h:.4f}" for m, h in zip(t.sim, t.h99, strict=True)],
        "error": t.rel.map("{:+.1%}".format),
        "in 90% / 99% CI": [f"{'yes' if a else 'NO'} / {'yes' if b else 'NO'}" for a, b in
                            zip(t.in90, t.in99, strict=True)],
    })  # fmt: skip
    print("\n## validation (M/M/c): mean queue wait\n")
    print(markdown(out))
    print(
        f"\ninside the 90% CI: {int(t.in90.sum())} of {len(t)}; inside the 99% CI: {int(t.in99.sum())} of {len(t)}; "
        f"largest |error| {t.rel.abs().max():.1%}; "
        f"utilisation inside its 99% CI: {int(t.util_in99.sum())} of {len(t)}"
    )
    for r in t[~t.util_in99].itertuples():
        print(
            f"  utilisation outside its 99% CI: c = {r.c}, rho = {r.rho:.1f}: {r.util:.4f} "
            f"({r.util - r.util_h99:.4f} .. {r.util + r.util_h99:.4f})"
        )


def validation_tandem(root: Path) -> None:
    got = read(root, "validation_tandem")
    if got is None:
        return
    _, results = got
    stations = [("cut", "cutters", 2, 1.6), ("weld", "welders", 3, 2.4), ("paint", "painters", 1, 0.7)]
    rows = []
    for per_week, g in results.groupby(PER_WEEK):
        lam = per_week / 168.0  # per hour
        total = 0.0
        for stage, role, c, hours in stations:
            wq = mmc_wq(c, lam, 1 / hours) / 24.0  # days
            total += wq + hours / 24.0
            for what, col, theory in (("Wq", f"queue_days_{role}", wq), ("W", f"stage_days_{stage}", wq + hours / 24)):
                x = g[col].to_numpy()
                mean, h90 = t_ci(x, 0.90)
                _, h99 = t_ci(x, 0.99)
                rows.append({"lambda": lam, "what": f"{stage} {what}", "rho": lam * hours / c, "theory": theory,
                             "sim": mean, "h90": h90, "h99": h99})  # fmt: skip
        x = g["cycle_mean"].to_numpy()
        mean, h90 = t_ci(x, 0.90)
        _, h99 = t_ci(x, 0.99)
        rows.append({"lambda": lam, "what": "line W", "rho": np.nan, "theory": total, "sim": mean, "h90": h90,
                     "h99": h99})  # fmt: skip
    t = pd.DataFrame(rows)
    t["in90"] = (t.sim - t.theory).abs() <= t.h90
    t["in99"] = (t.sim - t.theory).abs() <= t.h99
    t["rel"] = t.sim / t.theory - 1

    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    kinds = ["cut Wq", "weld Wq", "paint Wq", "line W"]
    for i, kind in enumerate(kinds):
        g = t[t.what == kind]
        ax.errorbar(g.theory * 24, g.sim * 24, yerr=g.h99 * 24, fmt="o", ms=4, capsize=3, color=C_COLOURS[i],
                    label=kind)  # fmt: skip
        bx.errorbar(g["lambda"] + (i - 1.5) * 0.01, g.rel * 100, yerr=g.h99 / g.theory * 100, fmt="o", ms=4,
                    capsize=3, color=C_COLOURS[i], label=kind)  # fmt: skip
    lim = [t.theory.min() * 24 * 0.7, t.theory.max() * 24 * 1.3]
    ax.plot(lim, lim, color="black", lw=0.8, label="simulated = analytic")
    ax.set(xscale="log", yscale="log", xlabel="analytic (hours)", ylabel="simulated mean (hours)",
           title="Jackson tandem: station waits and time through the line (99% CIs)")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    bx.axhline(0, color="black", lw=0.8)
    bx.set(xlabel="arrival rate lambda (per hour; points offset)", ylabel="simulated / analytic - 1 (%)",
           title="Relative error with its 99% CI")  # fmt: skip
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    n = results.groupby("point").size().iloc[0]
    fig.suptitle(f"Tandem validation: M/M/2 -> M/M/3 -> M/M/1 at 5 arrival rates, {n} replications each")
    save(fig, "validation_tandem")

    out = pd.DataFrame({
        "lambda/h": t["lambda"].map("{:.1f}".format), "quantity": t.what,
        "rho": t.rho.map(lambda r: "" if np.isnan(r) else f"{r:.2f}"),
        "analytic (h)": (t.theory * 24).map("{:.3f}".format), "simulated (h)": (t.sim * 24).map("{:.3f}".format),
        "99% CI (h)": [f"{(m - h) * 24:.3f} .. {(m + h) * 24:.3f}" for m, h in zip(t.sim, t.h99, strict=True)],
        "error": t.rel.map("{:+.1%}".format),
        "in 90% / 99% CI": [f"{'yes' if a else 'NO'} / {'yes' if b else 'NO'}" for a, b in
                            zip(t.in90, t.in99, strict=True)],
    })  # fmt: skip
    print("\n## validation_tandem: waits (Wq) per station and time through the line (W)\n")
    print(markdown(out[t.what.str.endswith("Wq") | (t.what == "line W")]))
    print(
        f"\nall {len(t)} quantities (Wq and W per station, line W): inside the 90% CI {int(t.in90.sum())}, "
        f"inside the 99% CI {int(t.in99.sum())}; largest |error| {t.rel.abs().max():.1%}"
    )


# ---------------------------------------------------------------- 5. fairness map

FAIR_FACTORS = {  # dotted path -> short name (fairness.yaml)
    "market.buyer.first_touch_half_life_hours": "speed-to-lead half-life (h)",
    "plans.flow_optimised.roles.sdr.proficiency.effort": "flow SDR effort x",
    "plans.flow_optimised.roles.ae.proficiency.effort": "flow AE effort x",
    "plans.flow_optimised.roles.se.proficiency.effort": "flow SE effort x",
    "plans.flow_optimised.roles.sdr.proficiency.odds": "flow SDR odds x",
    "plans.flow_optimised.roles.ae.proficiency.odds": "flow AE odds x",
    "plans.flow_optimised.roles.se.proficiency.odds": "flow SE odds x",
    "market.sources.outbound.quality.fit_shift": "outbound fit shift",
    "market.buyer.recycle.probability": "recycle probability",
}
LEARNING = "learning progress ratio (all roles)"
HALF_LIFE = "market.buyer.first_touch_half_life_hours"


def point_differences(results: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per design point: its factor values, and per metric the mean paired difference flow - resource (same
    replication) with its 90% t half-width (``<metric>_diff``, ``<metric>_half``) and each plan's mean."""
    rows = []
    for point, g in results.groupby("point", sort=True):
        row = {"point": point, **{f: g[f].iloc[0] for f in FAIR_FACTORS}}
        flow = g[g.plan == FLOW].set_index("replication")
        res = g[g.plan == RESOURCE].set_index("replication")
        for m in metrics:
            mean, half = t_ci((flow[m] - res[m]).to_numpy(), 0.90)
            row |= {f"{m}_diff": mean, f"{m}_half": half, f"{m}_flow": flow[m].mean(), f"{m}_res": res[m].mean()}
        rows.append(row)
    return pd.DataFrame(rows)


def prcc(x: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """Partial rank correlation of y with each column of x (the others partialled out by linear regression on
    ranks), with the t test's two-sided p-value (df = n - 2 - (k - 1))."""
    r = x.rank().to_numpy(float)
    ry = pd.Series(y).rank().to_numpy(float)
    n, k = r.shape
    out = []
    for j, name in enumerate(x.columns):
        others = np.column_stack([np.ones(n), np.delete(r, j, axis=1)])
        res_x = r[:, j] - others @ np.linalg.lstsq(others, r[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        c = float(np.corrcoef(res_x, res_y)[0, 1])
        df = n - 2 - (k - 1)
        tstat = c * math.sqrt(df / max(1e-12, 1 - c * c))
        out.append({"factor": name, "prcc": c, "p": float(2 * stats.t.sf(abs(tstat), df))})
    return pd.DataFrame(out).sort_values("prcc", key=np.abs, ascending=False).reset_index(drop=True)


def per_role(frame: pd.DataFrame, what: str) -> list[str]:
    """The flow roles' proficiency ``what`` (effort or odds) at each row, as SDR/AE/SE."""
    cols = [frame[f"plans.flow_optimised.roles.{r}.proficiency.{what}"] for r in ("sdr", "ae", "se")]
    return [f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in zip(*cols, strict=True)]


def fairness(root: Path) -> None:
    got = read(root, "fairness")
    if got is None:
        return
    _, results = got
    metrics = ["won_revenue_per_week", "revenue_per_cost", "cycle_p85", "win_rate", "utilisation_deal",
               "won_per_week", "cooled_per_week", "queue_days_sdr", "queue_days_ae", "stage_days_contact",
               "learning_hours_per_week", "recycled_leads"]  # fmt: skip
    metrics = [m for m in metrics if m in results.columns]
    d = point_differences(results, metrics)
    d["learning"] = 1.0
    both = [d]
    learned = read(root, "fairness_learning")
    if learned is not None:
        dl = point_differences(learned[1], metrics)
        dl["learning"] = 0.85
        factors = list(FAIR_FACTORS)
        if not np.allclose(dl[factors].to_numpy(float), d[factors].to_numpy(float)):
            raise SystemExit("fairness_learning: not the same design as fairness (run both from the same files)")
        both.append(dl)
    all_points = pd.concat(both, ignore_index=True)
    n_rep = reps(results)
    rev = "won_revenue_per_week"

    # ranking: PRCC of the per-point paired difference on the factors (and learning, when both sweeps exist)
    x = all_points[list(FAIR_FACTORS)].rename(columns=FAIR_FACTORS)
    if len(both) > 1:
        x[LEARNING] = all_points["learning"]
    print(f"\n## fairness: {len(d)} points x {n_rep} replications x 2 plans"
          + (" x 2 learning settings (1.0, 0.85)" if len(both) > 1 else ""))
    ranks = {}
    for m in ("won_revenue_per_week", "revenue_per_cost", "cycle_p85", "win_rate"):
        ranks[m] = prcc(x, all_points[f"{m}_diff"].to_numpy())
        print(f"\nPRCC of the flow - resource difference in {m} ({len(all_points)} points):\n")
        print(markdown(ranks[m].assign(prcc=ranks[m].prcc.map("{:+.2f}".format), p=ranks[m].p.map("{:.3f}".format))))
    for label, frame in zip(("learning off (p = 1.0)", "learning on (p = 0.85)"), both, strict=False):
        wins = frame[frame[f"{rev}_diff"] - frame[f"{rev}_half"] > 0]
        loses = frame[frame[f"{rev}_diff"] + frame[f"{rev}_half"] < 0]
        print(f"\n{label}: flow - resource revenue/wk, mean over points {frame[f'{rev}_diff'].mean():+,.0f} "
              f"(range {frame[f'{rev}_diff'].min():+,.0f} .. {frame[f'{rev}_diff'].max():+,.0f}); "
              f"flow ahead (90% CI above 0) at {len(wins)} of {len(frame)} points, behind at {len(loses)}; "
              f"revenue per cost: flow ahead at "
              f"{int((frame['revenue_per_cost_diff'] - frame['revenue_per_cost_half'] > 0).sum())}, behind at "
              f"{int((frame['revenue_per_cost_diff'] + frame['revenue_per_cost_half'] < 0).sum())}")  # fmt: skip
        hl, diff = frame[HALF_LIFE], frame[f"{rev}_diff"]
        ahead = diff - frame[f"{rev}_half"] > 0
        behind = diff + frame[f"{rev}_half"] < 0
        below = hl[~ahead].min()  # every point with a shorter half-life has flow ahead
        print(f"  speed to lead: flow ahead at every point with half-life < {below:.2f} h "
              f"({int((hl < below).sum())} points); flow ahead at no point above {hl[ahead].max():.2f} h; "
              f"resource ahead (CI below 0) at half-lives {', '.join(f'{h:.2f}' for h in sorted(hl[behind]))} h; "
              f"mean difference at half-life < 2 h {diff[hl < 2].mean():+,.0f}, 2-5 h "
              f"{diff[(hl >= 2) & (hl < 5)].mean():+,.0f}, >= 5 h {diff[hl >= 5].mean():+,.0f}")  # fmt: skip
        for plan, suffix in ((RESOURCE, "res"), (FLOW, "flow")):
            col = frame[f"{rev}_{suffix}"]
            print(f"  {plan}: revenue/wk {col.min():,.0f} .. {col.max():,.0f}; "
                  f"revenue/cost {frame[f'revenue_per_cost_{suffix}'].min():.2f} .. "
                  f"{frame[f'revenue_per_cost_{suffix}'].max():.2f}")  # fmt: skip
    # the points, sorted by the revenue difference
    show = all_points.sort_values(f"{rev}_diff", ascending=False)
    table = pd.DataFrame({
        "learning": show["learning"].map("{:.2f}".format),
        "half-life (h)": show[HALF_LIFE].map("{:.2f}".format),
        "effort SDR/AE/SE": per_role(show, "effort"),
        "odds SDR/AE/SE": per_role(show, "odds"),
        "fit shift": show["market.sources.outbound.quality.fit_shift"].map("{:+.3f}".format),
        "recycle": show["market.buyer.recycle.probability"].map("{:.3f}".format),
        "revenue/wk resource": show[f"{rev}_res"].map("{:,.0f}".format),
        "revenue/wk flow": show[f"{rev}_flow"].map("{:,.0f}".format),
        "flow - resource (90% CI)": [f"{m:+,.0f} ({m - h:+,.0f} .. {m + h:+,.0f})" for m, h in
                                     zip(show[f"{rev}_diff"], show[f"{rev}_half"], strict=True)],
        "revenue/cost flow - resource": [
            f"{m:+.2f} ± {h:.2f}"
            for m, h in zip(show["revenue_per_cost_diff"], show["revenue_per_cost_half"], strict=True)
        ],
        "contact days res / flow": [f"{a:.1f} / {b:.1f}" for a, b in
                                    zip(show["stage_days_contact_res"], show["stage_days_contact_flow"], strict=True)],
    })  # fmt: skip
    print("\nevery point, by the revenue difference (flow - resource, paired, 90% CI):\n")
    print(markdown(table))
    # learning: paired point by point (same design, same replication seeds)
    if len(both) > 1:
        lr = learned[1]
        for plan in (RESOURCE, FLOW):
            a = results[results.plan == plan].set_index(["point", "replication"])[rev]
            b = lr[lr.plan == plan].set_index(["point", "replication"])[rev]
            per_point = (b - a).groupby(level="point").mean()
            mean, half = t_ci(per_point.to_numpy(), 0.90)
            print(f"learning 0.85 minus off, {plan} revenue/wk: mean over points {mean:+,.0f} ({mean - half:+,.0f} .. "
                  f"{mean + half:+,.0f}, 90% CI over the {len(per_point)} points)")  # fmt: skip
        eff = dl[f"{rev}_diff"].to_numpy() - d[f"{rev}_diff"].to_numpy()
        mean, half = t_ci(eff, 0.90)
        print(f"learning 0.85 minus off, on flow - resource revenue/wk: {mean:+,.0f} ({mean - half:+,.0f} .. "
              f"{mean + half:+,.0f}, 90% CI over points)")  # fmt: skip
        for m in ("learning_hours_per_week",):
            if f"{m}_res" in dl:
                print(f"  {m} with learning: resource {dl[f'{m}_res'].mean():.1f}, flow {dl[f'{m}_flow'].mean():.1f}")

    # plot: the revenue difference against the most influential factors, zero crossings marked
    top = [f for f in ranks[rev].factor if f != LEARNING][:3]
    inverse = {v: k for k, v in FAIR_FACTORS.items()}
    fig = Figure(figsize=(14, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    marks = {1.0: ("o", "learning off"), 0.85: ("^", "learning 0.85")}
    # a least-squares plane of the difference on all factors (ln of the half-life; learning as a factor)
    cols = list(FAIR_FACTORS)
    xmat = all_points[cols].astype(float).copy()
    xmat[HALF_LIFE] = np.log(xmat[HALF_LIFE])
    xmat["learning"] = all_points["learning"].to_numpy(float)
    yv = all_points[f"{rev}_diff"].to_numpy()
    design = np.column_stack([np.ones(len(xmat)), xmat.to_numpy()])
    beta = np.linalg.lstsq(design, yv, rcond=None)[0]
    centred = xmat - xmat.mean()
    for k, (ax, name) in enumerate(zip(axes.ravel()[:3], top, strict=False)):
        col = inverse[name]
        j = cols.index(col)
        # first panel: the raw paired difference; the others: partial residuals (the difference less the fitted
        # effects of every other factor, taken at their mean), so the panel shows this factor's own share
        adjust = 0.0 if k == 0 else (centred.to_numpy() @ beta[1:] - centred[col].to_numpy() * beta[1 + j])
        for lv in sorted(all_points.learning.unique(), reverse=True):
            mask = (all_points.learning == lv).to_numpy()
            frame = all_points[mask]
            y = (frame[f"{rev}_diff"].to_numpy() - (adjust[mask] if k else 0.0)) / 1000
            mk, lab = marks[lv]
            sig = (frame[f"{rev}_diff"].abs() > frame[f"{rev}_half"]).to_numpy()
            colour = np.where(frame[f"{rev}_diff"] > 0, FLOW_WIN, RES_WIN)
            ax.errorbar(frame[col], y, yerr=frame[f"{rev}_half"] / 1000, fmt="none", ecolor="#BBBBBB", lw=0.8,
                        capsize=0)  # fmt: skip
            ax.scatter(frame[col][sig], y[sig], c=colour[sig], marker=mk, s=28, label=lab)
            ax.scatter(frame[col][~sig], y[~sig], facecolors="none", edgecolors=colour[~sig], marker=mk, s=28)
        xs = xmat[col]
        grid = np.linspace(xs.min(), xs.max(), 50)
        gx = np.exp(grid) if col == HALF_LIFE else grid
        if k == 0:
            slope, icept = np.polyfit(xs, yv, 1)
            label = "least-squares line of the difference on this factor"
        else:
            slope, icept = beta[1 + j], yv.mean() - beta[1 + j] * xs.mean()
            label = "fitted effect, other factors at their mean"
        ax.plot(gx, (icept + slope * grid) / 1000, color="black", lw=1, label=label)
        if slope != 0:
            z = -icept / slope
            if grid.min() <= z <= grid.max():
                zx = math.exp(z) if col == HALF_LIFE else z
                ax.axvline(zx, color="black", ls="--", lw=0.8)
                ax.text(zx, ax.get_ylim()[1], f" line crosses 0 at {zx:.3g}", va="top", fontsize=8)
        ax.axhline(0, color="black", lw=0.8)
        if col == HALF_LIFE:
            ax.set_xscale("log")
        r = ranks[rev].set_index("factor").loc[name]
        ylabel = "flow - resource won revenue / week (k, 90% CI)" if k == 0 else \
            "partial residual of flow - resource (k / week)"  # fmt: skip
        ax.set(xlabel=name, ylabel=ylabel, title=f"{name}: PRCC {r.prcc:+.2f} (p = {r.p:.3f})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    # top two factors against each other, coloured by the difference
    ax = axes[1, 1]
    c0, c1 = inverse[top[0]], inverse[top[1]]
    lim = float(np.nanmax(np.abs(all_points[f"{rev}_diff"]))) / 1000
    for lv, frame in ((f.learning.iloc[0], f) for f in both):
        mk, lab = marks[lv]
        sc = ax.scatter(frame[c0], frame[c1], c=frame[f"{rev}_diff"] / 1000, cmap=DIVERGING, vmin=-lim, vmax=lim,
                        marker=mk, s=110 if lv == 1.0 else 30, edgecolors="black", linewidths=0.4,
                        label=lab)  # fmt: skip
    # zero contour of the least-squares plane in (factor 0, factor 1), the others at their mean
    g0 = np.linspace(all_points[c0].min(), all_points[c0].max(), 60)
    g1 = np.linspace(all_points[c1].min(), all_points[c1].max(), 60)
    G0, G1 = np.meshgrid(g0, g1)
    base = np.r_[1.0, xmat.mean().to_numpy()]
    Z = np.full(G0.shape, base @ beta)
    for col, G in ((c0, G0), (c1, G1)):
        j = 1 + cols.index(col)
        val = np.log(G) if col == HALF_LIFE else G
        Z += beta[j] * (val - base[j])
    cs = ax.contour(G0, G1, Z, levels=[0], colors="black", linestyles="--")
    ax.clabel(cs, fmt={0: "fitted 0"}, fontsize=8)
    if c0 == HALF_LIFE:
        ax.set_xscale("log")
    if c1 == HALF_LIFE:
        ax.set_yscale("log")
    fig.colorbar(sc, ax=ax, label="flow - resource won revenue / week (k)")
    ax.set(xlabel=top[0], ylabel=top[1],
           title="Top two factors (large: learning off, small: on; dashed: zero of a linear fit, others at mean)")
    ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Where does flow win? {len(d)}-point Latin hypercube x {n_rep} replications, both plans, paired "
                 "(filled: 90% CI excludes 0; orange: flow ahead, blue: resource ahead)")  # fmt: skip
    save(fig, "fairness")
    print("linear fit of the revenue difference (per unit of each factor; half-life per unit of ln h):")
    for name, b in zip(["intercept", *[FAIR_FACTORS[c] for c in cols], LEARNING], beta, strict=True):
        if name != LEARNING or len(both) > 1:
            print(f"  {name}: {b:+,.0f}")


EXPERIMENTS = {
    "utilisation": utilisation,
    "gate_threshold": gate_threshold,
    "staffing_mix": staffing_mix,
    "validation": validation_mmc,
    "validation_tandem": validation_tandem,
    "fairness": fairness,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"experiments (default: all of {', '.join(EXPERIMENTS)})")
    parser.add_argument("--results", type=Path, default=Path("results"), help="parent of the results directories")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    for name in args.names or EXPERIMENTS:
        EXPERIMENTS[name](args.results)


if __name__ == "__main__":
    main()
