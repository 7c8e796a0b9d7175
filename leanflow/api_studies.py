"""The Python API for studies, as ``leanflow optimise`` and ``leanflow forecast`` do (the CLI calls these and
only adds printing):

    import leanflow as lf
    o = lf.optimise("experiments/best_vs_best.yaml", "results/best_vs_best")
    o.best                 # each family's selected design, its objective and 90% CI
    o.verdict.verdict.table  # best against best, on fresh seeds
    f = lf.forecast("maven.yaml", "2017-10-01", "2018-01-01", pipeline="open.csv")
    f.totals               # P10/P50/P90 and mean of won revenue and deals at the end, per plan
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leanflow import api_checks as checks
from leanflow.api import PathArg, Results, loaded_scenario, replication_count
from leanflow.api import run as run_scenario
from leanflow.errors import LeanflowError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from leanflow.experiment.forecast import Forecast as ForecastTables
    from leanflow.scenario.pipeline import OpenDeals
    from leanflow.scenario.schema import Scenario


@dataclass
class OptimiseResults:
    """An optimisation study: ``best`` (one row per family: the selected design, its objective with a 90% CI),
    ``frontier`` (the Pareto-optimal designs), the best-against-best ``verdict`` (None for a single family),
    the win map (None without uncertainties) and ``lines``, the summary the CLI prints."""

    directory: Path
    best: pd.DataFrame
    frontier: pd.DataFrame
    best_scenario: Path
    verdict: Results | None
    winmap: pd.DataFrame | None
    lines: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<OptimiseResults {self.directory}: {len(self.best)} families, best in {self.best_scenario.name}>"


def optimise(path: PathArg, output: PathArg, jobs: int | None = None, scheduler: str | None = None,
             force: bool = False, progress: bool = True,
             say: Callable[[str], None] | None = None) -> OptimiseResults:  # fmt: skip
    """Select each family's best design at the budget (indifference-zone guarantee), compare the best designs on
    fresh seeds and, with uncertainties, map where each wins. Resumable: the same call continues an interrupted
    study in ``output``; ``force`` replaces a different study there. ``say`` hears each summary line as it is
    known; the numbers depend on the study file only, never on ``jobs`` or the executor."""
    from leanflow.experiment.executor import show_progress
    from leanflow.experiment.optimise import optimise as run_optimise
    from leanflow.experiment.optimise_outputs import summary_lines, write_outputs
    from leanflow.experiment.winmap import write_winmap
    from leanflow.files import check_output
    from leanflow.scenario import load_scenario
    from leanflow.scenario.optimise_loader import load_optimisation

    checks.path(path, "path")
    checks.path(output, "output")
    checks.jobs(jobs)
    tell = say or (lambda _line: None)
    loaded = load_optimisation(path)
    target = check_output(Path(output))
    lines: list[str] = []

    def note(line: str) -> None:
        lines.append(line)
        tell(line)

    with show_progress(progress):
        study = run_optimise(loaded, target, jobs, scheduler, force)
        paths = write_outputs(study)
        for line in summary_lines(study):
            note(line)
        verdict = None
        if len(load_scenario(paths["best.yaml"]).plans) > 1:
            verdict = run_scenario(paths["best.yaml"], jobs=jobs, progress=progress)
            verdict.save(target / "verdict")
            if loaded.opt.uncertainties:
                for line in write_winmap(study, jobs, scheduler):
                    note(line)
    winmap = pd.read_parquet(target / "winmap.parquet") if (target / "winmap.parquet").is_file() else None
    return OptimiseResults(target, pd.read_csv(paths["best.csv"]), pd.read_csv(paths["frontier.csv"]),
                           paths["best.yaml"], verdict, winmap, lines)  # fmt: skip


@dataclass
class ForecastResults:
    """A forecast: ``table`` (one row per plan x week x quantile of cumulative won revenue and deals),
    ``totals`` (per plan at ``until``: P10/P50/P90, mean and P(target)), ``chart()`` (the fan chart) and
    ``save(dir)`` (forecast.csv, .json, .png and .html); ``details`` has every replication's path."""

    details: ForecastTables

    @property
    def table(self) -> pd.DataFrame:
        return self.details.table()

    @property
    def totals(self) -> dict[str, Any]:
        return self.details.summary()["plans"]

    def headline(self, plan: str) -> str:
        """The forecast of one plan in a sentence, as the report's first line."""
        from leanflow.report.forecast_report import headline
        from leanflow.scenario.paths import did_you_mean

        if plan not in self.details.plans:
            raise LeanflowError(f"no plan '{plan}' in this forecast{did_you_mean(plan, list(self.details.plans))}; "
                                f"plans: {', '.join(self.details.plans)}")  # fmt: skip
        return headline(self.details, plan)

    def __repr__(self) -> str:
        d = self.details
        return f"<ForecastResults {d.scenario}: {', '.join(d.plans)}, {d.start} to {d.until}, {d.n} replications>"

    def chart(self) -> Figure:
        """The fan chart: cumulative won revenue by week, P10..P90 band and P50, per plan."""
        from leanflow.report.forecast_report import fan_chart

        return fan_chart(self.details)

    def save(self, directory: PathArg) -> dict[str, Path]:
        """Write forecast.csv, forecast.json, forecast.png and forecast.html (checked before anything is written)."""
        from leanflow.files import check_output
        from leanflow.report.forecast_report import write_forecast

        return write_forecast(self.details, check_output(Path(directory)))


def forecast(scenario: Scenario | PathArg | dict, start: str | date, until: str | date,
             pipeline: PathArg | OpenDeals | None = None, target: float | None = None, replications: int = 200,
             plans: Sequence[str] | None = None, old: str | None = None, seed: int | None = None,
             jobs: int | None = None, set: Sequence[str] | None = None,
             progress: bool = True) -> ForecastResults:  # fmt: skip
    """Forecast won revenue and deals from ``start`` to ``until`` (dates or YYYY-MM-DD) for each plan, from the
    open deals in ``pipeline`` (a CSV, or deals already read; None: the scenario's own ``initial_pipeline``).
    ``target``: the won revenue whose probability of being reached by ``until`` is reported; ``old`` (restart |
    stale): what becomes of deals older than the model's paths."""
    from leanflow.experiment.executor import show_progress
    from leanflow.experiment.forecast import forecast as run_forecast
    from leanflow.scenario.pipeline import OpenDeals, read_pipeline

    first, last = checks.day(start, "start"), checks.day(until, "until")
    checks.jobs(jobs)
    if pipeline is not None and not isinstance(pipeline, OpenDeals):
        checks.path(pipeline, "pipeline")
    sc, _ = loaded_scenario(scenario, set, seed)
    deals = pipeline if isinstance(pipeline, OpenDeals) or pipeline is None else read_pipeline(Path(pipeline), sc)
    with show_progress(progress):
        fc = run_forecast(sc, deals, first, last, replication_count(replications, 200), None, plans, jobs, target, old)
    return ForecastResults(fc)
