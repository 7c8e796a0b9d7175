"""Malformed exports, generated: each gives an ExportError with located messages or counted drops, nothing else."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leanflow.crm import ExportError, ImportedExport, load_mapping, read_export

LOCATED = re.compile(r"^[^\n]+:\d+:")
MAPPINGS = {name: load_mapping(name) for name in ("maven", "salesforce")}
HEADERS = {
    "maven": ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date",
              "close_value"],
    "salesforce": ["Id", "CreatedDate", "CloseDate", "StageName", "IsClosed", "IsWon", "Amount", "OwnerId", "Type",
                   "LeadSource"],
}  # fmt: skip
FIELDS = {  # created, closed, stage, amount
    "maven": ("engage_date", "close_date", "deal_stage", "close_value"),
    "salesforce": ("CreatedDate", "CloseDate", "StageName", "Amount"),
}
HISTORY_HEADER = ["OpportunityId", "StageName", "CreatedDate", "Amount"]
BAD_DATES = ["2017-02-30", "2017-13-01", "13/01/2017", "yesterday", "2017-03-01T25:00", "0000-01-01", ""]
BAD_AMOUNTS = ["1,5", "ten", "1e400", "nan", "-5", ""]
PROBLEMS = ["none"] * 4 + ["date", "stage", "order", "duplicate", "amount", "flag", "short", "junk"]
junk = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def good_row(draw: st.DrawFn, name: str, ids: list[str]) -> dict[str, str]:
    """A valid row of the layout, by column name (its id is new, and recorded in ``ids``)."""
    m = MAPPINGS[name]
    created = draw(st.dates(min_value=date(2015, 1, 1), max_value=date(2024, 12, 31)))
    closed = created + timedelta(days=draw(st.integers(0, 200)))
    stage = draw(st.sampled_from([*m.stages, *m.won, *m.lost]))
    outcome = m.outcome_of_stage[stage]
    amount = str(draw(st.integers(1, 50_000)))
    ident = draw(st.text("ABCDEFGH0123456789", min_size=3, max_size=8).filter(lambda i: i not in ids))
    ids.append(ident)
    if name == "maven":
        return {"opportunity_id": ident, "deal_stage": stage,
                "engage_date": "" if stage in m.pre_pipeline_stages else str(created),
                "close_date": "" if outcome == "open" else str(closed),
                "close_value": {"won": amount, "lost": "0", "open": ""}[outcome]}  # fmt: skip
    return {"Id": ident, "StageName": stage, "CreatedDate": f"{created}T10:11:12.000Z", "CloseDate": str(closed),
            "IsClosed": str(outcome != "open").lower(), "IsWon": str(outcome == "won").lower(),
            "Amount": amount}  # fmt: skip


@st.composite
def export_rows(draw: st.DrawFn, name: str) -> list[list[str]]:
    """A header (sometimes with a column missing) and rows, some with one problem each: a bad date, an unknown
    stage, a close before the created date, a duplicate id, a bad amount or flag, a short row, junk."""
    header = list(HEADERS[name])
    if draw(st.integers(0, 9)) == 0:
        header.pop(draw(st.integers(0, len(header) - 1)))
    created, closed, stage, amount = FIELDS[name]
    ids: list[str] = []
    rows = [header]
    for _ in range(draw(st.integers(0, 8))):
        row = draw(good_row(name, ids))
        problem = draw(st.sampled_from(PROBLEMS))
        if problem == "date":
            row[draw(st.sampled_from([created, closed]))] = draw(st.sampled_from(BAD_DATES))
        elif problem == "stage":
            row[stage] = draw(st.one_of(st.sampled_from(["Closed Sold", "won", ""]), junk))
        elif problem == "order":
            row[created], row[closed] = row[closed], row[created]
        elif problem == "duplicate":
            row[HEADERS[name][0]] = draw(st.sampled_from(ids))
        elif problem == "amount":
            row[amount] = draw(st.sampled_from(BAD_AMOUNTS))
        elif problem == "flag" and name == "salesforce":
            row[draw(st.sampled_from(["IsWon", "IsClosed"]))] = draw(st.sampled_from(["maybe", "", "TRUE", "1"]))
        elif problem == "junk":
            row[draw(st.sampled_from(header))] = draw(junk)
        cells = [row[col] if col in row else draw(junk) for col in header]
        rows.append(cells[: draw(st.integers(0, len(cells) - 1))] if problem == "short" else cells)
    return rows


def history_rows(draw: st.DrawFn, ids: list[str]) -> list[list[str]]:
    """A Salesforce OpportunityHistory file: rows for the export's ids and others, some with bad values."""
    stages = [*MAPPINGS["salesforce"].stages, "Closed Won", "Nope"]
    dates = st.one_of(st.dates().map(lambda d: f"{d}T00:00:00Z"), st.sampled_from(BAD_DATES))
    return [HISTORY_HEADER] + [
        [draw(st.sampled_from([*ids, "Z", ""])), draw(st.sampled_from(stages)), draw(dates),
         draw(st.sampled_from(["100", *BAD_AMOUNTS]))] for _ in range(draw(st.integers(0, 5)))
    ]  # fmt: skip


def to_csv(rows: list[list[str]]) -> str:
    """Rows as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def attempt(path: Path, name: str, history: list[Path] | None = None) -> ImportedExport | ExportError:
    """read_export's result, or the ExportError it raised (any other exception fails the test)."""
    try:
        return read_export(path, MAPPINGS[name], history)
    except ExportError as exc:
        return exc


def check(outcome: ImportedExport | ExportError) -> None:
    """An import either succeeded with every dropped row counted and located, or failed with located errors."""
    if isinstance(outcome, ExportError):
        assert outcome.errors and all(LOCATED.match(e) for e in outcome.errors), outcome.errors
        return
    t = outcome.table
    assert len(t) > 0 and t["id"].is_unique
    assert outcome.rows_read == len(t) + sum(n for r, n in outcome.dropped.items() if not r.startswith("history: "))
    assert all(n > 0 for n in outcome.dropped.values())
    assert all(LOCATED.match(p) for p in outcome.problems)
    assert t["closed"].isna().eq(t["outcome"].eq("open")).all()
    assert not (t["closed"] < t["created"]).any()
    assert t.loc[t["outcome"].eq("won"), "amount"].notna().all() and not (t["amount"] < 0).any()
    assert t.loc[t["created"].isna(), "stage"].isin(outcome.mapping.pre_pipeline_stages).all()
    if outcome.history is not None:
        assert outcome.history["id"].isin(t["id"]).all() and outcome.history["date"].notna().all()
    outcome.summary_lines()


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(name=st.sampled_from(sorted(MAPPINGS)), data=st.data())
def test_generated_exports_are_read_or_refused_with_located_errors(tmp_path: Path, name: str, data) -> None:
    rows = data.draw(export_rows(name))
    path = tmp_path / "export.csv"
    path.write_text(to_csv(rows))
    history = None
    if name == "salesforce" and data.draw(st.booleans()):
        history = [tmp_path / "history.csv"]
        history[0].write_text(to_csv(history_rows(data.draw, [r[0] for r in rows[1:] if r])))
    check(attempt(path, name, history))


@SETTINGS
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_bytes_are_refused_with_a_located_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(raw)
    check(attempt(path, "maven"))


@SETTINGS
@given(rows=export_rows("maven"), prefix=st.binary(max_size=40))
def test_garbage_before_a_header_is_refused_or_counted(tmp_path: Path, rows: list[list[str]], prefix: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(prefix + to_csv(rows).encode())
    check(attempt(path, "maven"))
