"""Load a scenario: YAML, overrides, pydantic validation, cross-references.

Every problem becomes a LocatedError (file, line, dotted path, message); all
of them are raised together in one ScenarioError, sorted by line. Errors
under a path set by ``--set`` point at that override instead of the file.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from os import PathLike
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario.overrides import SOURCE, Overridden, override
from leanflow.scenario.paths import did_you_mean, shorten
from leanflow.scenario.references import check_references
from leanflow.scenario.schema import Scenario
from leanflow.scenario.yaml_source import LineMap, Path, format_path, line_for, read_text, read_yaml_text_lenient

Problem = tuple[Path, str]
MAPPING_TYPES = {"model_type", "model_attributes_type", "dict_type"}


def load_scenario(path: str | PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Load and validate a scenario file, applying ``path=value`` overrides."""
    return load_scenario_text(read_text(path), str(path), overrides)


def load_scenario_text(text: str, filename: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Load and validate scenario YAML text, applying ``path=value`` overrides."""
    data, lines, syntax = read_yaml_text_lenient(text, filename)
    applied = override(data, overrides)
    try:
        scenario = Scenario.model_validate(applied.data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, applied.data)
    else:
        problems = check_references(scenario)
    if problems or syntax:
        located = _locate(problems, filename, lines, applied) if problems else []
        located = [e for e in located if not _under_any(e.path, {y.path for y in syntax})]
        raise ScenarioError(sorted([*syntax, *located], key=lambda e: (e.file != filename, e.line)))
    if scenario.initial_pipeline is not None:
        scenario = _read_initial_pipeline(scenario, filename, lines, applied)
    return scenario


def _read_initial_pipeline(scenario: Scenario, filename: str, lines: LineMap, applied: Overridden) -> Scenario:
    """The scenario with its open deals read (the file is relative to the scenario file)."""
    from leanflow.scenario.pipeline import read_pipeline, with_pipeline

    spec = scenario.initial_pipeline
    path = FilePath(filename).parent / spec.file
    if not path.is_file():
        problem = (("initial_pipeline", "file"), f"no such file: {path}")
        raise ScenarioError(_locate([problem], filename, lines, applied))
    return with_pipeline(scenario, read_pipeline(path, scenario))


def _under_any(path: str, roots: set[str]) -> bool:
    """Whether a dotted path is one of ``roots`` or inside one (already reported at the YAML level)."""
    return any(path == r or path.startswith((f"{r}.", f"{r}[")) for r in roots if r)


def _locate(problems: list[Problem], filename: str, lines: LineMap, applied: Overridden) -> list[LocatedError]:
    """Point each problem at its override or its file line, sorted file first, then by line."""
    errors = []
    for path, message in problems:
        position = applied.position_for(path, lines)
        if position is None:
            errors.append(LocatedError(filename, line_for(lines, path), format_path(path), message))
        else:
            errors.append(LocatedError(SOURCE, position, format_path(path), message))
    return sorted(errors, key=lambda e: (e.file == SOURCE, e.line, e.path, e.message))


# ---------------------------------------------------------------- pydantic errors


def pydantic_problems(exc: ValidationError, data: Any, root: type[BaseModel] = Scenario) -> list[Problem]:
    """One (path, message) per bad value: union-branch noise stripped and deduplicated."""
    best: dict[Path, tuple[int, Problem]] = {}
    for error in exc.errors(include_url=False):
        missing = error["type"] == "missing"
        path = _clean_loc(error["loc"], data, keep_last=missing)
        if missing:
            problem = (path[:-1], f"missing required key '{path[-1]}'")
        else:
            problem = (path, _message(error, path, data, root))
        rank = _rank(error["type"])
        if path not in best or rank < best[path][0]:
            best[path] = (rank, problem)
    return [problem for _, problem in best.values()]


def _clean_loc(loc: tuple[int | str, ...], data: Any, keep_last: bool) -> Path:
    """The part of a pydantic loc that exists in the data (drops union tags and branch names)."""
    path: list[str | int] = []
    node = data
    for i, item in enumerate(loc):
        if keep_last and i == len(loc) - 1:
            path.append(item)
        elif _has(node, item):
            path.append(item)
            node = node[item]
    return tuple(path)


def _has(node: Any, item: int | str) -> bool:
    """Whether ``item`` is a key of a dict node or an index of a list node."""
    if isinstance(node, dict):
        return item in node
    return isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)


def _rank(kind: str) -> int:
    """Which of several union-branch errors for one value explains it best (lowest)."""
    if kind.endswith(("_type", "_parsing")):
        return 2
    return 1 if kind == "literal_error" else 0


def _message(error: ErrorDetails, path: Path, data: Any, root: type[BaseModel]) -> str:
    """A user-facing message for one pydantic error."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error["input"]
    if kind == "extra_forbidden":
        hint = did_you_mean(str(path[-1]), _allowed_keys(path[:-1], data, root))
        return f"unknown key '{shorten(str(path[-1]))}'{hint}"
    if kind == "union_tag_invalid":
        field, tag, tags = ctx["discriminator"].strip("'"), str(ctx["tag"]), _quoted(ctx["expected_tags"])
        return f"unknown {field} '{shorten(tag)}'{did_you_mean(tag, tags)}; expected one of: {', '.join(tags)}"
    if kind == "union_tag_not_found":
        tags = _union_tags(_type_at(path, data, root))
        return f"missing required key {ctx['discriminator']} (one of: {', '.join(tags)})"
    if kind in MAPPING_TYPES:
        return f"expected a mapping, got {_describe(value)}"
    if kind == "number_not_bool":
        return f"{error['msg']} ({_describe(value)})"
    if kind == "bool_not_other":
        return f"{error['msg']}, got {_describe(value)}"
    message = error["msg"].removeprefix("Value error, ")
    if "[key]" in error["loc"]:
        message = f"invalid key: {message}"
    if isinstance(value, dict | list):
        return message
    suggestion = did_you_mean(str(value), _quoted(ctx["expected"])) if kind == "literal_error" else ""
    return f"{message}, got {_describe(value)}{suggestion}"


def _quoted(text: str) -> list[str]:
    """The single-quoted words of a pydantic context string."""
    return re.findall(r"'([^']*)'", text)


def _describe(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return shorten(repr(value))


# ---------------------------------------------------------------- walking the schema


def _allowed_keys(path: Path, data: Any, root: type[BaseModel]) -> list[str]:
    """The keys the model at ``path`` accepts (by alias), or none if it is not a model."""
    model = _model(_type_at(path, data, root), _data_at(data, path))
    return [f.alias or name for name, f in model.model_fields.items()] if model else []


def _type_at(path: Path, data: Any, root: type[BaseModel]) -> Any:
    """The annotation that governs the value at ``path`` (None if the walk fails)."""
    annotation: Any = root
    node = data
    for item in path:
        annotation = _child_type(annotation, node, item)
        node = node[item] if _has(node, item) else None
    return annotation


def _child_type(annotation: Any, node: Any, item: str | int) -> Any:
    """The annotation of one key or item inside a value of type ``annotation``."""
    model = _model(annotation, node)
    if model is not None:
        fields = {f.alias or name: f.annotation for name, f in model.model_fields.items()}
        return fields.get(str(item))
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict:
        return args[1]
    if origin in (list, tuple):
        return args[0]
    return None


def _model(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class a value must be: the only model branch, or the one its tag selects."""
    models = _models(annotation)
    if len(models) == 1:
        return models[0]
    given = node if isinstance(node, dict) else {}
    chosen = [m for m in models if (tags := _model_tags(m)) and tags.items() <= given.items()]
    return chosen[0] if len(chosen) == 1 else None


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The model classes among a type's union branches."""
    return [b for b in _branches(annotation) if isinstance(b, type) and issubclass(b, BaseModel)]


def _branches(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly annotated, possibly nested) union."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _branches(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [b for arg in get_args(annotation) for b in _branches(arg)]
    return [annotation]


def _model_tags(model: type[BaseModel]) -> dict[str, Any]:
    """The model's single-valued Literal fields by key: its discriminator tag."""
    return {
        f.alias or name: get_args(f.annotation)[0]
        for name, f in model.model_fields.items()
        if get_origin(f.annotation) is Literal and len(get_args(f.annotation)) == 1
    }


def _union_tags(annotation: Any) -> list[str]:
    """All discriminator tags of a union of tagged models."""
    return [str(tag) for model in _models(annotation) for tag in _model_tags(model).values()]


def _data_at(data: Any, path: Path) -> Any:
    """The value at ``path`` (None where the path leaves the data)."""
    for item in path:
        data = data[item] if _has(data, item) else None
    return data
