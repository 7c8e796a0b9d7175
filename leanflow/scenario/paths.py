"""Dotted key paths into scenario data: format, split and set them (pure Python, no YAML).

Shared by ``--set`` overrides, sweep factors and sweep workers, which need no YAML parser.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence
from typing import Any

Path = tuple[str | int, ...]
MAX_SHOWN_CHARS = 80  # a key or value quoted in an error message; a longer one is elided (consoles choke on huge lines)


class PathError(ValueError):
    """A malformed override, or a path that cannot be set (inside a scalar, past a list's end)."""


def format_path(path: Path) -> str:
    """Dotted form of a key path, list indexes as ``[i]``: ``process.stages[2].name`` (long keys elided)."""
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else f".{shorten(item)}" if out else shorten(str(item))
    return out


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text``, or its start and its length when it is longer than ``limit``."""
    return text if len(text) <= limit else f"{text[: limit - 30]}... ({len(text):,} characters)"


def set_path(data: Any, path: Sequence[str | int], value: Any) -> Path:
    """Set ``value`` at ``path`` in place, creating missing mappings; return the resolved path."""
    if not path:
        raise PathError("empty path")
    node = data
    resolved: list[str | int] = []
    for segment in path[:-1]:
        key = _key(node, segment, resolved)
        if isinstance(node, dict) and key not in node:
            _not_a_typo(node, str(key), resolved, path)
        resolved.append(key)
        if (isinstance(node, dict) and key not in node) or node[key] is None:
            node[key] = {}
        node = node[key]
    key = _key(node, path[-1], resolved)
    node[key] = value
    return (*resolved, key)


def did_you_mean(word: str, choices: list[str], cutoff: float = 0.6) -> str:
    """A ' (did you mean ...?)' suffix when a close match exists."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _not_a_typo(node: dict, key: str, parent: list[str | int], path: Sequence[str | int]) -> None:
    """A key to create on the way down that is one letter off an existing one is a typo, not a new entry: a
    typo'd plan name would otherwise become a new, half-made plan whose errors hide the cause."""
    close = did_you_mean(key, [str(k) for k in node], cutoff=0.8)
    if close:
        where = format_path(tuple(parent)) or "the top level"
        raise PathError(f"no '{key}' in {where}{close}; to add one, set {format_path((*parent, key))} to a whole "
                        "mapping")  # fmt: skip


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


def split_path(dotted: str) -> list[str | int]:
    """``a.b.2.c`` -> ['a', 'b', 2, 'c']."""
    return [int(p) if p.isdigit() else p for p in dotted.replace("[", ".").replace("]", "").split(".") if p]


def scenario_data(base_data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of the base scenario data with dotted-path changes applied."""
    data = copy.deepcopy(base_data)
    for path, value in changes.items():
        set_path(data, split_path(path), value)
    return data
