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
out = Console()
err = Console(stderr=True)

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
    """Check scenario files; print every error as FILE:LINE: path.to.key: message."""
    from leanflow.scenario import load_scenario

    bad = 0
    for f in files:
        try:
            load_scenario(f)
        except ScenarioError as e:
            bad += 1
            for line in e.errors:
                print(line)
            continue
        print(f"{f}: ok")
    if bad:
        raise typer.Exit(2)


@app.command()
def schema(
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the JSON Schema.")] = Path("schema"),
) -> None:
    """Write the scenario JSON Schema (draft-07) for editors."""
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
    directory.mkdir(parents=True, exist_ok=True)
    text = source.read_text().replace("../schema/", "")
    target.write_text(text)
    out.print(f"wrote {target}; edit it, then: leanflow run {target}", markup=False, highlight=False)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    replications: Annotated[int | None, typer.Option("-n", "--replications", min=1, help="Replications.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Master seed.")] = None,
    jobs: Annotated[int | None, typer.Option("-j", "--jobs", min=1, help="Processes (default: all cores).")] = None,
    overrides: SetOption = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Results directory.")] = None,
) -> None:
    """Run every staffing plan of a scenario; print per-plan tables; write the results directory."""
    from leanflow.experiment.runner import run_scenario
    from leanflow.experiment.store import write_results
    from leanflow.report.console import print_plan_tables
    from leanflow.scenario import load_scenario

    sets = list(overrides or [])
    if seed is not None:
        sets.append(f"seed={seed}")
    scenario = load_scenario(file, sets)
    n = replications or scenario.replications
    err.print(f"leanflow {__version__}: {scenario.name}: {len(scenario.plans)} plan(s) x {n} replications")
    result = run_scenario(scenario, n, jobs)
    print_plan_tables(result.summary, out)
    target = output or Path("results") / file.stem
    write_results(result, target, {"scenario_file": str(file), "overrides": sets})
    out.print(f"results: {target}/ (summary.csv, deals.parquet, weekly.parquet, manifest.json)", markup=False,
              highlight=False)  # fmt: skip


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
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors and friends
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(1)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()

