"""The project's own exceptions: each carries a message meant for the user."""

from __future__ import annotations

from dataclasses import dataclass


class LeanflowError(Exception):
    """Base class: an error the CLI prints as a message, never as a traceback (exit 2: bad input)."""

    exit_code = 2


@dataclass(frozen=True)
class LocatedError:
    """One problem in an input file, pointing at a line and a dotted key path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ScenarioError(LeanflowError):
    """An invalid scenario (or sweep) file: every error found, each located."""

    exit_code = 2

    def __init__(self, errors: list[LocatedError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class UnstableRun(LeanflowError):
    """A run whose open deals grow without bound: more work arrives than a role can do (bad input, exit 2)."""

    exit_code = 2


class SimulationError(LeanflowError):
    """A run broke an invariant of the model (a bug, not bad input)."""

    exit_code = 1


class ResultsError(LeanflowError):
    """A results directory that cannot be read back: a file missing, damaged or not what leanflow writes."""


class OutputError(LeanflowError):
    """An output path that cannot be written (a file in the way, no permission, a full disk)."""
