"""Experimental designs for a sweep: the table of factor values at which the model is run.

Levers always enter with every one of their levels; uncertainties are sampled from their ranges by
the sweep's design (a grid, random or quasi-random samples, or a sampling plan for sensitivity
analysis with SALib). The two are then combined factorially or paired one to one.
"""

from __future__ import annotations

import importlib
import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from leanflow.errors import LeanflowError
from leanflow.scenario.sweep_schema import SENSITIVITY_KINDS, Level, Range, Sweep

SENSITIVITY_HINT = "pip install 'leanflow[sensitivity]'"
# scipy warns when a Sobol' sequence is cut at a length that is not a power of two; the design
# stays valid (only its balance is weaker), and ``n`` is the user's choice.
_SOBOL_BALANCE_WARNING = r"The balance properties of Sobol' points require n to be a power of 2"


def build_design(sweep: Sweep) -> pd.DataFrame:
    """The design points of ``sweep``: one row per point, one column per factor.

    The index runs 0..P-1 and is named ``point``; the columns are the factors' dotted paths, levers
    first, then uncertainties, each in file order. The same ``design.seed`` gives the same frame.

    Raises:
        LeanflowError: when the sweep's factors do not fit its design (the message names the key).
    """
    _validate(sweep)
    combos = _lever_indices(sweep)
    n_samples, samples = _uncertainty_samples(sweep)
    if sweep.combine == "factorial":
        combo_rows = np.repeat(np.arange(len(combos)), n_samples)
        sample_rows = np.tile(np.arange(n_samples), len(combos))
    else:
        _check_zip(len(combos), n_samples)
        combo_rows = sample_rows = np.arange(n_samples)

    columns: dict[str, pd.Series] = {}
    for j, (path, levels) in enumerate(sweep.levers.items()):
        columns[path] = _lever_column(levels, combos[combo_rows, j])
    for path, values in samples.items():
        columns[path] = pd.Series(values[sample_rows])
    return pd.DataFrame(columns, index=pd.RangeIndex(len(combo_rows), name="point"))


def design_size(sweep: Sweep) -> int:
    """The number of points ``build_design(sweep)`` yields, without drawing any samples.

    Raises:
        LeanflowError: as ``build_design`` does.
    """
    _validate(sweep)
    n_combos = math.prod(len(levels) for levels in sweep.levers.values())
    n_samples = _sample_count(sweep)
    if sweep.combine == "factorial":
        return n_combos * n_samples
    _check_zip(n_combos, n_samples)
    return n_samples


def problem(sweep: Sweep) -> dict[str, Any]:
    """The SALib problem of ``sweep``'s uncertainties: ``num_vars``, ``names`` and ``bounds``."""
    return {
        "num_vars": len(sweep.uncertainties),
        "names": list(sweep.uncertainties),
        "bounds": [[r.low, r.high] for r in sweep.uncertainties.values()],
    }


def _validate(sweep: Sweep) -> None:
    """Raise a LeanflowError, naming the key, for the first factor that does not fit the design."""
    kind = sweep.design.kind
    for path in sweep.uncertainties:
        if path in sweep.levers:
            raise LeanflowError(f"uncertainties.{path}: already a lever; a factor is either one or the other")
    for path, r in sweep.uncertainties.items():
        if r.low > r.high:
            raise LeanflowError(f"uncertainties.{path}: low ({r.low:g}) must not exceed high ({r.high:g})")
        if r.integer and math.ceil(r.low) > math.floor(r.high):
            raise LeanflowError(f"uncertainties.{path}: integer range [{r.low:g}, {r.high:g}] holds no whole number")
        if kind == "grid" and r.levels is None:
            raise LeanflowError(f"uncertainties.{path}: the grid design needs levels")
        if kind in SENSITIVITY_KINDS and r.low == r.high:
            raise LeanflowError(f"uncertainties.{path}: the {kind} design needs low < high (both are {r.low:g})")
    if kind != "grid" and sweep.design.n is None:
        raise LeanflowError(f"design.n: the {kind} design needs n")
    if kind in SENSITIVITY_KINDS:
        if sweep.levers:
            raise LeanflowError(
                "levers: sensitivity designs (morris, sobol_indices) vary uncertainties only; "
                "move levers to overrides or use another design"
            )
        if not sweep.uncertainties:
            raise LeanflowError(f"uncertainties: the {kind} design needs at least one uncertainty")


def _check_zip(n_combos: int, n_samples: int) -> None:
    """Zip pairs lever combinations with uncertainty samples one to one: the counts must match."""
    if n_combos != n_samples:
        raise LeanflowError(
            f"combine: zip pairs lever combinations with uncertainty samples one to one, but there are "
            f"{n_combos} lever combination(s) and {n_samples} uncertainty sample(s)"
        )


def _sample_count(sweep: Sweep) -> int:
    """The number of uncertainty samples the (validated) design draws."""
    ranges = sweep.uncertainties.values()
    n, d = sweep.design.n, len(ranges)
    if d == 0:
        return 1
    match sweep.design.kind:
        case "grid":
            return math.prod(r.levels for r in ranges if r.levels is not None)
        case "morris":
            return (d + 1) * n
        case "sobol_indices":
            return (d + 2) * n
        case _:
            return n


def _lever_indices(sweep: Sweep) -> np.ndarray:
    """Every lever combination as a row of level indices, last lever varying fastest.

    With no levers this is a single empty combination (shape ``(1, 0)``).
    """
    ranges = [range(len(levels)) for levels in sweep.levers.values()]
    combos = list(itertools.product(*ranges))
    return np.array(combos, dtype=np.intp).reshape(len(combos), len(ranges))


def _lever_column(levels: list[Level], rows: np.ndarray) -> pd.Series:
    """A lever's value at each design point; ``None`` levels keep an object column (not NaN)."""
    column = pd.Series([levels[i] for i in rows], dtype=object)
    return column if any(level is None for level in levels) else column.infer_objects()


def _uncertainty_samples(sweep: Sweep) -> tuple[int, dict[str, np.ndarray]]:
    """The number of uncertainty samples and each uncertainty's values (rounded if integer).

    With no uncertainties there is a single empty sample.
    """
    ranges = sweep.uncertainties
    if not ranges:
        return 1, {}
    values = _raw_samples(sweep)
    return len(values), {path: _finish(values[:, j], r) for j, (path, r) in enumerate(ranges.items())}


def _finish(values: np.ndarray, r: Range) -> np.ndarray:
    """Clip to the range (guarding against rounding error) and, for integers, round to int64."""
    if r.integer:
        return np.clip(np.rint(values), math.ceil(r.low), math.floor(r.high)).astype(np.int64)
    return np.clip(values, r.low, r.high)


def _raw_samples(sweep: Sweep) -> np.ndarray:
    """The design's samples of the (at least one) uncertainties in their ranges, shape ``(samples, d)``."""
    design, ranges = sweep.design, list(sweep.uncertainties.values())
    d, n, seed = len(ranges), design.n, design.seed
    low = np.array([r.low for r in ranges])
    high = np.array([r.high for r in ranges])
    match design.kind:
        case "grid":
            axes = [np.linspace(r.low, r.high, r.levels) for r in ranges]
            return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
        case "random":
            unit = np.random.default_rng(seed).random((n, d))
        case "latin_hypercube":
            unit = qmc.LatinHypercube(d, seed=np.random.default_rng(seed)).random(n)
        case "sobol":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SOBOL_BALANCE_WARNING, category=UserWarning)
                unit = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random(n)
        case "morris":
            morris = _salib_sampler("morris", design.kind)
            return morris.sample(problem(sweep), N=n, num_levels=design.morris_levels, seed=seed)
        case "sobol_indices":
            sobol = _salib_sampler("sobol", design.kind)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SOBOL_BALANCE_WARNING, category=UserWarning)
                return sobol.sample(problem(sweep), N=n, calc_second_order=False, seed=seed)
        case _:
            raise AssertionError(f"unknown design kind {design.kind!r}")  # the schema admits no other
    return low + unit * (high - low)


def _salib_sampler(module: str, kind: str) -> Any:
    """The SALib sampling module ``SALib.sample.<module>``, or a LeanflowError with the install hint."""
    try:
        return importlib.import_module(f"SALib.sample.{module}")
    except ImportError as exc:
        raise LeanflowError(f"design.kind: the {kind} design needs SALib; install it with: {SENSITIVITY_HINT}") from exc
