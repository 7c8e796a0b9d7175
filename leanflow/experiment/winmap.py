"""Where each family wins: the selected designs re-run across the uncertainty design, paired by seed.

At every point of the design (the optimisation's ``uncertainties`` and
``design``, drawn as a sweep draws them) both selected plans run the same
replications on fresh seeds; the paired difference of the objective (the
challenger minus the base file's first plan) says who wins there. A small
rule, one threshold or two joined by "or"/"and", fitted to the sign of the
difference, gives the break-even boundary as a sentence.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leanflow.experiment.designs import build_design
from leanflow.experiment.executor import run_points
from leanflow.experiment.optimise import Study
from leanflow.experiment.optimise_outputs import best_scenario_data
from leanflow.experiment.point import PointTask, SweepJob, run_point
from leanflow.files import atomic_write
from leanflow.metrics.stats import mean_ci
from leanflow.scenario.sweep_schema import Sweep

WINMAP = "winmap"


def winmap_design(study: Study) -> pd.DataFrame:
    """The uncertainty design's points (one row per point, one column per path)."""
    opt = study.loaded.opt
    sweep = Sweep(name=opt.name, base=opt.base, uncertainties=opt.uncertainties, design=opt.design)
    return build_design(sweep)


def run_winmap(study: Study, replications: int, jobs: int | None, scheduler: str | None) -> pd.DataFrame:
    """Tidy rows (point x plan x replication) of the objective at every design point; resumable."""
    data = best_scenario_data(study)
    plans = list(data["plans"])
    design = winmap_design(study)
    metric = study.loaded.opt.objective.metric
    job = SweepJob(data, {}, replications, (metric,))
    folder = study.store.directory / WINMAP
    folder.mkdir(parents=True, exist_ok=True)

    def path(task: PointTask) -> Path:
        return folder / f"point-{task.point:05d}-{task.plan}.json"

    def save(task: PointTask, rows: list[dict[str, Any]]) -> None:
        text = json.dumps(rows)
        atomic_write(path(task), lambda p: p.write_text(text))

    tasks = [PointTask(int(p), plan, {k: _plain(v) for k, v in row.items()}, int(data["seed"]))
             for p, row in design.iterrows() for plan in plans]  # fmt: skip
    todo = [t for t in tasks if not path(t).is_file()]
    if todo:
        run_points(run_point, todo, job, jobs, scheduler, save, "where each family wins")
    rows = [r for t in tasks for r in json.loads(path(t).read_text())]
    return pd.DataFrame(rows)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class WinMap:
    """The paired differences per point, who wins where, and the boundary."""

    table: pd.DataFrame  # one row per point: factors, mean difference, CI, winner
    baseline: str
    challenger: str
    shares: dict[str, float]  # share of points each plan wins on the mean difference
    rule: str  # the boundary as a sentence
    accuracy: float  # share of points the rule classifies right
    cuts: list[dict[str, Any]]  # the rule's thresholds, {"factor", "threshold"}, for the chart


def analyse_winmap(rows: pd.DataFrame, study: Study, confidence: float = 0.90) -> WinMap:
    """Paired difference (challenger - baseline, sign-adjusted so positive means the challenger is better)."""
    metric = study.loaded.opt.objective.metric
    plans = list(dict.fromkeys(rows["plan"]))
    baseline, challenger = plans[0], plans[1]
    factors = list(study.loaded.opt.uncertainties)
    wide = rows.pivot_table(index=["point", "replication"], columns="plan", values=metric)
    diff = study.sign * (wide[challenger] - wide[baseline])
    table = []
    for point, d in diff.groupby(level="point"):
        mean, low, high = mean_ci(d.to_numpy(), confidence)
        winner = challenger if low > 0 else baseline if high < 0 else "neither (CI spans 0)"
        values = rows.loc[rows["point"] == point, factors].iloc[0].to_dict()
        table.append({"point": point, **values, "difference": mean, "ci_low": low, "ci_high": high,
                      "winner": winner})  # fmt: skip
    df = pd.DataFrame(table)
    wins = (df["difference"] > 0).to_numpy()
    shares = {challenger: float(wins.mean()), baseline: float(1 - wins.mean())}
    rule, accuracy, cuts = boundary(df, factors, wins, challenger)
    return WinMap(df, baseline, challenger, shares, rule, accuracy, cuts)


def boundary(df: pd.DataFrame, factors: list[str], wins: np.ndarray,
             challenger: str) -> tuple[str, float, list[dict[str, Any]]]:
    """The simplest rule of one threshold, or two joined by or/and, that best predicts where the challenger
    wins; as a sentence, with the share of points it gets right and its cuts (factor, threshold) to draw."""
    if wins.all() or not wins.any():
        return (f"{challenger} wins everywhere in the mapped space" if wins.all()
                else f"{challenger} wins nowhere in the mapped space"), 1.0, []  # fmt: skip
    conditions = []
    for f in factors:
        x = df[f].to_numpy(dtype=float)
        cuts = np.unique(x)
        for t in (cuts[:-1] + cuts[1:]) / 2:
            cut = {"factor": f, "threshold": float(t)}
            conditions.append((f"{_name(f)} is under {t:.3g}", x < t, cut))
            conditions.append((f"{_name(f)} is over {t:.3g}", x > t, cut))
    best = max(conditions, key=lambda c: (c[1] == wins).mean())
    text, acc, drawn = best[0], float((best[1] == wins).mean()), [best[2]]
    if acc < 1.0 and len(factors) > 1:
        for (ta, a, ca), (tb, b, cb) in itertools.combinations(conditions, 2):
            if ca["factor"] == cb["factor"]:
                continue
            for joiner, both in (("or", a | b), ("and", a & b)):
                score = float((both == wins).mean())
                if score > acc + 1e-12:
                    text, acc, drawn = f"{ta} {joiner} {tb}", score, [ca, cb]
    return f"{challenger} wins when {text}", acc, drawn


def _name(path: str) -> str:
    """A factor's path, readably: its last parts."""
    parts = path.split(".")
    return " ".join(parts[-2:]).replace("_", " ")


def write_winmap(study: Study, jobs: int | None, scheduler: str | None) -> list[str]:
    """Run the map, write ``winmap.parquet`` (one row per point) and ``winmap.json``; the console's lines."""
    opt = study.loaded.opt
    rows = run_winmap(study, opt.winmap_replications, jobs, scheduler)
    wm = analyse_winmap(rows, study)
    d = study.store.directory
    atomic_write(d / "winmap.parquet", lambda p: wm.table.to_parquet(p, index=False))
    summary = {"baseline": wm.baseline, "challenger": wm.challenger, "shares": wm.shares, "rule": wm.rule,
               "rule_accuracy": wm.accuracy, "rule_cuts": wm.cuts, "points": len(wm.table),
               "replications": opt.winmap_replications,
               "difference": f"{wm.challenger} - {wm.baseline}, {opt.objective.metric}, positive: "
               f"{wm.challenger} better"}  # fmt: skip
    atomic_write(d / "winmap.json", lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))
    counts = wm.table["winner"].value_counts().to_dict()
    distinguishable = ", ".join(f"{k} {v}" for k, v in counts.items())
    return [
        f"where each wins ({len(wm.table)} points of {', '.join(opt.uncertainties)}, {opt.winmap_replications} "
        f"paired replications each): {wm.challenger} better on the mean at {wm.shares[wm.challenger]:.0%} of "
        f"the points; by 90% CI: {distinguishable}",
        f"  boundary: {wm.rule} (right at {wm.accuracy:.0%} of the points)",
    ]
