"""The HTML report's content: verdict, every chart, the scenario, the method; escaping; offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leanflow.report.charts import ALL_CHARTS

ROOT = Path(__file__).resolve().parent.parent
SHORT = ["-n", "3", "--set", "horizon_days=200", "--set", "warmup_days=40"]


def leanflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "res"
    proc = leanflow("run", str(ROOT / "scenarios" / "default.yaml"), *SHORT, "-o", str(out), "--report")
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out / 'report.html'}" in proc.stdout
    return (out / "report.html").read_text()


def test_report_sections_in_order(report_html: str) -> None:
    positions = [report_html.index(f'id="{x}"') for x in ("verdict", "charts", "assumptions", "method")]
    assert positions == sorted(positions)
    assert re.search(r'<p class="headline">flow_optimised: .*won revenue per week', report_html)
    assert re.search(r'</p><p class="why">why flow_optimised: bottleneck resource_optimised: ', report_html)
    assert 'class="verdict-table"' in report_html and 'class="velocity-table"' in report_html
    assert "speed view (not a factor)" in report_html
    row = r"<td>win rate \(won/\(won\+lost\)\), %</td>(?:(?!</tr>).)*?<td>[+-]\d+\.\d pts</td>"
    assert re.search(row, report_html, re.DOTALL)  # the difference of a rate in points


def test_report_has_every_chart_with_a_caption(report_html: str) -> None:
    for name, (_, caption) in ALL_CHARTS.items():
        assert f'id="chart-{name}"' in report_html, name
        assert str(caption.split()[0]) in report_html
    assert report_html.count('src="data:image/png;base64,') == len(ALL_CHARTS)


def test_report_shows_the_scenario_and_method(report_html: str) -> None:
    assert "Mid-market SaaS, 14 sellers" in report_html
    assert "<details><summary>Scenario file 1 (YAML)</summary>" in report_html
    assert "cold_half_life_days: 14" in report_html  # the YAML itself, comments and all
    assert "resource_optimised" in report_html and "gamma(mean=0.5, cv=0.5)" in report_html
    for item in ("common random numbers", "warm-up", "leanflow version", "seed", "confidence level"):
        assert item in report_html


def test_report_is_self_contained(report_html: str) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', report_html)
    assert "<link" not in report_html and "<script" not in report_html


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "default.yaml").read_text()
    text = text.replace("name: Mid-market SaaS, 14 sellers", 'name: "<script>alert(1)</script>"')
    text = text.replace("# A mid-market", "# </pre><script>alert(2)</script> A mid-market")
    weird = tmp_path / "<b>x.yaml"
    weird.write_text(text)
    out = tmp_path / "res"
    proc = leanflow("compare", str(ROOT / "scenarios" / "default.yaml"), str(weird), *SHORT, "-o", str(out),
                    "--report")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    assert "<script" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&lt;b&gt;x:flow_optimised" in html  # a plan labelled after the file shows as text


def test_report_command_on_a_single_plan_run(tmp_path: Path) -> None:
    out = tmp_path / "mm1"
    assert leanflow("run", str(ROOT / "scenarios" / "queueing" / "mm1.yaml"), "-n", "2",
                    "--set", "horizon_days=400", "--set", "warmup_days=50", "-o", str(out)).returncode == 0  # fmt: skip
    proc = leanflow("report", str(out), "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text()
    assert "One plan only" in html and 'class="plan-table"' in html


def test_report_on_a_directory_that_is_not_results(tmp_path: Path) -> None:
    proc = leanflow("report", str(tmp_path))
    assert proc.returncode == 2
    assert "not a leanflow results directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pdf_without_chromium_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leanflow.errors import LeanflowError
    from leanflow.report import html

    monkeypatch.setattr(html, "find_chromium", lambda: None)
    page = tmp_path / "r.html"
    page.write_text("<html></html>")
    with pytest.raises(LeanflowError, match="needs Chromium"):
        html.print_pdf(page)


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="no Chromium here (CI installs it)")
def test_pdf_with_chromium(tmp_path: Path) -> None:
    from leanflow.report.html import print_pdf

    page = tmp_path / "r.html"
    page.write_text("<html><body><h1>leanflow</h1></body></html>")
    pdf = print_pdf(page)
    assert pdf.read_bytes().startswith(b"%PDF")
