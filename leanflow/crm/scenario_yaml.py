"""The calibrated scenario as commented YAML: every fitted value says which data produced it (n, dates, fit)."""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from leanflow.crm.calibrate import EFFORT_CV, Calibration, Effort, StageFit
from leanflow.crm.stages import BUYER_POINTS
from leanflow.crm.survival import sample_points
from leanflow.crm.uncertainty import log_odds_sd_from
from leanflow.files import atomic_write
from leanflow.scenario.schema import MAX_LOG_ODDS_SD


def _r(x: float, digits: int = 4) -> float:
    """A number rounded to a few significant digits, for a readable file."""
    return float(f"{x:.{digits}g}")


def _d(x: pd.Timestamp) -> str:
    return f"{x:%Y-%m-%d}"


def _wrap(text: str, width: int = 110) -> str:
    """A comment block wrapped to the file's width, keeping its paragraphs."""
    return "\n".join(textwrap.fill(p, width) for p in text.split("\n"))


def _flow(data: dict[str, Any]) -> CommentedMap:
    """A mapping written on one line, lists inside it too."""
    cm = CommentedMap()
    for k, v in data.items():
        cm[k] = _seq(list(v)) if isinstance(v, list | tuple) else v
    cm.fa.set_flow_style()
    return cm


def _seq(values: list) -> CommentedSeq:
    """A list written on one line."""
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _dist(spec) -> CommentedMap:
    """A distribution spec as a one-line mapping, numbers rounded."""
    data = spec.model_dump(by_alias=True, exclude_none=True)
    return _flow({k: (_r(v) if isinstance(v, float) else v) for k, v in data.items()})


def scenario_yaml(cal: Calibration) -> str:
    """The calibrated scenario's text."""
    o = cal.obs
    last = o.as_of - pd.Timedelta(days=1)
    doc = CommentedMap()
    doc["name"] = f"Calibrated: {cal.mapping.name} as of {_d(o.as_of)}"
    doc["description"] = (f"One plan, as_is: the team as it is in {cal.export}, fitted by leanflow calibrate to the "
                          f"{len(o.table):,} opportunities created before {_d(o.as_of)}.")  # fmt: skip
    doc.yaml_set_start_comment(
        f"Calibrated by `leanflow calibrate` from {cal.export} (mapping: {cal.mapping.name}) as of {_d(o.as_of)}:\n"
        f"only opportunities created before it; deals closed on or after it count as open (censored).\n"
        f"The first close in the export is {_d(o.first_close)}: deals created earlier that closed before it would be\n"
        f"missing (left truncation), so rates count from {_d(o.start)}.\n"
        f"{_wrap(cal.cohorts.describe())}\n"
        + (f"{_wrap(cal.truncation.describe())}\n" if cal.truncation is not None else "")
        + "Each fitted value's comment names the data behind it.\n"
        "Run it: leanflow run <this file>"
    )
    doc["horizon_days"] = cal.horizon_days
    doc.yaml_add_eol_comment("the warm-up, then a year measured", "horizon_days")
    doc["warmup_days"] = cal.warmup_days
    doc.yaml_add_eol_comment("the longest cycle the fitted stages allow, in whole months: the pipeline fills "
                             "from empty", "warmup_days")  # fmt: skip
    doc["replications"] = 20
    doc["seed"] = int(f"{o.as_of:%Y%m%d}")
    doc["market"] = _market(cal, last)
    doc["process"] = _process(cal)
    doc["plans"] = _plans(cal, last)
    yaml = YAML()
    yaml.width = 120
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def write_scenario(cal: Calibration, path: str | Path) -> Path:
    """Write the calibrated scenario atomically; return its path."""
    path = Path(path)
    text = scenario_yaml(cal)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path


def _market(cal: Calibration, last: pd.Timestamp) -> CommentedMap:
    o, a = cal.obs, cal.arrivals
    segments = CommentedMap()
    n = sum(s.n for s in cal.segments)
    column = cal.mapping.columns.segment
    test = "" if math.isnan(cal.segment_test) else f" win rate by segment: chi-squared p={cal.segment_test:.2g}."
    where = f"the segment column '{column}'" if column else "no segment column: one segment"
    closes = o.table.loc[o.table["outcome"] == "won", "closed"]
    for s in cal.segments:
        seg = CommentedMap()
        seg["share"] = _r(s.share)
        seg.yaml_add_eol_comment(f"{s.n:,} of {n:,} opportunities created {_d(o.start)}..{_d(last)}", "share")
        seg["deal_value"] = _dist(s.value.dist)
        seg.yaml_add_eol_comment(f"won amounts {s.value.describe()}", "deal_value")
        seg["fit"] = _flow({"dist": "beta", "a": 2, "b": 2})
        seg.yaml_add_eol_comment("no effect here (no gate, no per_fit): kept for what-ifs", "fit")
        segments[s.name] = seg
        segments.yaml_add_eol_comment(f"CRM '{s.label}': {s.won:,} won, {s.lost:,} lost before the as-of date",
                                      s.name)  # fmt: skip
    source = CommentedMap()
    source["kind"] = "poisson"
    source["per_week"] = _r(a.per_week)
    source.yaml_add_eol_comment(f"{a.n:,} opportunities created {_d(a.start)}..{_d(last)} ({a.weeks:.1f} weeks), "
                                f"SE {a.se:.2g}", "per_week")  # fmt: skip
    if a.seasonality is not None:
        source["seasonality"] = _seq(a.seasonality)
    spread = cal.rate_spread
    source["rate_cv"] = _r(spread.cv)
    source.yaml_add_eol_comment(
        f"the rate's uncertainty over a {spread.horizon_days}-day horizon: variogram of the {spread.weeks} whole "
        f"weeks' counts to {_d(last)} (leanflow.crm.uncertainty.rate_cv_from_weekly)" if spread.weeks else
        f"too few whole weeks before {_d(o.as_of)} to estimate the rate's uncertainty: 0", "rate_cv")  # fmt: skip
    source.yaml_set_comment_before_after_key("kind", before=a.note, indent=6)
    market = CommentedMap()
    market["segments"] = segments
    market.yaml_set_comment_before_after_key("segments", indent=2, before=_wrap(
        f"From {where}. Deal values: won amounts closed {_d(closes.min())}..{_d(closes.max())}.{test} Every "
        "segment has the same stage times and exits (one win rate for all in the model)."))  # fmt: skip
    market["sources"] = CommentedMap({"crm": source})
    market["sources"].yaml_add_eol_comment("every opportunity of the export: it has no lead source split", "crm")
    if any(st.silent > 0 for st in cal.stages):
        market["buyer"] = CommentedMap({"stale_after_days": cal.stale_after_days})
        market["buyer"].yaml_add_eol_comment(
            f"a day past the longest observed cycle ({cal.stale_after_days - 1:g} days): no fitted wait reaches it, "
            "so only the silent buyers (no decision) go stale", "stale_after_days")  # fmt: skip
    return market


def _process(cal: Calibration) -> CommentedMap:
    e, inc = cal.effort, cal.incidence
    stages = CommentedSeq()
    for i, s in enumerate(cal.stages):
        stages.append(_stage(s, e, i == len(cal.stages) - 1, cal.stale_after_days))
        stages.yaml_set_comment_before_after_key(i, before=_wrap(f"{s.name}: {s.note}", 106), indent=2)
    how = ("stage history" if cal.phases is None else
           f"creation and close dates only (no stage history): {len(cal.stages)} stage(s)")  # fmt: skip
    share = (f"effort share {e.share:.3g} of elapsed time: the mapping's {e.stated:g} would need "
             f"{e.stated_utilisation:.0%} of the team's selling hours, so it is capped to keep the as-is team "
             f"{e.utilisation:.0%} busy (assumption)") if e.capped else (
             f"effort share {e.share:g} of elapsed time (the mapping's stated assumption; the team is "
             f"{e.utilisation:.0%} busy)")  # fmt: skip
    proc = CommentedMap()
    proc["stages"] = stages
    proc.yaml_set_comment_before_after_key("stages", indent=2, before=_wrap(
        f"Stage times and exits from {how}. Outcomes: competing risks (lifelines Aalen-Johansen), open deals "
        f"censored; of {inc.n:,} opportunities ({inc.n_won:,} won, {inc.n_lost:,} lost before the as-of date): "
        f"P(won) {inc.p_won:.3f}, P(lost) {inc.p_lost:.3f}, no decision {inc.p_open:.3f} (still open after the "
        f"longest observed cycle, {inc.won.size - 1} days: in the model the buyer goes silent at the last timed "
        f"stage and the deal ends stale).\n"
        f"Elapsed days = seller effort + buyer wait; {share}."))  # fmt: skip
    return proc


def _stage(s: StageFit, e: Effort, last: bool, silent_days: float) -> CommentedMap:
    st = CommentedMap()
    st["name"] = s.name
    st.yaml_add_eol_comment(f"not a CRM stage: {s.crm[1:-1]}" if s.crm.startswith("(") else f"CRM '{s.crm}'", "name")
    if s.pmf is None:
        st["effort_hours"] = _flow({"dist": "constant", "value": 0.0})
        return st
    effort = e.effort_days(s)
    st["effort_hours"] = _flow({"dist": "gamma", "mean": _r(effort * e.hours_per_week / 7.0), "cv": EFFORT_CV})
    st.yaml_add_eol_comment(f"{e.share:.3g} x {s.mean_days:.1f} mean elapsed days x {e.hours_per_week:g} h / 7 days "
                            "(cv assumed)", "effort_hours")  # fmt: skip
    values = [_r(max(v - effort - e.queue_days, 0.0)) for v in sample_points(s.pmf, BUYER_POINTS)]
    silent = s.silent_waits
    st["buyer_days"] = _flow({"dist": "empirical", "values": values + [silent_days] * silent})
    st.yaml_add_eol_comment(f"{BUYER_POINTS} quantiles of elapsed days, less {effort:.2f} of effort and "
                            f"{e.queue_days:.2f} waiting for the owner (M/G/1 estimate)" + (
                            f"; then {silent} silent buyers (no decision, {s.silent:.1%}): stale at "
                            f"{silent_days:g} days" if silent else ""), "buyer_days")  # fmt: skip
    what = "P(won)" if last else "P(going on to the next stage)"
    if last and 0 < s.advance < 1 and math.isfinite(s.se):
        sd = min(log_odds_sd_from(s.advance, s.se), MAX_LOG_ODDS_SD)
        st["advance"] = _flow({"base": _r(s.advance), "log_odds_sd": _r(sd)})
        what += (f"; log_odds_sd by the delta method from its standard error {s.se:.3g} (the Aalen-Johansen "
                 f"variance of P(won), {s.n:,} opportunities)")  # fmt: skip
    else:
        st["advance"] = _flow({"base": _r(s.advance)})
    st.yaml_add_eol_comment(what, "advance")
    if s.advance < 1:
        st["lost_share"] = _r(s.lost_share)
        why = ("of the deals that do not go on: lost; the rest no decision (disqualified)" if s.lost_share < 1 else
               "the deals that do not go on are lost")  # fmt: skip
        st.yaml_add_eol_comment(why, "lost_share")
    return st


def _plans(cal: Calibration, last: pd.Timestamp) -> CommentedMap:
    c, e = cal.capacity, cal.effort
    ae = CommentedMap()
    ae["headcount"] = c.headcount
    ae.yaml_add_eol_comment(c.describe(cal.obs.as_of), "headcount")
    ae["selling_hours_per_week"] = e.hours_per_week
    ae.yaml_add_eol_comment("assumption (not in the data): sellers spend well under half their time selling",
                            "selling_hours_per_week")  # fmt: skip
    ae["owns_deals"] = True
    ae.yaml_add_eol_comment("each deal keeps its owner, as in the CRM", "owns_deals")
    ae["works"] = _seq([s.name for s in cal.stages])
    plan = CommentedMap()
    plan["roles"] = CommentedMap({"ae": ae})
    plan["policy"] = _flow({"priority": "fifo"})
    plan.yaml_add_eol_comment("neutral: no gate, no WIP limits, no hand-offs", "policy")
    plans = CommentedMap({"as_is": plan})
    plans.yaml_set_comment_before_after_key("as_is", indent=2, before="One plan: the team as it was in the last 3 "
                                            f"months before {_d(cal.obs.as_of)}.")  # fmt: skip
    return plans
