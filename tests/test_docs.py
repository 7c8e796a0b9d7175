"""The documentation: the site builds with ``mkdocs build --strict``, every ``python`` block of docs/*.md and of
the README runs, the example notebook executes, and the generated scenario reference names every field.

A page's blocks run in order in one fresh namespace, in a subprocess whose working directory looks like the
repository root: every top-level entry of the checkout is linked into a scratch directory, except ``results/``,
which starts empty. Relative paths (``scenarios/default.yaml``, ``results/default``) work as they do for a
reader in the checkout, and what the examples write (the README's ``default.html``, ``results/default``) stays
out of the checkout. A block opts out only with ``<!-- no-run -->`` on the line right before its fence.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]  # every page; those with python blocks are run
NOTEBOOK = DOCS / "notebooks" / "first_run.ipynb"
HOOK = DOCS / "hooks" / "scenario_reference.py"
NO_RUN = "<!-- no-run -->"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)")
BLOCK_TIMEOUT = 900  # seconds for all the blocks of one page

RUNNER = """
import json, sys
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for block in blocks:
    # padded with blank lines so that a traceback names the line in the markdown file
    exec(compile("\\n" * (block["line"] - 1) + block["code"], block["file"], "exec"), namespace)
"""


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(first code line, code) of each ```python block of a markdown file, in order, except opted-out ones."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence[0] * len(fence)):
            end += 1
        opted_out = i > 0 and lines[i - 1].strip() == NO_RUN
        if m["info"].lower() in ("python", "py") and not opted_out:
            body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : end]]
            blocks.append((i + 2, "\n".join(body) + "\n"))
        i = end + 1
    return blocks


def repo_view(tmp: Path) -> Path:
    """A directory that looks like the repository root to relative paths, with an empty ``results/``."""
    view = tmp / "repo"
    view.mkdir()
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name != "results":
            (view / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (view / "results").mkdir()
    return view


def _with_blocks() -> list[Path]:
    return [p for p in PAGES if python_blocks(p)]


@pytest.mark.parametrize("page", _with_blocks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    blocks = python_blocks(page)
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([{"file": str(page), "line": n, "code": c} for n, c in blocks]), encoding="utf-8")
    runner = tmp_path / "run_blocks.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(runner), str(spec)], cwd=repo_view(tmp_path), env=env,
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT)  # fmt: skip
    assert proc.returncode == 0, f"a python block of {page.relative_to(ROOT)} failed:\n{proc.stderr[-4000:]}"


def test_a_no_run_comment_skips_only_the_next_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\na = 1\n```\n\n<!-- no-run -->\n```python\nraise SystemExit\n```\n"
                    "- in a list:\n\n    ```python\n    b = 2\n    ```\n\n```bash\nls\n```\n")  # fmt: skip
    assert python_blocks(page) == [(2, "a = 1\n"), (12, "b = 2\n")]


def test_notebook_executes() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "save the notebook without outputs"
    run_in_root = {"metadata": {"path": str(ROOT)}}
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources=run_in_root)
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}"
    return out


def test_site_builds_strictly(site: Path) -> None:
    for page in ("index.html", "scenario/index.html", "model/index.html", "api/index.html"):
        assert (site / page).is_file(), page
    assert (site / "notebooks" / "first_run.ipynb").is_file()  # linked as a download
    assert not (site / "hooks").exists()  # build code, not published


def _reference() -> str:
    spec = importlib.util.spec_from_file_location("scenario_reference", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()


def test_scenario_reference_names_every_field_and_model() -> None:
    from leanflow.scenario.schema import Scenario

    text = _reference()
    top = text.split("\n## ", 1)[0]  # the Scenario section comes first
    assert top.startswith("## Scenario ")
    for name in Scenario.model_fields:
        assert f"| `{name}` |" in top, f"the reference has no row for the top-level field {name}"
    for model in Scenario.model_json_schema().get("$defs", {}):
        assert f"\n## {model} {{" in text, f"the reference has no section for {model}"


def test_built_scenario_page_has_the_reference(site: Path) -> None:
    from leanflow.scenario.schema import Scenario

    page = (site / "scenario" / "index.html").read_text(encoding="utf-8")
    assert "<!-- scenario-reference -->" not in page  # the marker was replaced
    for name in Scenario.model_fields:
        assert f"<code>{name}</code>" in page, name
