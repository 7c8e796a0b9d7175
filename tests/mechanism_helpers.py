"""Shared harness of the mechanism tests of people and of the market.

Runs go straight through ``leanflow.model.simulate`` (one plan, one replication's
seed), so that a test can read the per-deal columns, the people's spells and the
prospecting stretches of each run; the long-standing summary metrics come from
``leanflow.metrics.run_metrics`` on the same records. Paired differences are
judged by the house rule of ``tests/test_mechanisms.py``: the mean points the
right way and its 95% paired-t CI excludes zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from test_mechanisms import _assert_direction as assert_direction

from leanflow.metrics import run_data, run_metrics
from leanflow.metrics.tables import RunData
from leanflow.model import simulate
from leanflow.model.records import OUTCOMES, Records
from leanflow.random import replication_seed
from leanflow.scenario import load_scenario_text
from leanflow.scenario.schema import Scenario

REPS = 8
WON, LOST, STALE, DISQUALIFIED = (OUTCOMES.index(k) for k in ("won", "lost", "stale", "disqualified"))
OPEN = OUTCOMES.index("open")
DEAL_COLUMNS = (
    "deal_id", "source", "segment", "value", "fit", "created", "closed", "outcome", "state", "handoffs",
    "qualified", "owner", "buyer_days", "blocked_days", "touch_days", "queue_days", "handoff_hours",
    "switch_hours", "learning_hours", "ramp_hours", "cooled", "generation", "origin",
)  # fmt: skip


def load(text: str, overrides: Sequence[str] = ()) -> Scenario:
    return load_scenario_text(text, "mechanisms.yaml", list(overrides))


@dataclass
class Run:
    """One plan x replication: its records and the arrays built from them."""

    sc: Scenario
    plan: str
    rep: int
    records: Records = field(repr=False)

    @cached_property
    def rd(self) -> RunData:
        return run_data(self.sc, self.plan, self.rep, self.records)

    @property
    def cols(self) -> dict[str, np.ndarray]:
        return self.rd.cols

    @cached_property
    def metrics(self) -> dict[str, float]:
        return run_metrics(self.rd)

    def stage(self, kind: str, stage: str) -> np.ndarray:
        """Per deal: the 'enter', 'start', 'done' day or the 'person' of one stage."""
        matrix = {"enter": self.rd.enter, "start": self.rd.start, "done": self.rd.done, "person": self.rd.person}[kind]
        return matrix[:, self.rd.stages.index(stage)]

    def touch(self, stage: str) -> np.ndarray:
        """Per deal: days a seller spent on one stage (nan: not worked)."""
        return self.stage("done", stage) - self.stage("start", stage)

    def by_id(self, values: np.ndarray) -> np.ndarray:
        """A per-deal array reordered so that row k is deal k (records come in closing order)."""
        return values[np.argsort(self.cols["deal_id"], kind="stable")]

    def source(self, name: str) -> np.ndarray:
        return self.cols["source"] == list(self.sc.market.sources).index(name)

    def spells(self, role: str) -> dict[str, np.ndarray]:
        """The people's spells on one role."""
        sp = self.rd.spells
        keep = sp["role"] == self.rd.roles.index(role)
        return {k: v[keep] for k, v in sp.items()}


class Plans(dict):
    """Plan name -> its runs over replications 0..reps-1 on the scenario's seed, simulated when first asked
    for (so that each test worker simulates only the plans its tests read)."""

    def __init__(self, sc: Scenario, reps: int = REPS) -> None:
        super().__init__()
        self.sc, self.reps = sc, reps

    def __missing__(self, plan: str) -> list[Run]:
        if plan not in self.sc.plans:
            raise KeyError(plan)
        runs = self[plan] = [Run(self.sc, plan, r, simulate(self.sc, plan, replication_seed(self.sc.seed, r)))
                             for r in range(self.reps)]  # fmt: skip
        return runs


def simulate_plans(sc: Scenario, reps: int = REPS) -> Plans:
    """The runs of every plan of a scenario, simulated lazily (see ``Plans``)."""
    return Plans(sc, reps)


class Loads(dict):
    """Load name -> the runs of one plan of the scenario loaded with that load's overrides (same seed), simulated
    when first asked for."""

    def __init__(self, text: str, overrides: dict[str, Sequence[str]], plan: str, reps: int = REPS) -> None:
        super().__init__()
        self.text, self.overrides, self.plan, self.reps = text, overrides, plan, reps

    def __missing__(self, name: str) -> list[Run]:
        runs = self[name] = simulate_plans(load(self.text, self.overrides[name]), self.reps)[self.plan]
        return runs


def per_rep(runs: list[Run], value: str | Callable[[Run], float]) -> np.ndarray:
    """Per replication: a summary metric (by name) or any function of the run."""
    fn = (lambda r: r.metrics[value]) if isinstance(value, str) else value
    return np.array([fn(r) for r in runs], dtype=float)


def compare(base: list[Run], variant: list[Run], value: str | Callable[[Run], float], sign: int, label: str):
    """Paired variant minus base per replication: print both means and assert the direction."""
    a, b = per_rep(base, value), per_rep(variant, value)
    print(f"{label}: {np.nanmean(a):.4g} -> {np.nanmean(b):.4g}")
    assert_direction(b - a, sign, label)
    return float(np.nanmean(a)), float(np.nanmean(b))


def matched(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two by-id arrays of two runs cut to the deals both made."""
    n = min(len(a), len(b))
    return a[:n], b[:n]


def window(run: Run) -> np.ndarray:
    """Deals created after the warm-up."""
    return run.cols["created"] >= run.sc.warmup_days


def won_between(lo: float, hi: float) -> Callable[[Run], float]:
    """Deals won with a close in [lo, hi)."""

    def count(run: Run) -> float:
        c = run.cols
        return float(((c["outcome"] == WON) & (c["closed"] >= lo) & (c["closed"] < hi)).sum())

    return count


def assert_same_deals(a: Run, b: Run, columns: Sequence[str] = DEAL_COLUMNS) -> None:
    """Two runs recorded exactly the same deals (every named column, bit for bit, nan == nan)."""
    for k in columns:
        np.testing.assert_array_equal(a.cols[k], b.cols[k], err_msg=f"per-deal column {k!r} differs")
    for kind in ("enter", "start", "done", "person"):
        for s in a.rd.stages:
            np.testing.assert_array_equal(a.stage(kind, s), b.stage(kind, s), err_msg=f"{kind}_{s} differs")


def assert_same_run(a: Run, b: Run) -> None:
    """Byte-identical deals, spells, prospecting and summary."""
    assert_same_deals(a, b)
    for table in ("spells", "prospecting"):
        ta, tb = getattr(a.rd, table), getattr(b.rd, table)
        assert ta.keys() == tb.keys()
        for k in ta:
            np.testing.assert_array_equal(ta[k], tb[k], err_msg=f"{table}.{k} differs")
    ma, mb = a.metrics, b.metrics
    keys = [k for k in ("won", "lost", "stale", "disqualified", "leads", "won_per_week", "won_revenue_per_week",
                        "cycle_mean", "win_rate") if k in ma]  # fmt: skip
    keys += [k for k in ma if k.startswith(("conversion_", "queue_days_"))]
    assert len(keys) > 9
    np.testing.assert_array_equal([ma[k] for k in keys], [mb[k] for k in keys])
