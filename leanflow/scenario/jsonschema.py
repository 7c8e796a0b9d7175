"""A draft-07 JSON Schema of the scenario file, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from leanflow.scenario.schema import Scenario

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
FILENAME = "scenario.schema.json"


def scenario_json_schema() -> dict[str, Any]:
    """The Scenario model as a draft-07 schema (``definitions`` instead of ``$defs``)."""
    schema = Scenario.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        **_draft_07(schema),
        "$schema": DRAFT_07,
        "title": "leanflow scenario",
        "definitions": _draft_07(definitions),
    }


def write_schema(directory: str | PathLike[str]) -> Path:
    """Write ``scenario.schema.json`` into ``directory`` (created if needed); return its path."""
    path = Path(directory) / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scenario_json_schema(), sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return path


def _draft_07(node: Any) -> Any:
    """A copy of a schema fragment with every ``#/$defs/`` reference pointing at ``#/definitions/``."""
    if isinstance(node, dict):
        return {key: _draft_07(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_draft_07(value) for value in node]
    if isinstance(node, str) and node.startswith("#/$defs/"):
        return "#/definitions/" + node.removeprefix("#/$defs/")
    return node
