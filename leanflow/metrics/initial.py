"""Today's pipeline in a run's metrics: how its deals were placed at time 0 and what became of them.

Only a scenario with an ``initial_pipeline`` has these columns. ``initial_deals`` counts every deal of the
pipeline; ``initial_old`` those older than the model's paths to their stage (flagged), ``initial_unmatched``
those no path matched, ``initial_expired`` those older than max_age_days (stale at time 0); the won counts
and revenue are of the pipeline's deals closed won in the window, ``initial_open_end`` of those still open.
"""

from __future__ import annotations

import numpy as np

from leanflow.metrics.pipeline import closed_in
from leanflow.metrics.tables import RunData
from leanflow.model.records import EXPIRED, NEW, OLD, OPEN, UNMATCHED, WON


def initial_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """Counts of today's deals by how they were placed, and their wins in the window."""
    c = rd.cols
    kind = c["initial"]
    ini = kind != NEW
    won = ini & closed_in(rd, lo, hi) & (c["outcome"] == WON)
    return {
        "initial_deals": float(ini.sum()),
        "initial_old": float((kind == OLD).sum()),
        "initial_unmatched": float((kind == UNMATCHED).sum()),
        "initial_expired": float((kind == EXPIRED).sum()),
        "initial_won": float(won.sum()),
        "initial_won_revenue": float(np.sum(c["value"][won])),
        "initial_open_end": float((ini & (c["outcome"] == OPEN)).sum()),
    }
