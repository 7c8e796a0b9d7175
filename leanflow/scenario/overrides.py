"""Overrides by dotted path: the CLI's ``--set path=value`` and sweep factors.

A path is dotted keys; a segment of digits (or ``[i]``) indexes a list:
``process.stages.2.effort_hours`` or ``process.stages[2].effort_hours``.
Values are YAML: ``5``, ``0.3``, ``fifo``, ``[a, b]``, ``{dist: constant, value: 1}``.
Missing keys are created, so that validation can report them as unknown.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario.yaml_source import Path, format_path, parse_value

SOURCE = "--set"


class PathError(ValueError):
    """A malformed override, or a path that cannot be set (inside a scalar, past a list's end)."""


@dataclass
class Overridden:
    """Data after overrides, with the 1-based command-line position that set each path."""

    data: dict[str, Any]
    positions: dict[Path, int] = field(default_factory=dict)

    def record(self, path: Path, position: int) -> None:
        """Note that ``position`` set ``path``, replacing records of anything beneath it."""
        for old in [p for p in self.positions if p[: len(path)] == path]:
            del self.positions[old]
        self.positions[path] = position

    def position_for(self, path: Path, file_paths: Collection[Path]) -> int | None:
        """The override that produced the value at ``path`` (or created it), if any."""
        in_file = path in file_paths
        owners = [
            (len(q), pos)
            for q, pos in self.positions.items()
            if path[: len(q)] == q or (not in_file and q[: len(path)] == path)
        ]
        return max(owners)[1] if owners else None


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``data`` with every ``path=value`` override applied."""
    return override(data, overrides).data


def override(data: dict[str, Any], overrides: Sequence[str]) -> Overridden:
    """Apply overrides to a copy of ``data``, recording which paths each one set."""
    result = Overridden(copy.deepcopy(data))
    errors: list[LocatedError] = []
    for position, text in enumerate(overrides, start=1):
        try:
            segments, value = parse_override(text, position)
            result.record(set_path(result.data, segments, value), position)
        except PathError as exc:
            errors.append(LocatedError(SOURCE, position, _path_part(text), str(exc)))
        except ScenarioError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ScenarioError(errors)
    return result


def parse_override(text: str, position: int) -> tuple[list[str], Any]:
    """Split ``path=value`` into path segments and the YAML-parsed value."""
    path_text, sep, value_text = text.partition("=")
    path_text = path_text.strip()
    if not sep:
        raise PathError(f"expected path=value, got '{text}'")
    segments = re.sub(r"\[([0-9]+)\]", r".\1", path_text).split(".")
    if not path_text or "" in segments:
        raise PathError(f"empty key in path '{path_text}'" if path_text else "empty path before '='")
    try:
        return segments, parse_value(value_text)
    except ScenarioError as exc:
        message = f"invalid value '{value_text.strip()}': {exc.errors[0].message}"
        raise ScenarioError([LocatedError(SOURCE, position, path_text, message)]) from None


def set_path(data: Any, path: Sequence[str | int], value: Any) -> Path:
    """Set ``value`` at ``path`` in place, creating missing mappings; return the resolved path."""
    if not path:
        raise PathError("empty path")
    node = data
    resolved: list[str | int] = []
    for segment in path[:-1]:
        key = _key(node, segment, resolved)
        resolved.append(key)
        if (isinstance(node, dict) and key not in node) or node[key] is None:
            node[key] = {}
        node = node[key]
    key = _key(node, path[-1], resolved)
    node[key] = value
    return (*resolved, key)


def _key(node: Any, segment: str | int, parent: list[str | int]) -> str | int:
    """The dict key or list index that ``segment`` names inside ``node``."""
    where = format_path(tuple(parent)) or "the top level"
    if isinstance(node, dict):
        return str(segment)
    if not isinstance(node, list):
        raise PathError(f"cannot set '{segment}' inside {where}: it is {_describe(node)}, not a mapping or list")
    if not (str(segment).isascii() and str(segment).isdigit()):
        raise PathError(f"{where} is a list: '{segment}' is not a list index")
    index = int(segment)
    if index >= len(node):
        raise PathError(f"list index {index} is out of range: {where} has {len(node)} items")
    return index


def _describe(value: Any) -> str:
    """A short phrase for a scalar's kind and value."""
    return "null" if value is None else f"the value {value!r}"


def _path_part(text: str) -> str:
    """The path half of an override, for error messages."""
    return text.partition("=")[0].strip()
