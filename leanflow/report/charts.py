"""Charts of a results directory: one function per chart, each ``(Results) -> Figure``, and their registry.

Only matplotlib's object API is used (``matplotlib.figure.Figure``, never pyplot), so
charts hold no global state and can be drawn in worker processes or threads. Every
chart shows every plan of the run in the same colour (``plan_colours``), and marks the
warm-up, which no metric counts, as a shaded span on time axes.

The charts live in ``flow_charts`` (deals over time) and ``outcome_charts`` (what the plans
achieve), their shared look in ``chart_style``; this module lists them in report order
(``ALL_CHARTS``), writes them all (``save_all``) and re-exports their public names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from leanflow.report.chart_style import (
    BUYER,
    CHART_WIDTH,
    CLOSED,
    CLOSED_BAND,
    DOWN,
    EXITS,
    MONEY,
    P_LABEL,
    PALETTE,
    PANEL_COLUMNS,
    PERCENTILE_STYLES,
    PERCENTILES,
    QUEUE,
    TOUCH,
    UP,
    WARMUP,
    WON_BAND,
    cycle_percentiles,
    plan_colours,
)
from leanflow.report.flow_charts import (
    ROLLING_WEEKS,
    aging_wip,
    cumulative_flow,
    cycle_time_distribution,
    cycle_time_scatter,
    throughput_run_chart,
)
from leanflow.report.outcome_charts import (
    REPLICATION_METRICS,
    efficiency_matrix,
    funnel,
    replication_distributions,
    roles,
    time_breakdown,
    velocity_waterfall,
)
from leanflow.report.results import Results

__all__ = [
    "ALL_CHARTS",
    "BUYER",
    "CHART_WIDTH",
    "CLOSED",
    "CLOSED_BAND",
    "DOWN",
    "EXITS",
    "MONEY",
    "PALETTE",
    "PANEL_COLUMNS",
    "PERCENTILES",
    "PERCENTILE_STYLES",
    "P_LABEL",
    "QUEUE",
    "REPLICATION_METRICS",
    "ROLLING_WEEKS",
    "TOUCH",
    "UP",
    "WARMUP",
    "WON_BAND",
    "aging_wip",
    "cumulative_flow",
    "cycle_percentiles",
    "cycle_time_distribution",
    "cycle_time_scatter",
    "efficiency_matrix",
    "funnel",
    "plan_colours",
    "replication_distributions",
    "roles",
    "save_all",
    "throughput_run_chart",
    "time_breakdown",
    "velocity_waterfall",
]


ALL_CHARTS: dict[str, tuple[Callable[[Results], Figure], str]] = {
    "cumulative_flow": (
        cumulative_flow,
        "A stage band that widens is WIP piling up there; below, the won band's slope is the wins per day.",
    ),
    "cycle_time_scatter": (
        cycle_time_scatter,
        "Wins above the p85 line were slow; points drifting upwards mean cycle times grow over the run.",
    ),
    "cycle_time_distribution": (
        cycle_time_distribution,
        "A curve further left wins faster; compare the p85 markers.",
    ),
    "throughput_run_chart": (
        throughput_run_chart,
        "After the warm-up: gaps between plans wider than the bands, and trends within a plan.",
    ),
    "replication_distributions": (
        replication_distributions,
        "Boxes that overlap mean the replications do not separate the plans on that metric.",
    ),
    "funnel": (
        funnel,
        "Where deals drop out: tall exit bars show the stage where a plan loses or disqualifies deals.",
    ),
    "time_breakdown": (
        time_breakdown,
        "Tall queue segments mark bottlenecks; seller touch time is usually a sliver of the total.",
    ),
    "roles": (
        roles,
        "A role near 100% utilisation with a long queue wait is the bottleneck.",
    ),
    "efficiency_matrix": (
        efficiency_matrix,
        "Up means deals flow, right means people are busy: lean aims up, not only right.",
    ),
    "velocity_waterfall": (
        velocity_waterfall,
        "Which of the three velocity factors explains a plan's difference from the baseline; cycle: the speed view.",
    ),
    "aging_wip": (
        aging_wip,
        "Open deals above the p85 line are already older than most wins took: likely to go stale.",
    ),
}


def save_all(res: Results, directory: str | Path, fmt: str = "png") -> list[Path]:
    """Draw every chart and write it as ``<name>.<fmt>`` into ``directory``; the paths written, in order."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (chart, _caption) in ALL_CHARTS.items():
        path = out / f"{name}.{fmt}"
        chart(res).savefig(path, dpi=120)
        paths.append(path)
    return paths
