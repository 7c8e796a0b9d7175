"""The report of an optimisation directory: the answer, the selection, the frontier and the win map.

One self-contained HTML file (inline PNG charts and CSS), written by
``leanflow report DIR`` when DIR holds an optimisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leanflow import __version__
from leanflow.errors import ResultsError
from leanflow.read_checks import ANY, NUMBER, TEXT, check_columns, field, numbers, read_json, read_table
from leanflow.report.charts import plan_colours

TEMPLATES = Path(__file__).parent / "templates"


def is_optimisation_dir(directory: Path) -> bool:
    """Whether a directory holds an optimisation's results (its manifest, which must then be readable, says so)."""
    manifest = Path(directory) / "manifest.json"
    return manifest.is_file() and read_json(manifest).get("kind") == "optimise"


SELECTION_KEYS = {"procedure": str, "objective": dict, "alpha": float, "delta": float, "first_stage": int,
                  "max_replications": int, "families": dict}  # fmt: skip
WINMAP_KEYS = {"challenger": str, "baseline": str, "rule": str, "rule_accuracy": float, "shares": dict, "points": int,
               "replications": int}  # fmt: skip
WINMAP_COLUMNS = {"point": NUMBER, "difference": NUMBER, "ci_low": NUMBER, "ci_high": NUMBER, "winner": ANY}


def _read(directory: Path) -> dict[str, Any]:
    """Every file of an optimisation directory the report shows, each checked."""
    d = Path(directory)
    selection = _checked(d / "selection.json", SELECTION_KEYS)
    metric = field(selection["objective"], d / "selection.json", "metric", str)
    for family in selection["families"].values():
        if not isinstance(family, dict):
            raise ResultsError(f"{d / 'selection.json'}: a family is not what leanflow optimise writes")
    frontier = read_table(d / "frontier.csv", {"family": TEXT, "selected": ANY, **numbers("cycle_p85_mean",
                                                                                       f"{metric}_mean")})
    verdict, winmap, summary = d / "verdict" / "verdict.json", d / "winmap.parquet", d / "winmap.json"
    return {
        "selection": selection, "frontier": frontier, "best": read_table(d / "best.csv", {}),
        "verdict": _checked(verdict, dict.fromkeys(("headlines", "why", "notes"), list)) if verdict.is_file() else None,
        "winmap": _winmap(winmap) if winmap.is_file() else None,
        "winmap_summary": _checked(summary, WINMAP_KEYS) if summary.is_file() else None,
        "study": str(read_json(d / "manifest.json").get("study", d)),
    }  # fmt: skip


def _winmap(path: Path) -> pd.DataFrame:
    """The win map's table: its columns, and at least one numeric uncertainty beside them."""
    table = read_table(path, WINMAP_COLUMNS)
    factors = [str(c) for c in table.columns if c not in WINMAP_COLUMNS]
    if not factors:
        raise ResultsError(f"{path}: no uncertainty columns")
    check_columns(table, path, numbers(*factors))
    return table


def _checked(path: Path, keys: dict[str, type]) -> dict[str, Any]:
    """A JSON file with these keys, of these types (an int passes for a float)."""
    data = read_json(path)
    for key, kind in keys.items():
        field(data, path, key, (int, float) if kind is float else kind)
    return data


def frontier_chart(frontier: pd.DataFrame, metric: str) -> Figure:
    """The frontier: objective against p85 cycle time, per family; the selected design ringed."""
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    colours = plan_colours(list(dict.fromkeys(frontier["family"])))
    for family, rows in frontier.groupby("family", sort=False):
        ax.scatter(rows["cycle_p85_mean"], rows[f"{metric}_mean"], color=colours[family], label=family, s=40)
        chosen = rows[rows["selected"].astype(bool)]
        ax.scatter(chosen["cycle_p85_mean"], chosen[f"{metric}_mean"], s=180, facecolors="none",
                   edgecolors=colours[family], linewidths=2)  # fmt: skip
    ax.set_xlabel("cycle time p85, days (first-stage mean)")
    ax.set_ylabel(f"{metric} (first-stage mean)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def selection_chart(selection: dict[str, Any]) -> Figure:
    """Designs left at each step of the selection, per family."""
    families = selection["families"]
    fig = Figure(figsize=(7.5, 3.8))
    ax = fig.subplots()
    colours = plan_colours(list(families))
    for family, f in families.items():
        if f.get("selected") is None:
            continue
        steps = [f["candidates"], f["candidates"] - f["excluded_by_constraints"], *f["survivors"]]
        ax.step(range(len(steps)), steps, where="post", color=colours[family], label=family, marker="o")
    ax.set_yscale("log")
    ax.set_xlabel("step: candidates, within constraints, after the screen, after each KN elimination")
    ax.set_ylabel("designs left")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def winmap_chart(table: pd.DataFrame, summary: dict[str, Any]) -> Figure:
    """The win map: each design point placed by the first two uncertainties, coloured by who wins."""
    factors = [c for c in table.columns if c not in {"point", "difference", "ci_low", "ci_high", "winner"}]
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.subplots()
    x = table[factors[0]].to_numpy(dtype=float)
    y = table[factors[1]].to_numpy(dtype=float) if len(factors) > 1 else table["difference"].to_numpy()
    colours = {summary["challenger"]: "#2f855a", summary["baseline"]: "#c53030"}
    for winner, rows in table.groupby("winner"):
        idx = rows.index.to_numpy()
        ax.scatter(x[idx], y[idx], s=60, color=colours.get(winner, "#9aa5b1"), label=str(winner))
    lines = {factors[0]: ax.axvline, **({factors[1]: ax.axhline} if len(factors) > 1 else {})}
    drawn = [c for c in summary.get("rule_cuts", []) if c["factor"] in lines]  # the boundary, dashed
    for k, cut in enumerate(drawn):
        lines[cut["factor"]](cut["threshold"], color="#4a5568", linestyle="--", linewidth=1.2,
                             label="boundary" if k == 0 else None)  # fmt: skip
    ax.set_xlabel(factors[0])
    ax.set_ylabel(factors[1] if len(factors) > 1 else "paired difference")
    ax.set_title(summary["rule"], fontsize=10)
    ax.legend(frameon=False, fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def _cell(v: Any) -> Any:
    """A table cell for people: whole numbers without decimals, others to 6 significant digits."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float | np.floating):
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.6g}"
    return v


def render_optimisation_report(directory: Path) -> str:
    """The HTML of an optimisation's report."""
    from leanflow.report.html import figure_png

    data = _read(directory)
    metric = data["selection"]["objective"]["metric"]
    charts = [("The frontier", figure_png(frontier_chart(data["frontier"], metric)),
               "Pareto-optimal designs of each family on the objective, p85 cycle time and cost (ringed: selected)"),
              ("The selection", figure_png(selection_chart(data["selection"])),
               "Designs left as the screen and KN eliminate them")]  # fmt: skip
    if data["winmap"] is not None and data["winmap_summary"] is not None:
        charts.append(("Where each family wins", figure_png(winmap_chart(data["winmap"], data["winmap_summary"])),
                       "Each point of the uncertainty design, coloured by the winner at 90% (grey: neither)"))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)  # fmt: skip
    best = data["best"].astype(object).map(_cell)
    return env.get_template("optimise.html.j2").render(
        title=data["study"], version=__version__, selection=data["selection"], verdict=data["verdict"],
        best_columns=list(best.columns), best_rows=best.to_dict("records"), charts=charts,
        winmap=data["winmap_summary"],
    )  # fmt: skip
