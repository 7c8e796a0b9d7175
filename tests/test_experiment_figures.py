"""The shipped experiments' figures (leanflow.report.experiment_figures): tiny real sweeps of each shipped
experiment file (fewer points, 2 replications, a short horizon), drawn through ``leanflow analyze`` and the API.

The sweeps are written beside each other as ``results/<name>``, as experiments/README.md runs them, so the
figures that read a second sweep (fairness, staffing_mix) find it in its default place.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import leanflow as lf
from leanflow.cli import main
from leanflow.errors import LeanflowError
from leanflow.report.experiment_figures import SPECS, erlang_c, mmc_wq
from leanflow.scenario.sweep_schema import FIGURES

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
SHORT = {"horizon_days": 200, "warmup_days": 50}
HALF_LIVES = [0.6, 1.1, 2.0, 3.6, 6.5, 11.8, 21.4]  # 14 points in the two sweeps: enough to rank 10 factors
FAIR = {"horizon_days": 160, "warmup_days": 40}
# per sweep: the overrides and the smaller set of levers and uncertainties that replace the shipped ones
SHRINK = {
    "utilisation": {"levers": {"market.sources.inbound.per_week": [22, 46, 70]}},
    "gate_threshold": {
        "levers": {"plans.flow_optimised.policy.gate_threshold": [0.2, 0.45]},
        "uncertainties": {"plans.resource_optimised.policy.gate_threshold": {"low": 0.2, "high": 0.45, "levels": 2}},
    },
    "staffing_mix": {  # SDR 4..5 x SE 2..3, AE the rest of 14: 4/8/2, 4/7/3, 5/7/2, 5/6/3 (shipped)
        "levers": {"plans.flow_optimised.roles.ae.headcount": [8, 7, 7, 6]},
        "uncertainties": {
            "plans.flow_optimised.roles.sdr.headcount": {"low": 4, "high": 5, "levels": 2, "integer": True},
            "plans.flow_optimised.roles.se.headcount": {"low": 2, "high": 3, "levels": 2, "integer": True},
        },
    },
    "validation": {  # c = 1, 2 at rho = 0.5, 0.7 (effort 24 c hours, arrivals 7 rho a week)
        "overrides": {"horizon_days": 3000, "warmup_days": 100},
        "levers": {"plans.pooled.roles.servers.headcount": [1, 1, 2, 2]},
        "uncertainties": {
            "process.stages.0.effort_hours.mean": {"low": 24, "high": 48, "levels": 2},
            "market.sources.inbound.per_week": {"low": 3.5, "high": 4.9, "levels": 2},
        },
    },
    "validation_tandem": {
        "overrides": {"horizon_days": 120, "warmup_days": 10},
        "levers": {"market.sources.inbound.per_week": [84, 168]},
    },
    "fairness": {"overrides": FAIR, "levers": {"market.buyer.first_touch_half_life_hours": HALF_LIVES},
                 "design": {"kind": "latin_hypercube", "n": len(HALF_LIVES), "seed": 8}},
    "fairness_learning": {"overrides": FAIR, "levers": {"market.buyer.first_touch_half_life_hours": HALF_LIVES},
                          "design": {"kind": "latin_hypercube", "n": len(HALF_LIVES), "seed": 8}},
}  # fmt: skip


def shrink(name: str, directory: Path) -> Path:
    """A copy of experiments/<name>.yaml with fewer points, 2 replications and a short horizon."""
    data = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    change = SHRINK[name]
    data["base"] = str((EXPERIMENTS / data["base"]).resolve())
    data["replications"] = 2
    data["overrides"] = {**data.get("overrides", {}), **change.get("overrides", SHORT)}
    for key in ("levers", "uncertainties", "design"):
        if key in change:
            data[key] = change[key]
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every shipped sweep, small, run once into ``results/<name>``."""
    top = tmp_path_factory.mktemp("experiments")
    out = {}
    for name in SHRINK:
        out[name] = top / "results" / name
        lf.sweep(shrink(name, top), out[name], jobs=1, progress=False)
    return out


def cli(*args: str) -> tuple[int, str, str]:
    """The CLI in-process through its entry point (an unexpected exception propagates): code, stdout, stderr."""
    stdout, stderr, old = io.StringIO(), io.StringIO(), sys.argv
    sys.argv = ["leanflow", *map(str, args)]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    else:
        code = 0
    finally:
        sys.argv = old
    return code, stdout.getvalue(), stderr.getvalue()


def one_line_error(args: list, needle: str) -> str:
    """The command exits 2 with one line on stderr that contains ``needle``."""
    code, _, err = cli(*args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err
    return err


def table_rows(markdown: str, heading: str) -> list[str]:
    """The body rows of the markdown table that follows ``heading`` (or the table starting with it)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    while not lines[start].startswith("| "):
        start += 1
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return rows


def drawn(directory: Path, *extra: str) -> str:
    """``leanflow analyze DIR`` (the sweep names its figure) writes NAME.png and NAME.md and prints the tables."""
    name = json.loads((directory / "manifest.json").read_text())["sweep"]["figure"]
    code, out, err = cli("analyze", directory, *extra)
    assert code == 0, err
    where = Path(extra[extra.index("-o") + 1]) if "-o" in extra else directory
    md = (where / f"{name}.md").read_text()
    assert (where / f"{name}.png").stat().st_size > 10_000
    assert md in out and f"figure: {where / f'{name}.png'}" in out
    assert md == lf.load_sweep_results(directory).figure_tables(), "the CLI's tables are the API's"
    return md


def figure_of(directory: Path, **kw) -> tuple[Figure, str]:
    """The figure the sweep names and its tables, through the API (as the CLI draws them)."""
    made = lf.load_sweep_results(directory).experiment_figure(**kw)
    assert isinstance(made.figure, Figure)
    return made.figure, made.markdown


def test_the_figure_names_are_the_schemas_and_every_shipped_sweep_names_one() -> None:
    assert tuple(SPECS) == FIGURES == tuple(lf.SweepResults.figure_names())
    for path in EXPERIMENTS.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        if "families" not in data:  # optimisation files have no figure
            assert data["figure"] in FIGURES, path


def test_utilisation(swept: dict[str, Path], tmp_path: Path) -> None:
    md = drawn(swept["utilisation"], "-o", tmp_path / "figs")
    assert len(table_rows(md, "## utilisation: means")) == 3 * 2
    assert [r.split(" | ")[0] for r in table_rows(md, "## utilisation: paired")] == ["| 22", "| 46", "| 70"]
    axes = lf.load_sweep_results(swept["utilisation"]).figure().axes
    assert len(axes) == 4 and axes[0].get_title() == "Cycle time against bottleneck utilisation"
    assert len(axes[0].containers) == 4  # two plans x (p50, p85)
    assert "bottleneck utilisation (resource: AEs; flow: " in axes[0].get_xlabel()


def test_gate_threshold(swept: dict[str, Path]) -> None:
    fig, md = figure_of(swept["gate_threshold"])
    rows = table_rows(md, "## gate_threshold")
    assert [r.split(" | ")[:2] for r in rows] == [["| 0.20", "resource_optimised"], ["| 0.45", "resource_optimised"],
                                                  ["| 0.20", "flow_optimised"], ["| 0.45", "flow_optimised"]]
    assert "resource_optimised: revenue peaks at threshold" in md and "flow_optimised at each threshold" in md
    assert [ax.get_title() for ax in fig.axes][:2] == ["win rate won/(won+lost)", "won deals per week"]
    assert len(fig.axes) == 6 and all(len(ax.containers) == 2 for ax in fig.axes)


def test_staffing_mix_with_the_gate_sweep_beside_it(swept: dict[str, Path]) -> None:
    fig, md = figure_of(swept["staffing_mix"])
    mixes = ["5/7/2", "4/8/2", "5/6/3", "4/7/3"]  # by SE, then SDR down
    assert [r.split(" | ")[0] for r in table_rows(md, "## staffing_mix")] == [f"| {m}" for m in mixes]
    assert "paired against the shipped 5/6/3" in md
    assert "resource_optimised as shipped (gate_threshold sweep at 0.2):" in md
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == mixes
    assert any(line.get_linestyle() == "--" for line in fig.axes[0].get_lines())  # the resource reference
    _, alone = figure_of(swept["staffing_mix"], second=swept["utilisation"])  # a second sweep without gate 0.2
    assert "no resource_optimised row at gate 0.2" in alone


def erlang_c_closed_form(c: int, rho: float) -> float:
    """P(wait) of M/M/1 and M/M/2 in closed form: rho, and 2 rho^2 / (1 + rho)."""
    return {1: rho, 2: 2 * rho**2 / (1 + rho)}[c]


def test_validation_theory_is_erlang_c(swept: dict[str, Path]) -> None:
    md = drawn(swept["validation"])
    rows = table_rows(md, "## validation (M/M/c)")
    assert [r.split(" | ")[:2] for r in rows] == [["| 1", "0.5"], ["| 1", "0.7"], ["| 2", "0.5"], ["| 2", "0.7"]]
    fig = lf.load_sweep_results(swept["validation"]).figure()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "analytic Wq, Erlang C (days)" and len(ax.containers) == 2  # c = 1, 2
    for c, container in zip((1, 2), ax.containers, strict=True):
        theory = np.asarray(container.lines[0].get_xdata(), dtype=float)
        # Wq = C(c, c rho) / (c mu - lambda) with mu = 1/c per day (effort 24 c hours) and lambda = rho per day
        expected = [erlang_c_closed_form(c, rho) / (1 - rho) for rho in (0.5, 0.7)]
        np.testing.assert_allclose(theory, expected, rtol=1e-12)
        assert [f"{v:.4f}" for v in expected] == [r.split(" | ")[2] for r in rows if r.startswith(f"| {c} ")]
    assert fig.get_suptitle().endswith("2 replications each, 2,900 measured days per replication")
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9) and mmc_wq(1, 0.8, 1.0) == pytest.approx(4.0)


def test_validation_tandem(swept: dict[str, Path]) -> None:
    md = drawn(swept["validation_tandem"])
    rows = table_rows(md, "## validation_tandem")
    assert len(rows) == 2 * 4 and rows[3].split(" | ")[1] == "line W"
    # 84 a week is 0.5 an hour: the cutters' M/M/2 at rho 0.4 wait 0.305 h (experiments/README.md)
    assert rows[0].split(" | ")[:4] == ["| 0.5", "cut Wq", "0.40", "0.305"]
    axes = lf.load_sweep_results(swept["validation_tandem"]).figure().axes
    assert len(axes) == 2 and len(axes[0].containers) == 4


def test_fairness_pairs_the_two_sweeps_from_either(swept: dict[str, Path], tmp_path: Path) -> None:
    fig, md = figure_of(swept["fairness"])
    n = len(HALF_LIVES)
    assert md.startswith(f"\n## fairness: {n} points x 2 replications x 2 plans x 2 learning settings (1.0, 0.85)")
    assert len(table_rows(md, "every point")) == 2 * n
    ranking = [r.split(" | ")[0].removeprefix("| ") for r in
               table_rows(md, "PRCC of the flow - resource difference in won_revenue_per_week")]  # fmt: skip
    assert len(ranking) == 10 and "learning progress ratio (all roles)" in ranking
    assert "learning 0.85 minus off, on flow - resource revenue/wk" in md
    assert len(fig.axes) == 5  # four panels and the colour bar
    top = [f for f in ranking if not f.startswith("learning")][:3]  # the panels: the top three other factors
    assert [ax.get_xlabel() for ax in fig.axes[:3]] == top
    half_life = "speed-to-lead half-life (h)"
    assert all((ax.get_xscale() == "log") == (f == half_life) for ax, f in zip(fig.axes, top, strict=False))
    # drawn from the learning sweep, it finds the other beside it and gives the same tables
    assert figure_of(swept["fairness_learning"])[1] == md
    # the second sweep anywhere, named
    elsewhere = tmp_path / "copy"
    shutil.copytree(swept["fairness_learning"], elsewhere)
    made = lf.load_sweep_results(swept["fairness"]).experiment_figure(second=elsewhere)
    assert made.markdown == md
    png, table = made.save(tmp_path / "figs")
    assert png.stat().st_size > 10_000 and table.read_text() == md


def test_fairness_without_its_second_sweep_is_one_line(swept: dict[str, Path], tmp_path: Path) -> None:
    alone = tmp_path / "results" / "fairness"
    shutil.copytree(swept["fairness"], alone)
    one_line_error(["analyze", alone], "the fairness figure also reads the fairness_learning sweep")
    one_line_error(["analyze", alone, "--with", tmp_path / "nowhere"], "no such directory")
    one_line_error(["analyze", alone, "--with", alone], "both have learning progress ratio 1")
    one_line_error(["analyze", alone, "--with", swept["utilisation"]], "the fairness figure needs")
    with pytest.raises(LeanflowError, match="fairness_learning"):
        lf.load_sweep_results(alone).figure()
    first = json.loads((alone / "manifest.json").read_text())["sweep_file"]  # its sweep, done: resumed at once
    code, _, err = cli("sweep", first, "-j", "1", "-o", alone, "--analyze")  # the figure waits for the other: a note
    assert code == 0, err
    assert "note: the fairness figure is not drawn: " in err and "fairness_learning" in err
    assert not (alone / "fairness.png").exists() and (alone / "plots").is_dir()


def test_a_results_directory_from_before_figure_gets_it_from_the_option(swept: dict[str, Path],
                                                                        tmp_path: Path) -> None:  # fmt: skip
    old = tmp_path / "validation_tandem"
    shutil.copytree(swept["validation_tandem"], old, ignore=shutil.ignore_patterns("*.png", "*.md", "plots"))
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["sweep"]["figure"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = cli("analyze", old)
    assert code == 0 and not (old / "validation_tandem.png").exists() and "figure:" not in out, err
    code, out, err = cli("analyze", old, "--figure", "validation_tandem")
    assert code == 0 and (old / "validation_tandem.png").is_file() and "## validation_tandem: waits" in out, err
    one_line_error(["analyze", old, "-o", tmp_path / "x"], "names no figure")


def test_bad_figure_requests_are_one_line(swept: dict[str, Path], tmp_path: Path) -> None:
    err = one_line_error(["analyze", swept["utilisation"], "--figure", "utilization"], "no figure 'utilization'")
    assert all(name in err for name in FIGURES)
    one_line_error(["analyze", swept["utilisation"], "--figure", "validation"], "the validation figure needs")
    one_line_error(["analyze", swept["utilisation"], "--with", swept["fairness"]], "reads one sweep")
    with pytest.raises(LeanflowError, match="no figure 'nope'"):
        lf.load_sweep_results(swept["utilisation"]).figure("nope")
    # a results directory without an output the figure needs (win_rate dropped from both tables)
    broken = tmp_path / "utilisation"
    shutil.copytree(swept["utilisation"], broken)
    results = pd.read_parquet(broken / "results.parquet").drop(columns=["win_rate"])
    results.to_parquet(broken / "results.parquet")
    summary = pd.read_csv(broken / "summary.csv")
    summary[summary.metric != "win_rate"].to_csv(broken / "summary.csv", index=False)
    one_line_error(["analyze", broken], "the utilisation figure needs win_rate")
    (broken / "summary.csv").unlink()
    one_line_error(["analyze", broken], "summary.csv: missing")
