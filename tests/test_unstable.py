"""An unstable run (more work than a role can do, nothing going cold) stops early with one clear message naming
the overloaded role; with allow_unstable it runs on to a memory bound; a stable run is untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import leanflow as lf
from leanflow.errors import UnstableRun
from leanflow.model import watchdog

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"


def overloaded() -> dict:
    """One AE for 3,000 leads a week, no cooling or staleness: the queue can only grow."""
    data = yaml.safe_load(DEFAULT.read_text())
    data.update(horizon_days=100, warmup_days=0, replications=1)  # open deals pass the limits within weeks
    data["market"]["sources"] = {"inbound": {"kind": "poisson", "per_week": 3000}}
    data["market"]["buyer"] = {}
    data["plans"] = {"one_seller": {"roles": {"ae": {"headcount": 1, "selling_hours_per_week": 20, "owns_deals": True,
                                                     "works": [s["name"] for s in data["process"]["stages"]]}}}}
    for st in data["process"]["stages"]:
        st.pop("gate", None)
    return data


def test_an_unstable_run_stops_naming_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchdog, "UNSTABLE_OPEN", 5_000)  # reached in a few weeks
    with pytest.raises(UnstableRun, match=r"plan 'one_seller' is unstable: .* role 'ae' has [\d,]+ deals waiting for "
                       r"1 seller\(s\).*100% of them busy"):  # fmt: skip
        lf.run(overloaded(), jobs=1, progress=False)


def test_allow_unstable_runs_on_to_the_memory_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchdog, "UNSTABLE_OPEN", 2_000)
    monkeypatch.setattr(watchdog, "HARD_OPEN", 8_000)
    with pytest.raises(UnstableRun, match="the most allow_unstable lets a run hold"):
        lf.run(overloaded(), jobs=1, progress=False, set=["allow_unstable=true"])
    short = {**overloaded(), "horizon_days": 10, "allow_unstable": True}
    assert len(lf.run(short, jobs=1, progress=False).summary) == 1  # under the bound: it runs


def test_the_cli_says_it_in_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "overloaded.yaml"
    data = overloaded()
    data["market"]["sources"]["inbound"]["per_week"] = 20000  # 50,000 open deals within weeks
    path.write_text(yaml.safe_dump(data))
    args = [sys.executable, "-m", "leanflow.cli", "run", str(path), "-j", "1", "-o", str(tmp_path / "o")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "is unstable" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "unstable" in line]) == 1


def test_a_stable_run_is_the_same_to_the_bit_with_the_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    sets = ["horizon_days=300", "warmup_days=100"]
    watched = lf.run(DEFAULT, replications=2, jobs=1, set=sets, progress=False)

    def idle(funnel):
        return
        yield

    monkeypatch.setattr("leanflow.model.funnel.watch", idle)
    unwatched = lf.run(DEFAULT, replications=2, jobs=1, set=sets, progress=False)
    pd.testing.assert_frame_equal(watched.summary, unwatched.summary)
    pd.testing.assert_frame_equal(watched.deals, unwatched.deals)
