"""The committed JSON Schema must match the code, and shipped files must point at it."""

from __future__ import annotations

import json
from pathlib import Path

from leanflow.scenario import scenario_json_schema
from leanflow.scenario.jsonschema import optimise_json_schema, sweep_json_schema

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "scenario.schema.json").read_text())
    assert committed == scenario_json_schema(), "schema is stale: run `leanflow schema -o schema` and commit it"


def test_committed_sweep_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "sweep.schema.json").read_text())
    assert committed == sweep_json_schema(), "schema is stale: run `leanflow schema -o schema` and commit it"


def test_committed_optimise_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "optimise.schema.json").read_text())
    assert committed == optimise_json_schema(), "schema is stale: run `leanflow schema -o schema` and commit it"


def test_shipped_scenarios_carry_the_schema_line() -> None:
    for path in (ROOT / "scenarios").rglob("*.yaml"):
        if "mappings" in path.parts:  # CRM mapping files (leanflow.crm.mapping), not scenarios
            continue
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (ROOT / "schema" / "scenario.schema.json").resolve(), path


def test_shipped_sweeps_validate_and_carry_the_schema_line() -> None:
    from leanflow.scenario.optimise_loader import load_optimisation
    from leanflow.scenario.sweep_loader import file_kind, load_sweep

    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert files, "no shipped experiments"
    for path in files:
        if file_kind(path) == "optimisation":
            load_optimisation(path)
            schema = "optimise.schema.json"
        else:
            assert file_kind(path) == "sweep", path
            load_sweep(path)
            schema = "sweep.schema.json"
        first = path.read_text().splitlines()[0]
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (ROOT / "schema" / schema).resolve(), path
