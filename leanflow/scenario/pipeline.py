"""Today's open deals (an initial pipeline): a CSV file or rows in, plain tuples out, every bad row located.

Columns: ``id``, ``stage`` (a stage name of ``process.stages``), ``age_days`` (days since the deal was
created), ``value``; optional ``owner``, ``segment`` (a segment name; empty: drawn by share) and
``days_in_stage`` (days since it entered its stage; empty: unknown). Other columns are ignored, so an
export with more columns reads as it is. The model places these deals at time 0 (``leanflow.model.pipeline_start``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

from leanflow.distributions import MAX_VALUE
from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario.paths import did_you_mean, shorten
from leanflow.scenario.schema import MAX_HORIZON_DAYS, MAX_LABEL_CHARS, InitialPipeline, Scenario

REQUIRED = ("id", "stage", "age_days", "value")
OPTIONAL = ("owner", "segment", "days_in_stage")
MAX_ERRORS = 50  # a wholly wrong file says enough after this many
MAX_PIPELINE_BYTES = 20 * 1024 * 1024  # an open-deals CSV: some 400,000 deals, far more than any team has open
MAX_AGE_DAYS = MAX_HORIZON_DAYS  # age_days, days_in_stage: the longest horizon (an older deal is a data error)


@dataclass(frozen=True)
class OpenDeals:
    """Open deals in input order, as plain tuples (``segment``/``owner`` -1: none given; ``in_stage`` nan)."""

    source: str  # where they came from, for messages
    ids: tuple[str, ...]
    stage: tuple[int, ...]  # index into process.stages
    age: tuple[float, ...]
    value: tuple[float, ...]
    segment: tuple[int, ...]  # index into market.segments
    owner: tuple[int, ...]  # index into owners
    owners: tuple[str, ...]  # distinct owner names, in order of first appearance
    in_stage: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.ids)


def read_pipeline(path: str | PathLike[str], scenario: Scenario) -> OpenDeals:
    """Read an open-deals CSV for ``scenario``; every bad row is a located error (FILE:LINE: column: message)."""
    from leanflow.scenario.yaml_source import read_text  # the YAML reader's file checks, loaded only here

    name = str(path)
    text = read_text(path, MAX_PIPELINE_BYTES)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        raise ScenarioError([LocatedError(name, 1, "", f"empty file: expected a header with {', '.join(REQUIRED)}")])
    header = [h.strip() for h in reader.fieldnames]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        hints = "".join(did_you_mean(c, header) for c in missing[:1])
        raise ScenarioError([LocatedError(name, 1, "", f"missing column(s) {', '.join(missing)}{hints}; "
                                                       f"the header has: {', '.join(header)}")])  # fmt: skip
    rows = ((reader.line_num, row) for row in reader)
    return _parse(rows, scenario, name)


def parse_rows(rows: Iterable[Mapping[str, Any]], scenario: Scenario, source: str = "<rows>") -> OpenDeals:
    """Open deals from mappings with the CSV's columns (row k, from 1, is 'line' k of ``source`` in errors)."""
    return _parse(enumerate(rows, start=1), scenario, source)


def with_pipeline(
    scenario: Scenario, deals: OpenDeals, max_age_days: float | None = None, old: str | None = None
) -> Scenario:
    """``scenario`` starting from ``deals``; ``max_age_days`` and ``old`` None keep the scenario's own policies."""
    own = scenario.initial_pipeline
    if max_age_days is None and own is not None:
        max_age_days = own.max_age_days
    if old is None:
        old = own.old if own is not None else "restart"
    spec = InitialPipeline(file=deals.source, max_age_days=max_age_days, old=old)
    spec._deals = deals
    return scenario.model_copy(update={"initial_pipeline": spec})


def _parse(rows: Iterable[tuple[int, Mapping[str, Any]]], sc: Scenario, source: str) -> OpenDeals:
    stages = [s.name for s in sc.process.stages]
    segments = list(sc.market.segments)
    errors: list[LocatedError] = []
    seen: dict[str, int] = {}
    owners: dict[str, int] = {}
    out: dict[str, list] = {k: [] for k in ("ids", "stage", "age", "value", "segment", "owner", "in_stage")}
    for line, row in rows:
        def bad(column: str, message: str, line: int = line) -> None:
            errors.append(LocatedError(source, line, column, message))

        deal_id = _text(row.get("id"))
        if not deal_id:
            bad("id", "missing id")
        elif len(deal_id) > MAX_LABEL_CHARS:
            bad("id", f"id '{shorten(deal_id)}' is longer than {MAX_LABEL_CHARS} characters")
        elif deal_id in seen:
            bad("id", f"duplicate id '{deal_id}' (first at line {seen[deal_id]})")
        else:
            seen[deal_id] = line
        stage = _name(row.get("stage"), stages, "stage", bad)
        age = _number(row.get("age_days"), "age_days", bad, required=True, limit=MAX_AGE_DAYS)
        value = _number(row.get("value"), "value", bad, required=True, limit=MAX_VALUE)
        in_stage = _number(row.get("days_in_stage"), "days_in_stage", bad, required=False, limit=MAX_AGE_DAYS)
        if in_stage == in_stage and age == age and in_stage > age:
            bad("days_in_stage", f"{in_stage:g} days in the stage is more than its age_days ({age:g})")
        segment = _name(row.get("segment"), segments, "segment", bad) if _text(row.get("segment")) else -1
        owner = _text(row.get("owner"))
        if len(owner) > MAX_LABEL_CHARS:
            bad("owner", f"owner '{shorten(owner)}' is longer than {MAX_LABEL_CHARS} characters")
        out["ids"].append(deal_id)
        out["stage"].append(stage)
        out["age"].append(age)
        out["value"].append(value)
        out["segment"].append(segment)
        out["owner"].append(owners.setdefault(owner, len(owners)) if owner else -1)
        out["in_stage"].append(in_stage)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ScenarioError(errors[:MAX_ERRORS])
    return OpenDeals(source, **{k: tuple(v) for k, v in out.items()}, owners=tuple(owners))


def _text(value: Any) -> str:
    """A cell as stripped text; None and NaN (from a DataFrame) are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _name(value: Any, choices: list[str], column: str, bad) -> int:
    """The index of a stage or segment name (-1 after reporting an unknown one)."""
    text = _text(value)
    if text in choices:
        return choices.index(text)
    if not text:
        bad(column, f"missing {column}")
    else:
        hint = did_you_mean(text, choices)
        bad(column, f"unknown {column} '{shorten(text)}'{hint}; expected one of: {', '.join(choices)}")
    return -1


def _number(value: Any, column: str, bad, required: bool, limit: float) -> float:
    """A number in [0, limit] (nan when empty and optional, or after reporting a bad one)."""
    text = _text(value)
    if not text:
        if required:
            bad(column, f"missing {column}")
        return math.nan
    try:
        x = float(text)
    except ValueError:
        bad(column, f"not a number: '{shorten(text)}'")
        return math.nan
    if not math.isfinite(x) or x < 0:
        bad(column, f"must be a finite number >= 0, got {shorten(text)}")
        return math.nan
    if x > limit:
        bad(column, f"must be at most {limit:,g}, got {shorten(text)}")
        return math.nan
    return x
