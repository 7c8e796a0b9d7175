"""Scenario files: the schema, loading with located errors, overrides, JSON Schema.

Names load on first use (PEP 562), so a worker that only needs the schema does not
import the YAML loader or the JSON Schema writer.
"""

from importlib import import_module
from typing import Any

_HOME = {
    "Scenario": "leanflow.scenario.schema",
    "apply_overrides": "leanflow.scenario.overrides",
    "load_scenario": "leanflow.scenario.loader",
    "load_scenario_text": "leanflow.scenario.loader",
    "scenario_json_schema": "leanflow.scenario.jsonschema",
    "set_path": "leanflow.scenario.overrides",
    "write_schema": "leanflow.scenario.jsonschema",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
