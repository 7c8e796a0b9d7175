"""Scenario loading: YAML reading, located errors, overrides and the JSON Schema."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario import (
    Scenario,
    apply_overrides,
    load_scenario,
    load_scenario_text,
    scenario_json_schema,
    set_path,
    write_schema,
    yaml_source,
)
from leanflow.scenario.overrides import PathError
from leanflow.scenario.yaml_source import line_for, read_yaml, read_yaml_text

VALID = """\
name: Test funnel
horizon_days: 200
warmup_days: 20
replications: 3
seed: 7
market:
  segments:
    smb:
      share: 1.0
      deal_value: {dist: lognormal, median: 15000, sigma: 0.6}
      fit: {dist: beta, a: 2, b: 3}
  sources:
    inbound: {kind: poisson, per_week: 20}
process:
  stages:
    - name: contact
      effort_hours: {dist: gamma, mean: 0.5, cv: 0.5}
      buyer_days: {dist: exponential, mean: 2}
    - name: close
      effort_hours: {dist: constant, value: 1}
plans:
  flow:
    roles:
      ae:
        headcount: 3
        works: [contact, close]
    policy: {priority: fifo}
"""


def edit(old: str, new: str, text: str = VALID) -> str:
    """Replace one unique snippet of the valid scenario."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def errors(text: str, overrides: tuple[str, ...] = ()) -> list[tuple[str, int, str, str]]:
    """The (file, line, path, message) of every error loading ``text``."""
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml", overrides)
    return [(e.file, e.line, e.path, e.message) for e in info.value.errors]


def only_error(text: str, overrides: tuple[str, ...] = ()) -> tuple[str, int, str, str]:
    """The single error loading ``text``."""
    found = errors(text, overrides)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- valid input


def test_valid_scenario_loads() -> None:
    sc = load_scenario_text(VALID)
    assert isinstance(sc, Scenario)
    assert sc.plans["flow"].roles["ae"].works == ["contact", "close"]
    assert sc.process.stages[0].effort_hours.mean() == pytest.approx(0.5)


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_scenario(path).name == "Test funnel"
    assert load_scenario(path, ["name=Other"]).name == "Other"


def test_linemap_points_at_keys_and_items() -> None:
    _, lines = read_yaml_text(VALID)
    assert lines[("market", "sources", "inbound")] == 13
    assert lines[("process", "stages", 1)] == 19
    assert lines[("process", "stages", 1, "effort_hours")] == 20
    assert lines[("plans", "flow", "roles", "ae", "works", 1)] == 26


def test_line_for_falls_back_to_nearest_ancestor() -> None:
    _, lines = read_yaml_text(VALID)
    assert line_for(lines, ("plans", "flow", "roles", "ae", "missing", 3)) == 24
    assert line_for(lines, ("nothing", "here")) == 1


def test_anchors_aliases_and_merge_keys() -> None:
    text = edit(
        "      deal_value: {dist: lognormal, median: 15000, sigma: 0.6}\n",
        "      deal_value: &dv {dist: lognormal, median: 15000, sigma: 0.6}\n",
    )
    text = edit("      effort_hours: {dist: constant, value: 1}\n", "      effort_hours: {<<: *dv, median: 2}\n", text)
    sc = load_scenario_text(text)
    assert sc.process.stages[1].effort_hours.median == 2
    assert sc.process.stages[1].effort_hours.sigma == 0.6


def test_timestamps_stay_strings() -> None:
    assert load_scenario_text(edit("name: Test funnel", "name: 2026-01-01")).name == "2026-01-01"


# ---------------------------------------------------------------- YAML errors


def test_syntax_error_is_located() -> None:
    file, line, path, message = only_error(edit("horizon_days: 200\n", "horizon_days: 200: 3\n"))
    assert (file, line, path) == ("s.yaml", 2, "")
    assert message.startswith("YAML syntax error: mapping values are not allowed")


def test_unclosed_flow_is_located_within_the_file() -> None:
    _, line, _, message = only_error(edit("        works: [contact, close]\n", "        works: [contact, close\n"))
    assert 26 <= line <= 27
    assert "syntax error" in message


def test_every_duplicate_key_is_reported() -> None:
    text = edit("      share: 1.0\n", "      share: 1.0\n      share: 0.5\n")
    text = edit("        headcount: 3\n", "        headcount: 3\n        headcount: 4\n", text)
    assert errors(text) == [
        ("s.yaml", 10, "market.segments.smb.share", "duplicate key 'share' (first at line 9)"),
        ("s.yaml", 27, "plans.flow.roles.ae.headcount", "duplicate key 'headcount' (first at line 26)"),
    ]


def test_recursive_alias_is_an_error() -> None:
    _, line, path, message = only_error(edit("    policy: {priority: fifo}\n", "    policy: &p {x: *p}\n"))
    assert (line, path) == (27, "plans.flow.policy.x")
    assert "alias" in message


def test_alias_explosion_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_source, "MAX_NODES", 1000)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    _, line, _, message = only_error("\n".join(lines) + "\n")
    assert line == 1
    assert "more than 1000 values" in message


def test_unsupported_tag_and_bad_core_tag() -> None:
    text = edit("seed: 7", "seed: !!int seven")
    text = edit("name: Test funnel", "name: !custom Test", text)
    assert errors(text) == [
        ("s.yaml", 1, "name", "unsupported tag '!custom'"),
        ("s.yaml", 5, "seed", "cannot read 'seven' as int"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "found nothing"), ("# only a comment\n", "found nothing"), ("- a\n- b\n", "found a list")],
)
def test_top_level_must_be_a_mapping(text: str, expected: str) -> None:
    _, line, _, message = only_error(text)
    assert line == 1
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.errors == [LocatedError(str(tmp_path / "nope.yaml"), 1, "", "file not found")]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Test funnel", "caf\xe9").encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    [error] = info.value.errors
    assert error.line == 1
    assert "not UTF-8" in error.message


def test_control_character_is_located() -> None:
    _, line, _, message = only_error(edit("seed: 7", "seed: 7\x07"))
    assert line == 5
    assert "U+0007" in message


# ---------------------------------------------------------------- validation errors


def test_unknown_key_with_did_you_mean() -> None:
    assert only_error(edit("buyer_days:", "buyer_dayz:")) == (
        "s.yaml",
        18,
        "process.stages[0].buyer_dayz",
        "unknown key 'buyer_dayz' (did you mean 'buyer_days'?)",
    )


def test_unknown_key_inside_a_distribution_uses_its_aliases() -> None:
    assert only_error(edit("mean: 0.5, cv: 0.5", "mean: 0.5, cv: 0.5, maen: 1")) == (
        "s.yaml",
        17,
        "process.stages[0].effort_hours.maen",
        "unknown key 'maen' (did you mean 'mean'?)",
    )


def test_misspelt_required_key_gives_unknown_and_missing() -> None:
    assert errors(edit("headcount: 3", "headcont: 3")) == [
        ("s.yaml", 24, "plans.flow.roles.ae", "missing required key 'headcount'"),
        ("s.yaml", 25, "plans.flow.roles.ae.headcont", "unknown key 'headcont' (did you mean 'headcount'?)"),
    ]


def test_missing_key_points_at_parent() -> None:
    text = edit("      effort_hours: {dist: constant, value: 1}\n", "")
    assert only_error(text) == ("s.yaml", 19, "process.stages[1]", "missing required key 'effort_hours'")


def test_missing_top_level_key_points_at_line_1() -> None:
    assert only_error(edit("name: Test funnel\n", "")) == ("s.yaml", 1, "", "missing required key 'name'")


def test_out_of_range_value() -> None:
    assert only_error(edit("headcount: 3", "headcount: 0")) == (
        "s.yaml",
        25,
        "plans.flow.roles.ae.headcount",
        "Input should be greater than or equal to 1, got 0",
    )


def test_wrong_type() -> None:
    file, line, path, message = only_error(edit("replications: 3", "replications: many"))
    assert (file, line, path) == ("s.yaml", 4, "replications")
    assert message.startswith("Input should be a valid integer") and message.endswith("got 'many'")


def test_mapping_expected() -> None:
    assert only_error(edit("{dist: constant, value: 1}", "1")) == (
        "s.yaml",
        20,
        "process.stages[1].effort_hours",
        "expected a mapping, got 1",
    )


def test_unknown_dist_lists_allowed_values() -> None:
    file, line, path, message = only_error(edit("dist: gamma", "dist: gama"))
    assert (file, line, path) == ("s.yaml", 17, "process.stages[0].effort_hours")
    assert message.startswith("unknown dist 'gama' (did you mean 'gamma'?); expected one of: exponential, constant")


def test_unknown_source_kind() -> None:
    _, line, path, message = only_error(edit("kind: poisson", "kind: poison"))
    assert (line, path) == (13, "market.sources.inbound")
    assert message == "unknown kind 'poison' (did you mean 'poisson'?); expected one of: poisson, backlog, prospecting"


def test_missing_discriminator() -> None:
    assert only_error(edit("kind: poisson, ", "")) == (
        "s.yaml",
        13,
        "market.sources.inbound",
        "missing required key 'kind' (one of: poisson, backlog, prospecting)",
    )


def test_error_inside_a_tagged_branch_has_no_tag_in_path() -> None:
    assert only_error(edit("mean: 0.5, cv: 0.5", "mean: -0.5, cv: 0.5")) == (
        "s.yaml",
        17,
        "process.stages[0].effort_hours.mean",
        "Input should be greater than 0, got -0.5",
    )


def test_model_validator_error_is_located_at_the_distribution() -> None:
    _, line, path, message = only_error(edit("{dist: constant, value: 1}", "{dist: uniform, low: 3, high: 1}"))
    assert (line, path) == (20, "process.stages[1].effort_hours")
    assert message.startswith("high must be >= low")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", "Input should be less than 1, got 5"),
        ("sometimes", "Input should be 'never' or 'when_idle', got 'sometimes'"),
    ],
)
def test_union_value_gives_one_error(value: str, expected: str) -> None:
    text = edit("        headcount: 3\n", f"        headcount: 3\n        prospects: {value}\n")
    assert only_error(text) == ("s.yaml", 26, "plans.flow.roles.ae.prospects", expected)


def test_literal_with_did_you_mean() -> None:
    _, line, path, message = only_error(edit("priority: fifo", "priority: lifo"))
    assert (line, path) == (27, "plans.flow.policy.priority")
    assert message.endswith("got 'lifo' (did you mean 'fifo'?)")


def test_invalid_name_key() -> None:
    _, line, path, message = only_error(edit("    inbound:", "    in bound:"))
    assert (line, path) == (13, "market.sources.in bound")
    assert message.startswith("invalid key: String should match pattern")


# ---------------------------------------------------------------- reference errors


def test_undefined_stage_in_works() -> None:
    assert errors(edit("works: [contact, close]", "works: [contact, closing]")) == [
        ("s.yaml", 23, "plans.flow.roles", "no role works stage 'close'"),
        ("s.yaml", 26, "plans.flow.roles.ae.works[1]", "unknown stage 'closing' (did you mean 'close'?)"),
    ]


def test_stage_worked_by_two_roles() -> None:
    text = edit("    policy:", "      sdr: {headcount: 1, works: [contact]}\n    policy:")
    assert only_error(text) == (
        "s.yaml",
        27,
        "plans.flow.roles.sdr.works[0]",
        "stage 'contact' is already worked by role 'ae'",
    )


def test_warmup_not_before_horizon() -> None:
    assert only_error(edit("warmup_days: 20", "warmup_days: 200")) == (
        "s.yaml",
        3,
        "warmup_days",
        "must be less than horizon_days (200)",
    )


def test_all_errors_reported_at_once_sorted_by_line() -> None:
    text = edit("headcount: 3", "headcount: 0")
    text = edit("dist: gamma", "dist: gama", text)
    text = edit("replications: 3", "replications: many", text)
    found = errors(text)
    assert [(line, path) for _, line, path, _ in found] == [
        (4, "replications"),
        (17, "process.stages[0].effort_hours"),
        (25, "plans.flow.roles.ae.headcount"),
    ]
    assert "s.yaml:4: replications: Input should be" in str(ScenarioError([LocatedError(*found[0])]))


# ---------------------------------------------------------------- overrides


def test_good_overrides_are_applied() -> None:
    sc = load_scenario_text(
        VALID,
        overrides=(
            "plans.flow.roles.ae.headcount=5",
            "process.stages[1].effort_hours={dist: constant, value: 2}",
            "process.stages.0.buyer_days = {dist: constant, value: 3}",
            "plans.flow.policy.priority=latest_stage_first",
            "market.sources.inbound.seasonality=[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]",
        ),
    )
    assert sc.plans["flow"].roles["ae"].headcount == 5
    assert sc.process.stages[1].effort_hours.value == 2
    assert sc.process.stages[0].buyer_days.value == 3
    assert sc.plans["flow"].policy.priority == "latest_stage_first"
    assert sc.market.sources["inbound"].seasonality[-1] == 2


def test_override_creates_optional_key() -> None:
    sc = load_scenario_text(VALID, overrides=("plans.flow.policy.wip_limits.total=40",))
    assert sc.plans["flow"].policy.wip_limits.total == 40


def test_invalid_override_value_points_at_set() -> None:
    assert errors(VALID, ("seed=1", "plans.flow.roles.ae.headcount=0")) == [
        ("--set", 2, "plans.flow.roles.ae.headcount", "Input should be greater than or equal to 1, got 0")
    ]


def test_unknown_key_from_override_points_at_set() -> None:
    assert only_error(VALID, ("plans.flow.roles.ae.headcont=3",)) == (
        "--set",
        1,
        "plans.flow.roles.ae.headcont",
        "unknown key 'headcont' (did you mean 'headcount'?)",
    )


def test_new_mapping_from_override_missing_key_points_at_set() -> None:
    assert only_error(VALID, ("plans.flow.roles.sdr.works=[contact]",)) == (
        "--set",
        1,
        "plans.flow.roles.sdr",
        "missing required key 'headcount'",
    )


def test_replaced_subtree_errors_point_at_set_and_file_errors_at_file() -> None:
    text = edit("replications: 3", "replications: 0")
    overrides = ("plans.flow.roles.ae.works=[contact]", "process.stages.1={name: close, effort_hours: 1}")
    assert errors(text, overrides) == [
        ("s.yaml", 4, "replications", "Input should be greater than or equal to 1, got 0"),
        ("--set", 2, "process.stages[1].effort_hours", "expected a mapping, got 1"),
    ]


def test_reference_error_from_override_points_at_set() -> None:
    assert errors(VALID, ("plans.flow.roles.ae.works.1=closing",)) == [
        ("s.yaml", 23, "plans.flow.roles", "no role works stage 'close'"),
        ("--set", 1, "plans.flow.roles.ae.works[1]", "unknown stage 'closing' (did you mean 'close'?)"),
    ]


def test_bad_overrides_are_all_reported() -> None:
    bad = (
        "horizon_days",
        "=5",
        "plans..flow=1",
        "name.x=1",
        "process.stages.5.name=x",
        "process.stages.first.name=x",
        "name=[1",
        "seed={a: 1, a: 2}",
    )
    found = errors(VALID, bad)
    assert [(file, line) for file, line, _, _ in found] == [("--set", n) for n in range(1, 9)]
    messages = [message for _, _, _, message in found]
    assert messages[0] == "expected path=value, got 'horizon_days'"
    assert messages[1] == "empty path before '='"
    assert messages[2] == "empty key in path 'plans..flow'"
    assert messages[3] == "cannot set 'x' inside name: it is the value 'Test funnel', not a mapping or list"
    assert messages[4] == "list index 5 is out of range: process.stages has 2 items"
    assert messages[5] == "process.stages is a list: 'first' is not a list index"
    assert messages[6].startswith("invalid value '[1': YAML syntax error")
    assert messages[7] == "invalid value '{a: 1, a: 2}': duplicate key 'a' (first at line 1)"
    assert found[4][2] == "process.stages.5.name"


def test_apply_overrides_copies_and_set_path_resolves() -> None:
    data, _ = read_yaml_text(VALID)
    new = apply_overrides(data, ["process.stages[0].name=first", "empty="])
    assert new["process"]["stages"][0]["name"] == "first"
    assert new["empty"] is None
    assert data["process"]["stages"][0]["name"] == "contact"
    assert set_path(new, ("process", "stages", 1, "name"), "last") == ("process", "stages", 1, "name")
    assert set_path(new, ["market", "buyer", "stale_after_days"], 30) == ("market", "buyer", "stale_after_days")
    assert new["market"]["buyer"] == {"stale_after_days": 30}
    with pytest.raises(PathError):
        set_path(new, (), 1)


# ---------------------------------------------------------------- JSON Schema


def test_json_schema_is_draft_07_and_accepts_the_scenario(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_json_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in json.dumps(schema)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    data, _ = read_yaml_text(VALID)
    assert not list(validator.iter_errors(data))
    data["plans"]["flow"]["roles"]["ae"]["headcount"] = 0
    assert list(validator.iter_errors(data))


def test_write_schema(tmp_path: Path) -> None:
    path = write_schema(tmp_path / "schema")
    text = path.read_text(encoding="utf-8")
    assert path.name == "scenario.schema.json"
    assert text.endswith("}\n")
    assert json.loads(text) == scenario_json_schema()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


# ---------------------------------------------------------------- properties

LINES = VALID.splitlines(keepends=True)
JUNK = st.text(alphabet=string.printable + "\x00\x07\u00e9\u2028\ufeff{}[]:&*!|>-#%@`'\"", max_size=12)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The valid scenario with one random edit."""
    lines = list(LINES)
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["delete", "duplicate", "value", "junk", "truncate"]))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "value":
        head = lines[i].split(":", 1)[0] if ":" in lines[i] else lines[i].rstrip("\n")
        lines[i] = f"{head}: {draw(JUNK)}\n"
    text = "".join(lines)
    if kind == "junk":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(JUNK) + text[at:]
    elif kind == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    return text


def check_never_crashes(text: str, overrides: tuple[str, ...] = ()) -> None:
    """Loading gives a Scenario or a ScenarioError whose lines are within the input."""
    try:
        assert isinstance(load_scenario_text(text, "s.yaml", overrides), Scenario)
    except ScenarioError as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.line >= 1
            if error.file == "s.yaml":
                assert error.line <= max(1, len(text.splitlines()))
            else:
                assert error.file == "--set" and error.line <= len(overrides)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_scenarios_never_crash(text: str) -> None:
    check_never_crashes(text)


PATHS = st.sampled_from(
    [
        "name",
        "seed",
        "plans.flow.roles.ae.headcount",
        "process.stages.1",
        "process.stages[0].effort_hours.mean",
        "market.sources.inbound",
        "plans.flow.policy",
        "x.y.z",
        "process.stages.9",
        "plans.flow.roles.ae.works.0",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.builds("{}={}".format, PATHS, JUNK), JUNK), max_size=3))
def test_random_overrides_never_crash(overrides: list[str]) -> None:
    check_never_crashes(VALID, tuple(overrides))


def test_duplicate_keys_and_schema_errors_come_together() -> None:
    text = edit("seed: 7\n", "seed: 7\nseed: 8\n", edit("headcount: 3", "headcount: -3"))
    assert errors(text) == [
        ("s.yaml", 6, "seed", "duplicate key 'seed' (first at line 5)"),
        ("s.yaml", 26, "plans.flow.roles.ae.headcount", "Input should be greater than or equal to 1, got -3"),
    ]


def test_a_typo_in_a_name_on_the_way_down_is_named_not_made_into_a_new_entry() -> None:
    default = Path(__file__).resolve().parent.parent / "scenarios" / "default.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(default, ["plans.flow_optimisd.roles.se.headcount=3"])
    (error,) = info.value.errors
    assert "no 'flow_optimisd' in plans (did you mean 'flow_optimised'?)" in str(error)
    assert load_scenario(default, ["market.buyer.stale_after_days=30"]).market.buyer.stale_after_days == 30
