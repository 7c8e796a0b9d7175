"""The calibrate command: check the outputs, read the export, fit, write the scenario, check it reproduces the data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leanflow.commands.options import parse_day
from leanflow.files import check_output


def run_calibrate(export: Path, mapping: str, as_of: str | None, history: list[Path] | None, output: Path,
                  diagnostics: Path | None, replications: int, jobs: int | None,
                  say: Callable[[str], None], horizon_days: int = 90) -> None:  # fmt: skip
    """Calibrate ``export`` into ``output`` (the rate's uncertainty stated for ``horizon_days``); say the fits and
    whether the scenario reproduces the data."""
    from leanflow.crm.importer import check_file_output, read_export

    day = None if as_of is None else parse_day(as_of, "--as-of")
    check_file_output(output, (".yaml", ".yml"))
    if diagnostics is not None:
        check_output(diagnostics)
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
