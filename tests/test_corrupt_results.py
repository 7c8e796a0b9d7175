"""Corrupt results directories: `report` and `analyze` exit 0 or 2 with one line, never a traceback.

Real small results (a run, a sweep, an optimisation) are made once; each example copies one, damages
one file (truncated, deleted, random bytes, a column dropped) and runs the command in-process
through the CLI's entry point, so an unexpected exception fails the test with its traceback.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leanflow.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
sys.path.insert(0, str(Path(__file__).parent))
from test_optimise import STUDY  # noqa: E402
from test_sweep import SWEEP  # noqa: E402

KINDS = ("truncate", "delete", "garbage", "drop_column")


def _cli(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "leanflow.cli", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One results directory of each kind: a run (two plans), a sweep, an optimisation."""
    d = tmp_path_factory.mktemp("made")
    _cli("run", str(DEFAULT), "--set", "horizon_days=120", "--set", "warmup_days=20", "-n", "2", "-o", "run", cwd=d)
    (d / "sweep.yaml").write_text(SWEEP)
    _cli("sweep", "sweep.yaml", "-j", "1", "-o", "sweep", cwd=d)
    (d / "study.yaml").write_text(STUDY)
    _cli("optimise", "study.yaml", "-j", "1", "-o", "opt", cwd=d)
    return {"run": d / "run", "sweep": d / "sweep", "opt": d / "opt"}


def _files(directory: Path) -> list[Path]:
    """The files a reader may look at (not the per-point or per-evaluation pieces)."""
    return sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file()
                  and p.parent.name not in ("points", "evaluations", "plots"))  # fmt: skip


def corrupt(path: Path, kind: str, data: st.DataObject) -> None:
    """Damage one file in place."""
    raw = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)), label="length")])
    elif kind == "delete":
        path.unlink()
    elif kind == "garbage":
        path.write_bytes(data.draw(st.binary(min_size=0, max_size=300), label="bytes"))
    elif path.suffix in (".csv", ".parquet"):
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        column = data.draw(st.sampled_from(sorted(map(str, df.columns))), label="column")
        df = df.drop(columns=[column])
        df.to_parquet(path) if path.suffix == ".parquet" else df.to_csv(path, index=False)
    else:
        path.write_bytes(raw[: len(raw) // 2])


def run_cli(*args: str) -> tuple[int, str]:
    """The CLI's exit code and stderr, in-process (any uncaught exception propagates)."""
    stderr = io.StringIO()
    old = sys.argv
    sys.argv = ["leanflow", *args]
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    else:
        code = 0
    finally:
        sys.argv = old
    return code, stderr.getvalue()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_results_directory_gives_one_line_and_exit_2(made: dict[str, Path], tmp_path: Path,
                                                               data: st.DataObject) -> None:  # fmt: skip
    which = data.draw(st.sampled_from(sorted(made)), label="directory")
    target = tmp_path / f"copy-{data.draw(st.integers(0, 10**9))}"
    shutil.copytree(made[which], target)
    name = data.draw(st.sampled_from(_files(target)), label="file")
    corrupt(target / name, data.draw(st.sampled_from(KINDS), label="kind"), data)
    code, err = run_cli("analyze" if which == "sweep" else "report", str(target))
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
    shutil.rmtree(target)


@pytest.mark.parametrize("command", ["report", "analyze"])
def test_an_empty_manifest_names_the_file(made: dict[str, Path], tmp_path: Path, command: str) -> None:
    target = tmp_path / "d"
    shutil.copytree(made["sweep" if command == "analyze" else "run"], target)
    (target / "manifest.json").write_text("")
    code, err = run_cli(command, str(target))
    assert code == 2 and err.strip() == f"{target / 'manifest.json'}: empty file"


def test_a_dropped_column_is_named(made: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "d"
    shutil.copytree(made["run"], target)
    pd.read_csv(target / "summary.csv").drop(columns=["won"]).to_csv(target / "summary.csv", index=False)
    code, err = run_cli("report", str(target))
    assert code == 2 and err.strip() == f"{target / 'summary.csv'}: missing column(s) won"


@pytest.mark.parametrize("which", ["run", "sweep"])
def test_every_csv_cut_to_its_header_is_read_or_refused_in_one_line(made: dict[str, Path], tmp_path: Path,
                                                                   which: str) -> None:  # fmt: skip
    for name in [f for f in _files(made[which]) if f.suffix == ".csv"]:  # header only: a truncation at a line end
        target = tmp_path / f"{which}-{name.stem}"
        shutil.copytree(made[which], target)
        (target / name).write_text((target / name).read_text().splitlines()[0] + "\n")
        code, err = run_cli("analyze" if which == "sweep" else "report", str(target))
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), (name, err)


def test_a_directory_of_something_else(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, err = run_cli("report", str(tmp_path))
    assert code == 2 and "not a leanflow results directory" in err
    code, err = run_cli("analyze", str(tmp_path))
    assert code == 2 and "not a sweep results directory" in err
