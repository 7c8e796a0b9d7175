"""One replication of one plan as a pure, picklable function: the unit of parallel work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leanflow.metrics.run_metrics import run_metrics
from leanflow.metrics.tables import deals_table, run_data
from leanflow.metrics.weekly import weekly_table
from leanflow.model import simulate
from leanflow.random import replication_seed
from leanflow.scenario.schema import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class ReplicationResult:
    """The tables of one plan x replication."""

    plan: str
    replication: int
    metrics: dict[str, float]
    deals: pd.DataFrame
    weekly: pd.DataFrame


def run_replication(scenario: Scenario, plan: str, replication: int) -> ReplicationResult:
    """Simulate one plan for replication ``replication`` of the scenario's seed; same seed, same leads."""
    records = simulate(scenario, plan, replication_seed(scenario.seed, replication))
    rd = run_data(scenario, plan, replication, records)
    return ReplicationResult(plan, replication, run_metrics(rd), deals_table(rd), weekly_table(rd))


def replication_metrics(scenario: Scenario, plan: str, replication: int) -> dict[str, float]:
    """Only the metrics of one replication (no per-deal tables): the unit of a sweep."""
    records = simulate(scenario, plan, replication_seed(scenario.seed, replication))
    return run_metrics(run_data(scenario, plan, replication, records))
