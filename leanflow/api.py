"""The Python API: load a scenario, run or compare it, and read results back, as ``leanflow run`` and
``leanflow compare`` do (the CLI calls these functions and only adds printing).

    import leanflow as lf
    r = lf.run("scenarios/default.yaml", replications=10)
    r.verdict.table      # the comparison of every plan with the first, as a DataFrame
    r.save("results/default"); r.to_html("default.html"); r.chart("funnel")
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leanflow import api_checks as checks
from leanflow.errors import LeanflowError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from leanflow.experiment.runner import RunResult
    from leanflow.metrics.verdict import Verdict as VerdictTables
    from leanflow.report.experiment_figures import ExperimentFigure
    from leanflow.scenario.schema import Scenario

PathArg = str | PathLike[str]
MAX_REPLICATIONS = 200


@dataclass(frozen=True)
class Verdict:
    """The comparison of every plan with the first: ``table`` (one row per plan x metric: difference, its
    confidence interval and p) and the sentences printed under it (``headline``, ``why``, ``notes``)."""

    table: pd.DataFrame
    headlines: list[str]
    why: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: VerdictTables | None = None  # every table behind it (velocity, time split, efficiency, costs)

    @property
    def headline(self) -> str:
        """The headline of each plan against the baseline, one line each."""
        return "\n".join(self.headlines)

    def __repr__(self) -> str:
        return f"Verdict({self.headline!r})"


def load_scenario(source: PathArg | Mapping[str, Any], set: Sequence[str] | None = None) -> Scenario:
    """A validated scenario from a YAML file or a dict, with ``set`` overrides ("path=value", as ``--set``).

    Raises:
        ScenarioError: every problem found, each located (file, line, key).
    """
    from leanflow.scenario.loader import load_scenario as from_file
    from leanflow.scenario.loader import load_scenario_text

    checks.scenario_source(source, "source")
    sets = checks.overrides(set)
    if isinstance(source, Mapping):
        return load_scenario_text(json.dumps(dict(source)), "<dict>", sets)
    return from_file(source, sets)


class Results:
    """A run's tables (``summary``: one row per plan x replication; ``deals``; ``weekly``), its ``verdict``
    (None for one plan), and ways to keep them: ``save``, ``to_html`` and ``chart``."""

    def __init__(self, run: RunResult, labels: dict[str, tuple[Scenario, str]], extra: dict[str, Any],
                 verdict: Verdict | None, directory: Path | None = None) -> None:  # fmt: skip
        self._run, self._labels, self._extra, self.verdict = run, labels, extra, verdict
        self._directory = directory  # where the tables are saved (None: not yet)

    @property
    def scenario(self) -> Scenario:
        return self._run.scenario

    @property
    def plans(self) -> list[str]:
        """The plans in order; the first is the baseline of the verdict."""
        return list(self._run.plans)

    @property
    def summary(self) -> pd.DataFrame:
        return self._run.summary

    @property
    def deals(self) -> pd.DataFrame:
        return self._run.deals

    @property
    def weekly(self) -> pd.DataFrame:
        return self._run.weekly

    @property
    def replications(self) -> int:
        return self._run.replications

    def __repr__(self) -> str:
        return f"Results({self.scenario.name!r}: {len(self.plans)} plan(s), {self.replications} replications)"

    @property
    def warnings(self) -> list[str]:
        """What the reader must know before trusting the numbers: plans that closed no deal, a short warm-up."""
        from leanflow.metrics.verdict import no_deals_notes
        from leanflow.metrics.warmup import warmup_check, warmup_warnings

        details = self.verdict.details if self.verdict is not None else None
        check = details.warmup if details is not None else warmup_check(self.weekly, self._labels)
        return [*no_deals_notes(self.summary), *warmup_warnings(check)]

    def save(self, directory: PathArg, command: Sequence[str] | None = None) -> Path:
        """Write the results directory ``leanflow report`` reads (checked before anything is written);
        ``command`` is what the manifest records as having made it (default: this API)."""
        from leanflow.experiment.store import API_COMMAND, write_results, write_verdict
        from leanflow.files import check_output

        target = check_output(Path(directory))
        write_results(self._run, target, list(command) if command is not None else [API_COMMAND], self._extra)
        if self.verdict is not None and self.verdict.details is not None:
            write_verdict(self.verdict.details, target)
        elif self._directory is not None:
            for name in ("comparison.csv", "velocity.csv", "time_split.csv", "efficiency.csv", "verdict.json"):
                if (self._directory / name).is_file() and self._directory != target:
                    shutil.copyfile(self._directory / name, target / name)
        self._directory = target
        return target

    def to_html(self, path: PathArg) -> Path:
        """Write the self-contained HTML report of these results to ``path``."""
        from leanflow.files import check_output
        from leanflow.report.html import write_report

        target = check_output(Path(path), directory=False)
        return write_report(self._saved(), target)

    def chart(self, name: str) -> Figure:
        """One of the report's charts as a matplotlib Figure (``chart_names()`` lists them)."""
        from leanflow.report.charts import ALL_CHARTS
        from leanflow.report.results import load_results as read

        if name not in ALL_CHARTS:
            raise LeanflowError(f"no chart '{name}': the charts are {', '.join(ALL_CHARTS)}")
        return ALL_CHARTS[name][0](read(self._directory) if self._directory is not None else self._view())

    def _view(self):
        """The tables as the report's charts read them, from memory (nothing written)."""
        from leanflow.report.results import Results as View

        d = self.verdict.details if self.verdict is not None else None
        tables = (None,) * 4 if d is None else (d.comparison, d.velocity, d.time_split,
                                                d.efficiency.merge(d.costs, on="plan"))  # fmt: skip
        return View(Path("."), {}, self.scenario, self.plans, self.summary, self.deals, self.weekly, *tables)

    @staticmethod
    def chart_names() -> list[str]:
        from leanflow.report.charts import ALL_CHARTS

        return list(ALL_CHARTS)

    def _saved(self) -> Path:
        """The directory the tables are saved in: a private temporary one (removed at exit) if not saved yet."""
        if self._directory is None:
            scratch = Path(tempfile.mkdtemp(prefix="leanflow-"))
            weakref.finalize(self, shutil.rmtree, scratch, True)
            self.save(scratch / "results")
        return self._directory


def run(scenario: Scenario | PathArg | Mapping[str, Any], replications: int | None = None, seed: int | None = None,
        jobs: int | None = None, set: Sequence[str] | None = None, progress: bool = True,
        precision: str | None = None, max_replications: int = MAX_REPLICATIONS,
        say: Callable[[str], None] | None = None) -> Results:  # fmt: skip
    """Run every plan of a scenario (a file, a dict or a loaded ``Scenario``) on common random numbers.

    ``replications`` defaults to the scenario's, ``seed`` to the scenario's, ``jobs`` to all cores; ``set``:
    overrides as ``--set`` takes them (``["horizon_days=400", "plans.flow_optimised.policy.gate_threshold=0.5"]``,
    or one string); ``progress``: a bar on a terminal or in Jupyter, a line every 30 s in a log, nothing when
    False or in CI. ``precision`` ("metric=half-width") adds blocks of replications until every plan's 90%
    interval is that narrow (at most ``max_replications``; ``say`` hears whether it was met). The numbers depend
    on the scenario and seed only, never on ``jobs``.

    Raises:
        LeanflowError: one line naming what is wrong (a ``ScenarioError`` locates every problem of a scenario).
    """
    from leanflow.experiment.executor import show_progress
    from leanflow.experiment.runner import run_scenario

    checks.jobs(jobs)
    sc, extra = loaded_scenario(scenario, set, seed)
    n = replication_count(replications, sc.replications)
    check_precision(precision, sc)
    with show_progress(progress):
        result = replicate(lambda first, k: run_scenario(sc, k, jobs, first), n, precision, max_replications, say)
    labels = {p: (sc, p) for p in sc.plans}
    return Results(result, labels, extra, verdict_of(result, labels))


def compare(a: Scenario | PathArg | Mapping[str, Any], b: Scenario | PathArg | Mapping[str, Any],
            replications: int | None = None, seed: int | None = None, jobs: int | None = None,
            set: Sequence[str] | None = None, progress: bool = True, precision: str | None = None,
            max_replications: int = MAX_REPLICATIONS, names: tuple[str, str] = ("A", "B"),
            say: Callable[[str], None] | None = None) -> Results:  # fmt: skip
    """Two scenarios on the same seed (the first's), paired by replication; plans are named NAME:PLAN, and the
    first scenario's first plan is the baseline."""
    from leanflow.experiment.executor import show_progress
    from leanflow.experiment.runner import run_scenario

    names = checks.names(names)
    checks.jobs(jobs)
    first, extra_a = loaded_scenario(a, set, seed)
    second, extra_b = loaded_scenario(b, [*checks.overrides(set), f"seed={first.seed}"], None)
    n = replication_count(replications, first.replications)
    check_precision(precision, first, second)

    def block(start: int, k: int) -> RunResult:
        ra = run_scenario(first, k, jobs, start).relabelled(names[0])
        rb = run_scenario(second, k, jobs, start).relabelled(names[1])
        return merge(ra, rb)

    with show_progress(progress):
        result = replicate(block, n, precision, max_replications, say)
    labels = {f"{names[0]}:{p}": (first, p) for p in first.plans} | {f"{names[1]}:{p}": (second, p)
                                                                      for p in second.plans}  # fmt: skip
    pairs = same_named(names, list(first.plans), list(second.plans))
    extra = {"overrides": extra_a["overrides"], "scenario_texts": extra_a["scenario_texts"] + extra_b["scenario_texts"],
             "second_scenario": json.loads(second.model_dump_json(by_alias=True))}  # fmt: skip
    files = [x["scenario_file"] for x in (extra_a, extra_b) if "scenario_file" in x]
    if files:
        extra["scenario_files"] = files
    return Results(result, labels, extra, verdict_of(result, labels, pairs))


def same_named(names: tuple[str, str], a: list[str], b: list[str]) -> list[tuple[str, str]] | None:
    """The pairs of a comparison of two files: each plan of the first against the plan of the same name in the
    second, when they share any (A:x against B:x); None, every plan against the first, when they share none."""
    shared = [p for p in a if p in b]
    return [(f"{names[0]}:{p}", f"{names[1]}:{p}") for p in shared] or None


def load_results(directory: PathArg) -> Results:
    """A results directory written by ``leanflow run``/``compare`` (or ``Results.save``), every file checked.

    Raises:
        ResultsError: naming the first file that is missing, damaged or not what leanflow writes.
    """
    from leanflow.experiment.runner import RunResult
    from leanflow.read_checks import read_json
    from leanflow.report.results import load_results as read

    res = read(directory)
    run_result = RunResult(res.scenario, res.summary, res.deals, res.weekly, res.plans)
    verdict = None
    if res.comparison is not None:
        said = read_json(res.directory / "verdict.json") if (res.directory / "verdict.json").is_file() else {}
        verdict = Verdict(res.comparison, list(said.get("headlines") or []), list(said.get("why") or []),
                          list(said.get("notes") or []))  # fmt: skip
    labels = {p: (res.scenario, p) for p in res.plans}
    extra = {k: res.manifest[k] for k in ("scenario_texts", "overrides") if k in res.manifest}
    return Results(run_result, labels, extra, verdict, res.directory)


@dataclass(frozen=True)
class SweepResults:
    """A sweep's results directory, read: ``results`` (tidy: point, factors, plan, replication, outputs),
    ``design`` (one row per point) and ``summary`` (mean, sd and 90% CI half-width per point x plan x output);
    ``analyze()`` and, for the shipped experiments, ``figure()`` and ``figure_tables()``."""

    directory: Path
    design: pd.DataFrame
    results: pd.DataFrame
    summary: pd.DataFrame
    points: int
    resumed: int  # points already done before this call (a resumed sweep); 0 when read with load_sweep_results

    def analyze(self) -> list[str]:
        """What ``leanflow analyze`` prints: the sensitivity ranking and main effects (figures written beside)."""
        from leanflow.report.sweep_analysis import analyze

        return list(analyze(self.directory))

    def experiment_figure(self, name: str | None = None, second: PathArg | None = None) -> ExperimentFigure:
        """The experiment figure ``name`` (one of ``figure_names()``; default the one the sweep file names) and its
        tables, as ``leanflow analyze DIR --figure NAME`` draws them: ``.figure``, ``.markdown`` and ``.save(dir)``
        (``<name>.png`` and ``<name>.md``). ``second``: the second sweep's results directory, for the figures that
        read one (fairness: fairness_learning; staffing_mix: gate_threshold), by default beside this one.

        Raises:
            LeanflowError: an unknown name, a sweep without what the figure needs, a second sweep missing.
        """
        from leanflow.report.experiment_figures import SweepInput, draw, sweep_of

        return draw(name, SweepInput(self.directory, sweep_of(self.directory), self.summary, self.results), second)

    def figure(self, name: str | None = None, second: PathArg | None = None) -> Figure:
        """The experiment figure as a matplotlib Figure (``experiment_figure(name, second).figure``)."""
        return self.experiment_figure(name, second).figure

    def figure_tables(self, name: str | None = None, second: PathArg | None = None) -> str:
        """The markdown tables and lines printed with the experiment figure (what ``<name>.md`` holds)."""
        return self.experiment_figure(name, second).markdown

    @staticmethod
    def figure_names() -> list[str]:
        """The built-in experiment figures, which a sweep file's ``figure:`` may name."""
        from leanflow.scenario.sweep_schema import FIGURES

        return list(FIGURES)


def sweep(path: PathArg, output: PathArg, jobs: int | None = None, scheduler: str | None = None,
          force: bool = False, progress: bool = True) -> SweepResults:  # fmt: skip
    """Run (or resume) the sweep file ``path`` into the directory ``output``, on ``jobs`` processes (default: all
    cores) or the Dask cluster at ``scheduler``; finished points are kept, so calling it again resumes."""
    from leanflow.experiment.executor import show_progress
    from leanflow.experiment.sweep import run_sweep
    from leanflow.files import check_output
    from leanflow.scenario.sweep_loader import load_sweep

    checks.path(path, "path")
    checks.path(output, "output")
    checks.jobs(jobs)
    loaded = load_sweep(path)
    target = check_output(Path(output))
    with show_progress(progress):
        outcome = run_sweep(loaded, target, jobs, scheduler, force, ["leanflow.api.sweep", str(path)])
    read = load_sweep_results(target)
    return SweepResults(read.directory, read.design, read.results, read.summary, outcome.points, outcome.resumed)


def load_sweep_results(directory: PathArg) -> SweepResults:
    """A sweep results directory written by ``leanflow sweep`` or ``sweep``, every file checked.

    Raises:
        ResultsError: naming the first file that is missing, damaged or not what leanflow writes.
    """
    from leanflow.read_checks import read_table
    from leanflow.report.sweep_data import load_sweep_data

    data = load_sweep_data(directory)
    summary_path = data.directory / "summary.csv"
    summary = read_table(summary_path, {"point": "number", "plan": "text"}) if summary_path.is_file() else None
    return SweepResults(data.directory, data.design, data.results,
                        summary if summary is not None else pd.DataFrame(), len(data.design), 0)  # fmt: skip


def replicate(run_block: Callable[[int, int], RunResult], n: int, precision: str | None,
              maximum: int = MAX_REPLICATIONS, say: Callable[[str], None] | None = None) -> RunResult:  # fmt: skip
    """Run ``n`` replications, or with ``precision`` keep adding blocks of ``n`` until the target is met."""
    if precision is None:
        return run_block(0, n)
    from leanflow.experiment.precision import PrecisionTarget, half_widths, run_to_precision

    target = PrecisionTarget.parse(precision)
    result, ok = run_to_precision(run_block, target, n, n, max(maximum, n))
    if say is not None:
        widths = ", ".join(f"{k} {v:.4g}" for k, v in half_widths(result, target.metric, 0.90).items())
        state = "met" if ok else f"NOT met (stopped at --max-replications {maximum})"
        say(f"precision target {target.metric} <= {target.half_width:g}: {state} with {result.replications} "
            f"replications (90% CI half-widths: {widths})")  # fmt: skip
    return result


def merge(a: RunResult, b: RunResult) -> RunResult:
    """Two results side by side as one (plans of the first, then of the second)."""
    from leanflow.experiment.runner import RunResult

    frames = []
    for x, y in ((a.summary, b.summary), (a.deals, b.deals), (a.weekly, b.weekly)):
        cats = [*x["plan"].cat.categories, *y["plan"].cat.categories]
        both = pd.concat([x, y], ignore_index=True)
        both["plan"] = pd.Categorical(both["plan"].astype(str), categories=cats)
        frames.append(both)
    return RunResult(a.scenario, *frames, [*a.plans, *b.plans])


def verdict_of(result: RunResult, labels: dict[str, tuple[Scenario, str]],
               pairs: list[tuple[str, str]] | None = None) -> Verdict | None:  # fmt: skip
    """The verdict of a run with two plans or more (None for one): each of ``pairs`` (baseline, plan), or every
    plan against the first."""
    if len(result.plans) < 2:
        return None
    from leanflow.metrics.verdict import build_verdict, paired_verdict

    common = {"seed": result.scenario.seed, "weekly": result.weekly}
    if pairs:
        v = paired_verdict(result.summary, result.deals, result.plans, pairs, labels, **common)
    else:
        v = build_verdict(result.summary, result.deals, result.plans, labels, **common)
    return Verdict(v.comparison, v.headlines, v.why, v.notes, v)


def loaded_scenario(scenario: Scenario | PathArg | Mapping[str, Any], sets: Sequence[str] | None,
            seed: int | None) -> tuple[Scenario, dict[str, Any]]:  # fmt: skip
    """The scenario (with ``sets`` and ``seed`` applied) and what the manifest records of where it came from."""
    from leanflow.scenario.schema import Scenario
    from leanflow.scenario.yaml_source import read_text

    checks.scenario_source(scenario)
    overrides = [*checks.overrides(sets), *([f"seed={seed}"] if seed is not None else [])]
    if isinstance(scenario, Scenario):
        return _overridden(scenario, overrides), {"overrides": overrides, "scenario_texts": []}
    sc = load_scenario(scenario, overrides)
    text = [] if isinstance(scenario, Mapping) else [read_text(scenario)]  # guarded: loaded just above
    extra: dict[str, Any] = {"overrides": overrides, "scenario_texts": text}
    if not isinstance(scenario, Mapping):
        extra["scenario_file"] = str(scenario)
    return sc, extra


def check_precision(precision: str | None, *scenarios: Scenario) -> None:
    """A --precision target whose form or metric is wrong fails before anything is simulated."""
    if precision is not None:
        from leanflow.experiment.precision import PrecisionTarget

        PrecisionTarget.parse(precision).check(*scenarios)


def _overridden(sc: Scenario, overrides: list[str]) -> Scenario:
    """A loaded scenario with overrides applied, validated again (its initial pipeline, already read, kept)."""
    if not overrides:
        return sc
    from leanflow.scenario.loader import load_scenario_text

    data = json.loads(sc.model_dump_json(by_alias=True))
    pipeline = data.pop("initial_pipeline", None)
    out = load_scenario_text(json.dumps(data), f"<scenario {sc.name}>", overrides)
    return out if pipeline is None else out.model_copy(update={"initial_pipeline": sc.initial_pipeline})


def replication_count(replications: int | None, default: int) -> int:
    """The number of replications, at least 1."""
    from leanflow.scenario.schema import MAX_REPLICATIONS as most

    n = default if replications is None else replications
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= most:
        raise LeanflowError(f"replications must be a whole number from 1 to {most:,}, got {replications!r}")
    return n
