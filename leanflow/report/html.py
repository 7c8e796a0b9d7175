"""The single self-contained HTML report: verdict, charts, assumptions, method.

Charts are inline PNG (base64), CSS is inline, nothing is fetched: the file
opens offline and can be e-mailed. Every user string goes through Jinja2's
autoescaping.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import tempfile
import warnings
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure

from leanflow import __version__
from leanflow.errors import LeanflowError
from leanflow.experiment.store import API_COMMAND
from leanflow.files import atomic_write, check_output
from leanflow.metrics.catalog import currency, format_signed, format_value, metric_info, metric_order, money_text
from leanflow.metrics.compare import bottleneck_roles
from leanflow.metrics.stats import describe
from leanflow.metrics.verdict import ci_level, no_deals_notes
from leanflow.metrics.why import bottleneck_note
from leanflow.read_checks import field, read_json
from leanflow.report.charts import ALL_CHARTS
from leanflow.report.results import Results, load_results
from leanflow.scenario.schema import Scenario

TEMPLATES = Path(__file__).parent / "templates"
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
KEY_METRICS = (
    "won_revenue_per_week", "won_per_week", "win_rate", "win_rate_value", "cycle_p50", "cycle_p85",
    "flow_efficiency", "utilisation", "utilisation_deal", "cost_per_year", "revenue_per_cost", "cooled_per_week",
    "stale_per_week", "leads", "qualified", "won",
)  # fmt: skip


def figure_png(fig: Figure) -> str:
    """A figure as a base64 PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_report(res: Results) -> str:
    """The report of a results directory as one HTML string, amounts in the scenario's currency."""
    with currency(res.scenario.currency):
        return _render(res)


def _render(res: Results) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    with warnings.catch_warnings():  # numpy's and matplotlib's complaints about an empty window: the charts show it
        warnings.simplefilter("ignore")
        charts = [
            {"name": name, "title": fn.__doc__.strip().splitlines()[0] if fn.__doc__ else name, "caption": caption,
             "src": figure_png(fn(res))}
            for name, (fn, caption) in ALL_CHARTS.items()
        ]  # fmt: skip
    verdict = _verdict(res)
    return env.get_template("report.html.j2").render(
        title=res.scenario.name,
        plans=res.plans,
        verdict=verdict,
        notes=no_deals_notes(res.summary),
        plan_tables=_plan_tables(res),
        charts=charts,
        assumptions=_assumptions(res.scenario, res.manifest.get("replications")),
        yaml_texts=res.manifest.get("scenario_texts") or [],
        overrides=res.manifest.get("overrides") or [],
        method=_method(res),
    )


def write_report(directory: str | Path, output: str | Path | None = None) -> Path:
    """Render the report of a results directory (a run, a comparison or an optimisation); write it atomically."""
    from leanflow.report.optimise_report import is_optimisation_dir, render_optimisation_report

    path = check_output(Path(output) if output else Path(directory) / "report.html", directory=False)
    if is_optimisation_dir(Path(directory)):
        html = render_optimisation_report(Path(directory))
    else:
        html = render_report(load_results(directory))
    atomic_write(path, lambda p: p.write_text(html, encoding="utf-8"))
    return path


def find_chromium() -> str | None:
    """The path of a Chromium-family browser, if one is installed."""
    return next((p for p in map(shutil.which, CHROMIUMS) if p), None)


def print_pdf(html: Path) -> Path:
    """Print a report to PDF beside it through headless Chromium."""
    browser = find_chromium()
    if browser is None:
        raise LeanflowError(
            "--pdf needs Chromium and none was found (looked for: " + ", ".join(CHROMIUMS) + "). "
            f"Install it (Debian: apt-get install chromium) or open {html} in a browser and print to PDF."
        )
    pdf = html.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
               html.resolve().as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not pdf.is_file():
        raise LeanflowError(f"Chromium could not print {html} to PDF: {proc.stderr.strip()[-500:]}")
    return pdf


# ---------------------------------------------------------------- sections


def _verdict(res: Results) -> dict[str, Any] | None:
    """Headlines, notes and one table per plan against the baseline (None for a single plan)."""
    if res.comparison is None or len(res.plans) < 2:
        return None
    path = res.directory / "verdict.json"
    said = read_json(path) if path.is_file() else {}
    said = {key: field(said, path, key, list) for key in ("headlines", "why", "notes") if key in said}
    tables = []
    roles = bottleneck_roles(res.summary)
    pairs = res.comparison[["baseline", "plan"]].astype(str).drop_duplicates().itertuples(index=False)
    for base, plan in pairs:
        rows = res.comparison[(res.comparison["plan"] == plan) & (res.comparison["baseline"] == base)]
        level = ci_level(res.comparison)
        body = []
        for r in rows.itertuples():
            kind = metric_info(r.metric).kind
            note = bottleneck_note(r.metric, (base, plan), roles)
            body.append({
                "metric": metric_info(r.metric).label + note, "bottleneck": bool(note),
                "base": format_value(kind, r.base_mean),
                "plan": format_value(kind, r.plan_mean), "diff": format_signed(kind, r.diff),
                "ci": f"{format_signed(kind, r.diff_low)} .. {format_signed(kind, r.diff_high)}",
                "rel": "-" if r.rel != r.rel or kind == "rate" else f"{100 * r.rel:+.0f}%",
                "significant": bool(r.significant), "paired": r.method != "one plan only",
            })  # fmt: skip
        tables.append({"plan": plan, "baseline": base, "level": level, "rows": body})
    headlines = list(zip_longest(said.get("headlines", []), said.get("why", []), fillvalue=""))
    bases = res.comparison["baseline"].astype(str).unique()
    return {"baseline": bases[0] if len(bases) == 1 else "baseline", "headlines": headlines,
            "notes": said.get("notes", []), "tables": tables, "velocity": _velocity(res)}  # fmt: skip


def _velocity(res: Results) -> list[dict[str, str]]:
    """The velocity factors against the baseline, then the cycle as the speed view, as display strings."""
    if res.velocity is None:
        return []
    rows = []
    for r in res.velocity.itertuples():
        kind = metric_info(r.factor).kind
        rows.append({
            "plan": str(r.plan), "factor": r.label if r.view == "factor" else f"speed view (not a factor): {r.label}",
            "base": format_value(kind, r.baseline), "value": format_value(kind, r.value),
            "ratio": format_value("number", r.ratio),
            "share": "-" if r.share != r.share else f"{100 * r.share:.0f}%",
        })  # fmt: skip
    return rows



def _plan_tables(res: Results) -> list[dict[str, Any]]:
    """Key metrics per plan: mean and 90% CI across replications."""
    metrics = [m for m in metric_order(list(res.summary.columns)) if m in KEY_METRICS]
    desc = describe(res.summary, metrics)
    rows = []
    for metric in metrics:
        info = metric_info(metric)
        cells = []
        for plan in res.plans:
            r = desc[(desc["plan"] == plan) & (desc["metric"] == metric)].iloc[0]
            f = lambda x, k=info.kind: format_value(k, x)  # noqa: E731
            cells.append({"mean": f(r["mean"]), "ci": f"{f(r['ci_low'])} .. {f(r['ci_high'])}"})
        rows.append({"label": info.label, "cells": cells})
    return [{"plans": res.plans, "rows": rows, "n": int(res.summary["replication"].nunique())}]


def _dist(spec: Any) -> str:
    """A distribution as short readable text, e.g. gamma(mean=2, cv=0.5)."""
    if spec is None:
        return "none"
    params = spec.model_dump(by_alias=True, exclude={"dist"}, exclude_none=True)
    return f"{spec.dist}(" + ", ".join(f"{k}={_num(v)}" for k, v in params.items()) + ")"


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_num(x) for x in v) + "]"
    return str(v)


def _readable(value: Any) -> str:
    """A setting's value as text a client reads: mappings as 'key value' pairs (unset ones left out), lists of
    mappings one after another; never a Python repr."""
    if isinstance(value, dict):
        parts = [f"{k.replace('_', ' ')} {_readable(v)}" for k, v in value.items() if v not in (None, {}, [])]
        return ", ".join(parts) if parts else "default"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "; ".join(_readable(v) for v in value)
    return _num(value)


def _source_params(params: dict[str, Any]) -> str:
    """A lead source's settings that are set (not none, zero or all defaults), as readable text."""
    shown = [(k, _readable(v)) for k, v in params.items() if v not in (None, {}, [], 0)]
    return "; ".join(f"{k.replace('_', ' ')} {text}" for k, text in shown if text != "default")


def _assumptions(sc: Scenario, replications: Any = None) -> dict[str, Any]:
    """The scenario as readable tables (``replications``: what the run used, if not the scenario's own)."""
    market = sc.market
    ran = replications if isinstance(replications, int) and not isinstance(replications, bool) else sc.replications
    reps = str(ran) if ran == sc.replications else f"{ran} (the scenario file says {sc.replications})"
    return {
        "run": [("name", sc.name), ("horizon", f"{sc.horizon_days:g} days"), ("warm-up", f"{sc.warmup_days:g} days"),
                ("replications", reps), ("seed", str(sc.seed))],
        "segments": [
            {"name": n, "share": _num(s.share), "value": _dist(s.deal_value), "fit": _dist(s.fit),
             "effort_scale": _num(s.effort_scale), "buyer_scale": _num(s.buyer_scale)}
            for n, s in market.segments.items()
        ],
        "sources": [
            {"name": n, "kind": s.kind, "params": _source_params(s.model_dump(exclude={"kind"}))}
            for n, s in market.sources.items()
        ],
        "buyer": [("cold half-life", _opt(market.buyer.cold_half_life_days, "days", "no decay")),
                  ("stale after", _opt(market.buyer.stale_after_days, "days without contact", "never"))],
        "stages": [
            {"name": st.name, "effort": _dist(st.effort_hours), "buyer": _dist(st.buyer_days),
             "advance": f"{st.advance.base:g} + {st.advance.per_fit:g} x fit",
             "lost_share": "default" if st.lost_share is None else _num(st.lost_share),
             "gate": f"noise {st.gate.noise:g}" if st.gate else ""}
            for st in sc.process.stages
        ],
        "plans": [
            {"name": name, "policy": _policy(plan.policy.model_dump()), "roles": [
                {"name": rn, "headcount": r.headcount, "hours": _num(r.selling_hours_per_week),
                 "works": ", ".join(r.works), "owns": "yes" if r.owns_deals else "no", "prospects": _num(r.prospects),
                 "wip": "" if r.wip_limit_per_person is None else str(r.wip_limit_per_person),
                 "assignment": r.assignment,
                 "cost": "" if r.cost_per_head is None else money_text(f"{r.cost_per_head:,.0f}")}
                for rn, r in plan.roles.items()
            ]}
            for name, plan in sc.plans.items()
        ],
    }


def _policy(policy: dict[str, Any]) -> dict[str, str]:
    """A plan's policy as readable text per setting: nested settings as 'key value' pairs, unset ones left out."""
    out = {}
    for key, value in policy.items():
        if value is None or value == {} or value == []:
            continue
        out[key.replace("_", " ")] = _readable(value)
    return out


def _command(argv: list[str]) -> str:
    """The command as the user typed it, without local paths: the program as `leanflow`, files by their name;
    a run made from Python says so."""
    if argv[0] == API_COMMAND:
        return "made from Python (the leanflow API)"
    words = ["leanflow"]
    for arg in argv[1:]:
        words.append(Path(arg).name if Path(arg).is_absolute() else arg)
    return " ".join(words)


def _opt(value: float | None, unit: str, none: str) -> str:
    return none if value is None else f"{value:g} {unit}"


def _method(res: Results) -> list[tuple[str, str]]:
    m = res.manifest
    versions = m.get("versions") if isinstance(m.get("versions"), dict) else {}
    command = m.get("command") if isinstance(m.get("command"), list) else []
    sc = res.scenario
    bonferroni = len(res.plans) > 2
    rows = [
        ("replications", f"{m.get('replications')} per plan, each from its own SeedSequence child of the seed"),
        ("seed", str(m.get("seed"))),
        ("common random numbers", "every plan sees the same leads with the same draws in each replication "
         "(one random stream per lead source and kind of draw); comparisons are paired by replication"),
        ("confidence level", "90% (t intervals; paired bootstrap for cycle-time percentiles)"
         + ("; Bonferroni-adjusted across plans" if bonferroni else "")),
        ("warm-up", f"the first {sc.warmup_days:g} of {sc.horizon_days:g} simulated days are excluded from metrics"),
        ("leanflow version", str(versions.get("leanflow", __version__))),
        ("package versions", ", ".join(f"{k} {v}" for k, v in versions.items() if k != "leanflow")),
        ("scenario hash", f"sha256 {m.get('scenario_sha256', '')}"),
        ("command", _command([str(a) for a in command]) if command else "-"),
        ("report written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]  # fmt: skip
    return rows
