"""The Python API's argument checks: a wrong kind of argument is one LeanflowError line, before anything runs
(the CLI's options are checked by click; these are the same rules for calls from a notebook)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from os import PathLike
from typing import Any

from leanflow.errors import LeanflowError


def scenario_source(source: Any, what: str = "scenario") -> None:
    """A scenario is a file path, a dict or a loaded Scenario: not a number (which open() takes for a file
    descriptor), a list or None."""
    from leanflow.scenario.schema import Scenario

    if not isinstance(source, str | PathLike | Mapping | Scenario):
        raise LeanflowError(f"{what}: expected a file path, a dict or a Scenario, got {type(source).__name__}")


def overrides(sets: Sequence[str] | str | None) -> list[str]:
    """``set`` as a list of "path=value" strings; one string is one override (not its characters)."""
    if sets is None:
        return []
    if isinstance(sets, str):
        return [sets]
    if not isinstance(sets, Sequence) or not all(isinstance(s, str) for s in sets):
        raise LeanflowError(f'set: expected "path=value" strings, e.g. set=["seed=7"], got {sets!r}'[:200])
    return list(sets)


def jobs(value: int | None) -> int | None:
    """Processes: None (all cores) or a whole number of at least 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise LeanflowError(f"jobs must be a whole number of at least 1 (or None: all cores), got {value!r}")
    return value


def names(value: Any) -> tuple[str, str]:
    """The two labels of a comparison: distinct, non-empty, and without ':' (it joins a label and a plan)."""
    if not (isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise LeanflowError(f"names: expected two labels, e.g. names=('today', 'proposal'), got {value!r}"[:200])
    a, b = value
    for label in (a, b):
        if not label.strip() or ":" in label:
            raise LeanflowError(f"names: '{label}' must be non-empty and without ':' (it joins a label and a plan)")
    if a == b:
        raise LeanflowError(f"names: the two labels must differ, got '{a}' twice")
    return a, b


def path(value: Any, what: str) -> None:
    """A file or directory argument is a str or a path."""
    if not isinstance(value, str | PathLike):
        raise LeanflowError(f"{what}: expected a file path, got {type(value).__name__}")


def day(value: Any, what: str) -> date:
    """A date, or its YYYY-MM-DD text (``what`` names the argument or option in the one-line error)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise LeanflowError(f"{what}: expected a date or 'YYYY-MM-DD', got {type(value).__name__} {value!r}"[:200])
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise LeanflowError(f"{what}: not a date: '{value}' (expected YYYY-MM-DD)") from None
