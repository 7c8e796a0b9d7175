"""The figures and tables of the shipped experiments (``experiments/*.yaml``), drawn from their sweep results.

A sweep file names its figure (``figure: utilisation``); ``leanflow analyze DIR`` then writes ``<name>.png`` and
``<name>.md`` (the tables) and prints the tables, and ``SweepResults.figure`` returns the Figure. One module per
experiment; each entry takes the sweep's ``summary`` and ``results`` (``SweepInput``) and, for the two figures
that read a second sweep, that one too (fairness: fairness_learning; staffing_mix: gate_threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from leanflow.errors import LeanflowError, ResultsError
from leanflow.report.experiment_figures.common import ExperimentFigure, SweepInput, read_sweep, sweep_of
from leanflow.report.experiment_figures.fairness import fairness, learning_level
from leanflow.report.experiment_figures.gate_threshold import gate_threshold
from leanflow.report.experiment_figures.staffing_mix import staffing_mix
from leanflow.report.experiment_figures.utilisation import utilisation
from leanflow.report.experiment_figures.validation import erlang_c, mmc_wq, validation, validation_tandem
from leanflow.scenario.sweep_schema import FIGURES

__all__ = ["FIGURES", "ExperimentFigure", "SweepInput", "draw", "erlang_c", "figure_name", "mmc_wq", "read_sweep",
           "sweep_of"]  # fmt: skip

Draw = Callable[[SweepInput, SweepInput | None], ExperimentFigure]


@dataclass(frozen=True)
class Spec:
    """How a figure is drawn, and where its second sweep is by default (beside the first), if it reads one."""

    draw: Draw
    second: Callable[[SweepInput], str] | None = None  # the sibling directory's name
    needs_second: bool = False  # an error when it is missing (else drawn without it)


SPECS: dict[str, Spec] = {
    "utilisation": Spec(utilisation),
    "gate_threshold": Spec(gate_threshold),
    "staffing_mix": Spec(staffing_mix, lambda s: "gate_threshold"),
    "validation": Spec(validation),
    "validation_tandem": Spec(validation_tandem),
    "fairness": Spec(fairness, lambda s: "fairness_learning" if learning_level(s.sweep) == 1.0 else "fairness", True),
}


def check_name(name: str) -> str:
    """``name`` if it is a built-in figure, else one line listing them."""
    if name not in SPECS:
        raise LeanflowError(f"no figure '{name}': the figures are {', '.join(FIGURES)}")
    return name


def figure_name(name: str | None, sweep: SweepInput) -> str:
    """The figure to draw: ``name``, or the one the sweep file names (``figure:``)."""
    chosen = name if name is not None else sweep.sweep.figure
    if chosen is None:
        raise LeanflowError(f"{sweep.directory}: its sweep file names no figure (figure: in the file); "
                            f"give one of {', '.join(FIGURES)}")  # fmt: skip
    return check_name(chosen)


def second_sweep(name: str, sweep: SweepInput, second: str | Path | None) -> SweepInput | None:
    """The second sweep the figure reads: ``second`` if given, else its default place beside ``sweep``."""
    spec = SPECS[name]
    if spec.second is None:
        if second is not None:
            raise LeanflowError(f"the {name} figure reads one sweep; a second one (--with) is for "
                                "fairness (fairness_learning) and staffing_mix (gate_threshold)")  # fmt: skip
        return None
    if second is not None:
        return read_sweep(second)
    partner = spec.second(sweep)
    default = sweep.directory.parent / partner
    try:
        return read_sweep(default)
    except ResultsError as exc:
        if spec.needs_second:
            raise ResultsError(f"the {name} figure also reads the {partner} sweep: {exc} (run leanflow sweep "
                               f"experiments/{partner}.yaml -o {default}, or give --with DIR)") from None
        return None


def draw(name: str | None, sweep: SweepInput, second: str | Path | None = None) -> ExperimentFigure:
    """The figure ``name`` (default: the sweep's own) and its tables, from ``sweep`` and, if the figure reads
    one, the second sweep (``second``, or its default place beside the first).

    Raises:
        LeanflowError: an unknown figure name, a sweep that lacks what the figure needs, a second sweep missing.
    """
    chosen = figure_name(name, sweep)
    partner = second_sweep(chosen, sweep, second)
    try:
        return SPECS[chosen].draw(sweep, partner)
    except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError) as exc:  # a sweep unlike the experiment's
        raise ResultsError(f"{sweep.directory}: cannot draw the {chosen} figure from this sweep "
                           f"({type(exc).__name__}: {exc})") from None
