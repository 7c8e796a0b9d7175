"""Results files checked as they are read: each problem becomes one line naming the file and what is wrong.

Tables are described by the kind of each column they must have: ``number`` (numeric, or empty),
``text`` (no missing value), ``flag`` (true/false) or ``any``. The writer of a run records the kinds of
its tables in the manifest (``column_kinds``), so the reader checks exactly what was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pyarrow import ArrowException
from pydantic import BaseModel, ValidationError

from leanflow.errors import ResultsError

NUMBER, TEXT, FLAG, ANY = "number", "text", "flag", "any"
M = TypeVar("M", bound=BaseModel)


def column_kinds(df: pd.DataFrame) -> dict[str, str]:
    """The kind of each column of a table as written (for the manifest): text only when no value is missing."""
    return {str(c): _kind(df[c]) for c in df.columns}


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return FLAG
    if pd.api.types.is_numeric_dtype(values):
        return NUMBER
    return ANY if values.isna().any() else TEXT


def numbers(*columns: str) -> dict[str, str]:
    """Numeric columns, by name."""
    return dict.fromkeys(columns, NUMBER)


def _reason(exc: BaseException) -> str:
    """An exception's message as a short phrase for a one-line error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a results file, or a one-line error saying what is wrong with it."""
    if not path.is_file():
        raise ResultsError(f"{path}: missing")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a text file (damaged?)") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}; truncated or damaged?)") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: not a JSON object")
    return data


def field(data: Mapping[str, Any], path: Path, key: str, kind: type | tuple[type, ...]) -> Any:
    """``data[key]``, which must exist and be of ``kind`` (a list's items must then be text)."""
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
        raise ResultsError(f"{path}: '{key}' is missing or not what leanflow writes")
    return value


def validated(model: type[M], data: Any, path: Path, what: str) -> M:
    """``data`` as a ``model``, or a one-line error counting what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ResultsError(f"{path}: the {what} it records is not valid ({exc.error_count()} error(s))") from None


def read_table(path: Path, kinds: Mapping[str, str], plans: Sequence[str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet results table whose columns have the ``kinds`` given, with plans among ``plans``."""
    if not path.is_file():
        raise ResultsError(f"{path}: missing")
    form = "Parquet" if path.suffix == ".parquet" else "CSV"
    try:
        df = pd.read_parquet(path) if form == "Parquet" else pd.read_csv(path)
    except (OSError, ValueError, ArrowException) as exc:  # damaged files raise any of these, in pandas and pyarrow
        raise ResultsError(f"{path}: not a readable {form} file ({_reason(exc)})") from None
    check_columns(df, path, kinds)
    if plans is not None and "plan" in df:
        unknown = sorted(set(df["plan"].astype(str)) - set(plans))
        if unknown:
            raise ResultsError(f"{path}: plan '{unknown[0]}' is not one of the run's plans ({', '.join(plans)})")
    return df


def check_columns(df: pd.DataFrame, path: Path, kinds: Mapping[str, str]) -> None:
    """Every column named in ``kinds`` present and of its kind."""
    missing = [c for c in kinds if c not in df.columns]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ResultsError(f"{path}: missing column(s) {', '.join(missing[:3])}{more}")
    for column, kind in kinds.items():
        values = df[column]
        if kind == NUMBER and not (pd.api.types.is_numeric_dtype(values) or values.isna().all()):
            raise ResultsError(f"{path}: column '{column}' is not numeric (damaged?)")
        if kind == FLAG and not (pd.api.types.is_bool_dtype(values) or values.empty):
            raise ResultsError(f"{path}: column '{column}' is not true/false (damaged?)")
        if kind == TEXT and values.isna().any():
            raise ResultsError(f"{path}: column '{column}' has empty values (truncated?)")


def require_rows(df: pd.DataFrame, path: Path, plans: Sequence[str]) -> None:
    """At least one row for every plan."""
    absent = [p for p in plans if p not in set(df["plan"].astype(str))]
    if absent:
        raise ResultsError(f"{path}: no rows for plan '{absent[0]}' (truncated?)")
