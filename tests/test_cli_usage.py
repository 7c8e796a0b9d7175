"""Usage errors (missing arguments, unknown options and commands, out-of-range values) exit 2 with click's
one-line message, never a traceback, whichever click typer bundles."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    ["run"],
    ["run", "--bogus", "x"],
    ["run", "scenarios/default.yaml", "-n", "0"],
    ["run", "scenarios/default.yaml", "-n", "10001"],
    ["forecast", "scenarios/default.yaml", "--from", "2025-01-01", "--until", "2025-02-01", "-n", "99999"],
    ["run", "scenarios/default.yaml", "-j", "0"],
    ["run", "scenarios/default.yaml", "--seed", "-1"],
    ["validate"],
    ["frobnicate"],
    ["sweep"],
    ["optimise"],
    ["report"],
    ["compare", "only-one.yaml"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a) for a in CASES])
def test_usage_error_exits_2_without_traceback(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert "Error:" in done.stderr
