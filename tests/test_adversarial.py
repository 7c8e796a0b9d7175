"""Cases an adversarial run found: each is one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MM1 = ROOT / "scenarios" / "queueing" / "mm1.yaml"
SWEEP = f"""\
name: s
base: {MM1}
replications: 1
levers:
  plans.single.roles.server.headcount: [1, 2]
design: {{kind: grid}}
outputs: [won_per_week]
overrides: {{horizon_days: 100, warmup_days: 10}}
"""


def leanflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, timeout=300)


def clean(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", ["import", "calibrate", "backtest"])
def test_a_device_is_not_read_as_an_export(command: str, tmp_path: Path) -> None:
    extra = {"import": [], "calibrate": ["-o", str(tmp_path / "s.yaml")], "backtest": ["--as-of", "2017-06-01"]}
    clean(leanflow(command, "/dev/zero", "--mapping", "maven", *extra[command]), "not a regular file")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_a_sweep_into_proc_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    proc = leanflow("sweep", str(tmp_path / "s.yaml"), "-j", "1", "-o", "/proc/leanflow-out")
    clean(proc, "/proc/leanflow-out")


def test_a_scheduler_that_is_not_an_address_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    (tmp_path / "s.yaml").write_text(SWEEP)
    clean(leanflow("sweep", str(tmp_path / "s.yaml"), "--scheduler", "garbage", "-o", str(tmp_path / "o")),
          "cannot reach the Dask scheduler at garbage")  # fmt: skip


def test_a_manifest_with_wrong_kinds_of_values_still_reports(tmp_path: Path) -> None:
    out = tmp_path / "res"
    ran = leanflow("run", str(MM1), "-n", "2", "-j", "1", "--set", "horizon_days=300", "--set", "warmup_days=30",
                   "-o", str(out))  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.update(versions=999, command=999)
    (out / "manifest.json").write_text(json.dumps(manifest))
    proc = leanflow("report", str(out), "-o", str(tmp_path / "r.html"))
    assert "Traceback" not in proc.stdout + proc.stderr and proc.returncode in (0, 2), proc.stderr
