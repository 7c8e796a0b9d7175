"""Starting from today's pipeline: the open-deals loader, placement at time 0, conditional sampling, flags.

The known-answer tests place many deals of one age into a one-stage funnel with plenty of sellers, so each
deal's close is its remaining stage time, and compare those with the theoretical conditional distribution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from leanflow.errors import LeanflowError, ScenarioError
from leanflow.experiment.replication import run_replication
from leanflow.model import simulate
from leanflow.model.funnel import Funnel
from leanflow.model.records import EXPIRED, NEW, OLD, OPEN, PLACED, STALE, WON
from leanflow.random import replication_seed
from leanflow.scenario import load_scenario, load_scenario_text
from leanflow.scenario.pipeline import parse_rows, read_pipeline, with_pipeline

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
HEADER = "id,stage,age_days,value,owner,segment,days_in_stage\n"

FUNNEL = """
name: pipeline start
horizon_days: 120
seed: 3
market:
  segments:
    a: {share: 0.6, deal_value: {dist: lognormal, median: 10000, sigma: 0.5}, fit: {dist: beta, a: 2, b: 3}}
    b: {share: 0.4, deal_value: {dist: constant, value: 40000}, fit: {dist: uniform, low: 0, high: 1},
        effort_scale: 1.5, buyer_scale: 2}
  sources:
    inbound: {kind: poisson, per_week: 20}
    outbound: {kind: prospecting, hours_per_lead: 2}
    list: {kind: backlog}
  buyer: {cold_half_life_days: 20, stale_after_days: 30,
          recycle: {probability: 0.3, after_days: {dist: constant, value: 10}}}
process:
  stages:
    - {name: contact, effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}, buyer_days: {dist: exponential, mean: 2},
       advance: {base: 0.5, per_fit: 0.4}}
    - {name: qualify, effort_hours: {dist: constant, value: 1}, gate: {noise: 0.2}}
    - {name: demo, effort_hours: {dist: gamma, mean: 3, cv: 0.5}, buyer_days: {dist: exponential, mean: 8},
       advance: {base: 0.6, per_fit: 0.3}, lost_share: 0.5}
    - {name: close, effort_hours: {dist: gamma, mean: 2, cv: 0.5}, buyer_days: {dist: exponential, mean: 10},
       advance: {base: 0.4, per_fit: 0.5}}
plans:
  full_cycle:
    roles:
      rep: {headcount: 4, selling_hours_per_week: 25, owns_deals: true, works: [contact, qualify, demo, close],
            prospects: when_idle, prospect_pull_limit: 5, wip_limit_per_person: 6,
            attrition: {annual_rate: 2, backfill_days: 10}}
    policy: {priority: oldest_first, gate_threshold: 0.3, wip_limits: {total: 60, stages: {demo: 10}}}
  specialised:
    roles:
      sdr: {headcount: 2, selling_hours_per_week: 25, works: [contact, qualify], prospects: 0.25}
      ae: {headcount: 2, selling_hours_per_week: 25, owns_deals: true, works: [demo, close], wip_limit_per_person: 3}
    policy: {priority: value_per_effort, gate_threshold: 0.5, handoff_hours: 0.5,
             context_switch: {per_open_deal: 0.05}, wip_limits: {total: 40}}
"""


def crowd(*stages: str, fit: str = "{dist: constant, value: 0.5}") -> str:
    """A funnel with no arrivals to speak of and a seller for everyone: a placed deal's close is its rest."""
    names = ", ".join(st.split(",")[0].split(":")[1].strip() for st in stages)
    listed = "".join(f"    - {st}\n" for st in stages)
    return f"""
name: crowd
horizon_days: 400
seed: 17
market:
  segments: {{all: {{share: 1, deal_value: {{dist: constant, value: 1}}, fit: {fit}}}}}
  sources: {{inbound: {{kind: poisson, per_week: 0.0001}}}}
process:
  stages:
{listed}plans:
  crowd: {{roles: {{sellers: {{headcount: 5000, selling_hours_per_week: 168, works: [{names}]}}}}}}
"""


def rows(n: int, stage: str, age: float, **extra) -> list[dict]:
    return [{"id": f"d{i}", "stage": stage, "age_days": age, "value": 1000.0, **extra} for i in range(n)]


def initial_columns(sc, plan: str, rep: int = 0) -> dict[str, np.ndarray]:
    """Per-deal columns of today's deals only, in input order."""
    cols = simulate(sc, plan, replication_seed(sc.seed, rep)).columns()
    keep = cols["initial"] != NEW
    order = np.argsort(cols["deal_id"][keep])
    return {k: v[keep][order] for k, v in cols.items()}


@pytest.fixture(scope="module")
def funnel():
    return load_scenario_text(FUNNEL, "pipeline.yaml")


# ---------------------------------------------------------------- loading


def test_bad_rows_are_each_located(tmp_path: Path, funnel) -> None:
    csv = tmp_path / "open.csv"
    csv.write_text(HEADER + "a,demo,10,500,,,\n"  # fine
                   "b,demoo,10,500,,,\n"  # line 3: unknown stage
                   "a,demo,-1,x,,,\n"  # line 4: duplicate id, negative age, bad value
                   "c,close,5,100,ann,c,9\n"  # line 5: unknown segment, days in stage > age
                   ",close,5,100,,,\n")  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        read_pipeline(csv, funnel)
    lines = [str(e) for e in info.value.errors]
    assert f"{csv}:3: stage: unknown stage 'demoo' (did you mean 'demo'?)" in lines[0]
    located = {(e.line, e.path) for e in info.value.errors}
    assert {(4, "id"), (4, "age_days"), (4, "value"), (5, "segment"), (5, "days_in_stage"), (6, "id")} <= located
    assert all(e.file == str(csv) for e in info.value.errors)


def test_header_problems_and_extra_columns(tmp_path: Path, funnel) -> None:
    csv = tmp_path / "open.csv"
    csv.write_text("id,stage,age,value\n")
    with pytest.raises(ScenarioError, match=r"open\.csv:1: missing column\(s\) age_days; the header has: id, stage"):
        read_pipeline(csv, funnel)
    csv.write_text("")
    with pytest.raises(ScenarioError, match=r"open\.csv:1: empty file"):
        read_pipeline(csv, funnel)
    csv.write_text("\ufeffid,stage,age_days,value,amount_usd,notes\nx,close,3,10,11,whatever\n")  # BOM, extras
    deals = read_pipeline(csv, funnel)
    assert deals.ids == ("x",) and deals.stage == (3,) and deals.segment == (-1,) and deals.owner == (-1,)
    assert np.isnan(deals.in_stage[0])


def test_scenario_reads_its_pipeline_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "open.csv").write_text(HEADER + "a,demo,10,500,ann,b,2\nb,contact,1,50,bob,,\n")
    (tmp_path / "s.yaml").write_text(FUNNEL + "initial_pipeline: {file: data/open.csv, max_age_days: 100}\n")
    sc = load_scenario(tmp_path / "s.yaml")
    deals = sc.initial_pipeline.deals
    assert deals.ids == ("a", "b") and deals.owners == ("ann", "bob") and deals.segment == (1, -1)
    assert deals.in_stage[0] == 2.0 and sc.initial_pipeline.max_age_days == 100
    (tmp_path / "s.yaml").write_text(FUNNEL + "initial_pipeline: {file: data/missing.csv}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    (error,) = info.value.errors
    assert error.path == "initial_pipeline.file" and "no such file" in error.message
    assert error.line == FUNNEL.count("\n") + 1


def test_an_unread_pipeline_is_a_clear_error(funnel) -> None:
    data = funnel.model_dump(by_alias=True) | {"initial_pipeline": {"file": "open.csv"}}
    sc = type(funnel).model_validate(data)  # as a sweep worker would build it: the rows were never read
    with pytest.raises(LeanflowError, match=r"initial_pipeline: the open deals of open\.csv were not read"):
        simulate(sc, "full_cycle", replication_seed(0, 0))


# ---------------------------------------------------------------- no pipeline: nothing changes


def test_default_scenario_numbers_are_unchanged() -> None:
    """Counts of replication 0 of the default scenario as computed before the initial pipeline existed."""
    sc = load_scenario(DEFAULT, ["horizon_days=400", "warmup_days=100"])
    before = {"resource_optimised": (2151, 127, 208, 90, 1740, 193, 108158.85070112608),
              "flow_optimised": (1968, 83, 129, 48, 1705, 114, 68171.90172786641)}  # fmt: skip
    for plan, expected in before.items():
        m = run_replication(sc, plan, 0).metrics
        got = tuple(m[k] for k in ("leads", "won", "lost", "stale", "disqualified", "open_end"))
        assert got == expected[:6], plan
        assert m["won_revenue_per_week"] == pytest.approx(expected[6], rel=1e-12)


def test_null_and_empty_pipelines_change_no_number(tmp_path: Path) -> None:
    base = load_scenario(DEFAULT, ["horizon_days=150", "warmup_days=30"])
    null = load_scenario_text(DEFAULT.read_text() + "initial_pipeline: null\n", str(DEFAULT),
                              ["horizon_days=150", "warmup_days=30"])  # fmt: skip
    empty = with_pipeline(base, parse_rows([], base))
    for plan in base.plans:
        a, b, c = (run_replication(sc, plan, 1) for sc in (base, null, empty))
        assert a.metrics == b.metrics
        assert {k: v for k, v in c.metrics.items() if not k.startswith("initial_")} == a.metrics
        assert c.metrics["initial_deals"] == 0
        assert a.deals.equals(b.deals) and a.weekly.equals(c.weekly)


# ---------------------------------------------------------------- placement


def _mixed_pipeline(sc, n: int = 150) -> list[dict]:
    rng = np.random.default_rng(8)
    names = [s.name for s in sc.process.stages]
    out = []
    for i in range(n):
        s = int(rng.integers(0, len(names)))
        age = float(rng.gamma(2.0, 6.0 * (s + 1)))
        out.append({"id": f"p{i}", "stage": names[s], "age_days": age if i % 17 else 5000.0,
                    "value": float(rng.integers(1, 50)) * 1000, "owner": f"o{i % 5}" if i % 3 else "",
                    "segment": "b" if i % 4 == 0 else "", "days_in_stage": min(age, 3.0) if i % 7 == 0 else ""})
    return out  # fmt: skip


def test_every_initial_deal_is_counted_exactly_once(funnel) -> None:
    deals = parse_rows(_mixed_pipeline(funnel), funnel)
    sc = with_pipeline(funnel, deals, max_age_days=400)
    for plan in sc.plans:
        for rep in range(2):
            cols = simulate(sc, plan, replication_seed(sc.seed, rep)).columns()  # the run checks conservation too
            ini = cols["initial"] != NEW
            assert sorted(cols["deal_id"][ini]) == list(range(len(deals)))  # each once, as deals 0..n-1
            assert (cols["created"][ini] < 0).all() and (cols["created"][~ini] >= 0).all()
            now = cols["stage"][ini][np.argsort(cols["deal_id"][ini])]
            assert (now >= np.array(deals.stage)).all()  # where they were, or further on
            closed = cols["outcome"][ini] != OPEN
            assert (cols["closed"][ini][closed] >= 0).all() and np.isnan(cols["closed"][ini][~closed]).all()
            assert (cols["source"][ini] == -1).all() and (cols["generation"][ini] == 0).all()
            m = run_replication(sc, plan, rep).metrics
            won = ini & (cols["outcome"] == WON)
            assert m["initial_deals"] == len(deals) and m["initial_won"] == won.sum()
            assert m["initial_won_revenue"] == pytest.approx(cols["value"][won].sum())


def test_placed_deals_hold_their_owners_and_slots(funnel) -> None:
    names = [s.name for s in funnel.process.stages]
    given = [{"id": f"x{i}", "stage": names[2 + i % 2], "age_days": 15.0, "value": 1.0, "owner": f"o{i % 3}"}
             for i in range(12)]  # fmt: skip
    sc = with_pipeline(funnel, parse_rows(given, funnel))
    f = Funnel(sc, "specialised", replication_seed(sc.seed, 0))
    ae = next(t for t in f.teams if t.name == "ae")
    placed = [f.live[k] for k in range(12)]
    assert [d.owners[ae.index] for d in placed] == [i % 3 % ae.seats for i in range(12)]
    assert sum(ae.open) == 12  # over the limit of 3 each: they are there already
    assert all(d.qualified == 1 for d in placed)  # past the gate
    assert f.stages[2].wip is None and f.conwip.users == 12
    full = Funnel(sc, "full_cycle", replication_seed(sc.seed, 0))
    assert full.conwip.users == 12 and full.stages[2].wip.users == 6  # demo's slot taken by the 6 in demo


def test_conditional_remaining_buyer_wait_matches_theory() -> None:
    """Deals of age 12 days in a stage of 2 h effort then a lognormal buyer wait: the rest of the wait is
    the lognormal's excess over 12 - 2/24 days, given that it exceeds it."""
    median, sigma, age = 10.0, 0.8, 12.0
    buyer = f"{{dist: lognormal, median: {median}, sigma: {sigma}}}"
    sc = load_scenario_text(crowd(f"{{name: only, effort_hours: {{dist: constant, value: 2}}, buyer_days: {buyer}}}"))
    sc = with_pipeline(sc, parse_rows(rows(1500, "only", age), sc))
    c = initial_columns(sc, "crowd")
    assert (c["initial"] == PLACED).all() and (c["outcome"] == WON).all()
    done = age - 2.0 / 24.0
    law = stats.lognorm(sigma, scale=median)
    cdf = lambda r: 1.0 - law.sf(done + r) / law.sf(done)  # noqa: E731
    assert stats.kstest(c["closed"], cdf).pvalue > 0.01
    assert stats.kstest(c["closed"], law.cdf).pvalue < 1e-6  # a fresh wait, ignoring the age, is rejected


def test_conditional_remaining_effort_is_memoryless() -> None:
    """Deals of age 1 day in a stage of exponential effort (mean 2 days) still being worked: the effort left
    is exponential with the same mean, and every deal is in the work phase."""
    sc = load_scenario_text(crowd("{name: only, effort_hours: {dist: exponential, mean: 48}}"))  # 2 days at 24 h a day
    sc = with_pipeline(sc, parse_rows(rows(1500, "only", 1.0), sc))
    c = initial_columns(sc, "crowd")
    assert (c["initial"] == PLACED).all()
    assert stats.kstest(c["closed"], stats.expon(scale=2.0).cdf).pvalue > 0.01
    with_days = with_pipeline(sc, parse_rows(rows(200, "only", 30.0, days_in_stage=1.0), sc))
    d = initial_columns(with_days, "crowd")  # conditioned on the days in the stage, not the age
    assert (d["initial"] == PLACED).all() and np.allclose(d["created"], -30.0)


def test_fit_is_conditioned_on_the_stages_passed() -> None:
    """Advancing with probability fit (uniform) from the first stage: deals in the second have fit
    density 2x, mean 2/3; deals in the first keep the uniform's 1/2."""
    sc = load_scenario_text(crowd(
        "{name: only, effort_hours: {dist: constant, value: 1}, buyer_days: {dist: exponential, mean: 5}, "
        "advance: {base: 0, per_fit: 1}}",
        "{name: next, effort_hours: {dist: constant, value: 1}, buyer_days: {dist: exponential, mean: 5}}",
        fit="{dist: uniform, low: 0, high: 1}"))  # fmt: skip
    later = rows(1000, "next", 8.0)
    first = [{**r, "id": f"e{i}", "stage": "only", "age_days": 2.0} for i, r in enumerate(rows(1000, "only", 2.0))]
    c = initial_columns(with_pipeline(sc, parse_rows([*later, *first], sc)), "crowd")
    assert c["fit"][:1000].mean() == pytest.approx(2 / 3, abs=0.02)
    assert c["fit"][1000:].mean() == pytest.approx(1 / 2, abs=0.025)


def test_old_deals_are_flagged_and_max_age_makes_them_stale(funnel) -> None:
    given = [*rows(5, "demo", 3000.0), *rows(5, "demo", 10.0)]
    for i, r in enumerate(given):
        r["id"] = f"d{i}"
    sc = with_pipeline(funnel, parse_rows(given, funnel))
    for rep in range(2):  # the same deals flagged in every replication
        c = initial_columns(sc, "full_cycle", rep)
        assert (c["initial"][:5] == OLD).all() and (c["initial"][5:] != OLD).all()
        assert not (c["closed"][:5] == 0).any()  # placed: they restart their stage
    aged = with_pipeline(funnel, parse_rows(given, funnel), max_age_days=365)
    c = initial_columns(aged, "full_cycle")
    assert (c["initial"][:5] == EXPIRED).all() and (c["outcome"][:5] == STALE).all()
    assert (c["closed"][:5] == 0).all() and (c["initial"][5:] != EXPIRED).all()
    m = run_replication(aged, "full_cycle", 0).metrics
    assert m["initial_expired"] == 5 and m["initial_old"] == 0 and m["stale"] >= 5
