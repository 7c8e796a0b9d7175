"""The HTML report in a real browser: headless system Chromium through pytest-playwright."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leanflow.report.html import find_chromium

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.browser
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch the system Chromium (no browser download); skip only where it is missing outside CI."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run must install Debian's chromium package")
        pytest.skip("no Chromium installed here (CI installs it)")
    return {**browser_type_launch_args, "executable_path": path, "args": FLAGS}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "res"
    cmd = [sys.executable, "-m", "leanflow.cli", "run", str(ROOT / "scenarios" / "default.yaml"), "-n", "3",
           "--set", "horizon_days=200", "--set", "warmup_days=40", "--set", "currency=€", "-o", str(out),
           "--report"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out / "report.html"


def test_report_opens_cleanly_in_chromium(page, report: Path, tmp_path: Path) -> None:
    errors: list[str] = []
    failed: list[str] = []
    network: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("request", lambda r: network.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(report.as_uri(), wait_until="load")
    assert errors == [], errors
    assert failed == [], failed
    assert network == [], f"the report fetched something: {network}"
    images = page.locator("img")
    assert images.count() >= 11
    widths = set()
    for i in range(images.count()):
        img = images.nth(i)
        assert img.evaluate("el => el.complete && el.naturalWidth > 0"), f"image {i} did not load"
        box = img.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, f"image {i} has no size"
        widths.add(round(box["width"]))
    assert len(widths) == 1, f"the charts are shown at different widths: {widths}"
    text = page.locator("body").inner_text()
    assert "nan" not in text.lower().split() and "NaN" not in text, "a NaN reached the reader"
    assert "€" in text  # the scenario's currency on the amounts
    assert str(Path.home()) not in text and "/tmp/" not in text and "site-packages" not in text  # no local paths
    assert page.locator("table.verdict-table").count() == 1
    assert page.locator("table.verdict-table tbody tr").count() >= 8
    marked = page.locator("table.verdict-table tr.bottleneck td:first-child")  # each plan's bottleneck, shaded
    assert marked.count() >= 3 and all("(bottleneck of" in t for t in marked.all_inner_texts())
    assert marked.first.evaluate("el => getComputedStyle(el).fontWeight") == "700"
    assert "flow_optimised" in page.locator("p.headline").first.inner_text()
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


@pytest.fixture(scope="module")
def optimisation_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An optimisation of the two-station line (two families, a small win map) and its report."""
    d = tmp_path_factory.mktemp("opt")
    line = ROOT / "tests" / "data" / "two_role_line.yaml"
    (d / "s.yaml").write_text(f"""\
name: line map
base: {line}
objective: {{metric: cycle_mean, goal: minimise}}
budget: {{headcount: 6}}
families:
  line: {{roles.cutters.headcount: {{low: 2, high: 3}}, roles.welders.headcount: {{low: 3, high: 4}}}}
  pooled: {{policy.priority: [fifo, latest_stage_first]}}
selection: {{indifference: 0.0167, first_stage: 6, max_replications: 30, batch: 4}}
verdict_replications: 4
uncertainties: {{market.sources.inbound.per_week: {{low: 100, high: 160}}}}
design: {{kind: latin_hypercube, n: 5, seed: 2}}
winmap_replications: 3
""")
    for args in (["optimise", "s.yaml", "-o", "out"], ["report", "out"]):
        proc = subprocess.run([sys.executable, "-m", "leanflow.cli", *args], cwd=d, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return d / "out" / "report.html"


def test_optimisation_report_opens_cleanly_in_chromium(page, optimisation_report: Path) -> None:
    errors: list[str] = []
    network: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: network.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(optimisation_report.as_uri(), wait_until="load")
    assert errors == [] and network == [], (errors, network)
    images = page.locator("img")
    assert images.count() == 3
    for i in range(3):
        assert images.nth(i).evaluate("el => el.complete && el.naturalWidth > 0"), f"image {i} did not load"
    assert "Best against best" in page.locator("h1").inner_text()
    assert page.locator("table tbody tr").count() == 2  # one row per family
