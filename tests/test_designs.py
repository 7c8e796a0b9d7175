"""Tests for leanflow.experiment.designs: sizes, bounds, rounding, determinism, validation."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leanflow.errors import LeanflowError
from leanflow.experiment.designs import build_design, design_size, problem
from leanflow.scenario.sweep_schema import DESIGN_KINDS, SENSITIVITY_KINDS, Sweep


def make_sweep(
    levers: dict[str, list[Any]] | None = None,
    uncertainties: dict[str, dict[str, Any]] | None = None,
    combine: str = "factorial",
    **design: Any,
) -> Sweep:
    """A sweep over the given factors and design (kind, n, seed, morris_levels)."""
    return Sweep.model_validate({
        "name": "t",
        "base": "base.yaml",
        "levers": levers or {},
        "uncertainties": uncertainties or {},
        "design": design,
        "combine": combine,
    })  # fmt: skip


TWO_RANGES = {"demand.rate": {"low": 1.0, "high": 5.0}, "team.size": {"low": 2, "high": 9, "integer": True}}


def check_bounds(frame: pd.DataFrame, sweep: Sweep) -> None:
    """Every uncertainty column lies within its range."""
    for path, r in sweep.uncertainties.items():
        assert frame[path].between(r.low, r.high).all(), path


# --- sizes ----------------------------------------------------------------------------------------


def test_grid_is_the_product_of_levers_and_levels() -> None:
    sweep = make_sweep(
        levers={"a": [1, 2], "b": ["x", "y", "z"]},
        uncertainties={"u": {"low": 0, "high": 1, "levels": 4}, "v": {"low": -1, "high": 1, "levels": 5}},
    )
    frame = build_design(sweep)
    assert len(frame) == design_size(sweep) == 2 * 3 * 4 * 5
    assert sorted(frame["u"].unique()) == pytest.approx(np.linspace(0, 1, 4))
    assert sorted(frame["v"].unique()) == pytest.approx(np.linspace(-1, 1, 5))
    assert not frame.duplicated().any()


def test_factorial_and_zip_sizes() -> None:
    levers = {"a": [1, 2, 3]}
    factorial = make_sweep(levers, TWO_RANGES, kind="random", n=4)
    assert len(build_design(factorial)) == design_size(factorial) == 12
    zipped = make_sweep(levers, TWO_RANGES, combine="zip", kind="random", n=3)
    frame = build_design(zipped)
    assert len(frame) == design_size(zipped) == 3
    assert frame["a"].tolist() == [1, 2, 3]


def test_factorial_is_lever_major() -> None:
    sweep = make_sweep({"a": [1, 2], "b": [10, 20]}, TWO_RANGES, kind="latin_hypercube", n=3)
    frame = build_design(sweep)
    assert frame["a"].tolist() == [1] * 6 + [2] * 6
    assert frame["b"].tolist() == ([10] * 3 + [20] * 3) * 2
    blocks = [frame.iloc[i : i + 3][list(TWO_RANGES)].to_numpy() for i in range(0, 12, 3)]
    for block in blocks[1:]:
        np.testing.assert_array_equal(block, blocks[0])


@pytest.mark.parametrize(("kind", "n", "expected"), [
    ("random", 7, 7), ("latin_hypercube", 7, 7), ("sobol", 7, 7), ("sobol", 8, 8),
    ("morris", 5, (2 + 1) * 5), ("sobol_indices", 8, 8 * (2 + 2)), ("sobol_indices", 6, 6 * (2 + 2)),
])  # fmt: skip
def test_sample_counts_per_kind(kind: str, n: int, expected: int) -> None:
    sweep = make_sweep(uncertainties=TWO_RANGES, kind=kind, n=n, seed=3)
    frame = build_design(sweep)
    assert len(frame) == design_size(sweep) == expected
    check_bounds(frame, sweep)


def test_no_factors_is_one_empty_point() -> None:
    frame = build_design(make_sweep())
    assert frame.shape == (1, 0)
    assert frame.index.name == "point"


def test_levers_only() -> None:
    frame = build_design(make_sweep({"a": [1, 2], "flag": [True, False]}, kind="random", n=5))
    assert frame.to_dict("list") == {"a": [1, 1, 2, 2], "flag": [True, False, True, False]}


# --- values ---------------------------------------------------------------------------------------


def test_columns_index_and_dtypes() -> None:
    sweep = make_sweep(
        levers={"z.lever": [1, 2], "a.lever": ["fifo", "wsjf"], "cap": [None, 3]},
        uncertainties={"z.unc": {"low": 0, "high": 1}, "a.unc": {"low": 0, "high": 10, "integer": True}},
        kind="random",
        n=2,
    )
    frame = build_design(sweep)
    assert list(frame.columns) == ["z.lever", "a.lever", "cap", "z.unc", "a.unc"]
    assert frame.index.name == "point"
    assert frame.index.tolist() == list(range(len(frame)))
    assert frame["z.lever"].dtype == np.int64
    assert frame["a.unc"].dtype == np.int64
    assert frame["z.unc"].dtype == np.float64
    assert frame["cap"].tolist()[:2] == [None, None]  # a null level stays None, not NaN


@pytest.mark.parametrize("kind", [k for k in DESIGN_KINDS if k != "grid"])
def test_integer_rounding(kind: str) -> None:
    sweep = make_sweep(uncertainties={"k": {"low": 0.6, "high": 4.4, "integer": True}}, kind=kind, n=16)
    values = build_design(sweep)["k"]
    assert values.dtype == np.int64
    assert values.between(1, 4).all()


def test_integer_grid_levels() -> None:
    sweep = make_sweep(uncertainties={"k": {"low": 1, "high": 4, "levels": 4, "integer": True}})
    assert build_design(sweep)["k"].tolist() == [1, 2, 3, 4]


def test_degenerate_range_is_allowed_outside_sensitivity_designs() -> None:
    sweep = make_sweep(uncertainties={"u": {"low": 2.5, "high": 2.5}}, kind="sobol", n=4)
    assert build_design(sweep)["u"].tolist() == [2.5] * 4


@pytest.mark.parametrize("kind", DESIGN_KINDS)
def test_same_seed_same_frame_other_seed_other_frame(kind: str) -> None:
    ranges = {"u": {"low": 0, "high": 1, "levels": 3}, "v": {"low": 5, "high": 50, "levels": 3}}
    levers = {} if kind in SENSITIVITY_KINDS else {"a": [1, 2]}
    first = build_design(make_sweep(levers, ranges, kind=kind, n=8, seed=11))
    pd.testing.assert_frame_equal(first, build_design(make_sweep(levers, ranges, kind=kind, n=8, seed=11)))
    other = build_design(make_sweep(levers, ranges, kind=kind, n=8, seed=12))
    if kind == "grid":
        pd.testing.assert_frame_equal(first, other)  # nothing random in a grid
    else:
        assert not first.equals(other)


@pytest.mark.parametrize("n", [1, 5, 17])
def test_latin_hypercube_stratifies_every_dimension(n: int) -> None:
    ranges = {"u": {"low": 0, "high": 1}, "v": {"low": -3, "high": 7}, "w": {"low": 100, "high": 101}}
    sweep = make_sweep(uncertainties=ranges, kind="latin_hypercube", n=n, seed=5)
    frame = build_design(sweep)
    for path, r in sweep.uncertainties.items():
        strata = np.floor((frame[path].to_numpy() - r.low) / (r.high - r.low) * n).astype(int)
        assert sorted(strata.tolist()) == list(range(n)), path


def test_morris_values_lie_on_its_levels() -> None:
    sweep = make_sweep(uncertainties={"u": {"low": 0, "high": 3}}, kind="morris", n=10, morris_levels=4)
    assert set(build_design(sweep)["u"].round(12)) <= {0.0, 1.0, 2.0, 3.0}


def test_sobol_off_a_power_of_two_raises_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_design(make_sweep(uncertainties=TWO_RANGES, kind="sobol", n=10))
        build_design(make_sweep(uncertainties=TWO_RANGES, kind="sobol_indices", n=10))


def test_problem() -> None:
    sweep = make_sweep({"a": [1]}, TWO_RANGES)
    assert problem(sweep) == {"num_vars": 2, "names": ["demand.rate", "team.size"], "bounds": [[1, 5], [2, 9]]}


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SENSITIVITY_KINDS)
def test_missing_salib_gives_an_install_hint(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "SALib.sample.morris", None)
    monkeypatch.setitem(sys.modules, "SALib.sample.sobol", None)
    with pytest.raises(LeanflowError, match=rf"the {kind} design needs SALib.*pip install 'leanflow\[sensitivity\]'"):
        build_design(make_sweep(uncertainties=TWO_RANGES, kind=kind, n=4))


def test_zip_length_mismatch() -> None:
    sweep = make_sweep({"a": [1, 2, 3]}, TWO_RANGES, combine="zip", kind="random", n=4)
    for call in (build_design, design_size):
        with pytest.raises(LeanflowError, match=r"combine: .*3 lever combination.*4 uncertainty sample"):
            call(sweep)


def test_grid_needs_levels() -> None:
    sweep = make_sweep(uncertainties={"u": {"low": 0, "high": 1, "levels": 3}, "demand.rate": {"low": 0, "high": 1}})
    with pytest.raises(LeanflowError, match=r"^uncertainties\.demand\.rate: the grid design needs levels$"):
        build_design(sweep)


@pytest.mark.parametrize("kind", SENSITIVITY_KINDS)
def test_sensitivity_designs_refuse_levers(kind: str) -> None:
    sweep = make_sweep({"a": [1, 2]}, TWO_RANGES, kind=kind, n=4)
    with pytest.raises(LeanflowError, match=r"^levers: sensitivity designs \(morris, sobol_indices\) vary"):
        build_design(sweep)


@pytest.mark.parametrize("kind", SENSITIVITY_KINDS)
def test_sensitivity_designs_need_a_proper_range(kind: str) -> None:
    with pytest.raises(LeanflowError, match=r"^uncertainties: .* needs at least one uncertainty"):
        build_design(make_sweep(kind=kind, n=4))
    with pytest.raises(LeanflowError, match=r"^uncertainties\.u: .* needs low < high"):
        build_design(make_sweep(uncertainties={"u": {"low": 1, "high": 1}}, kind=kind, n=4))


@pytest.mark.parametrize("kind", [k for k in DESIGN_KINDS if k != "grid"])
def test_n_is_required(kind: str) -> None:
    with pytest.raises(LeanflowError, match=rf"^design\.n: the {kind} design needs n$"):
        design_size(make_sweep(uncertainties=TWO_RANGES, kind=kind))


def test_low_above_high() -> None:
    with pytest.raises(LeanflowError, match=r"^uncertainties\.u: low \(2\) must not exceed high \(1\)$"):
        build_design(make_sweep(uncertainties={"u": {"low": 2, "high": 1}}, kind="random", n=3))


def test_integer_range_without_a_whole_number() -> None:
    with pytest.raises(LeanflowError, match=r"^uncertainties\.u: integer range \[0\.2, 0\.8\] holds no whole"):
        build_design(make_sweep(uncertainties={"u": {"low": 0.2, "high": 0.8, "integer": True}}, kind="random", n=3))


def test_factor_both_lever_and_uncertainty() -> None:
    with pytest.raises(LeanflowError, match=r"^uncertainties\.a: already a lever"):
        build_design(make_sweep({"a": [1]}, {"a": {"low": 0, "high": 1}}, kind="random", n=3))


# --- property -------------------------------------------------------------------------------------


@st.composite
def sweeps(draw: st.DrawFn) -> Sweep:
    """A valid sweep: a few ranges (some integer, some degenerate), optional levers, any design."""
    kind = draw(st.sampled_from(DESIGN_KINDS))
    sensitive = kind in SENSITIVITY_KINDS
    ranges = {}
    for i in range(draw(st.integers(1 if sensitive else 0, 3))):
        low = draw(st.floats(-1e6, 1e6, allow_subnormal=False))
        width = draw(st.floats(1e-3 if sensitive else 0, 1e6, allow_subnormal=False))
        integer = draw(st.booleans())
        if integer:
            low, width = float(round(low)), float(max(round(width), 1 if sensitive else 0))
        ranges[f"u{i}"] = {"low": low, "high": low + width, "integer": integer, "levels": draw(st.integers(2, 4))}
    levers = (
        {} if sensitive else {f"l{i}": list(range(draw(st.integers(1, 3)))) for i in range(draw(st.integers(0, 2)))}
    )
    return make_sweep(levers, ranges, kind=kind, n=draw(st.integers(1, 12)), seed=draw(st.integers(0, 2**32)))


@settings(max_examples=60, deadline=None)
@given(sweeps())
def test_every_design_is_in_bounds_and_of_its_stated_size(sweep: Sweep) -> None:
    frame = build_design(sweep)
    assert len(frame) == design_size(sweep)
    assert list(frame.columns) == [*sweep.levers, *sweep.uncertainties]
    check_bounds(frame, sweep)
    for path, r in sweep.uncertainties.items():
        assert (frame[path].dtype == np.int64) == r.integer
