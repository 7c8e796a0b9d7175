"""Read a CRM opportunity export into the canonical table: one row per opportunity, bad rows dropped and counted.

File-level problems (a missing file, no header, a mapped column missing from
it, text that is not CSV) raise ExportError; a bad row is dropped, counted by
reason, and its first few problems kept as ``file:row:column: message`` (row:
the CSV line). Dates are calendar days as written: times and zones are dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from leanflow.crm.mapping import ExportError, Mapping, as_mapping
from leanflow.scenario.paths import did_you_mean

TABLE_COLUMNS = ["id", "created", "closed", "stage", "outcome", "amount", "owner", "segment", "product", "source"]
LABELS = ("segment", "product", "source")  # optional text fields: None where not mapped or empty
EXAMPLES_PER_REASON = 3
MAX_HEADER_SHOWN = 12
ISO_DATE = re.compile(  # YYYY-MM-DD, then optionally a time and a zone, both ignored
    r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
CURRENCY = re.compile(r"^(?:[A-Z]{3}\s*|[$€£¥]\s*)|(?:\s*[A-Z]{3}|\s*[$€£¥])$")
GROUPED = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})  # as Salesforce Data Loader writes booleans
FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


# ---------------------------------------------------------------- the CSV file


@dataclass(frozen=True, eq=False)
class Sheet:
    """The mapped columns of a CSV file as stripped text (one column per canonical field), with each row's line."""

    file: str
    columns: dict[str, str]  # canonical field -> export column
    rows: pd.DataFrame  # the fields, plus 'line' (CSV line of the row) and 'width_ok' (as many fields as the header)
    width: int


def read_sheet(path: Path, columns: dict[str, str], delimiter: str, encoding: str) -> Sheet:
    """Read a CSV file's mapped columns; a file that cannot be read as CSV with them raises ExportError."""
    name = str(path)
    text = _read_text(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = start = 1
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if record and header is None:
                header, header_line = [h.strip() for h in record], start
            elif record:
                records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ExportError([f"{name}:{reader.line_num}: not readable as CSV: {exc}"]) from None
    if header is None:
        raise ExportError([f"{name}:1: the file is empty (no header row)"])
    index = _column_index(name, header, header_line, columns)
    if not records:
        raise ExportError([f"{name}:{header_line + 1}: no rows after the header"])
    data: dict[str, list] = {f: [] for f in columns}
    lines, widths = [], []
    for line, record in records:
        lines.append(line)
        widths.append(len(record) == len(header))
        for f, i in index.items():
            data[f].append(record[i].strip() if i < len(record) else "")
    rows = pd.DataFrame(data, dtype=object)
    rows["line"], rows["width_ok"] = lines, widths
    return Sheet(name, columns, rows, len(header))


MAX_EXPORT_BYTES = 2**30  # 1 GiB: millions of opportunities, and still read in memory


def _read_text(path: Path, encoding: str) -> str:
    """The file's text; a missing or undecodable file raises ExportError."""
    name = str(path)
    try:
        if path.exists() and not path.is_file():
            raise ExportError([f"{name}:1: not a regular file (a directory, a device or a pipe)"])
        if path.exists() and path.stat().st_size > MAX_EXPORT_BYTES:
            size = path.stat().st_size / 2**30
            raise ExportError([f"{name}:1: {size:.1f} GiB is over the {MAX_EXPORT_BYTES // 2**30} GiB an export "
                               "may have: split it by date"])  # fmt: skip
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExportError([f"{name}:1: file not found"]) from None
    except OSError as exc:
        raise ExportError([f"{name}:1: cannot read the file: {exc.strerror}"]) from None
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not {encoding} text: byte 0x{raw[exc.start]:02x} cannot be decoded (set 'encoding' in the mapping)"
        raise ExportError([f"{name}:{line}: {message}"]) from None


def _column_index(name: str, header: list[str], line: int, columns: dict[str, str]) -> dict[str, int]:
    """Each field's position in the header; missing or repeated mapped columns raise ExportError (one line each)."""
    fields: dict[str, list[str]] = {}
    for f, col in columns.items():
        fields.setdefault(col, []).append(f"columns.{f}")
    missing = [f"'{c}' ({', '.join(fs)}){did_you_mean(c, header)}" for c, fs in fields.items() if c not in header]
    if missing:
        shown = ", ".join(header[:MAX_HEADER_SHOWN]) + (", ..." if len(header) > MAX_HEADER_SHOWN else "")
        raise ExportError([f"{name}:{line}: missing mapped column{'s' * (len(missing) > 1)} {', '.join(missing)}; "
                           f"the header has: {shown}"])  # fmt: skip
    repeated = [col for col in fields if header.count(col) > 1]
    if repeated:
        raise ExportError([f"{name}:{line}:{col}: the column appears {header.count(col)} times in the header"
                           for col in repeated])  # fmt: skip
    return {f: header.index(col) for f, col in columns.items()}


# ---------------------------------------------------------------- dropping rows


@dataclass
class Drops:
    """Which rows are still kept; for the dropped, a count per reason and the first located problems."""

    sheet: Sheet
    prefix: str = ""
    keep: np.ndarray = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keep = np.ones(len(self.sheet.rows), dtype=bool)

    def drop(self, mask: pd.Series, reason: str, column: str | None, say: Callable[[int], str]) -> None:
        """Drop the kept rows where ``mask`` holds, for ``reason``; ``say(row)`` words a row's problem."""
        hit = np.asarray(mask.fillna(False), dtype=bool) & self.keep
        if not hit.any():
            return
        key = self.prefix + reason
        self.counts[key] = self.counts.get(key, 0) + int(hit.sum())
        first = self.sheet.rows.index[hit][:EXAMPLES_PER_REASON]
        where = f"{self.sheet.columns[column]}: " if column else " "
        for j in first:
            line = int(self.sheet.rows.at[j, "line"])
            self.problems.append((self.sheet.file, line, f"{self.sheet.file}:{line}:{where}{say(j)}"))
        self.keep &= ~hit

    def drop_common(self, required: Iterable[str]) -> None:
        """Drop rows with the wrong number of fields, then rows missing a required value."""
        rows, width = self.sheet.rows, self.sheet.width
        self.drop(~rows["width_ok"], "wrong number of fields", None, lambda j: f"not {width} fields as in the header")
        for f in required:
            self.drop(rows[f].eq(""), f"missing {f}", f, lambda j, f=f: f"no {f}")


# ---------------------------------------------------------------- values


def parse_dates(text: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """Calendar days from text in the mapping's formats: (dates, bad) where bad marks unreadable non-empty text."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & text.ne("")
        if fmt == "iso":
            days = text[todo].str.extract(ISO_DATE, expand=False)
            parsed = pd.to_datetime(days, format="%Y-%m-%d", errors="coerce")
        else:
            try:
                parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            except ValueError as exc:
                raise ExportError([f"date format '{fmt}' cannot be used: {exc}"]) from None
        result[todo] = parsed.dt.normalize().astype("datetime64[ns]")
    return result, result.isna() & text.ne("")


def describe_formats(formats: list[str]) -> str:
    """The expected date formats, for a message."""
    return " or ".join("YYYY-MM-DD" if f == "iso" else f for f in formats)


def parse_amounts(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text (a currency sign or code and thousands commas allowed): (amounts, bad)."""
    bare = text.str.replace(CURRENCY, "", regex=True).str.strip()
    grouped = bare.str.fullmatch(GROUPED)
    bare = bare.where(~grouped, bare.str.replace(",", "", regex=False))
    amounts = pd.to_numeric(bare, errors="coerce").astype(float)
    bad = text.ne("") & ~np.isfinite(amounts)
    return amounts.where(~bad), bad


def parse_flags(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans from text such as true/false, 1/0, yes/no: (flags, bad)."""
    lower = text.str.lower()
    return lower.isin(TRUE), ~lower.isin(TRUE | FALSE)


def read_dates(rows: pd.DataFrame, f: str, formats: list[str], drops: Drops, reason: str,
               only: pd.Series | None = None) -> pd.Series:  # fmt: skip
    """Field ``f`` read as dates; unreadable ones (in the rows ``only`` selects) are dropped for ``reason``."""
    days, bad = parse_dates(rows[f], formats)
    expected = describe_formats(formats)
    mask = bad if only is None else bad & only
    drops.drop(mask, reason, f, lambda j: f"cannot read '{rows.at[j, f]}' as a date (expected {expected})")
    return days


def read_amounts(rows: pd.DataFrame, m: Mapping, drops: Drops, f: str = "amount") -> pd.Series:
    """Field ``f`` read as amounts: unreadable and negative ones dropped, 0 as unknown if the mapping says so."""
    amount, bad = parse_amounts(rows[f])
    drops.drop(bad, "bad amount", f, lambda j: f"cannot read '{rows.at[j, f]}' as a number")
    drops.drop(amount < 0, "negative amount", f, lambda j: f"negative amount {amount[j]:g}")
    return amount.mask(amount == 0) if m.zero_amount_is_unknown else amount


def renamed(rows: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    """The rows with the mapping's value renames applied (e.g. HubSpot internal stage ids to labels)."""
    rows = rows.copy()
    for f, names in m.rename.items():
        if f in rows:
            rows[f] = rows[f].map(lambda v, names=names: names.get(v, v))
    return rows


def unknown_stage(stage: str, m: Mapping) -> str:
    """The message for a stage name the mapping does not know."""
    names = list(m.outcome_of_stage)
    return f"unknown stage '{stage}'{did_you_mean(stage, names)}; the mapping knows: {', '.join(names)}"


# ---------------------------------------------------------------- the export


@dataclass(frozen=True, eq=False)
class ImportedExport:
    """An export read into the canonical table, with what was dropped and why."""

    table: pd.DataFrame
    history: pd.DataFrame | None
    mapping: Mapping
    dropped: dict[str, int]
    rows_read: int
    problems: list[str]
    export: Path
    history_rows_read: int = 0

    def summary_lines(self) -> list[str]:
        """What was read, kept and dropped (by reason, with examples), the date ranges and the outcomes."""
        t, m = self.table, self.mapping
        lines = [f"{self.export.name}: {self.rows_read:,} rows read with the mapping '{m.name}': "
                 f"{len(t):,} kept, {self.rows_read - len(t):,} dropped"]  # fmt: skip
        count = t["outcome"].value_counts()
        won, lost, still_open = (int(count.get(o, 0)) for o in ("won", "lost", "open"))
        by_stage = t.loc[t["outcome"].eq("open"), "stage"].value_counts()
        stages = ", ".join(f"{s} {by_stage[s]:,}" for s in m.stages if s in by_stage)
        rate = f"; win rate of closed deals {won / (won + lost):.1%}" if won + lost else ""
        stages = f" ({stages})" if stages else ""
        lines.append(f"outcomes: {won:,} won, {lost:,} lost, {still_open:,} open{stages}{rate}")
        undated = int(t["created"].isna().sum())
        note = f" ({undated:,} open rows at a pre-pipeline stage have no created date)" if undated else ""
        lines.append(f"created: {_span(t['created'])}{note}")
        lines.append(f"closed: {_span(t['closed'])}")
        won_amounts = t.loc[t["outcome"].eq("won"), "amount"]
        if len(won_amounts):
            lines.append(f"won amounts: total {won_amounts.sum():,.0f}, median {won_amounts.median():,.0f}; "
                         f"amount known on {int(t['amount'].notna().sum()):,} rows")  # fmt: skip
        named = {f: t[f].fillna("") for f in ("owner", *LABELS)}
        labels = [f"{v[v.ne('')].nunique():,} {f}s" for f, v in named.items() if v.ne("").any()]
        lines.append(", ".join(labels) if labels else "no owner, segment, product or source columns")
        for reason, n in self.dropped.items():
            lines.append(f"dropped, {reason}: {n:,}")
        lines.extend(f"  {p}" for p in self.problems)
        if self.history is not None:
            h = self.history
            lines.append(f"history: {self.history_rows_read:,} rows read, {len(h):,} kept, "
                         f"for {h['id'].nunique():,} opportunities")  # fmt: skip
        lines.append(f"assumption (mapping effort_share): {m.effort_share:g} of each stage's elapsed time is seller "
                     "effort, the rest buyer wait; dates alone cannot tell them apart")  # fmt: skip
        return lines


def read_export(export_path: Path, mapping: Mapping | Path | str, history: list[Path] | None = None) -> ImportedExport:
    """Read an opportunity export (and optional stage-history files) with a mapping into the canonical table."""
    m = as_mapping(mapping)
    columns = {f: col for f, col in m.columns.model_dump().items() if col is not None}
    sheet = read_sheet(Path(export_path), columns, m.delimiter, m.encoding)
    rows = renamed(sheet.rows, m)
    drops = Drops(sheet)
    drops.drop_common(["id", "stage"])
    duplicate = rows["id"].where(drops.keep).duplicated() & drops.keep
    first = rows[drops.keep & ~duplicate].set_index("id")["line"]
    ident = rows["id"]
    drops.drop(duplicate, "duplicate id", "id", lambda j: f"duplicate id '{ident[j]}', first at line {first[ident[j]]}")
    outcome = _outcomes(rows, m, drops)
    table = _dated(rows, m, drops, outcome)
    kept = table[drops.keep].reset_index(drop=True)
    problems = [text for _, _, text in sorted(drops.problems)]
    if kept.empty:
        reasons = ", ".join(f"{reason} {n}" for reason, n in drops.counts.items())
        raise ExportError([f"{sheet.file}:1: no usable rows: all {len(rows)} dropped ({reasons})", *problems])
    imported = ImportedExport(kept, None, m, dict(drops.counts), len(rows), problems, Path(export_path))
    if history:
        from leanflow.crm.history import with_history

        imported = with_history(imported, history)
    return imported


def _span(dates: pd.Series) -> str:
    """The first and last of some dates, or 'none'."""
    known = dates.dropna()
    return f"{known.min():%Y-%m-%d} to {known.max():%Y-%m-%d}" if len(known) else "none"


def _outcomes(rows: pd.DataFrame, m: Mapping, drops: Drops) -> pd.Series:
    """Each row's outcome from its stage, or from the won/closed flags; unknown stages and bad flags are dropped."""
    known = m.outcome_of_stage
    outcome = rows["stage"].map(known)
    drops.drop(outcome.isna(), "unknown stage", "stage", lambda j: unknown_stage(rows.at[j, "stage"], m))
    if m.columns.is_won is None:
        return outcome
    for f in ("is_won", "is_closed"):
        _, bad = parse_flags(rows[f])
        drops.drop(bad, "bad flag", f, lambda j, f=f: f"cannot read '{rows.at[j, f]}' as true or false")
    won, closed = parse_flags(rows["is_won"])[0], parse_flags(rows["is_closed"])[0]
    drops.drop(won & ~closed, "won but not closed", "is_won", lambda j: "won flag set on a deal that is not closed")
    return pd.Series(np.where(closed, np.where(won, "won", "lost"), "open"), index=rows.index)


def _dated(rows: pd.DataFrame, m: Mapping, drops: Drops, outcome: pd.Series) -> pd.DataFrame:
    """The canonical columns: dates and amounts parsed and checked (bad rows dropped), labels filled."""
    created = read_dates(rows, "created", m.date_format, drops, "bad created date")
    undated_ok = outcome.eq("open") & rows["stage"].isin(m.pre_pipeline_stages)
    allowed = f"allowed only for open rows at {', '.join(m.pre_pipeline_stages) or 'a pre-pipeline stage'}"
    drops.drop(created.isna() & ~undated_ok, "missing created date", "created", lambda j: f"no date ({allowed})")
    is_closed = outcome.ne("open")
    closed = read_dates(rows, "closed", m.date_format, drops, "bad close date", only=is_closed)
    missing = closed.isna() & is_closed
    drops.drop(missing, "closed deal without a close date", "closed", lambda j: f"no close date on a {outcome[j]} deal")
    closed = closed.where(is_closed)
    drops.drop(closed < created, "close date before created date", "closed",
               lambda j: f"closed {closed[j]:%Y-%m-%d}, before it was created {created[j]:%Y-%m-%d}")  # fmt: skip
    amount = read_amounts(rows, m, drops)
    drops.drop(amount.isna() & outcome.eq("won"), "won deal without an amount", "amount", lambda j: "no amount")
    table = pd.DataFrame({
        "id": rows["id"], "created": created, "closed": closed.astype("datetime64[ns]"), "stage": rows["stage"],
        "outcome": outcome.astype(object), "amount": amount.astype(float),
        "owner": rows.get("owner", ""),
    })  # fmt: skip
    for f in LABELS:
        table[f] = pd.Series([v or None for v in rows[f]], index=rows.index, dtype=object) if f in rows else None
    return table[TABLE_COLUMNS]


# ---------------------------------------------------------------- the import command


def run_import(export: Path, mapping: Path, history: list[Path] | None, output: Path | None) -> list[str]:
    """The import command: check the output can be written, read the export, write the table; the lines to print."""
    if output is not None:
        check_file_output(output, (".parquet", ".csv"))
    imported = read_export(export, mapping, history)
    lines = imported.summary_lines()
    if output is not None:
        write_table(imported.table, output)
        lines.append(f"wrote {output}")
    return lines


def check_file_output(path: Path, suffixes: tuple[str, ...]) -> None:
    """Raise unless ``path`` has one of the suffixes and a file could be made there (before any work)."""
    from leanflow.files import check_output as check_path

    if path.suffix.lower() not in suffixes:
        raise ExportError([f"{path}: the output must end in {' or '.join(suffixes)}"])
    check_path(path, directory=False)


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write the canonical table atomically, as Parquet or CSV (dates as YYYY-MM-DD) by the file's suffix."""
    from leanflow.files import atomic_write

    if path.suffix.lower() == ".parquet":
        write = lambda p: table.to_parquet(p, index=False)  # noqa: E731
    else:
        write = lambda p: table.to_csv(p, index=False, date_format="%Y-%m-%d")  # noqa: E731
    atomic_write(path, write)
