"""Draft-07 JSON Schemas of the scenario, sweep and optimisation files, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from leanflow.scenario.optimise_schema import Optimisation
from leanflow.scenario.schema import Scenario
from leanflow.scenario.sweep_schema import Sweep

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
FILENAME = "scenario.schema.json"
SWEEP_FILENAME = "sweep.schema.json"
OPTIMISE_FILENAME = "optimise.schema.json"


def json_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """A model as a draft-07 schema (``definitions`` instead of ``$defs``)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {**_draft_07(schema), "$schema": DRAFT_07, "title": title, "definitions": _draft_07(definitions)}


def scenario_json_schema() -> dict[str, Any]:
    """The scenario file's schema."""
    return json_schema(Scenario, "leanflow scenario")


def sweep_json_schema() -> dict[str, Any]:
    """The sweep file's schema."""
    return json_schema(Sweep, "leanflow sweep")


def optimise_json_schema() -> dict[str, Any]:
    """The optimisation file's schema."""
    return json_schema(Optimisation, "leanflow optimisation")


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as the file leanflow writes it (sorted keys, two-space indent, a final newline)."""
    return json.dumps(schema, sort_keys=True, indent=2) + "\n"


def write_schema(directory: str | PathLike[str]) -> Path:
    """Write the scenario, sweep and optimisation schemas into ``directory``; return the scenario's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    schemas = ((FILENAME, scenario_json_schema()), (SWEEP_FILENAME, sweep_json_schema()),
               (OPTIMISE_FILENAME, optimise_json_schema()))  # fmt: skip
    for name, schema in schemas:
        (directory / name).write_text(schema_text(schema), encoding="utf-8")
    return directory / FILENAME


def _draft_07(node: Any) -> Any:
    """A copy of a schema fragment with every ``#/$defs/`` reference pointing at ``#/definitions/``."""
    if isinstance(node, dict):
        return {key: _draft_07(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_draft_07(value) for value in node]
    if isinstance(node, str) and node.startswith("#/$defs/"):
        return "#/definitions/" + node.removeprefix("#/$defs/")
    return node
