"""The mapping file: which columns of a CRM export hold what, and how to read them (pydantic, located errors).

A mapping names the export's columns for the canonical fields, the date format,
the stage names (open stages in pipeline order, won and lost stages) and the
stated assumptions the data cannot identify (``effort_share``). Shipped mappings
(``maven``, ``salesforce``, ``hubspot``) live in ``scenarios/mappings``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leanflow.errors import LeanflowError, LocatedError, ScenarioError

Column = Annotated[str, Field(min_length=1, description="a column name in the export's header")]
StageName = Annotated[str, Field(min_length=1)]
Problem = tuple[tuple[str | int, ...], str]
LOCATE_LATER = "locate_later"  # validation context key: the loader locates the cross-checks itself


class ExportError(LeanflowError):
    """An export, history or mapping file that cannot be read: every problem, located (file:row:column: message)."""

    exit_code = 2

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


class Strict(BaseModel):
    """Base for the mapping's models: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(Strict):
    """The export's column for each canonical field (unmapped optional fields are None in the table)."""

    id: Column
    created: Column = Field(description="date the opportunity entered the pipeline")
    closed: Column = Field(description="close date; ignored for open rows, where CRMs put the expected close")
    stage: Column
    amount: Column
    owner: Column | None = None
    segment: Column | None = Field(None, description="may be the same column as product or source")
    product: Column | None = None
    source: Column | None = None
    is_won: Column | None = Field(None, description="won flag (Salesforce IsWon); give it with is_closed")
    is_closed: Column | None = Field(None, description="closed flag (Salesforce IsClosed); give it with is_won")

    @model_validator(mode="after")
    def _flags_together(self) -> Columns:
        if (self.is_won is None) != (self.is_closed is None):
            raise ValueError("give both is_won and is_closed, or neither (the outcome then comes from the stage)")
        return self


def _check_format(fmt: str) -> str:
    """A date format is 'iso' or a strftime pattern that reads back what it writes (no time zone)."""
    if fmt == "iso":
        return fmt
    if "%" not in fmt:
        raise ValueError(f"date format '{fmt}' is neither 'iso' nor a strftime pattern such as '%m/%d/%Y'")
    if "%z" in fmt or "%Z" in fmt:
        raise ValueError(f"date format '{fmt}': time zones are not read (leave %z/%Z out, or use 'iso')")
    try:
        datetime.strptime(datetime(2001, 2, 3, 4, 5, 6).strftime(fmt), fmt)
    except ValueError as exc:
        raise ValueError(f"date format '{fmt}' cannot be used: {exc}") from None
    return fmt


DateFormat = Annotated[
    str,
    Field(min_length=1, description="'iso' (YYYY-MM-DD, optionally with a time) or a strftime pattern"),
    AfterValidator(_check_format),
]
DateFormats = Annotated[
    list[DateFormat],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    Field(min_length=1, description="one format, or a list tried in order"),
]


class HistoryColumns(Strict):
    """A stage-history file's columns (Salesforce OpportunityHistory: OpportunityId, StageName, CreatedDate, Amount)."""

    id: Column
    stage: Column
    date: Column = Field(description="when the opportunity entered this stage")
    amount: Column | None = None


class History(Strict):
    """How to read stage-history files, when the CRM exports them."""

    columns: HistoryColumns
    date_format: DateFormats = ["iso"]


RenamedField = Literal["stage", "owner", "segment", "product", "source"]


class Mapping(Strict):
    """How to read one CRM's opportunity export into the canonical table."""

    name: str = Field(min_length=1, description="what this mapping reads, for summaries")
    columns: Columns
    date_format: DateFormats = Field(["iso"], description="times and time zones are dropped: dates are days")
    stages: list[StageName] = Field(min_length=1, description="open pipeline stages, in pipeline order")
    won: list[StageName] = Field(min_length=1, description="stage names meaning won")
    lost: list[StageName] = Field(min_length=1, description="stage names meaning lost")
    pre_pipeline_stages: list[StageName] = Field(
        default_factory=list,
        description="open stages whose rows may lack a created date: they have not entered the pipeline yet",
    )
    rename: dict[RenamedField, dict[str, str]] = Field(
        default_factory=dict, description="per field, export value -> canonical value (applied before stage checks)"
    )
    zero_amount_is_unknown: bool = Field(
        False, description="an amount of 0 means 'not recorded' (Maven books 0 on lost deals)"
    )
    effort_share: float = Field(
        0.15,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="stated assumption: the share of a stage's elapsed time that is seller effort, the rest being "
        "buyer wait; dates alone cannot identify it",
    )
    delimiter: str = Field(",", pattern=r'^[^"\r\n]$', description="one character between fields: , or ; or a tab")
    encoding: str = "utf-8"
    history: History | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            b"a".decode(value)
        except UnicodeDecodeError:
            pass  # a text encoding that needs more than one byte
        except LookupError:
            raise ValueError(f"unknown text encoding '{value}'") from None
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Mapping:
        problems = list(cross_problems(self))
        if problems and not (info.context or {}).get(LOCATE_LATER):
            raise ValueError("; ".join(f"{'.'.join(map(str, path))}: {message}" for path, message in problems))
        return self

    @property
    def outcome_of_stage(self) -> dict[str, str]:
        """Each known stage name and the outcome it means: 'open', 'won' or 'lost'."""
        return {s: "open" for s in self.stages} | {s: "won" for s in self.won} | {s: "lost" for s in self.lost}


def cross_problems(m: Mapping) -> Iterator[Problem]:
    """Consistency errors between fields: a stage named twice, a pre-pipeline stage that is not open."""
    seen: dict[str, str] = {}
    for key in ("stages", "won", "lost"):
        for i, stage in enumerate(getattr(m, key)):
            if stage in seen:
                yield (key, i), f"stage '{stage}' is already listed in {seen[stage]}"
            else:
                seen[stage] = key
    for i, stage in enumerate(m.pre_pipeline_stages):
        if stage not in m.stages:
            yield ("pre_pipeline_stages", i), f"'{stage}' is not one of the open stages: {', '.join(m.stages)}"


# ---------------------------------------------------------------- loading


def shipped_mappings() -> Path:
    """The shipped mappings: inside the wheel, or beside the package in a checkout."""
    package = Path(__file__).resolve().parent.parent
    inside = package / "_scenarios" / "mappings"
    return inside if inside.is_dir() else package.parent / "scenarios" / "mappings"


def resolve_mapping(path: Path) -> Path:
    """A mapping file: ``path`` itself if it exists, else the shipped mapping of that name (``maven``)."""
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    shipped = shipped_mappings() / f"{path}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in shipped_mappings().glob("*.yaml")))
    raise ExportError([f"{path}:1: no such mapping file, and no shipped mapping of that name (shipped: {names})"])


def load_mapping(path: Path | str) -> Mapping:
    """Load and validate a mapping file (or a shipped mapping by name); raise ExportError with located errors."""
    from leanflow.scenario.loader import pydantic_problems
    from leanflow.scenario.yaml_source import format_path, line_for, read_text, read_yaml_text_lenient

    source = resolve_mapping(Path(path))
    name = str(source)
    try:
        data, lines, syntax = read_yaml_text_lenient(read_text(source), name)
    except ScenarioError as exc:
        raise ExportError([str(e) for e in exc.errors]) from None
    mapping: Mapping | None = None
    try:
        mapping = Mapping.model_validate(data, context={LOCATE_LATER: True})
    except ValidationError as exc:
        problems = pydantic_problems(exc, data, Mapping)
    else:
        problems = list(cross_problems(mapping))
    located = [LocatedError(name, line_for(lines, p), format_path(p), msg) for p, msg in problems]
    syntax_paths = {e.path for e in syntax}
    errors = [*syntax, *(e for e in located if e.path not in syntax_paths)]
    if errors or mapping is None:
        raise ExportError([str(e) for e in sorted(errors, key=lambda e: e.line)])
    return mapping


def as_mapping(mapping: Mapping | Path | str) -> Mapping:
    """A Mapping as given, or loaded from a file or shipped name."""
    return mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
