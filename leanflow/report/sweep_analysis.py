"""Analysis of a sweep results directory: sensitivity indices and main-effect plots.

``analyze(directory)`` reads what ``leanflow sweep`` wrote (``manifest.json``, ``design.parquet``,
``results.parquet``), ranks the factors by Morris or Sobol' indices (SALib) when the design was
made for them, plots every output against every factor (one line per plan), writes the plots into
``DIR/plots/`` and returns the lines the CLI prints.

Every number starts from the *point means*: an output's mean over the replications of one plan at
one design point (replications without a value skipped), which is ``summary.csv``'s ``mean``.

The steps live in ``sweep_data`` (reading, point means), ``sweep_tables`` (indices, main
effects), ``sweep_plots`` and ``sweep_text``; this module runs them and re-exports their
public names.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from leanflow.report.sweep_data import SweepData, load_sweep_data, point_stats
from leanflow.report.sweep_plots import (
    BARS,
    PANEL_COLUMNS,
    _file_stem,
    _save,
    main_effects_figure,
    sensitivity_figure,
)
from leanflow.report.sweep_tables import (
    BINS,
    BOOTSTRAP,
    INDEX_COLUMNS,
    MAX_LEVELS,
    RANK_BY,
    main_effects,
    sensitivity_indices,
)
from leanflow.report.sweep_text import _header, _output_lines, _sensitivity_lines, format_table
from leanflow.scenario.sweep_schema import SENSITIVITY_KINDS

__all__ = [
    "BARS",
    "BINS",
    "BOOTSTRAP",
    "INDEX_COLUMNS",
    "MAX_LEVELS",
    "PANEL_COLUMNS",
    "PLOTS",
    "RANK_BY",
    "SweepData",
    "analyze",
    "format_table",
    "load_sweep_data",
    "main_effects",
    "main_effects_figure",
    "point_stats",
    "sensitivity_figure",
    "sensitivity_indices",
]

PLOTS = "plots"


def analyze(directory: str | Path) -> list[str]:
    """Analyse a sweep results directory, write its plots into ``DIR/plots/``, return the lines to print.

    Sensitivity designs (morris, sobol_indices) get a ranking table per output and plan and a bar
    chart per output; every design gets, per output, a figure of the output against each factor and
    a short summary.

    Raises:
        LeanflowError: when ``directory`` is not a sweep results directory or the sweep has not finished.
    """
    data = load_sweep_data(directory)
    means = point_stats(data)
    lines = _header(data)
    indices = pd.DataFrame()
    if data.kind in SENSITIVITY_KINDS:
        indices, notes = sensitivity_indices(data, means)
        lines += ["", *_sensitivity_lines(data, indices, notes)]

    plots = data.directory / PLOTS
    written: list[Path] = []
    summary = ["", "outputs (point means: mean over replications; swing: range of a factor's main effect):"]
    for metric in data.outputs:
        effects = main_effects(data, means, metric)
        written.append(_save(main_effects_figure(data, metric, effects), plots / f"{_file_stem(metric)}-factors.png"))
        if not indices.empty:
            fig = sensitivity_figure(data, metric, indices)
            if fig is not None:
                written.append(_save(fig, plots / f"{_file_stem(metric)}-sensitivity.png"))
        summary += _output_lines(data, means, effects, metric)
    lines += summary
    lines += ["", f"plots ({len(written)}):", *(f"  {p}" for p in written)]
    return lines
