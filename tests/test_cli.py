"""End-to-end tests of the command line, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
SHORT = ["--set", "horizon_days=200", "--set", "warmup_days=30", "-n", "3"]


def leanflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def test_run_default_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "res"
    proc = leanflow("run", str(DEFAULT), *SHORT, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "plan: resource_optimised" in proc.stdout
    assert "plan: flow_optimised" in proc.stdout
    assert "won revenue / week" in proc.stdout
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 3
    assert set(summary["plan"]) == {"resource_optimised", "flow_optimised"}
    deals = pd.read_parquet(out / "deals.parquet")
    assert {"value", "fit", "outcome", "owner", "touch_days", "queue_days", "buyer_days", "enter_demo"} <= set(
        deals.columns
    )
    weekly = pd.read_parquet(out / "weekly.parquet")
    assert {"wip_contact", "won", "won_revenue", "week"} <= set(weekly.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["scenario_sha256"]) == 64
    assert manifest["seed"] == 20261122
    assert manifest["versions"]["simpy"]
    assert "run" in manifest["command"]


def test_same_seed_same_files_whatever_the_jobs(tmp_path: Path) -> None:
    one, two = tmp_path / "j1", tmp_path / "j2"
    for target, jobs in ((one, "1"), (two, "2")):
        proc = leanflow("run", str(DEFAULT), *SHORT, "-j", jobs, "-o", str(target))
        assert proc.returncode == 0, proc.stderr
    for name in ("summary.csv", "deals.parquet", "weekly.parquet"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_seed_changes_the_numbers(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert leanflow("run", str(DEFAULT), *SHORT, "-o", str(a)).returncode == 0
    assert leanflow("run", str(DEFAULT), *SHORT, "--seed", "7", "-o", str(b)).returncode == 0
    assert (a / "summary.csv").read_bytes() != (b / "summary.csv").read_bytes()


def _line_starting(text: str, prefix: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if line.lstrip().startswith(prefix))


def test_validate_broken_copies_print_located_errors(tmp_path: Path) -> None:
    base = DEFAULT.read_text()
    structural = base.replace("horizon_days:", "horizon_dayz:", 1).replace("headcount: 14", "headcount: -3")
    reference = base.replace("works: [demo]", "works: [demoo]")
    files = []
    for name, text in (("structural.yaml", structural), ("reference.yaml", reference)):
        files.append(tmp_path / name)
        files[-1].write_text(text)
    proc = leanflow("validate", *map(str, files))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout == ""  # errors go to stderr, so a script can tell them from "ok"
    lines = proc.stderr.strip().splitlines()
    unknown = next(x for x in lines if "horizon_dayz" in x)
    assert unknown.startswith(f"{files[0]}:{_line_starting(structural, 'horizon_dayz')}: ")
    assert "did you mean 'horizon_days'" in unknown
    negative = next(x for x in lines if "headcount" in x)
    assert negative.startswith(f"{files[0]}:{_line_starting(structural, 'headcount: -3')}: ")
    assert "plans.resource_optimised.roles.ae.headcount" in negative
    demo = next(x for x in lines if "demoo" in x)
    assert demo.startswith(f"{files[1]}:{_line_starting(reference, 'works: [demoo]')}: ")
    assert ".roles.se.works" in demo
    assert "did you mean 'demo'" in demo


def test_validate_shipped_scenarios_ok() -> None:
    files = sorted(str(p) for p in (ROOT / "scenarios").rglob("*.yaml") if "mappings" not in p.parts)
    studies = sorted(str(p) for p in (ROOT / "experiments").glob("*.yaml"))  # sweeps and optimisation studies
    proc = leanflow("validate", *files, *studies)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shipped = "".join(p.read_text() for p in (ROOT / "scenarios").glob("*.yaml"))
    assert "../shared" not in shipped and "domain.md" not in shipped  # sources cited directly, not our notes


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "no-such-file.yaml"], "no-such-file.yaml"),
        (["run", str(DEFAULT), "--set", "plans.flow_optimised.roles.sdr.headcount=-1"], "--set"),
        (["run", str(DEFAULT), "--set", "nonsense"], "--set"),
    ],
)
def test_bad_input_exits_2_without_traceback(args: list[str], needle: str, tmp_path: Path) -> None:
    proc = leanflow(*args, "-o", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert needle in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_init_copies_a_valid_scenario(tmp_path: Path) -> None:
    proc = leanflow("init", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert leanflow("validate", str(tmp_path / "default.yaml")).returncode == 0
    assert "$schema=scenario.schema.json" in (tmp_path / "default.yaml").read_text()
    assert json.loads((tmp_path / "scenario.schema.json").read_text())["title"]  # the file the copy points to
    assert leanflow("init", str(tmp_path)).returncode == 2  # never overwrites


def test_schema_command_writes_json(tmp_path: Path) -> None:
    proc = leanflow("schema", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((tmp_path / "scenario.schema.json").read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")


def test_run_prints_the_verdict_and_writes_comparison(tmp_path: Path) -> None:
    out = tmp_path / "res"
    proc = leanflow("run", str(DEFAULT), *SHORT, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "verdict: flow_optimised against resource_optimised" in proc.stdout
    lines = proc.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("flow_optimised: "))
    assert "won revenue per week" in lines[at] and "90% CI" in lines[at] and "median cycle" in lines[at]
    assert " pts)" in lines[at]  # the win-rate change in points
    assert lines[at + 1].startswith("  why flow_optimised: bottleneck resource_optimised: ae ")  # under its headline
    assert "largest velocity factor: " in proc.stdout and "speed view (not a factor)" in proc.stdout
    assert "common random numbers: correlation" in proc.stdout
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["plan"]) == {"flow_optimised"}
    assert {"won_revenue_per_week", "cycle_p50", "cycle_p85", "win_rate", "win_rate_value", "flow_efficiency",
            "utilisation", "utilisation_ae"} <= set(comparison["metric"])  # fmt: skip
    assert {"diff", "diff_low", "diff_high", "rel", "rel_low", "rel_high", "significant", "correlation"} <= set(
        comparison.columns
    )
    summary = pd.read_csv(out / "summary.csv")
    row = comparison.set_index("metric").loc["won_revenue_per_week"]
    by_plan = summary.groupby("plan")["won_revenue_per_week"].mean()
    assert row["diff"] == pytest.approx(by_plan["flow_optimised"] - by_plan["resource_optimised"])
    for name in ("velocity.csv", "time_split.csv", "efficiency.csv", "verdict.json"):
        assert (out / name).is_file(), name
    said = json.loads((out / "verdict.json").read_text())
    assert [w.split(":")[0] for w in said["why"]] == ["why flow_optimised"]
    se = comparison.set_index("metric").loc["queue_days_se"]  # a role only the flow plan has
    assert np.isnan(se["base_mean"]) and se["plan_mean"] > 0 and se["method"] == "one plan only"


def test_set_changes_only_the_plan_it_touches(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert leanflow("run", str(DEFAULT), *SHORT, "-o", str(a)).returncode == 0
    proc = leanflow("run", str(DEFAULT), *SHORT, "--set", "plans.flow_optimised.roles.se.headcount=5", "-o", str(b))
    assert proc.returncode == 0, proc.stderr
    sa, sb = pd.read_csv(a / "summary.csv"), pd.read_csv(b / "summary.csv")
    base = sa["plan"] == "resource_optimised"
    pd.testing.assert_frame_equal(sa[base], sb[base])  # common random numbers: the baseline is untouched
    assert not sa[~base].reset_index(drop=True).equals(sb[~base].reset_index(drop=True))
    planned = pd.read_csv(b / "efficiency.csv").set_index("plan")["headcount"]
    assert planned["flow_optimised"] == planned["resource_optimised"] + 2
    assert (sb.loc[~base, "headcount"].to_numpy() > sa.loc[~base, "headcount"].to_numpy()).all()  # more present


def test_compare_two_files(tmp_path: Path) -> None:
    variant = tmp_path / "variant.yaml"
    variant.write_text(DEFAULT.read_text().replace("gate_threshold: 0.45", "gate_threshold: 0.3"))
    out = tmp_path / "cmp"
    proc = leanflow("compare", str(DEFAULT), str(variant), *SHORT, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "different markets" not in proc.stderr
    assert "verdict: variant:flow_optimised against default:flow_optimised" in proc.stdout  # same names paired
    assert "verdict: variant:resource_optimised against default:resource_optimised" in proc.stdout
    assert "Bonferroni" in proc.stdout  # two pairs, held together
    comparison = pd.read_csv(out / "comparison.csv")
    same = comparison[(comparison["plan"] == "variant:resource_optimised")]
    assert (same["diff"] == 0).all()  # the same plan on the same seed: zero difference
    assert not same["significant"].any()


def test_compare_warns_when_markets_differ(tmp_path: Path) -> None:
    """Also from deep paths: the warning is one line, never wrapped inside its words."""
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 4))
    deep.mkdir(parents=True)
    first, other = deep / "default.yaml", deep / "smb_velocity.yaml"
    first.write_text(DEFAULT.read_text())
    other.write_text((ROOT / "scenarios" / "smb_velocity.yaml").read_text())
    proc = leanflow("compare", str(first), str(other), *SHORT, "-o", str(tmp_path / "x"))
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if "different markets" in line]
    assert len(warning) == 1 and "not common" in warning[0] and str(other) in warning[0], proc.stderr
