"""Best against best: each family's best configuration at the budget, selected with a guarantee.

Per family: the configurations within the budget (all of them, or the best
found by a seeded search when there are too many), a first stage of ``n0``
replications each on common random numbers, the constraints checked on those
first-stage means, then screening plus KN (``selection.py``) adding
replications only to the survivors, in parallel batches. The selected
configurations then meet on fresh seeds in an ordinary run (``best.yaml``).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leanflow.errors import LeanflowError
from leanflow.experiment.candidates import CandidateShared, CandidateStore, CandidateTask, run_candidate
from leanflow.experiment.executor import run_points, shared_pool
from leanflow.experiment.selection import Selection, select_best
from leanflow.scenario.configurations import apply, feasible, space_size, spend
from leanflow.scenario.optimise_loader import LoadedOptimisation
from leanflow.scenario.paths import scenario_data


@dataclass
class FamilyResult:
    """One family's search and selection."""

    family: str
    configs: list[dict[str, Any]]  # configurations simulated (decision path -> value), by id
    candidates: list[int]  # the ids taken into selection: all feasible ones, or the best a search found
    over_budget: int  # combinations (or search proposals) skipped for breaking the budget
    searched: bool  # True when a search chose the candidates (too many to enumerate)
    eligible: list[int]  # candidates meeting the constraints on first-stage means
    selection: Selection | None  # indices into ``eligible``
    cost: list[float | None]  # yearly cost of each candidate
    heads: list[int]

    @property
    def best(self) -> int | None:
        """The selected configuration's id."""
        return None if self.selection is None else self.eligible[self.selection.best]


@dataclass
class Study:
    """An optimisation's results."""

    loaded: LoadedOptimisation
    outputs: tuple[str, ...]
    store: CandidateStore
    families: dict[str, FamilyResult] = field(default_factory=dict)
    resumed: int = 0  # replications found on disk at the start

    @property
    def sign(self) -> float:
        return 1.0 if self.loaded.opt.objective.goal == "maximise" else -1.0


class Evaluator:
    """Simulates what the store lacks, on all cores or a Dask cluster, and answers from the store."""

    def __init__(self, study: Study, jobs: int | None, scheduler: str | None) -> None:
        self.study, self.jobs, self.scheduler = study, jobs, scheduler
        opt, lo = study.loaded.opt, study.loaded
        base = scenario_data(lo.base_data, dict(opt.overrides))
        base["seed"] = lo.seed
        self.shared = CandidateShared(base, study.outputs)

    def ensure(self, family: str, configs: list[tuple[int, dict]], start: int, count: int, label: str) -> None:
        """Simulate replications start..start+count-1 of these configurations where not done yet."""
        store = self.study.store
        tasks = []
        for cid, values in configs:
            missing = store.missing(family, cid, start, count)
            if missing:
                items = tuple(values.items())
                tasks.append(CandidateTask(family, cid, items, missing[0], missing[-1] - missing[0] + 1))
        if tasks:
            run_points(run_candidate, tasks, self.shared, self.jobs, self.scheduler, store.add, label)


def optimise(
    loaded: LoadedOptimisation, directory: Path, jobs: int | None = None, scheduler: str | None = None,
    force: bool = False,
) -> Study:  # fmt: skip
    """Select each family's best configuration; resumable from ``directory``."""
    opt = loaded.opt
    outputs = tuple(dict.fromkeys([opt.objective.metric, *(c.metric for c in opt.constraints), "cycle_p85"]))
    study = Study(loaded, outputs, CandidateStore(directory, outputs))
    study.resumed = study.store.open(loaded.sha256, force, loaded.file)
    evaluator = Evaluator(study, jobs, scheduler)
    with nullcontext() if scheduler else shared_pool(evaluator.shared, jobs):
        for family in opt.families:
            study.families[family] = _family(study, evaluator, family)
    return study


def _family(study: Study, evaluator: Evaluator, family: str) -> FamilyResult:
    opt = study.loaded.opt
    plan = study.loaded.base_data["plans"][family]
    choices = opt.families[family]
    s = opt.selection
    if space_size(choices) <= opt.search.enumerate_up_to:
        configs, over_budget = feasible(plan, choices, opt.budget)
        candidates, searched = list(range(len(configs))), False
    else:
        from leanflow.experiment.search import search

        configs, candidates, over_budget = search(study, evaluator, family)
        searched = True
    if not configs:
        raise LeanflowError(f"family {family}: no configuration meets the budget")
    spends = [spend(apply(plan, c)) for c in configs]
    evaluator.ensure(family, [(c, configs[c]) for c in candidates], 0, s.first_stage, f"{family}: first stage")
    eligible = _eligible(study, family, candidates)
    result = FamilyResult(family, configs, candidates, over_budget, searched, eligible, None,
                          [x.cost for x in spends], [x.heads for x in spends])  # fmt: skip
    if not eligible:
        return result
    metric = opt.objective.metric

    def sample(idx: np.ndarray, start: int, count: int) -> np.ndarray:
        chosen = [eligible[i] for i in idx]
        evaluator.ensure(family, [(c, configs[c]) for c in chosen], start, count, f"{family}: selection")
        return study.sign * study.store.matrix(family, chosen, start, count, metric)

    result.selection = select_best(
        sample, len(eligible), alpha=1.0 - s.confidence, delta=s.indifference, n0=s.first_stage,
        max_replications=s.max_replications, batch=s.batch,
    )  # fmt: skip
    result.selection.means *= study.sign
    return result


def _eligible(study: Study, family: str, configs) -> list[int]:
    """Configurations whose first-stage means meet every constraint."""
    opt, store = study.loaded.opt, study.store
    n0 = opt.selection.first_stage
    keep = []
    for c in configs:
        ok = True
        for con in opt.constraints:
            mean = float(np.nanmean(store.matrix(family, [c], 0, n0, con.metric)))
            if (con.max is not None and not mean <= con.max) or (con.min is not None and not mean >= con.min):
                ok = False
                break
        if ok:
            keep.append(c)
    return keep
