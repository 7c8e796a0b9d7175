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
from leanflow.scenario.paths import Path, PathError, set_path, shorten
from leanflow.scenario.yaml_source import MAX_VALUE_CHARS, parse_value

SOURCE = "--set"


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
        raise PathError(f"expected path=value, got '{shorten(text)}'")
    segments = re.sub(r"\[([0-9]+)\]", r".\1", path_text).split(".")
    if not path_text or "" in segments:
        raise PathError(f"empty key in path '{shorten(path_text)}'" if path_text else "empty path before '='")
    if len(value_text) > MAX_VALUE_CHARS:
        raise PathError(f"value too long: more than {MAX_VALUE_CHARS:,d} characters")
    try:
        return segments, parse_value(value_text)
    except ScenarioError as exc:
        message = f"invalid value '{shorten(value_text.strip())}': {exc.errors[0].message}"
        raise ScenarioError([LocatedError(SOURCE, position, shorten(path_text), message)]) from None


def _path_part(text: str) -> str:
    """The path half of an override, for error messages."""
    return shorten(text.partition("=")[0].strip())
