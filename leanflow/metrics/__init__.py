"""Records to tables, metric definitions and statistics across replications.

The statistics (scipy.stats) load on first use (PEP 562): one replication's metrics
need numpy only, so a sweep worker starts fast. (``run_metrics`` is imported eagerly:
its name is also its module's.)
"""

from importlib import import_module
from typing import Any

from leanflow.metrics.run_metrics import run_metrics
from leanflow.metrics.tables import RunData, deals_table, run_data
from leanflow.metrics.weekly import little_check, weekly_table

_LAZY = {"describe": "leanflow.metrics.stats", "mean_ci": "leanflow.metrics.stats"}
__all__ = ["RunData", "deals_table", "describe", "little_check", "mean_ci", "run_data", "run_metrics", "weekly_table"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
