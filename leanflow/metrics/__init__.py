"""Records to tables, metric definitions and statistics across replications."""

from leanflow.metrics.run_metrics import run_metrics
from leanflow.metrics.stats import describe, mean_ci
from leanflow.metrics.tables import RunData, deals_table, run_data
from leanflow.metrics.weekly import little_check, weekly_table

__all__ = ["RunData", "deals_table", "describe", "little_check", "mean_ci", "run_data", "run_metrics", "weekly_table"]
