"""The backtest command: check the options and the output directory before reading the export, then run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from leanflow.api_checks import day as parse_day
from leanflow.errors import LeanflowError
from leanflow.experiment.backtest import check_rolling
from leanflow.files import check_output

if TYPE_CHECKING:
    from leanflow.experiment.backtest import BacktestResult, RollingResult


def run_backtest(export: Path, mapping: str, as_of: str | None, rolling_days: tuple[str, str, int] | None,
                 horizon_days: int, history: list[Path] | None, n: int, seed: int | None, jobs: int | None,
                 output: Path, say: Callable[[str], None]) -> BacktestResult | RollingResult:  # fmt: skip
    """Back-test one window (``as_of``) or several (``rolling_days``: START, END, STEP) and write the files."""
    if (as_of is None) == (rolling_days is None):
        both = " (not both)" if as_of is not None else ""
        raise LeanflowError(f"give --as-of DATE for one window or --rolling START END STEP for several{both}")
    if as_of is not None:
        day = parse_day(as_of, "--as-of")
    else:
        start, end = (parse_day(t, f"--rolling {k}") for t, k in zip(rolling_days[:2], ("START", "END"), strict=True))
        check_rolling(start, end, rolling_days[2])
    check_output(output)
    from leanflow.crm import read_export
    from leanflow.experiment.backtest import backtest, rolling
    from leanflow.report.backtest_report import write_backtest

    imported = read_export(export, mapping, history)
    if as_of is not None:
        result: BacktestResult | RollingResult = backtest(imported, day, horizon_days, n, seed, jobs)
    else:
        result = rolling(imported, start, end, rolling_days[2], horizon_days, n, seed, jobs, say)
    write_backtest(result, output)
    return result
