"""The command line: validate, schema, init and run. Exit codes: 0 ok, 2 invalid input, 1 failure."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leanflow import __version__
from leanflow.errors import LeanflowError, ScenarioError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="leanflow: simulate a B2B sales funnel and compare staffing plans on common random numbers.",
    pretty_exceptions_enable=False,
)
# piped output gets a fixed width wide enough for the tables (rich assumes 80 columns otherwise);
# lines of text are never wrapped, so a message stays whole whatever the length of its paths
out = Console(width=None if sys.stdout.isatty() else 140, soft_wrap=True)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140, soft_wrap=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value: dotted.path=value (repeatable)."),
]


def _shipped_scenarios() -> Path:
    """The shipped scenarios: inside the wheel, or beside the package in a checkout."""
    inside = Path(__file__).parent / "_scenarios"
    return inside if inside.is_dir() else Path(__file__).parent.parent / "scenarios"


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")]) -> None:
    """Check scenario, sweep or optimisation files; print every error as FILE:LINE: path.to.key: message."""
    from leanflow.scenario import load_scenario
    from leanflow.scenario.optimise_loader import load_optimisation
    from leanflow.scenario.sweep_loader import file_kind, load_sweep

    loaders = {"scenario": load_scenario, "sweep": load_sweep, "optimisation": load_optimisation}
    bad = 0
    for f in files:
        try:
            loaders[file_kind(f)](f)
        except ScenarioError as e:
            bad += 1
            for line in e.errors:
                print(line, file=sys.stderr)
            continue
        print(f"{f}: ok")
    if bad:
        raise typer.Exit(2)


@app.command()
def schema(
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the JSON Schema.")] = Path("schema"),
) -> None:
    """Write the JSON Schemas (draft-07) of scenario, sweep and optimisation files, for editors."""
    from leanflow.scenario import write_schema

    path = write_schema(output)
    out.print(f"wrote {path}", markup=False, highlight=False)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to put the starter scenario.")] = Path("."),
    name: Annotated[str, typer.Option(help="Shipped scenario to copy.")] = "default",
) -> None:
    """Copy a shipped starter scenario into DIRECTORY."""
    source = _shipped_scenarios() / f"{name}.yaml"
    if not source.is_file():
        names = sorted(p.stem for p in _shipped_scenarios().glob("*.yaml"))
        raise LeanflowError(f"no shipped scenario '{name}'; choose one of: {', '.join(names)}")
    target = directory / f"{name}.yaml"
    if target.exists():
        raise LeanflowError(f"{target} exists already; not overwriting it")
    from leanflow.files import atomic_write
    from leanflow.scenario.jsonschema import FILENAME, scenario_json_schema, schema_text

    directory.mkdir(parents=True, exist_ok=True)
    text = source.read_text().replace("../schema/", "")
    atomic_write(target, lambda p: p.write_text(text))
    schema = directory / FILENAME  # the copy's yaml-language-server line points here: editors then check it
    wanted = schema_text(scenario_json_schema())
    note = f" and {schema} (for editors)"
    if not schema.exists():
        atomic_write(schema, lambda p: p.write_text(wanted, encoding="utf-8"))
    elif schema.read_text(encoding="utf-8", errors="replace") != wanted:
        note = f"; {schema} is there already and differs: left as it is (leanflow schema -o DIR writes a fresh one)"
    else:
        note = ""
    out.print(f"wrote {target}{note}; edit it, then: leanflow run {target}", markup=False, highlight=False)


Replications = Annotated[int | None, typer.Option("-n", "--replications", min=1, max=10_000, help="Replications.")]
Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Master seed.")]
Jobs = Annotated[int | None, typer.Option("-j", "--jobs", min=1, help="Processes (default: all cores).")]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Results directory.")]
Precision = Annotated[
    str | None,
    typer.Option("--precision", help="metric=half_width: add replications until the 90% CIs are this narrow."),
]
MaxReplications = Annotated[int, typer.Option("--max-replications", min=1, help="Upper limit for --precision.")]
Report = Annotated[bool, typer.Option("--report", help="Also write the self-contained HTML report.")]
AllowUnstable = Annotated[bool, typer.Option("--allow-unstable", help="Run on when a role is overloaded (open deals "
                                             "grow without bound), up to a memory bound.")]  # fmt: skip


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    replications: Replications = None,
    seed: Seed = None,
    jobs: Jobs = None,
    overrides: SetOption = None,
    output: Output = None,
    precision: Precision = None,
    max_replications: MaxReplications = 200,
    report: Report = False,
    allow_unstable: AllowUnstable = False,
) -> None:
    """Run every staffing plan of a scenario; print per-plan tables and the verdict; write the results."""
    from leanflow.api import check_precision
    from leanflow.api import run as run_api
    from leanflow.files import check_output
    from leanflow.scenario import load_scenario

    sets = _with_seed(overrides, seed, allow_unstable)
    scenario = load_scenario(file, sets)  # a bad file, --set or --precision fails here, before anything else
    check_precision(precision, scenario)
    target = check_output(output or Path("results") / file.stem)
    n = replications or scenario.replications
    err.print(f"leanflow {__version__}: {scenario.name}: {len(scenario.plans)} plan(s), {n} replications")
    r = run_api(file, replications, None, jobs, sets, True, precision, max_replications, _say)
    _finish(r, target, report)


@app.command()
def compare(
    first: Annotated[Path, typer.Argument(help="Baseline scenario file (its first plan is the baseline).")],
    second: Annotated[Path, typer.Argument(help="Scenario file to compare with it.")],
    replications: Replications = None,
    seed: Seed = None,
    jobs: Jobs = None,
    overrides: SetOption = None,
    output: Output = None,
    precision: Precision = None,
    max_replications: MaxReplications = 200,
    report: Report = False,
    allow_unstable: AllowUnstable = False,
) -> None:
    """Compare two scenario files on the same seed, paired by replication (plans named FILE:PLAN)."""
    from leanflow.api import check_precision
    from leanflow.api import compare as compare_api
    from leanflow.files import check_output
    from leanflow.scenario import load_scenario

    sets = _with_seed(overrides, seed, allow_unstable)
    a = load_scenario(first, sets)
    b = load_scenario(second, [*sets, f"seed={a.seed}"])
    check_precision(precision, a, b)
    target = check_output(output or Path("results") / f"{first.stem}-vs-{second.stem}")
    names = (first.stem, second.stem) if first.stem != second.stem else ("A", "B")
    if a.market != b.market:
        err.print(f"warning: {first} and {second} describe different markets: the leads are not common, "
                  "so the comparison is not paired on the same leads", markup=False, highlight=False)  # fmt: skip
    elif a.process != b.process or a.horizon_days != b.horizon_days:
        err.print("warning: the files differ in process or horizon: leads are common, but their draws may not be",
                  markup=False, highlight=False)  # fmt: skip
    n = replications or a.replications
    err.print(f"leanflow {__version__}: {a.name} vs {b.name}: {n} replications, seed {a.seed}")
    r = compare_api(first, second, replications, None, jobs, sets, True, precision, max_replications, names, _say)
    _finish(r, target, report)


def _with_seed(overrides: list[str] | None, seed: int | None, allow_unstable: bool = False) -> list[str]:
    """The --set overrides, with --seed and --allow-unstable as overrides of their own."""
    sets = list(overrides or [])
    if seed is not None:
        sets.append(f"seed={seed}")
    if allow_unstable:
        sets.append("allow_unstable=true")
    return sets


def _say(line: str) -> None:
    """A line on stderr, as the user wrote it (no rich markup)."""
    err.print(line, markup=False, highlight=False)


def _show(r) -> None:
    """Print per-plan tables and the verdict, and warn on what the numbers need said."""
    from leanflow.metrics.catalog import currency
    from leanflow.report.console import print_plan_tables, print_verdict

    with currency(r.scenario.currency):
        print_plan_tables(r.summary, out)
        if r.verdict is not None and r.verdict.details is not None:
            print_verdict(r.verdict.details, out)
    for line in r.warnings:
        _say(f"warning: {line}")


def _line(text: str) -> None:
    """One plain line on stdout."""
    out.print(text, markup=False, highlight=False)


def _finish(r, target: Path, report: bool) -> None:
    """Print the tables and the verdict, then write the results (and the report)."""
    _show(r)
    r.save(target, sys.argv)
    out.print(f"results: {target}/", markup=False, highlight=False)
    if report:
        from leanflow.report.html import write_report

        out.print(f"report: {write_report(target)}", markup=False, highlight=False)


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="A results directory (from run or compare).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="HTML file (default DIR/report.html).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print it to PDF with headless Chromium.")] = False,
) -> None:
    """Write the single self-contained HTML report of a results directory."""
    from leanflow.report.html import print_pdf, write_report

    path = write_report(directory, output)
    out.print(f"report: {path}", markup=False, highlight=False)
    if pdf:
        out.print(f"pdf: {print_pdf(path)}", markup=False, highlight=False)


Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS",
                 help="Run on a dask.distributed cluster: tcp://HOST:PORT (or DASK_SCHEDULER_ADDRESS)."),
]  # fmt: skip


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep file (YAML).")],
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    output: Output = None,
    force: Annotated[bool, typer.Option("--force", help="Replace results of a different sweep in -o.")] = False,
    analyze: Annotated[bool, typer.Option("--analyze", help="Analyse the results when done.")] = False,
) -> None:
    """Run a parameter sweep (resumable: re-run the same command to continue after an interruption)."""
    from leanflow.experiment.sweep import run_sweep
    from leanflow.files import check_output
    from leanflow.scenario.sweep_loader import load_sweep

    loaded = load_sweep(file)
    target = check_output(output or Path("results") / file.stem)
    err.print(f"leanflow {__version__}: sweep {loaded.sweep.name}: {len(loaded.plans)} plan(s) x "
              f"{loaded.sweep.replications} replications per point -> {target}",
              markup=False, highlight=False)  # fmt: skip
    outcome = run_sweep(loaded, target, jobs, scheduler, force, sys.argv)
    out.print(f"sweep: {outcome.points} points ({outcome.resumed} already done) in {outcome.seconds:.1f} s; "
              f"results: {target}/results.parquet", markup=False, highlight=False)  # fmt: skip
    if analyze:
        _analyze(target, after_sweep=True)


@app.command()
def optimise(
    file: Annotated[Path, typer.Argument(help="Optimisation file (YAML).")],
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    output: Output = None,
    force: Annotated[bool, typer.Option("--force", help="Replace results of a different study in -o.")] = False,
) -> None:
    """Select each family's best design at the budget (with a guarantee), then compare them on fresh seeds
    (resumable: re-run the same command to continue after an interruption)."""
    from leanflow.api_studies import optimise as optimise_api
    from leanflow.files import check_output
    from leanflow.scenario.optimise_loader import load_optimisation

    loaded = load_optimisation(file)
    target = check_output(output or Path("results") / file.stem)
    err.print(f"leanflow {__version__}: optimise {loaded.opt.name}: {len(loaded.opt.families)} families -> "
              f"{target}", markup=False, highlight=False)  # fmt: skip
    study = optimise_api(file, target, jobs, scheduler, force, say=_line)
    _line(f"best against best, on fresh seeds: {study.best_scenario}")
    if study.verdict is not None:
        _show(study.verdict)
        _line(f"results: {target / 'verdict'}/")


@app.command("analyze")
def analyze_command(
    directory: Annotated[Path, typer.Argument(help="A sweep results directory.")],
    figure: Annotated[
        str | None,
        typer.Option("--figure", help="Draw this experiment figure (default: the one the sweep file names, if any)."),
    ] = None,
    second: Annotated[
        Path | None,
        typer.Option("--with", help="The second sweep a figure reads (fairness: fairness_learning; staffing_mix: "
                     "gate_threshold); default beside DIR."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where the figure's NAME.png and NAME.md go (default: DIR).")
    ] = None,
) -> None:
    """Rank factors by sensitivity indices (Morris, Sobol) and plot each output against each factor; for a shipped
    experiment, also draw its figure and print its tables."""
    _analyze(directory, figure, second, output)


def _analyze(directory: Path, figure: str | None = None, second: Path | None = None,
             output: Path | None = None, after_sweep: bool = False) -> None:  # fmt: skip
    """The analysis, then the experiment figure the sweep file names (or ``figure``), checked before anything
    is written. Right after a sweep (``after_sweep``) a figure that cannot be drawn yet (its second sweep not
    run) is a note, not a failure: the sweep itself succeeded."""
    from leanflow.api import load_sweep_results
    from leanflow.files import check_output
    from leanflow.report.experiment_figures import check_name
    from leanflow.report.sweep_analysis import analyze
    from leanflow.report.sweep_data import load_sweep_data

    if figure is not None:
        check_name(figure)
    if output is not None:
        check_output(output)
    named = load_sweep_data(directory).sweep.figure  # not a finished sweep's directory: the analysis's one line
    made = None
    if named is not None or (figure, second, output) != (None, None, None):
        try:
            made = load_sweep_results(directory).experiment_figure(figure, second)  # a figure that cannot be drawn
        except LeanflowError as exc:
            if not after_sweep:
                raise
            _say(f"note: the {named} figure is not drawn: {exc}")
    for line in analyze(directory):  # stops before the analysis writes anything
        out.print(line, markup=False, highlight=False)
    if made is not None:
        png, md = made.save(output if output is not None else directory)
        out.print("", markup=False, highlight=False)
        for line in made.lines:
            out.print(line, markup=False, highlight=False, emoji=False)
        out.print(f"\nfigure: {png}\ntables: {md}", markup=False, highlight=False)


@app.command("import")
def import_command(
    export: Annotated[Path, typer.Argument(help="Opportunity export (CSV).")],
    mapping: Annotated[Path, typer.Option("--mapping", help="Mapping YAML, or shipped: maven, salesforce, hubspot.")],
    history: Annotated[list[Path] | None, typer.Option("--history", help="Stage-history CSV (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the table: .parquet or .csv.")] = None,
) -> None:
    """Read a CRM opportunity export into one canonical table; print what was kept, dropped and why."""
    from leanflow.crm.importer import run_import

    for line in run_import(export, mapping, history, output):
        out.print(line, markup=False, highlight=False)


@app.command("forecast")
def forecast_command(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    start: Annotated[str, typer.Option("--from", help="First day of the forecast (time 0): YYYY-MM-DD.")],
    until: Annotated[str, typer.Option("--until", help="Day the forecast ends (not included): YYYY-MM-DD.")],
    pipeline: Annotated[Path | None, typer.Option(help="CSV of open deals (default: initial_pipeline).")] = None,
    target: Annotated[float | None, typer.Option("--target", min=0, help="Won revenue to reach by --until.")] = None,
    replications: Annotated[int, typer.Option("-n", "--replications", min=1, max=10_000, help="Replications.")] = 200,
    plans: Annotated[list[str] | None, typer.Option("--plan", help="Plan to forecast (repeatable).")] = None,
    old: Annotated[str | None, typer.Option("--old", help="Deals older than the model's paths: restart | stale "
                                            "(default: the pipeline's own, restart).")] = None,
    seed: Seed = None,
    jobs: Jobs = None,
    overrides: SetOption = None,
    output: Output = None,
) -> None:
    """Forecast won revenue and deals from today's pipeline, per plan: P10/P50/P90 by week and P(target)."""
    from leanflow.api_checks import day as parse_day

    first, last = parse_day(start, "--from"), parse_day(until, "--until")  # a typo fails before the heavy imports
    if old not in (None, "restart", "stale"):
        raise LeanflowError(f"--old: '{old}' is not restart or stale")
    from leanflow.api_studies import forecast
    from leanflow.files import check_output
    from leanflow.report.forecast_report import console_table, flag_lines
    from leanflow.scenario import load_scenario
    from leanflow.scenario.pipeline import read_pipeline

    scenario = load_scenario(file, _with_seed(overrides, seed))
    deals = read_pipeline(pipeline, scenario) if pipeline is not None else None
    target_dir = check_output(output or Path("results") / f"{file.stem}-forecast")
    err.print(f"leanflow {__version__}: forecast {scenario.name}, {first} to {last}", markup=False, highlight=False)
    fc = forecast(scenario, first, last, deals, target, replications, plans, old, jobs=jobs)
    out.print(console_table(fc.details))
    for line in flag_lines(fc.details):
        _line(line)
    fc.save(target_dir)
    _line(f"forecast: {target_dir}/")


@app.command()
def calibrate(
    export: Annotated[Path, typer.Argument(help="Opportunity export (CSV).")],
    mapping: Annotated[str, typer.Option("--mapping", help="Mapping YAML, or shipped: maven, salesforce, hubspot.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The calibrated scenario (.yaml).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Use only data before this day: YYYY-MM-DD.")] = None,
    history: Annotated[list[Path] | None, typer.Option("--history", help="Stage-history CSV (repeatable).")] = None,
    diagnostics: Annotated[Path | None, typer.Option("--diagnostics", help="Directory for diagnostics.html.")] = None,
    pipeline: Annotated[Path | None, typer.Option("--pipeline", help="Also write the deals open at the as-of date "
                                                  "as a forecast pipeline CSV.")] = None,
    replications: Annotated[int, typer.Option("-n", "--replications", min=1, max=10_000,
                                              help="Replications of the check.")] = 20,
    jobs: Jobs = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help="Forecast horizon the arrival rate's rate_cv is stated for.")
    ] = 90,
) -> None:
    """Fit a scenario (one plan, as_is) to a CRM export; check that it reproduces the data."""
    from leanflow.commands.calibrate import run_calibrate

    say = lambda line: out.print(line, markup=False, highlight=False)  # noqa: E731
    run_calibrate(export, mapping, as_of, history, output, diagnostics, replications, jobs, say, horizon_days,
                  pipeline)  # fmt: skip


@app.command("backtest")
def backtest_command(
    export: Annotated[Path, typer.Argument(help="Opportunity export (CSV).")],
    mapping: Annotated[str, typer.Option("--mapping", help="Mapping YAML, or shipped: maven, salesforce, hubspot.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="First day of the window: YYYY-MM-DD.")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1, help="Days forecast from each as-of.")] = 90,
    rolling: Annotated[tuple[str, str, int] | None, typer.Option(
        "--rolling", metavar="START END STEP", help="Windows from START to END (YYYY-MM-DD) every STEP days.")] = None,
    history: Annotated[list[Path] | None, typer.Option("--history", help="Stage-history CSV (repeatable).")] = None,
    replications: Annotated[int, typer.Option("-n", "--replications", min=1, max=10_000, help="Replications.")] = 200,
    seed: Seed = None,
    jobs: Jobs = None,
    output: Output = None,
) -> None:
    """Calibrate before a date, forecast from the pipeline open at it, compare with what was won (and a baseline)."""
    from leanflow.commands.backtest import run_backtest

    say = lambda line: out.print(line, markup=False, highlight=False)  # noqa: E731
    target = output or Path("results") / f"{export.stem}-backtest"
    result = run_backtest(export, mapping, as_of, rolling, horizon_days, history, replications, seed, jobs, target,
                          say)  # fmt: skip
    from leanflow.report.backtest_report import console_table, summary_lines

    out.print(console_table(result))
    for line in summary_lines(result):
        say(line)
    say(f"backtest: {target}/")


@app.command()
def version() -> None:
    """Print the leanflow version."""
    out.print(__version__)


def main() -> None:
    """Entry point: user errors become a message and an exit code, never a traceback."""
    try:
        rc = app(standalone_mode=False)
    except LeanflowError as e:
        print(e, file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except OSError as e:  # a place the checks before the run could not foresee (/proc, a full disk): one line
        where = f" {e.filename}" if e.filename else ""
        print(f"cannot write or read{where}: {e.strerror or e}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors and friends: typer may bundle its own click, so match by name
        kinds = {c.__name__ for c in type(e).__mro__}
        if "ClickException" in kinds:
            e.show()  # type: ignore[attr-defined]
            sys.exit(e.exit_code)  # type: ignore[attr-defined]
        if "Abort" in kinds:
            sys.exit(1)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()

