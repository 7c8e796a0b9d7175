"""Every numeric input is bounded, booleans and numbers are kept apart, and oversized or endless files are
refused: each as a located ScenarioError (FILE:LINE: key: message), never a hang or another exception."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leanflow.distributions import (
    MAX_BETA,
    MAX_DIST_CV,
    MAX_EMPIRICAL_VALUES,
    MAX_PHASES,
    MAX_SHAPE,
    MAX_SIGMA,
    MAX_VALUE,
    MIN_BETA,
    MIN_SHAPE,
)
from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario import load_scenario, load_scenario_text
from leanflow.scenario.jsonschema import scenario_json_schema, sweep_json_schema
from leanflow.scenario.paths import format_path
from leanflow.scenario.schema import (
    MAX_COST_PER_HEAD,
    MAX_GATE_NOISE,
    MAX_HEADCOUNT,
    MAX_HORIZON_DAYS,
    MAX_HOURS,
    MAX_LABEL_CHARS,
    MAX_LEADS_PER_REPLICATION,
    MAX_LEADS_PER_WEEK,
    MAX_MARKET_SIZE,
    MAX_MULTIPLIER,
    MAX_PER_OPEN_DEAL,
    MAX_RAMP_WEEKS,
    MAX_REPETITIONS,
    MAX_REPLICATIONS,
    MAX_SCALE,
    MAX_SEASONALITY,
    MAX_SEED,
    MAX_SELLING_HOURS,
    MAX_TASK_HOURS,
    MAX_TEXT_CHARS,
    MAX_WEIGHT,
    MAX_WIP,
    MIN_HOURS_PER_LEAD,
    MIN_SCALE,
    MIN_SELLING_HOURS,
)
from leanflow.scenario.sweep_loader import load_sweep
from leanflow.scenario.yaml_source import MAX_FILE_BYTES, MAX_FILE_NODES, read_yaml_text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "default.yaml"
FLOW = "plans.flow_optimised"
AE = f"{FLOW}.roles.ae"
INBOUND = "market.sources.inbound"
OUTBOUND = "market.sources.outbound"
ONE_MONTH = "{start_day: 10, days: 30, extra_per_week: 1}"
SHORT = ("horizon_days=100", "warmup_days=0")  # so that the highest rates stay within MAX_LEADS_PER_REPLICATION


def errors(*overrides: str) -> list[LocatedError]:
    """The errors of the default scenario with these overrides (none: it loads)."""
    try:
        load_scenario(DEFAULT, overrides)
    except ScenarioError as exc:
        return exc.errors
    return []


def above(x: float) -> float:
    """A number just above ``x`` (relative step 1e-6)."""
    return x * (1 + 1e-6) if x > 0 else x + 1e-6


def below(x: float) -> float:
    """A number just below a positive ``x``."""
    return x * (1 - 1e-6)


# (key, value just inside, value just outside, extra overrides that make the key exist)
BOUNDS: list[tuple[str, object, object, tuple[str, ...]]] = [
    # run settings
    ("horizon_days", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), (f"{INBOUND}.per_week=10",)),
    ("horizon_days", 1, 0, ("warmup_days=0",)),
    ("warmup_days", MAX_HORIZON_DAYS - 1, above(MAX_HORIZON_DAYS),
     (f"horizon_days={MAX_HORIZON_DAYS}", f"{INBOUND}.per_week=10")),
    ("replications", MAX_REPLICATIONS, MAX_REPLICATIONS + 1, ()),
    ("replications", 1, 0, ()),
    ("seed", MAX_SEED, MAX_SEED + 1, ()),
    ("seed", 0, -1, ()),
    # market
    ("market.segments.smb.share", MAX_WEIGHT, above(MAX_WEIGHT), ()),
    ("market.segments.smb.effort_scale", MAX_SCALE, above(MAX_SCALE), ()),
    ("market.segments.smb.effort_scale", MIN_SCALE, below(MIN_SCALE), ()),
    ("market.segments.enterprise.buyer_scale", MAX_SCALE, above(MAX_SCALE), ()),
    (f"{INBOUND}.quality.value_scale", MAX_SCALE, above(MAX_SCALE), ()),
    (f"{INBOUND}.per_week", MAX_LEADS_PER_WEEK, above(MAX_LEADS_PER_WEEK), SHORT),
    (f"{INBOUND}.seasonality[2]", MAX_SEASONALITY, above(MAX_SEASONALITY), ()),
    (f"{INBOUND}.campaigns[0].extra_per_week", MAX_LEADS_PER_WEEK, above(MAX_LEADS_PER_WEEK), SHORT),
    (f"{INBOUND}.campaigns[0].start_day", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), ()),
    (f"{INBOUND}.campaigns[0].days", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), ()),
    (f"{OUTBOUND}.hours_per_lead", MAX_TASK_HOURS, above(MAX_TASK_HOURS), ()),
    (f"{OUTBOUND}.hours_per_lead", MIN_HOURS_PER_LEAD, below(MIN_HOURS_PER_LEAD), ()),
    (f"{OUTBOUND}.market_size", MAX_MARKET_SIZE, MAX_MARKET_SIZE + 1, ()),
    (f"{OUTBOUND}.replenish_per_week", MAX_LEADS_PER_WEEK, above(MAX_LEADS_PER_WEEK), ()),
    ("market.buyer.cold_half_life_days", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), ()),
    ("market.buyer.stale_after_days", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), ()),
    ("market.buyer.first_touch_half_life_hours", MAX_HOURS, above(MAX_HOURS), ()),
    ("process.stages[1].gate.noise", MAX_GATE_NOISE, above(MAX_GATE_NOISE), ()),
    # distributions
    ("market.segments.smb.deal_value.median", MAX_VALUE, above(MAX_VALUE), ()),
    ("market.segments.smb.deal_value.sigma", MAX_SIGMA, above(MAX_SIGMA), ()),
    ("process.stages[0].effort_hours.cv", MAX_DIST_CV, above(MAX_DIST_CV), ()),
    ("process.stages[0].effort_hours.mean", MAX_VALUE, above(MAX_VALUE), ()),
    ("market.segments.smb.fit.a", MAX_BETA, above(MAX_BETA), ()),
    ("market.segments.smb.fit.b", MIN_BETA, below(MIN_BETA), ()),
    ("process.stages[0].buyer_days.shape", MIN_SHAPE, below(MIN_SHAPE),
     ("process.stages[0].buyer_days={dist: weibull, shape: 1, scale: 3}",)),
    ("process.stages[0].buyer_days.shape", MAX_SHAPE, above(MAX_SHAPE),
     ("process.stages[0].buyer_days={dist: weibull, shape: 1, scale: 3}",)),
    ("process.stages[0].buyer_days.k", MAX_PHASES, MAX_PHASES + 1,
     ("process.stages[0].buyer_days={dist: erlang, k: 2, mean: 3}",)),
    ("process.stages[0].buyer_days.high", MAX_VALUE, above(MAX_VALUE),
     ("process.stages[0].buyer_days={dist: uniform, low: 1, high: 2}",)),
    ("process.stages[0].buyer_days.mean", -MAX_VALUE, -above(MAX_VALUE),
     ("process.stages[0].buyer_days={dist: normal, mean: 1, sd: 2}",)),
    # roles and policies
    (f"{AE}.headcount", MAX_HEADCOUNT, MAX_HEADCOUNT + 1, ()),
    (f"{AE}.headcount", 1, 0, ()),
    (f"{AE}.selling_hours_per_week", MAX_SELLING_HOURS, above(MAX_SELLING_HOURS), ()),
    (f"{AE}.selling_hours_per_week", MIN_SELLING_HOURS, below(MIN_SELLING_HOURS), ()),
    (f"{AE}.wip_limit_per_person", MAX_WIP, MAX_WIP + 1, ()),
    (f"{AE}.cost_per_head", MAX_COST_PER_HEAD, above(MAX_COST_PER_HEAD), ()),
    (f"{AE}.prospect_pull_limit", MAX_WIP, MAX_WIP + 1, ()),
    (f"{AE}.prospect_switch_hours", MAX_TASK_HOURS, above(MAX_TASK_HOURS), ()),
    (f"{AE}.proficiency.effort", MIN_SCALE, below(MIN_SCALE), ()),
    (f"{AE}.proficiency.odds", MAX_SCALE, above(MAX_SCALE), ()),
    (f"{AE}.learning.start_repetitions", MAX_REPETITIONS, above(MAX_REPETITIONS), ()),
    (f"{AE}.learning.conversion_gain", 10, above(10), ()),
    (f"{AE}.ramp.weeks", MAX_RAMP_WEEKS, above(MAX_RAMP_WEEKS), ()),
    (f"{AE}.attrition.backfill_days", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), ()),
    (f"{AE}.hires[0].day", MAX_HORIZON_DAYS, above(MAX_HORIZON_DAYS), (f"{AE}.hires=[{{day: 1}}]",)),
    (f"{AE}.hires[0].count", MAX_HEADCOUNT, MAX_HEADCOUNT + 1, (f"{AE}.hires=[{{day: 1}}]",)),
    (f"{FLOW}.policy.handoff_hours", MAX_TASK_HOURS, above(MAX_TASK_HOURS), ()),
    (f"{FLOW}.policy.context_switch.per_open_deal", MAX_PER_OPEN_DEAL, above(MAX_PER_OPEN_DEAL), ()),
    (f"{FLOW}.policy.context_switch.max_multiplier", MAX_MULTIPLIER, above(MAX_MULTIPLIER), ()),
    (f"{FLOW}.policy.wip_limits.total", MAX_WIP, MAX_WIP + 1, ()),
    (f"{FLOW}.policy.wip_limits.stages.demo", MAX_WIP, MAX_WIP + 1, ()),
    # text
    ("name", "n" * MAX_LABEL_CHARS, "n" * (MAX_LABEL_CHARS + 1), ()),
    ("description", "d" * MAX_TEXT_CHARS, "d" * (MAX_TEXT_CHARS + 1), ()),
]


def _id(case: tuple) -> str:
    key, _, outside, _ = case
    return f"{key}={str(outside)[:20]}"


@pytest.mark.parametrize("case", BOUNDS, ids=[_id(c) for c in BOUNDS])
def test_a_value_just_inside_loads_and_just_outside_names_the_key(case: tuple) -> None:
    key, inside, outside, setup = case
    assert errors(*setup, f"{key}={inside!r}") == []
    found = errors(*setup, f"{key}={outside!r}")
    assert key in {e.path for e in found}, found
    assert all(e.file == "--set" and e.line >= 1 for e in found)


def test_a_bound_error_in_the_file_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(DEFAULT.read_text().replace("per_week: 40 ", "per_week: 1e15 "))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (error,) = info.value.errors
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "per_week: 1e15" in text)
    assert (error.file, error.line, error.path) == (str(path), line, f"{INBOUND}.per_week")
    assert error.message == "Input should be less than or equal to 50000, got 1000000000000000.0"


def test_leads_per_replication_are_bounded() -> None:
    plain = (f"{INBOUND}.seasonality=null", f"{INBOUND}.campaigns=[]", f"horizon_days={MAX_HORIZON_DAYS}")
    rate = MAX_LEADS_PER_REPLICATION * 7 / MAX_HORIZON_DAYS
    assert errors(*plain, f"{INBOUND}.per_week={below(rate)!r}") == []
    (error,) = errors(*plain, f"{INBOUND}.per_week={above(rate)!r}")
    assert error.path == "horizon_days" and "leads in one replication" in error.message


def test_empirical_values_are_bounded() -> None:
    def values(n: int) -> str:
        return "process.stages[0].buyer_days={dist: empirical, values: [" + ",".join(["2"] * n) + "]}"

    assert errors(values(MAX_EMPIRICAL_VALUES)) == []
    (error,) = errors(values(MAX_EMPIRICAL_VALUES + 1))
    assert error.path == "process.stages[0].buyer_days.values" and f"at most {MAX_EMPIRICAL_VALUES}" in error.message


def test_list_and_mapping_lengths_are_bounded() -> None:
    campaigns = ", ".join([ONE_MONTH] * 100)
    assert errors(f"{INBOUND}.campaigns=[{campaigns}]") == []
    (error,) = errors(f"{INBOUND}.campaigns=[{campaigns}, {ONE_MONTH}]")
    assert error.path == f"{INBOUND}.campaigns"
    plans = [f"plans.p{i}={{roles: {{ae: {{headcount: 1, works: [contact]}}}}}}" for i in range(9)]
    assert "plans" in {e.path for e in errors(*plans)}  # 11 plans; more than 10


# ---------------------------------------------------------------- booleans and numbers


@pytest.mark.parametrize(
    "key",
    [
        "horizon_days",
        "replications",
        "seed",
        f"{INBOUND}.per_week",
        f"{INBOUND}.seasonality[0]",
        "market.segments.smb.share",
        "market.segments.smb.deal_value.median",
        "process.stages[0].effort_hours.mean",
        "process.stages[0].advance.base",
        f"{AE}.headcount",
        f"{AE}.selling_hours_per_week",
        f"{AE}.cost_per_head",
        f"{FLOW}.roles.sdr.prospects",
        f"{FLOW}.policy.gate_threshold",
        f"{FLOW}.policy.wip_limits.total",
    ],
)
@pytest.mark.parametrize("flag", ["true", "false"])
def test_a_boolean_is_not_a_number(key: str, flag: str) -> None:
    (error,) = errors(f"{key}={flag}")
    assert error.path == key
    assert error.message == f"expected a number, got a boolean ({flag})"


@pytest.mark.parametrize("value", ["1", "0", "1.0", "yes", "'true'", "null"])
def test_a_number_or_word_is_not_a_boolean(value: str) -> None:
    (error,) = errors(f"{AE}.owns_deals={value}")
    assert error.path == f"{AE}.owns_deals" and error.message.startswith("expected true or false, got ")


def test_booleans_still_load_where_they_belong() -> None:
    assert errors(f"{AE}.owns_deals=false", f"{FLOW}.roles.sdr.owns_deals=true") == []


def test_a_boolean_is_not_a_number_in_a_sweep(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: s\nbase: {DEFAULT}\nreplications: true\nuncertainties:\n"
                     f"  {INBOUND}.per_week: {{low: true, high: 50, integer: 1}}\n"
                     "common_random_numbers: 0\n")  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep)
    found = {e.path: e.message for e in info.value.errors}
    assert found["replications"] == "expected a number, got a boolean (true)"
    assert found[f"uncertainties.{INBOUND}.per_week.low"] == "expected a number, got a boolean (true)"
    assert found[f"uncertainties.{INBOUND}.per_week.integer"] == "expected true or false, got 1"
    assert found["common_random_numbers"] == "expected true or false, got 0"
    assert all(e.line > 1 for e in info.value.errors)


def test_a_boolean_lever_applied_to_a_number_is_located(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: s\nbase: {DEFAULT}\nlevers:\n  {AE}.headcount: [4, true]\n")
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep)
    (error,) = info.value.errors
    assert (error.line, error.path) == (4, f"levers.{AE}.headcount")
    assert "expected a number, got a boolean (true)" in error.message


# ---------------------------------------------------------------- files


def _validate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanflow.cli", "validate", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)  # fmt: skip


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario("/dev/zero")
    assert time.monotonic() - start < 2
    assert [str(e) for e in info.value.errors] == ["/dev/zero:1: cannot read file: not a regular file "
                                                   "(a device, pipe or socket)"]  # fmt: skip


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_the_cli_prints_one_line_for_dev_zero() -> None:
    start = time.monotonic()
    proc = _validate("/dev/zero")
    assert time.monotonic() - start < 30
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["/dev/zero:1: cannot read file: not a regular file (a device, pipe or socket)"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(pipe)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="it is a directory"):
        load_scenario(tmp_path)


def test_an_oversized_file_is_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    text = DEFAULT.read_text()
    big.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) + 1) + "\n")
    start = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(big)
    assert time.monotonic() - start < 2
    assert [str(e) for e in info.value.errors] == [f"{big}:1: file too large: more than 256 kB"]
    proc = _validate(str(big))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [f"{big}:1: file too large: more than 256 kB"]


def test_a_file_of_too_many_values_is_refused_where_it_passes_the_bound(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("name: x\nlevels:\n  - [" + ",".join(["1"] * (MAX_FILE_NODES + 10)) + "]\n")
    assert many.stat().st_size <= MAX_FILE_BYTES  # small in bytes, too many for the slow composer
    proc = _validate(str(many))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        f"{many}:3: too many values: more than {MAX_FILE_NODES:,d} keys, items and values in one file"]


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    full = tmp_path / "full.yaml"
    text = DEFAULT.read_text()
    full.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n")
    assert full.stat().st_size == MAX_FILE_BYTES
    assert load_scenario(full).name == "Mid-market SaaS, 14 sellers"


def test_a_huge_value_is_elided_in_the_message() -> None:
    (error,) = errors("name=" + "x" * 1_000_000)
    assert error.path == "name" and len(str(error)) < 300 and "1,000,002 characters" in error.message


def test_a_huge_key_is_elided_in_the_message() -> None:
    found = errors(f"market.{'k' * 100_000}=1")
    assert found and all(len(str(e)) < 400 for e in found)


def test_the_json_schema_shows_the_bounds() -> None:
    defs = scenario_json_schema()["definitions"]
    assert defs["PoissonSource"]["properties"]["per_week"]["maximum"] == MAX_LEADS_PER_WEEK
    hours = defs["Role"]["properties"]["selling_hours_per_week"]
    assert (hours["minimum"], hours["maximum"]) == (MIN_SELLING_HOURS, MAX_SELLING_HOURS)
    assert scenario_json_schema()["properties"]["horizon_days"]["maximum"] == MAX_HORIZON_DAYS
    assert scenario_json_schema()["properties"]["name"]["maxLength"] == MAX_LABEL_CHARS
    assert sweep_json_schema()["properties"]["replications"]["maximum"] == MAX_REPLICATIONS
    assert '"le"' not in json.dumps(scenario_json_schema())  # every bound in JSON Schema's own words


# ---------------------------------------------------------------- property


def _numeric_paths() -> list[tuple]:
    """The key path of every number in the default scenario."""
    data, _ = read_yaml_text(DEFAULT.read_text())
    out: list[tuple] = []

    def walk(node: object, path: tuple) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))
        elif isinstance(node, int | float) and not isinstance(node, bool):
            out.append(path)

    walk(data, ())
    return out


NUMERIC = _numeric_paths()
TEXT = DEFAULT.read_text()
ABSURD = st.one_of(
    st.booleans().map(lambda b: str(b).lower()),
    st.floats(min_value=1e20, max_value=1e300).map(repr),
    st.floats(min_value=-1e300, max_value=-1e20).map(repr),
    st.integers(min_value=10**20, max_value=10**40).map(str),
    st.integers(min_value=-(10**40), max_value=-(10**20)).map(str),
    st.sampled_from([".inf", "-.inf", ".nan"]),
)


def test_the_default_scenario_has_many_numbers() -> None:
    assert len(NUMERIC) > 100


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.tuples(st.sampled_from(NUMERIC), ABSURD), min_size=1, max_size=3))
def test_absurd_numbers_and_booleans_anywhere_are_located_errors(picks: list[tuple[tuple, str]]) -> None:
    overrides = [f"{format_path(path)}={value}" for path, value in picks]
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(TEXT, str(DEFAULT), overrides)
    found = info.value.errors
    assert all(e.file == "--set" for e in found), found
    for path in dict(picks):
        assert format_path(path) in {e.path for e in found}, (overrides, found)
