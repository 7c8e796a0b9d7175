"""Where does flow win? (experiments/fairness.yaml with fairness_learning.yaml): the paired map and its ranking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from leanflow.errors import ResultsError
from leanflow.report.experiment_figures.common import (
    FLOW,
    RESOURCE,
    ExperimentFigure,
    SweepInput,
    half_width,
    markdown,
    reps,
    require,
)
from leanflow.report.experiment_figures.fairness_plot import FAIR_FACTORS, HALF_LIFE, LEARNING, REV, fairness_figure
from leanflow.scenario.sweep_schema import Sweep

NAME = "fairness"
METRICS = ["won_revenue_per_week", "revenue_per_cost", "cycle_p85", "win_rate", "utilisation_deal", "won_per_week",
           "cooled_per_week", "queue_days_sdr", "queue_days_ae", "stage_days_contact", "learning_hours_per_week",
           "recycled_leads"]  # fmt: skip
NEEDED = ["won_revenue_per_week", "revenue_per_cost", "cycle_p85", "win_rate", "stage_days_contact"]


def learning_level(sweep: Sweep) -> float:
    """The progress ratio the sweep's overrides give every role (1.0, learning off, when they give none)."""
    values = set()
    for path, value in sweep.overrides.items():
        if path.endswith(".learning.progress_ratio"):
            values.add(value)
        elif path.endswith(".learning") and isinstance(value, dict) and "progress_ratio" in value:
            values.add(value["progress_ratio"])
    if len(values) > 1 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ResultsError(f"sweep {sweep.name}: its roles learn at different progress ratios "
                           f"({', '.join(sorted(map(str, values)))}); the {NAME} figure needs one for all")  # fmt: skip
    return float(values.pop()) if values else 1.0


def point_differences(results: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per design point: its factor values, and per metric the mean paired difference flow - resource (same
    replication) with its 90% t half-width (``<metric>_diff``, ``<metric>_half``) and each plan's mean."""
    rows = []
    for point, g in results.groupby("point", sort=True):
        row = {"point": point, **{f: g[f].iloc[0] for f in FAIR_FACTORS}}
        flow = g[g.plan == FLOW].set_index("replication")
        res = g[g.plan == RESOURCE].set_index("replication")
        for m in metrics:
            mean, half = half_width(flow[m] - res[m])
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


def _setting(level: float) -> str:
    """How a learning level is named in the lines."""
    return "learning off (p = 1.0)" if level == 1.0 else f"learning on (p = {level:g})"


def fairness(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """The paired flow - resource map: PRCC rankings, where flow is ahead, every point, learning's effect and a
    four-panel figure; ``second`` is the same design with another learning setting (fairness_learning)."""
    sweeps = [sweep] if second is None else [sweep, second]
    for s in sweeps:
        require(s, NAME, [*FAIR_FACTORS, *NEEDED], (RESOURCE, FLOW))
    levels = [learning_level(s.sweep) for s in sweeps]
    if len(sweeps) == 2:
        if levels[0] == levels[1]:
            raise ResultsError(f"{sweep.directory} and {second.directory} both have learning progress ratio "
                               f"{levels[0]:g}: the {NAME} figure pairs one with learning off and one with it on")
        if levels[1] > levels[0]:  # learning off (the higher ratio) first, whichever directory was given
            sweeps, levels = sweeps[::-1], levels[::-1]
    metrics = [m for m in METRICS if all(m in s.results.columns for s in sweeps)]
    both = []
    for s, level in zip(sweeps, levels, strict=True):
        frame = point_differences(s.results, metrics)
        frame["learning"] = level
        both.append(frame)
    if len(both) > 1:
        a, b = (f[list(FAIR_FACTORS)].to_numpy(float) for f in both)
        if a.shape != b.shape or not np.allclose(a, b):
            raise ResultsError(f"{sweeps[1].directory}: not the same design as {sweeps[0].directory} "
                               "(run both from the same files)")  # fmt: skip
    all_points = pd.concat(both, ignore_index=True)
    x = all_points[list(FAIR_FACTORS)].rename(columns=FAIR_FACTORS)
    if len(both) > 1:
        x[LEARNING] = all_points["learning"]
    if len(x) < x.shape[1] + 3:
        raise ResultsError(f"{sweep.directory}: the {NAME} figure ranks {x.shape[1]} factors, which needs at least "
                           f"{x.shape[1] + 3} points; the sweep has {len(x)}")  # fmt: skip
    d, n_rep = both[0], reps(sweeps[0].results)
    settings = f" x 2 learning settings ({levels[0]}, {levels[1]})" if len(both) > 1 else ""
    chunks = [f"\n## fairness: {len(d)} points x {n_rep} replications x 2 plans{settings}"]
    ranks = {}
    for m in ("won_revenue_per_week", "revenue_per_cost", "cycle_p85", "win_rate"):
        ranks[m] = prcc(x, all_points[f"{m}_diff"].to_numpy())
        shown = ranks[m].assign(prcc=ranks[m].prcc.map("{:+.2f}".format), p=ranks[m].p.map("{:.3f}".format))
        chunks += [f"\nPRCC of the flow - resource difference in {m} ({len(all_points)} points):\n", markdown(shown)]
    for frame in both:
        chunks += _verdict_lines(frame)
    chunks += ["\nevery point, by the revenue difference (flow - resource, paired, 90% CI):\n",
               markdown(_points_table(all_points))]  # fmt: skip
    if len(both) > 1:
        chunks += _learning_lines(sweeps, both, levels[1])
    fig, beta, names = fairness_figure(all_points, both, ranks[REV], levels, n_rep)
    chunks.append("linear fit of the revenue difference (per unit of each factor; half-life per unit of ln h):")
    for name, b in zip(names, beta, strict=True):
        if name != LEARNING or len(both) > 1:
            chunks.append(f"  {name}: {b:+,.0f}")
    return ExperimentFigure(NAME, fig, chunks)


def _verdict_lines(frame: pd.DataFrame) -> list[str]:
    """One sweep's summary: where flow is ahead or behind, by half-life, and each plan's ranges."""
    diff, half, hl = frame[f"{REV}_diff"], frame[f"{REV}_half"], frame[HALF_LIFE]
    wins, loses = frame[diff - half > 0], frame[diff + half < 0]
    rpc = frame["revenue_per_cost_diff"], frame["revenue_per_cost_half"]
    chunks = [f"\n{_setting(frame['learning'].iloc[0])}: flow - resource revenue/wk, mean over points "
              f"{diff.mean():+,.0f} (range {diff.min():+,.0f} .. {diff.max():+,.0f}); "
              f"flow ahead (90% CI above 0) at {len(wins)} of {len(frame)} points, behind at {len(loses)}; "
              f"revenue per cost: flow ahead at {int((rpc[0] - rpc[1] > 0).sum())}, behind at "
              f"{int((rpc[0] + rpc[1] < 0).sum())}"]  # fmt: skip
    ahead, behind = diff - half > 0, diff + half < 0
    below = hl[~ahead].min()  # every point with a shorter half-life has flow ahead
    chunks.append(f"  speed to lead: flow ahead at every point with half-life < {below:.2f} h "
                  f"({int((hl < below).sum())} points); flow ahead at no point above {hl[ahead].max():.2f} h; "
                  f"resource ahead (CI below 0) at half-lives {', '.join(f'{h:.2f}' for h in sorted(hl[behind]))} h; "
                  f"mean difference at half-life < 2 h {diff[hl < 2].mean():+,.0f}, 2-5 h "
                  f"{diff[(hl >= 2) & (hl < 5)].mean():+,.0f}, >= 5 h {diff[hl >= 5].mean():+,.0f}")  # fmt: skip
    for plan, suffix in ((RESOURCE, "res"), (FLOW, "flow")):
        col = frame[f"{REV}_{suffix}"]
        chunks.append(f"  {plan}: revenue/wk {col.min():,.0f} .. {col.max():,.0f}; "
                      f"revenue/cost {frame[f'revenue_per_cost_{suffix}'].min():.2f} .. "
                      f"{frame[f'revenue_per_cost_{suffix}'].max():.2f}")  # fmt: skip
    return chunks


def _points_table(all_points: pd.DataFrame) -> pd.DataFrame:
    """Every point of both sweeps, sorted by the revenue difference (largest flow advantage first)."""
    show = all_points.sort_values(f"{REV}_diff", ascending=False)
    return pd.DataFrame({
        "learning": show["learning"].map("{:.2f}".format),
        "half-life (h)": show[HALF_LIFE].map("{:.2f}".format),
        "effort SDR/AE/SE": per_role(show, "effort"),
        "odds SDR/AE/SE": per_role(show, "odds"),
        "fit shift": show["market.sources.outbound.quality.fit_shift"].map("{:+.3f}".format),
        "recycle": show["market.buyer.recycle.probability"].map("{:.3f}".format),
        "revenue/wk resource": show[f"{REV}_res"].map("{:,.0f}".format),
        "revenue/wk flow": show[f"{REV}_flow"].map("{:,.0f}".format),
        "flow - resource (90% CI)": [f"{m:+,.0f} ({m - h:+,.0f} .. {m + h:+,.0f})" for m, h in
                                     zip(show[f"{REV}_diff"], show[f"{REV}_half"], strict=True)],
        "revenue/cost flow - resource": [f"{m:+.2f} ± {h:.2f}" for m, h in
                                         zip(show["revenue_per_cost_diff"], show["revenue_per_cost_half"],
                                             strict=True)],
        "contact days res / flow": [f"{a:.1f} / {b:.1f}" for a, b in
                                    zip(show["stage_days_contact_res"], show["stage_days_contact_flow"], strict=True)],
    })  # fmt: skip


def _learning_lines(sweeps: list[SweepInput], both: list[pd.DataFrame], on: float) -> list[str]:
    """Learning's effect, paired point by point (same design, same replication seeds): per plan and on the
    difference, with 90% CIs over the points."""
    chunks = []
    off_results, on_results = sweeps[0].results, sweeps[1].results
    for plan in (RESOURCE, FLOW):
        a = off_results[off_results.plan == plan].set_index(["point", "replication"])[REV]
        b = on_results[on_results.plan == plan].set_index(["point", "replication"])[REV]
        per_point = (b - a).groupby(level="point").mean()
        mean, half = half_width(per_point)
        chunks.append(f"learning {on:g} minus off, {plan} revenue/wk: mean over points {mean:+,.0f} "
                      f"({mean - half:+,.0f} .. {mean + half:+,.0f}, 90% CI over the {len(per_point)} points)")
    mean, half = half_width(both[1][f"{REV}_diff"].to_numpy() - both[0][f"{REV}_diff"].to_numpy())
    chunks.append(f"learning {on:g} minus off, on flow - resource revenue/wk: {mean:+,.0f} ({mean - half:+,.0f} .. "
                  f"{mean + half:+,.0f}, 90% CI over points)")  # fmt: skip
    m = "learning_hours_per_week"
    if f"{m}_res" in both[1]:
        chunks.append(f"  {m} with learning: resource {both[1][f'{m}_res'].mean():.1f}, "
                      f"flow {both[1][f'{m}_flow'].mean():.1f}")  # fmt: skip
    return chunks
