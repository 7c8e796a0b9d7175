"""Charts drawn from real results directories: the artists each chart must hold, not only that it draws."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle

from leanflow.report import charts
from leanflow.report.results import Results, load_results

ROOT = Path(__file__).resolve().parent.parent
REPLICATIONS = 3
HORIZON, WARMUP = 200.0, 40.0


def _run(scenario: str, out: Path, *args: str) -> Results:
    """``leanflow run`` in a subprocess, as a user would, then the results read back."""
    cmd = [sys.executable, "-m", "leanflow.cli", "run", str(ROOT / scenario), *args, "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return load_results(out)


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The default scenario's two plans, 3 short replications."""
    sets = ["--set", f"horizon_days={HORIZON:g}", "--set", f"warmup_days={WARMUP:g}"]
    return _run("scenarios/default.yaml", tmp_path_factory.mktemp("two"), "-n", str(REPLICATIONS), *sets)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A one-plan run (no comparison, no velocity decomposition)."""
    sets = ["--set", "horizon_days=400", "--set", "warmup_days=50"]
    return _run("scenarios/queueing/mm1.yaml", tmp_path_factory.mktemp("mm1"), "-n", "2", *sets)


@pytest.fixture(scope="module")
def figures(res: Results) -> dict[str, Figure]:
    """Every chart of the two-plan run, drawn once."""
    return {name: chart(res) for name, (chart, _) in charts.ALL_CHARTS.items()}


def rep0(res: Results, plan: str) -> pd.DataFrame:
    """The deals of one plan's replication 0."""
    d = res.deals
    return d[(d["plan"] == plan) & (d["replication"] == 0)]


def won_cycles_in_window(deals: pd.DataFrame) -> np.ndarray:
    """Cycle times of the won deals closed after the warm-up (the metrics' definition)."""
    closed = deals["closed"]
    won = (deals["outcome"] == "won") & (closed >= WARMUP) & (closed <= HORIZON)
    return (closed - deals["created"])[won].to_numpy()


def same_colour(a: object, b: object) -> bool:
    """Whether two matplotlib colours are the same, ignoring alpha."""
    return np.allclose(to_rgb(a), to_rgb(b))


def bars_of(ax: Axes, label: str) -> BarContainer:
    """The one bar series of ``ax`` with this label."""
    (container,) = [c for c in ax.containers if isinstance(c, BarContainer) and c.get_label() == label]
    return container


def test_plan_colours_are_fixed_and_distinct() -> None:
    colours = charts.plan_colours(["base", "a", "b"])
    assert list(colours) == ["base", "a", "b"]
    assert colours["base"] == charts.PALETTE[0]
    assert len(set(colours.values())) == 3
    assert charts.plan_colours(["base", "a"]) == {k: colours[k] for k in ("base", "a")}


def test_all_charts_in_order_with_captions() -> None:
    assert list(charts.ALL_CHARTS) == [
        "cumulative_flow", "cycle_time_scatter", "cycle_time_distribution", "throughput_run_chart",
        "replication_distributions", "funnel", "time_breakdown", "roles", "efficiency_matrix",
        "velocity_waterfall", "aging_wip",
    ]  # fmt: skip
    for chart, caption in charts.ALL_CHARTS.values():
        assert callable(chart)
        assert len(caption) > 20


def percentile_means(res: Results) -> pd.DataFrame:
    """Per plan, the mean over replications of cycle_p50/p85/p95: the tables' figures every chart must show."""
    cols = ["cycle_p50", "cycle_p85", "cycle_p95"]
    return res.summary.assign(plan=res.summary["plan"].astype(str)).groupby("plan")[cols].mean()


def test_every_axes_is_labelled(figures: dict[str, Figure]) -> None:
    for name, fig in figures.items():
        assert fig.axes, name
        for ax in fig.axes:
            assert ax.get_title(), name
            assert ax.get_xlabel(), name
            assert ax.get_ylabel(), name


def test_cumulative_flow_one_panel_per_plan_one_band_per_stage(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["cumulative_flow"]
    n = len(res.plans)
    tops, bottoms = fig.axes[:n], fig.axes[n:]
    assert [ax.get_title() for ax in tops] == res.plans and len(bottoms) == n
    for ax, low, plan in zip(tops, bottoms, res.plans, strict=True):
        stages = [c for c in ax.collections if isinstance(c, PolyCollection)]
        closed = [c for c in low.collections if isinstance(c, PolyCollection)]
        assert len(stages) == len(res.stages) and len(closed) == 2  # one band per stage; won, otherwise closed
        d = rep0(res, plan)
        ends = [b.get_paths()[0].vertices for b in stages]
        last = [v[np.isclose(v[:, 0], HORIZON), 1].max() for v in ends]
        assert last[-1] == pytest.approx((d["outcome"] == "open").sum())  # the top edge at the end: open deals
        tops_closed = [b.get_paths()[0].vertices[:, 1].max() for b in closed]
        assert tops_closed[0] == pytest.approx((d["outcome"] == "won").sum())  # the bottom band: won deals
        assert tops_closed[1] == pytest.approx((d["outcome"] != "open").sum())  # the top edge: every closed deal


def test_cycle_time_scatter_points_and_percentiles(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["cycle_time_scatter"]
    assert len(fig.axes) == len(res.plans)
    means = percentile_means(res)
    for ax, plan in zip(fig.axes, res.plans, strict=True):
        d = rep0(res, plan)
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(points.get_offsets()) == (d["outcome"] == "won").sum()
        assert len(ax.lines) == 3
        levels = [line.get_ydata()[0] for line in ax.lines]
        assert levels == pytest.approx(means.loc[plan].to_numpy())  # as every table: the mean over replications
        assert {t.get_text()[:3] for t in ax.texts} == {"p50", "p85", "p95"}


def test_cycle_time_distribution_one_ecdf_per_plan_with_p85(res: Results, figures: dict[str, Figure]) -> None:
    (ax,) = figures["cycle_time_distribution"].axes
    colours = charts.plan_colours(res.plans)
    for plan in res.plans:
        cycles = won_cycles_in_window(res.deals[res.deals["plan"] == plan])
        (ecdf,) = [ln for ln in ax.lines if ln.get_label().startswith(f"{plan} (")]
        assert same_colour(ecdf.get_color(), colours[plan])
        assert ecdf.get_ydata()[-1] == pytest.approx(1.0)
        assert len(ecdf.get_xdata()) == len(cycles)
        (p85,) = [ln for ln in ax.lines if ln.get_label().startswith(f"p85 {plan}")]
        assert p85.get_xdata()[0] == pytest.approx(percentile_means(res).loc[plan, "cycle_p85"])


def test_throughput_one_line_and_band_per_plan_per_panel(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["throughput_run_chart"]
    assert len(fig.axes) == 2
    colours = charts.plan_colours(res.plans)
    for ax in fig.axes:
        lines = [ln for ln in ax.lines if ln.get_label() in res.plans]
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert [ln.get_label() for ln in lines] == res.plans
        assert len(bands) == len(res.plans)
        for line, band, plan in zip(lines, bands, res.plans, strict=True):
            assert same_colour(line.get_color(), colours[plan])
            assert same_colour(band.get_facecolor()[0][:3], colours[plan])
        assert any(p.get_label() == charts.WARMUP for p in ax.patches)
    weeks = res.weekly[(res.weekly["plan"] == res.plans[0]) & (res.weekly["start_day"] + 7 <= HORIZON)]
    rolled = weeks.pivot_table(index="start_day", columns="replication", values="won", observed=True)
    median = rolled.rolling(charts.ROLLING_WEEKS, min_periods=1).mean().median(axis=1).to_numpy()
    assert fig.axes[0].lines[0].get_ydata() == pytest.approx(median)  # each replication's 4-week mean, then median


def test_replication_distributions_four_panels_one_box_per_plan(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["replication_distributions"]
    assert len(fig.axes) == 4
    colours = charts.plan_colours(res.plans)
    for ax in fig.axes:
        boxes = [p for p in ax.patches if isinstance(p, PathPatch)]
        assert len(boxes) == len(res.plans)
        for box, plan in zip(boxes, res.plans, strict=True):
            assert same_colour(box.get_facecolor()[:3], colours[plan])
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert [len(c.get_offsets()) for c in dots] == [REPLICATIONS] * len(res.plans)
        assert [t.get_text() for t in ax.get_xticklabels()] == res.plans


def test_funnel_bars_for_every_stage_and_plan(res: Results, figures: dict[str, Figure]) -> None:
    entered_ax, exits_ax = figures["funnel"].axes
    summary = res.summary.groupby("plan", observed=True).mean(numeric_only=True)
    first = f"enter_{res.stages[0]}"
    for plan in res.plans:
        bars = bars_of(entered_ax, plan)
        assert len(bars) == len(res.stages)
        heights = [b.get_height() for b in bars]
        assert heights == sorted(heights, reverse=True)  # a funnel narrows
        d = res.deals[res.deals["plan"] == plan]
        assert heights[0] == pytest.approx(((d[first] >= WARMUP) & (d[first] < HORIZON)).sum() / REPLICATIONS)
        for outcome in ("disqualified", "lost", "stale"):
            exits = bars_of(exits_ax, f"{plan}: {outcome}")
            assert len(exits) == len(res.stages)
            assert sum(b.get_height() for b in exits) == pytest.approx(summary.loc[plan, outcome])


def test_time_breakdown_stacks_touch_queue_buyer(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["time_breakdown"]
    assert [ax.get_title() for ax in fig.axes] == res.plans
    for ax, plan in zip(fig.axes, res.plans, strict=True):
        split = res.time_split[res.time_split["plan"] == plan].set_index("stage").loc[res.stages]
        for label, column in (("seller touch", "touch_days"), ("queue (waiting for a seller)", "queue_days")):
            bars = bars_of(ax, label)
            assert [b.get_height() for b in bars] == pytest.approx(split[column].to_numpy())
        buyer = bars_of(ax, "buyer + blocked")
        assert [b.get_y() for b in buyer] == pytest.approx((split["touch_days"] + split["queue_days"]).to_numpy())


def test_time_breakdown_computed_when_the_table_is_missing(res: Results) -> None:
    without = Results(**{**vars(res), "time_split": None})
    with_table, computed = charts.time_breakdown(res), charts.time_breakdown(without)
    for a, b in zip(with_table.axes, computed.axes, strict=True):
        assert [p.get_height() for p in a.patches] == pytest.approx([p.get_height() for p in b.patches])


def test_roles_bars_for_each_role_of_each_plan(res: Results, figures: dict[str, Figure]) -> None:
    util_ax, queue_ax = figures["roles"].axes
    assert [t.get_text() for t in util_ax.get_xticklabels()] == ["ae", "sdr", "se"]
    plan_roles = {plan: list(res.scenario.plans[plan].roles) for plan in res.plans}
    assert plan_roles["resource_optimised"] == ["ae"]  # a plan lacking roles the other has
    for plan, roles in plan_roles.items():
        s = res.summary[res.summary["plan"] == plan]
        for ax, prefix in ((util_ax, "utilisation_"), (queue_ax, "queue_days_")):
            bars = bars_of(ax, plan)
            assert len(bars) == len(roles)
            expected = [s[f"{prefix}{role}"].mean() for role in sorted(roles, key=["ae", "sdr", "se"].index)]
            assert [b.get_height() for b in bars] == pytest.approx(expected)


def test_efficiency_matrix_one_labelled_point_per_plan(res: Results, figures: dict[str, Figure]) -> None:
    (ax,) = figures["efficiency_matrix"].axes
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [p.get_label() for p in points] == res.plans
    means = res.summary.groupby("plan", observed=True)[["utilisation", "flow_efficiency"]].mean()
    for point, plan in zip(points, res.plans, strict=True):
        (xy,) = np.asarray(point.get_offsets())
        assert list(xy) == pytest.approx(list(means.loc[plan]))
    assert {t.get_text() for t in ax.texts} >= set(res.plans)
    assert ax.get_xlim() == (0, 1)
    assert ax.get_ylim()[0] == 0


def test_velocity_waterfall_three_factors_two_totals(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["velocity_waterfall"]
    assert len(fig.axes) == len(res.plans) - 1
    for ax, plan in zip(fig.axes, res.plans[1:], strict=True):
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(bars) == 5  # baseline, three factors, plan: the cycle is not a step
        base, *steps, total = (b.get_height() for b in bars)
        ratio = res.velocity[res.velocity["plan"] == plan]["velocity_ratio"].iloc[0]
        assert total == pytest.approx(base * ratio)
        assert base + sum(steps) == pytest.approx(total)  # the steps bridge the totals exactly
        means = res.summary.groupby("plan", observed=True)["velocity_per_week"].mean()
        assert (base, total) == pytest.approx((means[res.plans[0]], means[plan]))  # pooled factors: mean velocity
        assert plan in ax.get_title()
        assert any(t.get_text().startswith("speed view (not a factor)") for t in ax.texts)


def test_aging_wip_open_deals_and_percentile_lines(res: Results, figures: dict[str, Figure]) -> None:
    fig = figures["aging_wip"]
    assert len(fig.axes) == len(res.plans)
    for ax, plan in zip(fig.axes, res.plans, strict=True):
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        open_deals = rep0(res, plan).query("outcome == 'open'")
        assert len(points.get_offsets()) == len(open_deals)
        assert sorted(points.get_offsets()[:, 1]) == pytest.approx(sorted(HORIZON - open_deals["created"]))
        assert len(ax.lines) == 3
        assert [ln.get_ydata()[0] for ln in ax.lines] == pytest.approx(percentile_means(res).loc[plan].to_numpy())


def test_a_plan_has_the_same_colour_in_every_chart(res: Results, figures: dict[str, Figure]) -> None:
    colours = charts.plan_colours(res.plans)
    seen: dict[str, set[tuple[float, ...]]] = {plan: set() for plan in res.plans}
    for plan in res.plans:
        for name in ("cumulative_flow", "cycle_time_scatter", "time_breakdown", "aging_wip"):
            (ax,) = [ax for ax in figures[name].axes if ax.get_title().startswith(plan)]
            seen[plan].add(to_rgb(ax.title.get_color()))
        (dots,) = [c for c in figures["cycle_time_scatter"].axes[res.plans.index(plan)].collections]
        seen[plan].add(to_rgb(dots.get_facecolor()[0][:3]))
        for name in ("funnel", "roles"):
            seen[plan].add(to_rgb(bars_of(figures[name].axes[0], plan)[0].get_facecolor()[:3]))
        (point,) = [c for c in figures["efficiency_matrix"].axes[0].collections if c.get_label() == plan]
        seen[plan].add(to_rgb(point.get_facecolor()[0][:3]))
        (line,) = [ln for ln in figures["throughput_run_chart"].axes[0].lines if ln.get_label() == plan]
        seen[plan].add(to_rgb(line.get_color()))
    for plan in res.plans:
        assert seen[plan] == {to_rgb(colours[plan])}, plan
    waterfall = figures["velocity_waterfall"].axes[0]
    base, *_, last = (p for p in waterfall.patches if isinstance(p, Rectangle))
    assert same_colour(base.get_facecolor()[:3], colours[res.plans[0]])
    assert same_colour(last.get_facecolor()[:3], colours[res.plans[1]])


def test_save_all_writes_every_chart(res: Results, tmp_path: Path) -> None:
    paths = charts.save_all(res, tmp_path / "charts")
    assert [p.name for p in paths] == [f"{name}.png" for name in charts.ALL_CHARTS]
    for p in paths:
        assert p.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", list(charts.ALL_CHARTS))
def test_single_plan_run_renders_every_chart(single: Results, name: str) -> None:
    assert single.comparison is None and single.velocity is None
    fig = charts.ALL_CHARTS[name][0](single)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_single_plan_velocity_is_one_bar_with_a_note(single: Results) -> None:
    (ax,) = charts.velocity_waterfall(single).axes
    (bar,) = ax.patches
    assert bar.get_height() == pytest.approx(single.summary["velocity_per_week"].mean())
    assert any(t.get_text() == "no baseline to compare" for t in ax.texts)
