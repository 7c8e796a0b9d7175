"""The warm-up check: MSER-5 finds a known transient, leaves a stationary series alone, and a short warm-up warns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leanflow.metrics.warmup import mser5, warmup_check, warmup_warnings
from leanflow.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SEEDS = 100


def test_mser5_finds_a_step_at_its_batch() -> None:
    """The first 30 of 100 observations sit 3 sd higher: MSER-5 truncates at 30, give or take one batch."""
    cuts = [mser5(np.r_[np.full(30, 3.0), np.zeros(70)] + np.random.default_rng(s).normal(0, 1, 100))
            for s in range(SEEDS)]  # fmt: skip
    assert np.median(cuts) == 30
    assert np.mean(np.abs(np.array(cuts) - 30) <= 5) >= 0.75  # measured 0.80 over 200 seeds


def test_mser5_finds_a_decaying_transient() -> None:
    """A transient of 10 sd decaying with time constant 8 is below one sd after about 18 observations."""
    t = np.arange(100)
    cuts = [mser5(10 * np.exp(-t / 8) + np.random.default_rng(s).normal(0, 1, 100)) for s in range(SEEDS)]
    assert 15 <= np.median(cuts) <= 40


def test_mser5_leaves_a_stationary_series_alone() -> None:
    cuts = np.array([mser5(np.random.default_rng(s).normal(5, 1, 100)) for s in range(SEEDS)])
    assert np.median(cuts) == 0
    assert mser5(np.ones(100)) == 0 and mser5(np.arange(7.0)) == 0  # constant; shorter than two batches


def _weekly(x: np.ndarray, plan: str) -> pd.DataFrame:
    """A weekly table (replications x weeks) with x as total WIP and as won revenue."""
    reps, weeks = x.shape
    return pd.DataFrame({
        "plan": plan, "replication": np.repeat(np.arange(reps), weeks), "week": np.tile(np.arange(weeks), reps),
        "start_day": 7.0 * np.tile(np.arange(weeks), reps), "won_revenue": x.ravel(), "wip_a": x.ravel(),
    })  # fmt: skip


def _ar1(rng: np.random.Generator, reps: int, weeks: int, rho: float = 0.7) -> np.ndarray:
    """Stationary AR(1) noise with unit innovations, one row per replication."""
    e = rng.normal(0, 1, (reps, weeks))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, weeks):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


def test_a_stationary_plan_rarely_warns() -> None:
    """Over 100 seeds of 30 replications, the 5% tests keep false warnings near 5% (3 standard errors: 0.12)."""
    sc = load_scenario(ROOT / "scenarios" / "default.yaml", ["horizon_days=455", "warmup_days=91"])
    warned = 0
    for seed in range(SEEDS):
        x = 100 + _ar1(np.random.default_rng(seed), 30, 65)
        warned += bool(warmup_warnings(warmup_check(_weekly(x, "p"), {"p": (sc, "p")})))
    assert warned / SEEDS <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / SEEDS)


def test_a_transient_longer_than_the_warm_up_warns_with_the_truncation_point() -> None:
    sc = load_scenario(ROOT / "scenarios" / "default.yaml", ["horizon_days=455", "warmup_days=35"])
    rng = np.random.default_rng(3)
    rising = 100 + _ar1(rng, 30, 65) - 30 * np.exp(-np.arange(65) / 6)
    weekly = pd.concat([_weekly(rising, "rising"), _weekly(100 + _ar1(rng, 30, 65), "flat")])
    check = warmup_check(weekly, {p: (sc, p) for p in ("rising", "flat")})
    rows = check.set_index(["plan", "series"])
    cut = rows.loc[("rising", "wip"), "truncation_days"]
    assert 70 <= cut <= 210 and rows.loc[("rising", "wip"), "too_short"]
    (line,) = warmup_warnings(check)
    assert line == (f"warm-up 35 d looks too short for plan rising: weekly won revenue settles after ~{cut:.0f} d "
                    f"(MSER-5); set warmup_days >= {cut:.0f}")  # fmt: skip


def test_run_with_a_short_warm_up_warns_on_stderr(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "leanflow.cli", "run", str(ROOT / "scenarios" / "default.yaml"), "-n", "6",
           "--set", "horizon_days=250", "--set", "warmup_days=7", "-o", str(tmp_path / "res")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: warm-up 7 d looks too short")]
    assert {w.split("plan ")[1].split(":")[0] for w in warnings} == {"resource_optimised", "flow_optimised"}
    assert all("(MSER-5); set warmup_days >= " in w for w in warnings)
    assert "note: warm-up 7 d looks too short" in proc.stdout  # also among the verdict's notes


@pytest.mark.parametrize("reps", [1, 2])
def test_few_replications_still_give_a_check(reps: int) -> None:
    sc = load_scenario(ROOT / "scenarios" / "default.yaml", ["horizon_days=455", "warmup_days=7"])
    x = 100 - 50 * np.exp(-np.arange(65) / 6)[None, :] + _ar1(np.random.default_rng(5), reps, 65)
    check = warmup_check(_weekly(x, "p"), {"p": (sc, "p")})
    assert check["too_short"].all()
    assert check["p_value"].isna().all() == (reps == 1)  # one replication: MSER-5 alone, no test
