"""The committed JSON Schema must match the code, and shipped files must point at it."""

from __future__ import annotations

import json
from pathlib import Path

from leanflow.scenario import scenario_json_schema
from leanflow.scenario.jsonschema import sweep_json_schema

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "scenario.schema.json").read_text())
    assert committed == scenario_json_schema(), "schema is stale: run `leanflow schema -o schema` and commit it"


def test_committed_sweep_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "sweep.schema.json").read_text())
    assert committed == sweep_json_schema(), "schema is stale: run `leanflow schema -o schema` and commit it"


def test_shipped_scenarios_carry_the_schema_line() -> None:
    for path in (ROOT / "scenarios").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (ROOT / "schema" / "scenario.schema.json").resolve(), path


def test_shipped_sweeps_validate_and_carry_the_schema_line() -> None:
    from leanflow.scenario.sweep_loader import is_sweep_file, load_sweep

    sweeps = sorted((ROOT / "experiments").glob("*.yaml"))
    assert sweeps, "no shipped experiments"
    for path in sweeps:
        assert is_sweep_file(path), path
        load_sweep(path)
        first = path.read_text().splitlines()[0]
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (ROOT / "schema" / "sweep.schema.json").resolve(), path
