"""An optimisation's files: candidates, the selected best per family, a runnable best.yaml, the frontier.

| file | contents |
| --- | --- |
| ``candidates.parquet`` | one row per configuration x replication simulated, with its decision values |
| ``best.csv`` | one row per family: decision paths as columns, objective mean and 90% CI, replications |
| ``best.yaml`` | a scenario with the selected plans, on fresh seeds, ready for ``leanflow run`` |
| ``frontier.csv`` | the Pareto-optimal configurations (objective, p85 cycle time, cost) |
| ``selection.json`` | the procedure, alpha, delta and counts |
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leanflow.experiment.optimise import FamilyResult, Study
from leanflow.files import atomic_write
from leanflow.metrics.stats import mean_ci
from leanflow.scenario.configurations import apply
from leanflow.scenario.paths import scenario_data

FRESH = 0x0B57  # spawn key of the verdict's seed: fresh replications, unrelated to the selection's


def fresh_seed(seed: int) -> int:
    """The seed of the best-against-best verdict, derived from the study's seed but independent of it."""
    return int(np.random.SeedSequence(seed, spawn_key=(FRESH,)).generate_state(1)[0])


def write_outputs(study: Study) -> dict[str, Path]:
    """Write every file; return their paths by name."""
    d = study.store.directory
    paths = {
        "candidates.parquet": d / "candidates.parquet",
        "best.csv": d / "best.csv",
        "best.yaml": d / "best.yaml",
        "frontier.csv": d / "frontier.csv",
        "selection.json": d / "selection.json",
    }
    candidates = candidates_table(study)
    atomic_write(paths["candidates.parquet"], lambda p: candidates.to_parquet(p, index=False))
    best = best_table(study)
    atomic_write(paths["best.csv"], lambda p: best.to_csv(p, index=False))
    text = best_yaml(study)
    atomic_write(paths["best.yaml"], lambda p: p.write_text(text))
    front = frontier_table(study)
    atomic_write(paths["frontier.csv"], lambda p: front.to_csv(p, index=False))
    report = json.dumps(selection_report(study), indent=2)
    atomic_write(paths["selection.json"], lambda p: p.write_text(report + "\n"))
    return paths


def candidates_table(study: Study) -> pd.DataFrame:
    """Every simulated replication of every configuration."""
    rows = []
    for (family, config, rep), values in sorted(study.store.rows.items()):
        fr = study.families.get(family)
        if fr is None or config >= len(fr.configs):
            continue
        rows.append({"family": family, "config": config, **fr.configs[config], "replication": rep,
                     **dict(zip(study.outputs, values.tolist(), strict=True))})  # fmt: skip
    return pd.DataFrame(rows)


def best_table(study: Study) -> pd.DataFrame:
    """One row per family: the selected configuration, its objective (mean, 90% CI) and replications."""
    metric = study.loaded.opt.objective.metric
    rows = []
    for family, fr in study.families.items():
        row: dict[str, Any] = {"family": family}
        if fr.best is None:
            rows.append({**row, "note": "no configuration met the constraints"})
            continue
        n = study.store.replications(family, fr.best)
        mean, low, high = mean_ci(study.store.matrix(family, [fr.best], 0, n, metric)[0])
        rows.append({**row, **fr.configs[fr.best], f"{metric}_mean": mean, f"{metric}_ci90_low": low,
                     f"{metric}_ci90_high": high, "replications_best": n,
                     "replications_family": int(fr.selection.total_replications), "heads": fr.heads[fr.best],
                     "cost_per_year": fr.cost[fr.best]})  # fmt: skip
    return pd.DataFrame(rows).convert_dtypes()


def best_scenario_data(study: Study) -> dict[str, Any]:
    """The base scenario with only the families' selected plans, on fresh seeds."""
    lo, opt = study.loaded, study.loaded.opt
    data = scenario_data(lo.base_data, dict(opt.overrides))
    plans = {}
    for family in lo.base.plans:  # the base file's order: its first plan stays the verdict's baseline
        fr = study.families.get(family)
        if fr is not None and fr.best is not None:
            plans[family] = apply(lo.base_data["plans"][family], fr.configs[fr.best])
    data["plans"] = plans
    data["name"] = f"{lo.base.name}: best of each family ({opt.name})"
    data["seed"] = fresh_seed(lo.seed)
    data["replications"] = opt.verdict_replications
    return data


def best_yaml(study: Study) -> str:
    """best.yaml: a self-contained scenario (no base file needed), with a header saying where it came from."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    yaml.dump(best_scenario_data(study), buf)
    lines = [f"# The selected design of each family of {study.loaded.file}, on fresh seeds.",
             "# Run it: leanflow run best.yaml"]  # fmt: skip
    for family, fr in study.families.items():
        if fr.best is not None:
            lines.append(f"#   {family}: " + ", ".join(f"{k}={v}" for k, v in fr.configs[fr.best].items()))
    return "\n".join(lines) + "\n" + buf.getvalue()


def pareto(objective: np.ndarray, cycle: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Which points no other point dominates: objective at least as high, cycle and cost at least as low,
    and strictly better in one. A missing value (no deal won, so no cycle time) counts as the worst."""
    pts = np.nan_to_num(np.column_stack([-objective, cycle, cost]), nan=np.inf)  # all to minimise
    keep = np.ones(len(pts), dtype=bool)
    for i in range(len(pts)):
        others = np.delete(pts, i, axis=0)
        dominated = np.all(others <= pts[i], axis=1) & np.any(others < pts[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def frontier_table(study: Study) -> pd.DataFrame:
    """Per family, the Pareto-optimal candidates on first-stage means (every candidate has them)."""
    metric = study.loaded.opt.objective.metric
    n0 = study.loaded.opt.selection.first_stage
    sign = study.sign
    frames = []
    for family, fr in study.families.items():
        ids = fr.candidates
        obj = study.store.matrix(family, ids, 0, n0, metric).mean(axis=1)
        p85 = study.store.matrix(family, ids, 0, n0, "cycle_p85").mean(axis=1)
        cost = np.array([c if c is not None else np.nan for c in fr.cost], dtype=float)
        keep = pareto(sign * obj, p85, np.nan_to_num(cost[ids]))
        for j in np.flatnonzero(keep):
            i = ids[j]
            frames.append({"family": family, "config": i, **fr.configs[i], f"{metric}_mean": obj[j],
                           "cycle_p85_mean": p85[j], "cost_per_year": fr.cost[i], "heads": fr.heads[i],
                           "selected": i == fr.best})  # fmt: skip
    return pd.DataFrame(frames).convert_dtypes()


def selection_report(study: Study) -> dict[str, Any]:
    """selection.json: the procedure, its parameters and what it did, per family."""
    opt = study.loaded.opt
    out: dict[str, Any] = {
        "procedure": "paired subset screen (Nelson, Swann, Goldsman and Song 2001) on the first stage, then the "
        "fully sequential KN procedure (Kim and Nelson 2001), alpha split equally (Bonferroni); common random "
        "numbers across configurations; constraints checked on first-stage means",
        "objective": opt.objective.model_dump(),
        "alpha": round(1 - opt.selection.confidence, 10),
        "delta": opt.selection.indifference,
        "first_stage": opt.selection.first_stage,
        "max_replications": opt.selection.max_replications,
        "families": {},
    }
    for family, fr in study.families.items():
        out["families"][family] = _family_report(fr)
    return out


def _family_report(fr: FamilyResult) -> dict[str, Any]:
    sel = fr.selection
    base = {"candidates": len(fr.candidates), "simulated_configurations": len(fr.configs),
            "over_budget": fr.over_budget, "searched": fr.searched,
            "excluded_by_constraints": len(fr.candidates) - len(fr.eligible)}  # fmt: skip
    if sel is None:
        return {**base, "selected": None, "guarantee": "no configuration met the constraints"}
    return {**base, "screened_out": sel.screened_out, "eliminated": sel.eliminated, "truncated": sel.truncated,
            "survivors": sel.survivors, "replications": sel.total_replications, "selected": fr.best,
            "selected_values": fr.configs[fr.best], "guarantee": sel.guarantee()}  # fmt: skip


def summary_lines(study: Study) -> list[str]:
    """What the console prints after the selection: per family, the choice, its guarantee and the counts."""
    metric = study.loaded.opt.objective.metric
    lines = []
    for family, fr in study.families.items():
        if fr.best is None:
            lines.append(f"{family}: no configuration met the constraints ({len(fr.candidates)} candidates)")
            continue
        sel = fr.selection
        values = ", ".join(f"{k}={v}" for k, v in fr.configs[fr.best].items())
        n = study.store.replications(family, fr.best)
        mean, low, high = mean_ci(study.store.matrix(family, [fr.best], 0, n, metric)[0])
        lines.append(f"{family}: best {values}; {metric} {mean:,.6g} (90% CI {low:,.6g} .. {high:,.6g}, "
                     f"{n} replications, as in best.csv)")  # fmt: skip
        found = f" (the best of {len(fr.configs)} a search simulated)" if fr.searched else ""
        lines.append(f"  {len(fr.candidates)} candidates{found}, {fr.over_budget} off the budget skipped, "
                     f"{len(fr.candidates) - len(fr.eligible)} outside the constraints, {sel.screened_out} screened "
                     f"out, {sel.eliminated} eliminated by KN; {sel.total_replications} replications")  # fmt: skip
        lines.append(f"  {sel.guarantee()}")
    return lines
