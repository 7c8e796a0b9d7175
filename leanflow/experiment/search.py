"""A seeded search for families too large to enumerate: optuna's TPE sampler, in batches of trials.

Each trial proposes one value per decision path; a proposal over the budget is
told to optuna as pruned and costs nothing; a new one is simulated for
``search.replications`` replications (on the same seeds as everyone: common
random numbers), a batch of trials at a time so all cores are busy. The batch
size is fixed, not the number of workers, so the search is the same for any
``-j``. The best ``search.keep`` configurations found go on to selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from leanflow.errors import LeanflowError
from leanflow.scenario.configurations import apply, levels, spend, within

if TYPE_CHECKING:
    from leanflow.experiment.optimise import Evaluator, Study

BATCH = 8  # trials asked for at a time


def search(study: Study, evaluator: Evaluator, family: str) -> tuple[list[dict[str, Any]], list[int], int]:
    """Every configuration the search simulated (by id), the ids of the best ``keep``, and how many proposals
    broke the budget."""
    try:
        import optuna
    except ImportError:
        raise LeanflowError(f"family {family} has too many configurations to enumerate; searching them needs "
                            "optuna: pip install 'leanflow[optimise]'") from None  # fmt: skip
    opt = study.loaded.opt
    settings, plan, choices = opt.search, study.loaded.base_data["plans"][family], opt.families[family]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=settings.seed)
    direction = "maximize" if opt.objective.goal == "maximise" else "minimize"
    tpe = optuna.create_study(direction=direction, sampler=sampler)
    configs: list[dict[str, Any]] = []
    ids: dict[tuple, int] = {}
    over_budget = 0
    asked = 0
    while asked < settings.trials:
        trials = [tpe.ask() for _ in range(min(BATCH, settings.trials - asked))]
        asked += len(trials)
        proposals = [{p: t.suggest_categorical(p, levels(c)) for p, c in choices.items()} for t in trials]
        fresh = []
        for config in proposals:
            key = tuple(config.values())
            if key not in ids and within(spend(apply(plan, config)), opt.budget):
                ids[key] = len(configs)
                configs.append(config)
                fresh.append((ids[key], config))
        evaluator.ensure(family, fresh, 0, settings.replications, f"{family}: search")
        for trial, config in zip(trials, proposals, strict=True):
            key = tuple(config.values())
            if key not in ids:
                over_budget += 1
                tpe.tell(trial, state=optuna.trial.TrialState.PRUNED)
                continue
            values = study.store.matrix(family, [ids[key]], 0, settings.replications, opt.objective.metric)
            tpe.tell(trial, float(np.mean(values)))
    if not configs:
        return [], [], over_budget
    means = study.store.matrix(family, range(len(configs)), 0, settings.replications, opt.objective.metric)
    order = np.argsort(-study.sign * means.mean(axis=1), kind="stable")[: settings.keep]
    return configs, sorted(int(i) for i in order), over_budget
