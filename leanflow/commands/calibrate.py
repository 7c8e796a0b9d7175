"""The calibrate command: check the outputs, read the export, fit, write the scenario, check it reproduces the data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leanflow.api_checks import day as parse_day
from leanflow.files import check_output


def run_calibrate(export: Path, mapping: str, as_of: str | None, history: list[Path] | None, output: Path,
                  diagnostics: Path | None, replications: int, jobs: int | None,
                  say: Callable[[str], None], horizon_days: int = 90,
                  pipeline: Path | None = None) -> None:  # fmt: skip
    """Calibrate ``export`` into ``output`` (the rate's uncertainty stated for ``horizon_days``); say the fits and
    whether the scenario reproduces the data; with ``pipeline``, also write the deals open at the as-of date
    in the scenario's stages and segments, ready for ``leanflow forecast --pipeline``."""
    from leanflow.crm.importer import check_file_output, read_export

    day = None if as_of is None else parse_day(as_of, "--as-of")
    check_file_output(output, (".yaml", ".yml"))
    if diagnostics is not None:
        check_output(diagnostics)
    if pipeline is not None:
        check_file_output(pipeline, (".csv",))
    from leanflow.crm.calibrate import calibrate, summary_lines
    from leanflow.crm.scenario_yaml import write_scenario
    from leanflow.experiment.reproduce import reproduce
    from leanflow.scenario import load_scenario

    imported = read_export(export, mapping, history)
    cal = calibrate(imported, day, horizon_days)
    for line in summary_lines(cal):
        say(line)
    write_scenario(cal, output)
    load_scenario(output)  # the file as written must load, exactly as `leanflow run` loads it
    say(f"wrote {output}; run it: leanflow run {output}")
    if pipeline is not None:
        say(write_pipeline(imported, cal, pipeline))
    check = reproduce(cal, replications, jobs)
    say(f"does it reproduce the data? ({replications} replications of the measured year)")
    for line in check.lines():
        say(line)
    table = check.table.set_index("metric")
    for outcome in ("won", "lost"):
        window, cohort = (table.loc[f"median {outcome} cycle, days ({k})"] for k in ("closed in window",
                                                                                    "cohort estimate"))
        if window.data_low > cohort.data_high or window.data_high < cohort.data_low:
            say(f"note: the export's own two estimates of the {outcome} cycle disagree (deals closed in the window "
                "against the cohort estimate): the cycle or the arrival rate changed over the window, and a "
                "stationary model can match only one; it was fitted to the cohort estimate")  # fmt: skip
    if diagnostics is not None:
        from leanflow.report.diagnostics import write_diagnostics

        say(f"diagnostics: {write_diagnostics(cal, check, diagnostics)}")
    off = [r.metric for r in check.table.itertuples() if not r.ok]
    say("the calibrated scenario reproduces every figure" if not off else f"differs on: {'; '.join(off)}")


def write_pipeline(imported, cal, path: Path) -> str:
    """Write the deals open at the calibration's as-of date as pipeline rows (the back-test's own placement:
    model stages drawn from each deal's age, unknown values set to the segment's mean won amount); say so."""
    import pandas as pd

    from leanflow.crm.pipeline_at import pipeline_at
    from leanflow.experiment.backtest import model_rows, with_values
    from leanflow.files import atomic_write

    day = cal.obs.as_of.date()
    open_ = with_values(imported, pipeline_at(imported, day), day)
    rows = pd.DataFrame(model_rows(open_, cal, cal.scenario().seed))
    atomic_write(path, lambda p: rows.to_csv(p, index=False))
    return (f"wrote {path}: {len(rows):,} deals open at {day} ({int(open_['filled'].sum()):,} values set to their "
            f"segment's mean won amount); forecast from it: leanflow forecast <scenario> --pipeline {path} "
            f"--from {day} --until <date> --old stale (deals older than the model's paths close as stale, as the "
            "back-test does)")  # fmt: skip
