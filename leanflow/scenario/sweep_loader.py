"""Load a sweep file: its own schema, its base scenario, and every factor path tried on the base.

Errors are located like the scenario loader's: FILE:LINE: path.to.key: message.
A factor path is checked by applying its extreme values to the base scenario
and validating it, so a typo in a path or a value out of range is reported at
the factor's line in the sweep file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path as FilePath
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from leanflow.errors import LocatedError, ScenarioError
from leanflow.metrics.catalog import FIXED, PREFIXED
from leanflow.scenario.loader import load_scenario_text, pydantic_problems
from leanflow.scenario.paths import PathError, did_you_mean, scenario_data, split_path
from leanflow.scenario.references import check_references
from leanflow.scenario.schema import Scenario
from leanflow.scenario.sweep_schema import Sweep
from leanflow.scenario.yaml_source import LineMap, format_path, line_for, read_text, read_yaml_text_lenient

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class BaseFile(Generic[ModelT]):
    """A validated file and the base scenario it names, before its own cross-checks."""

    parsed: ModelT
    name: str
    lines: LineMap
    base_file: str
    base_data: dict[str, Any]
    base: Scenario
    texts: tuple[str, str]


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep with its base scenario as raw data (picklable, for workers)."""

    sweep: Sweep
    sweep_file: str
    base_file: str
    base_data: dict[str, Any]
    base: Scenario
    texts: tuple[str, str]  # the sweep file and the base scenario, as read

    @property
    def sha256(self) -> str:
        """Identity of the sweep: both files' texts."""
        return hashlib.sha256("\0".join(self.texts).encode()).hexdigest()

    @property
    def plans(self) -> list[str]:
        return self.sweep.plans or list(self.base.plans)

    @property
    def seed(self) -> int:
        return self.base.seed if self.sweep.seed is None else self.sweep.seed


def file_kind(path: str | PathLike[str]) -> str:
    """What a YAML file looks like, from one parse: "optimisation" (it has families), "sweep" (it names a base
    scenario) or "scenario" (anything else, including a file that does not parse: its loader says why)."""
    try:
        data, _, _ = read_yaml_text_lenient(read_text(path), str(path))
    except ScenarioError:
        return "scenario"
    if not (isinstance(data, dict) and "base" in data and "market" not in data):
        return "scenario"
    return "optimisation" if "families" in data else "sweep"


def load_with_base(path: str | PathLike[str], model: type[ModelT]) -> BaseFile[ModelT]:
    """Read a file that names a ``base`` scenario (a sweep, an optimisation): validate it against ``model``,
    then load the base scenario beside it; raise ScenarioError with every located error."""
    name = str(path)
    text = read_text(path)
    data, lines, errors = read_yaml_text_lenient(text, name)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, data, model)
        errors += [LocatedError(name, line_for(lines, p), format_path(p), m) for p, m in problems]
        raise ScenarioError(sorted(errors, key=lambda e: e.line)) from None
    if errors:
        raise ScenarioError(errors)
    base_file = FilePath(path).parent / parsed.base
    if not base_file.is_file():
        raise ScenarioError([LocatedError(name, line_for(lines, ("base",)), "base", f"no scenario file {base_file}")])
    base_text = read_text(base_file)
    base = load_scenario_text(base_text, str(base_file))
    base_data, _, _ = read_yaml_text_lenient(base_text, str(base_file))
    return BaseFile(parsed, name, lines, str(base_file), base_data, base, (text, base_text))


def load_sweep(path: str | PathLike[str]) -> LoadedSweep:
    """Load and validate a sweep file and its base scenario; raise ScenarioError with every error."""
    f = load_with_base(path, Sweep)
    problems = list(_check(f.parsed, f.base, f.base_data, f.name, f.lines))
    if problems:
        raise ScenarioError(problems)
    return LoadedSweep(f.parsed, f.name, f.base_file, f.base_data, f.base, f.texts)


def _check(sweep: Sweep, base: Scenario, base_data: dict, name: str, lines: LineMap):
    """Located errors for plans, outputs, overrides and every factor's extreme values."""
    for i, plan in enumerate(sweep.plans or []):
        if plan not in base.plans:
            hint = did_you_mean(plan, list(base.plans))
            yield LocatedError(name, line_for(lines, ("plans", i)), f"plans[{i}]",
                               f"no plan '{plan}' in the base scenario{hint}")  # fmt: skip
    known = known_outputs(base)
    for i, out in enumerate(sweep.outputs):
        if out not in known:
            yield LocatedError(name, line_for(lines, ("outputs", i)), f"outputs[{i}]",
                               f"unknown metric '{out}'{did_you_mean(out, sorted(known))}")  # fmt: skip
    fixed = dict(sweep.overrides)
    trials: list[tuple[tuple, dict[str, Any]]] = [(("overrides",), {})]
    for key, levels in sweep.levers.items():
        trials += [(("levers", key), {key: level}) for level in levels]
    for key, rng in sweep.uncertainties.items():
        if rng.low > rng.high:
            yield LocatedError(name, line_for(lines, ("uncertainties", key)), f"uncertainties.{key}",
                               f"low ({rng.low:g}) is above high ({rng.high:g})")  # fmt: skip
        values = [round(v) for v in (rng.low, rng.high)] if rng.integer else [rng.low, rng.high]
        trials += [(("uncertainties", key), {key: v}) for v in values]
    seen: set[tuple] = set()
    for where, change in trials:
        problem = try_changes(base_data, {**fixed, **change})
        if problem and where not in seen:
            seen.add(where)
            yield LocatedError(name, line_for(lines, where), format_path(where), problem)


def _missing_parent(base_data: dict, dotted: str) -> str | None:
    """A typo in a factor path: an intermediate key that the base scenario does not have."""
    node: Any = base_data
    parts = split_path(dotted)
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(map(str, parts[:depth])) or "the scenario"
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            choices = [str(k) for k in node] if isinstance(node, dict) else []
            return f"not a valid scenario path: no '{part}' in {where}{did_you_mean(str(part), choices)}"
    return None


def try_changes(base_data: dict, changes: dict[str, Any]) -> str | None:
    """Why these changes make the base scenario invalid (None if they do not).

    A path may create keys the base file leaves to their defaults (``roles.ae.learning.progress_ratio``);
    only when the result is invalid is a key missing from the base file named, as the likely typo."""

    def typo() -> str | None:
        return next((p for p in (_missing_parent(base_data, d) for d in changes) if p), None)

    try:
        data = scenario_data(base_data, changes)
    except (PathError, KeyError, IndexError, TypeError) as exc:
        return typo() or f"not a valid scenario path: {exc}"
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        path, message = pydantic_problems(exc, data)[0]
        return typo() or f"gives an invalid scenario: {format_path(path)}: {message}"
    refs = check_references(scenario)
    if refs:
        path, message = refs[0]
        return typo() or f"gives an invalid scenario: {format_path(path)}: {message}"
    return None


def known_outputs(base: Scenario) -> set[str]:
    """Every metric name a run of this scenario produces."""
    stages = [s.name for s in base.process.stages]
    roles = sorted({r for plan in base.plans.values() for r in plan.roles})
    names = {k for k, *_ in FIXED} | {"utilisation", "leads"}
    for prefix, _label, _kind, group in PREFIXED:
        names |= {prefix + x for x in (roles if group == "roles" else stages)}
    return names
