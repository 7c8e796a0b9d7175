"""The sweep analysis as the lines the CLI prints: the sweep's header, the ranking tables, each output's summary."""

from __future__ import annotations

import pandas as pd

from leanflow.experiment.sweep_store import CONFIDENCE
from leanflow.metrics.catalog import metric_info, money_unit
from leanflow.report.sweep_data import SweepData, _select
from leanflow.report.sweep_tables import INDEX_COLUMNS, _factor_groups, _num


def _header(data: SweepData) -> list[str]:
    """What the sweep was, and each factor's range over the design."""
    n_plans = len(data.plans)
    lines = [
        f"sweep {data.sweep.name} ({data.kind} design): {len(data.design)} points x {n_plans} "
        f"plan{'s' if n_plans != 1 else ''} ({', '.join(data.plans)}) x {data.sweep.replications} replications; "
        f"{data.directory}",
        "factors:",
    ]
    rows = []
    for factor in data.factors:
        scale, groups = _factor_groups(data, factor)
        role = "lever" if factor in data.sweep.levers else "uncertainty"
        column = data.design[factor]
        if scale == "category":
            span = "{" + ", ".join(g.label for g in groups) + "}"
        else:
            span = f"{_num(float(column.min()))} .. {_num(float(column.max()))}"
        rows.append([factor, role, span, f"{column.nunique(dropna=False)} values"])
    lines += [f"  {line}" for line in format_table(["factor", "kind", "range", "distinct"], rows)]
    return lines


def _output_lines(data: SweepData, means: pd.DataFrame, effects: pd.DataFrame, metric: str) -> list[str]:
    """Per plan: the range of the point means (where they are reached) and the factors by main-effect swing."""
    short = _short_names(data.factors)
    lines = [f"  {labelled(metric)}"]
    for plan in data.plans:
        m = _select(means, plan, metric, data.design.index)["mean"]
        if m.isna().all():
            lines.append(f"    {plan}: no value at any point")
            continue
        swings = []
        for factor in data.factors:
            e = effects[(effects["plan"] == plan) & (effects["factor"] == factor)]["mean"]
            if e.notna().any():
                swings.append((float(e.max() - e.min()), factor))
        swings.sort(key=lambda s: -s[0])
        swing = ", ".join(f"{short[f]} {_num(s)}" for s, f in swings)
        lines.append(f"    {plan}: {_num(float(m.min()))} .. {_num(float(m.max()))} "
                     f"(min at point {m.idxmin()}, max at point {m.idxmax()}); swing: {swing}")  # fmt: skip
    return lines


def _sensitivity_lines(data: SweepData, indices: pd.DataFrame, notes: list[str]) -> list[str]:
    """The ranking tables, one per output and plan, and the notes."""
    pct = f"{CONFIDENCE:.0%}"
    if data.kind == "morris":
        lines = [
            f"Morris screening ({data.sweep.design.n} trajectories, {data.sweep.design.morris_levels} levels), "
            "factors ranked by mu_star:",
            "  mu_star: mean |elementary effect| (the output's change over the factor's full range)",
            f"  mu_star_conf: its {pct} bootstrap half-width; sigma: spread of the effects (interactions, curvature)",
        ]
    else:
        lines = [
            f"Sobol' indices (N = {data.sweep.design.n}), factors ranked by ST:",
            "  ST: total index (share of the output's variance due to the factor, its interactions included)",
            f"  S1: first-order index (the factor alone); S1_conf, ST_conf: {pct} bootstrap half-widths",
        ]
    columns = ["rank", "factor", *INDEX_COLUMNS[data.kind]]
    for (metric, plan), table in indices.groupby(["metric", "plan"], sort=False):
        rows = [[str(r["rank"]), r["factor"], *(_num(r[c]) for c in columns[2:])] for _, r in table.iterrows()]
        lines += ["", f"{labelled(metric)} [{plan}]", *(f"  {line}" for line in format_table(columns, rows))]
    if notes:
        lines += ["", *notes]
    return lines


def labelled(metric: str) -> str:
    """A metric with its label as the summary tables name it, and the unit of the raw numbers printed here:
    'win_rate (win rate (won/(won+lost)), %; printed as a fraction 0-1)'."""
    info = metric_info(metric)
    unit = {"rate": "printed as a fraction 0-1", "money": f"in {money_unit()}"}.get(info.kind)
    text = metric if info.label == metric else f"{metric} ({info.label}"
    if info.label == metric:
        return text if unit is None else f"{text} ({unit})"
    return text + (f"; {unit})" if unit else ")")


def format_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table: columns padded to their widest cell, numbers right-aligned, text left-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(_is_number(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True))

    return [line(headers).rstrip(), *(line(r).rstrip() for r in rows)]


def _is_number(text: str) -> bool:
    """Whether a table cell holds a number (or n/a)."""
    if text == "n/a":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short_names(factors: list[str]) -> dict[str, str]:
    """Each factor's last two path components (``inbound.per_week``), or its whole path when that is ambiguous."""
    short = {f: ".".join(f.split(".")[-2:]) for f in factors}
    if len(set(short.values())) < len(short):
        return {f: f for f in factors}
    return short
