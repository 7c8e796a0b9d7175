"""Scenario files: the schema, loading with located errors, overrides, JSON Schema."""

from leanflow.scenario.jsonschema import scenario_json_schema, write_schema
from leanflow.scenario.loader import load_scenario, load_scenario_text
from leanflow.scenario.overrides import apply_overrides, set_path
from leanflow.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "load_scenario_text",
    "scenario_json_schema",
    "set_path",
    "write_schema",
]
