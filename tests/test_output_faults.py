"""Output paths checked before simulating, write failures in one line, and degenerate runs without NaN."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leanflow.errors import OutputError
from leanflow.files import atomic_write

sys.path.insert(0, str(Path(__file__).parent))
from test_optimise import STUDY
from test_sweep import SWEEP

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
EMPTY_WINDOW = ["--set", "horizon_days=0.01", "--set", "warmup_days=0"]


def leanflow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def _no_nan(text: str) -> None:
    text = re.sub(r'src="data:[^"]*"', "", text)  # inline images are base64
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), re.search(r".{60}\bnan\b.{20}", text, re.I | re.S)


@pytest.mark.parametrize("where", ["file", "file/below"])
@pytest.mark.parametrize("command", ["run", "compare", "sweep", "optimise", "report"])
def test_an_output_path_that_cannot_be_written_fails_first_in_one_line(tmp_path: Path, command: str,
                                                                      where: str) -> None:  # fmt: skip
    (tmp_path / "file").write_text("in the way")
    (tmp_path / "results").mkdir()
    sweep, study = tmp_path / "sweep.yaml", tmp_path / "study.yaml"
    sweep.write_text(SWEEP)
    study.write_text(STUDY)
    args = {"run": ["run", str(DEFAULT)], "compare": ["compare", str(DEFAULT), str(DEFAULT)],
            "sweep": ["sweep", str(sweep)], "optimise": ["optimise", str(study)],
            "report": ["report", str(tmp_path / "results")]}[command]  # fmt: skip
    target = tmp_path / (where + (".html" if command == "report" and where != "file" else ""))
    if command == "report" and where == "file":
        target = tmp_path / "results"  # a directory where the report file should go
    proc = leanflow(*args, "-o", str(target), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot write to {target}"), proc.stderr
    assert proc.stdout == ""


def test_a_failed_write_is_one_error_and_leaves_no_partial_file(tmp_path: Path) -> None:
    def full(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write .*x\.csv: No space left on device"):
        atomic_write(tmp_path / "x.csv", full)
    assert list(tmp_path.iterdir()) == []


def test_no_deals_in_the_window_writes_the_results_and_says_so(tmp_path: Path) -> None:
    proc = leanflow("run", str(DEFAULT), *EMPTY_WINDOW, "-n", "2", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no deals closed in the window" in proc.stderr
    assert "no deals closed in the window" in proc.stdout
    _no_nan(proc.stdout)
    verdict = (tmp_path / "out" / "verdict.json").read_text()
    _no_nan(verdict)
    assert "n/a: no deals closed" in verdict
    assert leanflow("report", "out", cwd=tmp_path).returncode == 0
    _no_nan((tmp_path / "out" / "report.html").read_text())


def test_one_replication_says_n_a_instead_of_nan(tmp_path: Path) -> None:
    proc = leanflow("run", str(DEFAULT), "--set", "horizon_days=120", "--set", "warmup_days=20", "-n", "1", "-o",
                    "out", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _no_nan(proc.stdout)
    said = json.loads((tmp_path / "out" / "verdict.json").read_text())
    assert any(n.endswith("= n/a: one replication") for n in said["notes"]), said["notes"]
    assert "CI n/a: one replication" in said["headlines"][0]
    _no_nan(json.dumps(said))
    assert leanflow("report", "out", cwd=tmp_path).returncode == 0
    _no_nan((tmp_path / "out" / "report.html").read_text())
