"""Importing CRM exports: the Maven export (read from ../shared/data), synthetic Salesforce and HubSpot exports,
mapping files with located errors, and the import command run as a user would."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from leanflow.crm import ExportError, ImportedExport, Mapping, load_mapping, read_export
from leanflow.errors import LeanflowError

ROOT = Path(__file__).resolve().parent.parent
MAVEN = ROOT.parent / "shared" / "data" / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
COLUMNS = ["id", "created", "closed", "stage", "outcome", "amount", "owner", "segment", "product", "source"]
LOCATED = re.compile(r"^.+:\d+:")

needs_maven = pytest.mark.skipif(not MAVEN.is_file(), reason=f"the Maven CRM export is not at {MAVEN}")

SF_HEADER = ["Id", "Name", "CreatedDate", "CloseDate", "StageName", "IsClosed", "IsWon", "Amount", "OwnerId", "Type",
             "LeadSource"]  # fmt: skip
SF_ROWS = [
    ["006A", "Acme", "2023-01-05T09:12:00.000Z", "2023-02-20", "Closed Won", "true", "true", "12000", "005X",
     "New Business", "Web"],
    ["006B", "Beta", "2023-01-09T23:59:59.000Z", "2023-03-01", "Closed Lost", "true", "false", "8000", "005Y",
     "New Business", "Partner Referral"],
    ["006C", "Cyan", "2023-02-01T10:00:00.000Z", "2023-06-30", "Negotiation/Review", "false", "false", "", "005X",
     "Existing Business", ""],
    ["006D", "Dune", "2023-02-03T10:00:00.000Z", "2023-04-30", "Qualification", "0", "0", "5000", "005Y", "", "Web"],
    ["006E", "Echo", "2023-03-01", "2023-02-01", "Closed Won", "1", "1", "3000", "005X", "New Business", "Web"],
    ["006F", "Fawn", "2023-03-02", "2023-04-01", "Closed Sold", "true", "true", "3000", "005X", "New Business", ""],
    ["006A", "Acme again", "2023-03-05", "2023-04-01", "Closed Won", "true", "true", "1", "005X", "", ""],
    ["006G", "Gale", "2023-31-03", "2023-04-01", "Closed Won", "true", "true", "3000", "005X", "", ""],
    ["006H", "Hale", "2023-03-07", "2023-04-11", "Closed Won", "true", "true", "", "005X", "", ""],
]  # fmt: skip
SF_HISTORY = [
    ["OpportunityId", "StageName", "CreatedDate", "Amount"],
    ["006A", "Qualification", "2023-01-20T10:00:00.000Z", "10000"],
    ["006A", "Prospecting", "2023-01-05T09:12:00.000Z", "10000"],
    ["006A", "Closed Won", "2023-02-20T16:00:00.000Z", "12000"],
    ["006C", "Prospecting", "2023-02-01T10:00:00.000Z", ""],
    ["006Z", "Prospecting", "2023-02-01T10:00:00.000Z", "1"],
    ["006D", "Qualification", "yesterday", "5000"],
]


def write_csv(path: Path, rows: list[list[str]], newline: str = "\n", bom: bool = False) -> Path:
    """Write rows as a CSV file (first row: the header)."""
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        csv.writer(f, lineterminator=newline).writerows(rows)
    return path


def leanflow(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, capturing its output."""
    return subprocess.run([sys.executable, "-m", "leanflow.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)  # fmt: skip


def assert_canonical(imp: ImportedExport) -> None:
    """The table's columns, types and invariants, whatever the export."""
    t = imp.table
    assert list(t.columns) == COLUMNS
    assert str(t["created"].dtype) == "datetime64[ns]" and str(t["closed"].dtype) == "datetime64[ns]"
    assert t["amount"].dtype == float
    assert t["id"].is_unique and t["id"].map(type).eq(str).all()
    assert set(t["outcome"]) <= {"won", "lost", "open"}
    assert t["closed"].isna().eq(t["outcome"].eq("open")).all(), "closed is NaT exactly for open rows"
    undated = t["created"].isna()
    assert (t.loc[undated, "outcome"] == "open").all()
    assert t.loc[undated, "stage"].isin(imp.mapping.pre_pipeline_stages).all()
    assert not (t["closed"] < t["created"]).any()
    assert t.loc[t["outcome"].eq("won"), "amount"].notna().all()
    assert (t["amount"].dropna() >= 0).all()
    assert t["owner"].map(type).eq(str).all()
    assert imp.rows_read == len(t) + sum(n for r, n in imp.dropped.items() if not r.startswith("history: "))
    assert all(LOCATED.match(p) for p in imp.problems)


# ---------------------------------------------------------------- Maven


@needs_maven
def test_maven_export_reads_whole_with_its_published_facts() -> None:
    imp = read_export(MAVEN, "maven")
    assert_canonical(imp)
    t = imp.table
    assert imp.rows_read == len(t) == 8800 and imp.dropped == {} and imp.problems == []
    assert t["outcome"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 2089}
    assert t.loc[t["outcome"].eq("open"), "stage"].value_counts().to_dict() == {"Engaging": 1589, "Prospecting": 500}
    assert t["created"].isna().sum() == 500 and (t.loc[t["created"].isna(), "stage"] == "Prospecting").all()
    assert (t["created"].min(), t["created"].max()) == (pd.Timestamp("2016-10-20"), pd.Timestamp("2017-12-27"))
    assert (t["closed"].min(), t["closed"].max()) == (pd.Timestamp("2017-03-01"), pd.Timestamp("2017-12-31"))
    assert t.loc[t["outcome"].eq("lost"), "amount"].isna().all(), "Maven's 0 on lost deals means not recorded"
    won = t.loc[t["outcome"].eq("won"), "amount"]
    assert won.median() == 1117 and round(won.sum() / 1e6, 1) == 10.0
    assert "GTX Pro" in set(t["product"]) and "GTXPro" not in set(t["product"])
    assert t["segment"].equals(t["product"]) and t["source"].isna().all()
    assert t["owner"].nunique() == 30
    assert imp.history is None and imp.mapping.effort_share == 0.15
    lines = imp.summary_lines()
    assert lines[0].startswith("sales_pipeline.csv: 8,800 rows read") and "8,800 kept, 0 dropped" in lines[0]
    assert any("win rate of closed deals 63.2%" in line for line in lines)


# ---------------------------------------------------------------- Salesforce


def test_salesforce_export_with_history(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "Opportunity.csv", [SF_HEADER, *SF_ROWS])
    history = write_csv(tmp_path / "OpportunityHistory.csv", SF_HISTORY)
    imp = read_export(export, "salesforce", [history])
    assert_canonical(imp)
    t = imp.table.set_index("id")
    assert list(t.index) == ["006A", "006B", "006C", "006D"]
    assert t.loc["006A", "outcome"] == "won" and t.loc["006A", "amount"] == 12000
    assert t.loc["006A", ["created", "closed"]].tolist() == [pd.Timestamp("2023-01-05"), pd.Timestamp("2023-02-20")]
    assert t.loc["006B", "created"] == pd.Timestamp("2023-01-09"), "the day as written: times and zones are dropped"
    assert t.loc["006B", "outcome"] == "lost" and t.loc["006B", "source"] == "Partner Referral"
    assert t.loc["006C", "outcome"] == "open" and pd.isna(t.loc["006C", "closed"]), "an open CloseDate is a forecast"
    assert pd.isna(t.loc["006C", "amount"]) and t.loc["006C", "source"] is None
    assert t.loc["006D", "stage"] == "Qualification" and t.loc["006D", "segment"] is None
    assert t.loc["006B", "owner"] == "005Y" and t.loc["006A", "segment"] == "New Business"
    assert imp.dropped == {
        "close date before created date": 1, "unknown stage": 1, "duplicate id": 1, "bad created date": 1,
        "won deal without an amount": 1, "history: unknown opportunity": 1, "history: bad date": 1,
    }  # fmt: skip
    name = str(export)
    assert f"{name}:6:CloseDate: closed 2023-02-01, before it was created 2023-03-01" in imp.problems
    unknown = f"{name}:7:StageName: unknown stage 'Closed Sold' (did you mean 'Closed"
    assert any(p.startswith(unknown) for p in imp.problems)
    assert f"{name}:8:Id: duplicate id '006A', first at line 2" in imp.problems
    assert f"{name}:9:CreatedDate: cannot read '2023-31-03' as a date (expected YYYY-MM-DD)" in imp.problems
    assert f"{name}:10:Amount: no amount" in imp.problems
    assert f"{history}:6:OpportunityId: '006Z' is not among the kept opportunities" in imp.problems
    h = imp.history
    assert h is not None and list(h.columns) == ["id", "stage", "date", "amount"]
    assert list(h["stage"]) == ["Prospecting", "Qualification", "Closed Won", "Prospecting"], "sorted by id, date"
    assert list(h["id"]) == ["006A", "006A", "006A", "006C"] and pd.isna(h["amount"].iloc[3])
    assert imp.history_rows_read == 6
    assert any(line.startswith("history: 6 rows read, 4 kept") for line in imp.summary_lines())


def test_salesforce_flags_decide_the_outcome(tmp_path: Path) -> None:
    rows = [SF_HEADER,
            ["1", "", "2023-01-01", "2023-02-01", "Negotiation/Review", "TRUE", "FALSE", "10", "", "", ""],
            ["2", "", "2023-01-01", "2023-02-01", "Closed Won", "maybe", "true", "10", "", "", ""],
            ["3", "", "2023-01-01", "2023-02-01", "Closed Won", "false", "true", "10", "", "", ""]]  # fmt: skip
    imp = read_export(write_csv(tmp_path / "o.csv", rows), "salesforce")
    assert imp.table["outcome"].tolist() == ["lost"] and imp.table["owner"].tolist() == [""]
    assert imp.dropped == {"bad flag": 1, "won but not closed": 1}
    assert f"{tmp_path / 'o.csv'}:3:IsClosed: cannot read 'maybe' as true or false" in imp.problems


# ---------------------------------------------------------------- HubSpot


def test_hubspot_export_with_labels_or_internal_ids(tmp_path: Path) -> None:
    header = ["Record ID", "Deal Name", "Deal Stage", "Create Date", "Close Date", "Amount", "Deal owner", "Pipeline"]
    rows = [header,
            ["101", "Big one", "Closed Won", "2024-01-15 10:23", "2024-03-01 12:00", "1,200.50", "Ann Lee",
             "Sales Pipeline"],
            ["102", "Multi\nline name", "closedlost", "2024-01-20", "2024-02-10", "$900", "", "Sales Pipeline"],
            ["103", "Open", "Contract Sent", "2024-02-01 09:00", "2024-05-01", "USD 2500", "Bo Chan", "Renewals"],
            ["104", "Typo", "Contract Snt", "2024-02-01", "", "1", "Bo Chan", "Renewals"],
            ["105", "Decimal comma", "Qualified To Buy", "2024-02-03", "", "1,5", "Bo Chan", "Renewals"]]  # fmt: skip
    export = write_csv(tmp_path / "hubspot-deals.csv", rows, newline="\r\n", bom=True)
    imp = read_export(export, "hubspot")
    assert_canonical(imp)
    t = imp.table
    assert t["id"].tolist() == ["101", "102", "103"]
    assert t["stage"].tolist() == ["Closed Won", "Closed Lost", "Contract Sent"]
    assert t["outcome"].tolist() == ["won", "lost", "open"]
    assert t["amount"].tolist() == [1200.5, 900.0, 2500.0]
    assert t["closed"].iloc[0] == pd.Timestamp("2024-03-01") and pd.isna(t["closed"].iloc[2])
    assert t["owner"].tolist() == ["Ann Lee", "", "Bo Chan"] and t["segment"].tolist()[2] == "Renewals"
    # the quoted name of deal 102 spans lines 3-4, so deals 104 and 105 are on CSV lines 6 and 7
    assert any(p.startswith(f"{export}:6:Deal Stage: unknown stage 'Contract Snt' (did you mean 'Contract Sent'?)")
               for p in imp.problems)  # fmt: skip
    assert f"{export}:7:Amount: cannot read '1,5' as a number" in imp.problems


# ---------------------------------------------------------------- file-level errors


def errors_of(export: Path, mapping: str | Path = "salesforce") -> list[str]:
    """The located errors read_export raises for a file."""
    with pytest.raises(ExportError) as info:
        read_export(export, mapping)
    assert info.value.errors and all(LOCATED.match(e) for e in info.value.errors), info.value.errors
    return info.value.errors


def test_file_level_problems_raise_one_located_error(tmp_path: Path) -> None:
    assert issubclass(ExportError, LeanflowError)
    assert errors_of(tmp_path / "missing.csv") == [f"{tmp_path / 'missing.csv'}:1: file not found"]
    (tmp_path / "empty.csv").write_text("\n\n")
    assert errors_of(tmp_path / "empty.csv") == [f"{tmp_path / 'empty.csv'}:1: the file is empty (no header row)"]
    only = write_csv(tmp_path / "header.csv", [SF_HEADER])
    assert errors_of(only) == [f"{only}:2: no rows after the header"]
    short = write_csv(tmp_path / "short.csv", [[c for c in SF_HEADER if c != "IsWon"], ["x"] * 10])
    (error,) = errors_of(short)
    assert error.startswith(f"{short}:1: missing mapped column 'IsWon' (columns.is_won); the header has: Id, Name")
    twice = write_csv(tmp_path / "twice.csv", [[*SF_HEADER, "Amount"], SF_ROWS[0] + ["1"]])
    assert errors_of(twice) == [f"{twice}:1:Amount: the column appears 2 times in the header"]
    (tmp_path / "latin1.csv").write_bytes(",".join(SF_HEADER).encode() + b"\n006A,Caf\xe9\n")
    (error,) = errors_of(tmp_path / "latin1.csv")
    assert error.startswith(f"{tmp_path / 'latin1.csv'}:2: not utf-8 text: byte 0xe9")
    huge = tmp_path / "huge.csv"
    huge.write_text(",".join(SF_HEADER) + "\n" + ",".join(SF_ROWS[0]) + "\n006B,\"" + "x" * 200_000 + "\"\n")
    assert errors_of(huge) == [f"{huge}:3: not readable as CSV: field larger than field limit (131072)"]


def test_a_file_with_no_usable_row_is_an_error_with_the_reasons(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "o.csv", [SF_HEADER, SF_ROWS[4], SF_ROWS[5], ["only", "two"]])
    errors = errors_of(export)
    assert errors[0] == (f"{export}:1: no usable rows: all 3 dropped (wrong number of fields 1, unknown stage 1, "
                         "close date before created date 1)")  # fmt: skip
    assert errors[1] == f"{export}:2:CloseDate: closed 2023-02-01, before it was created 2023-03-01"
    assert errors[3] == f"{export}:4: not 11 fields as in the header"


# ---------------------------------------------------------------- mappings


def test_shipped_mappings_load_by_name_or_path() -> None:
    for name in ("maven", "salesforce", "hubspot"):
        m = load_mapping(name)
        assert isinstance(m, Mapping) and m == load_mapping(ROOT / "scenarios" / "mappings" / f"{name}.yaml")
        assert 0 < m.effort_share <= 1 and m.won and m.lost and m.stages
    assert load_mapping("salesforce").history is not None and load_mapping("hubspot").history is None
    assert load_mapping("salesforce").stages[4] == "Id. Decision Makers"
    with pytest.raises(ExportError, match=r"^mavn:1: no such mapping file.*\(shipped: hubspot, maven, salesforce\)"):
        load_mapping("mavn")


MAPPING = """\
name: test
columns: {id: Id, created: C, closed: D, stage: S, amount: A}
stages: [Open, Working]
won: [Won]
lost: [Lost]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MAPPING.replace("stages:", "stagse:"), ["1: missing required key 'stages'",
                                                 "3: stagse: unknown key 'stagse' (did you mean 'stages'?)"]),
        (MAPPING + "effort_share: 0\n", ["6: effort_share: Input should be greater than 0, got 0"]),
        (MAPPING + "pre_pipeline_stages: [Won]\n", ["6: pre_pipeline_stages[0]: 'Won' is not one of the open stages"]),
        (MAPPING.replace("[Lost]", "[Lost, Open]"), ["5: lost[1]: stage 'Open' is already listed in stages"]),
        (MAPPING.replace("A}", "A, is_won: W}"), ["2: columns: give both is_won and is_closed"]),
        (MAPPING + "date_format: '%d/%m/%Q'\n", ["6: date_format: date format '%d/%m/%Q' cannot be used"]),
        (MAPPING + "date_format: [iso, dd/mm/yyyy]\n", ["6: date_format[1]: date format 'dd/mm/yyyy' is neither"]),
        (MAPPING + "encoding: klingon\n", ["6: encoding: unknown text encoding 'klingon'"]),
        (MAPPING + "rename: {stag: {a: b}}\n", ["6: rename.stag: invalid key"]),
        (MAPPING + "stages: [x]\n", ["6: stages: duplicate key 'stages' (first at line 3)"]),
        ("name: [unclosed\n", ["1: YAML syntax error"]),
        ("- a list\n", ["1: expected a mapping at the top level, found a list"]),
    ],
)  # fmt: skip
def test_bad_mappings_give_located_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(ExportError) as info:
        load_mapping(path)
    errors = info.value.errors
    assert len(errors) == len(expected), errors
    for error, start in zip(errors, expected, strict=True):
        assert error.startswith(f"{path}:{start}"), errors


def test_a_mapping_object_reads_like_its_file(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING + "pre_pipeline_stages: [Open]\nrename: {stage: {w: Won}}\ndate_format: ['%d/%m/%Y', iso]")
    mapping = load_mapping(path)
    export = write_csv(tmp_path / "x.csv", [["Id", "C", "D", "S", "A"], ["1", "", "", "Open", ""],
                                            ["2", "03/02/2024", "2024-02-10", "w", "7"]])  # fmt: skip
    by_file, by_object = read_export(export, path), read_export(export, mapping)
    assert by_file.table.equals(by_object.table)
    t = by_object.table
    assert pd.isna(t["created"].iloc[0]) and t["created"].iloc[1] == pd.Timestamp("2024-02-03")
    assert t["outcome"].tolist() == ["open", "won"] and t["segment"].isna().all() and t["owner"].eq("").all()
    with pytest.raises(ValueError, match="stage 'Open' is already listed in stages"):
        Mapping.model_validate({**mapping.model_dump(), "won": ["Open"]})
    with pytest.raises(ExportError, match=r"x.csv:1: the mapping 'test' has no 'history' section"):
        read_export(export, mapping, [export])


# ---------------------------------------------------------------- the command


def test_import_command_writes_the_table(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "Opportunity.csv", [SF_HEADER, *SF_ROWS])
    history = write_csv(tmp_path / "OpportunityHistory.csv", SF_HISTORY)
    out = tmp_path / "new" / "table.parquet"
    proc = leanflow("import", str(export), "--mapping", "salesforce", "--history", str(history), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Opportunity.csv: 9 rows read with the mapping 'Salesforce Opportunity (standard fields)'" in proc.stdout
    assert "4 kept, 5 dropped" in proc.stdout
    assert "dropped, unknown stage: 1" in proc.stdout and f"wrote {out}" in proc.stdout
    assert read_export(export, "salesforce").table.equals(pd.read_parquet(out))
    assert not [p.name for p in out.parent.iterdir() if p.name != "table.parquet"], "no temp file left"


@needs_maven
def test_import_command_on_maven_writes_csv(tmp_path: Path) -> None:
    out = tmp_path / "maven.csv"
    proc = leanflow("import", str(MAVEN), "--mapping", "maven", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "8,800 kept, 0 dropped" in proc.stdout
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS and len(table) == 8800 and table["created"].iloc[0] == "2016-10-20"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{dir}/nope.csv", "--mapping", "salesforce"], "{dir}/nope.csv:1: file not found"),
        (["{export}", "--mapping", "hubspot"], "{export}:1: missing mapped columns 'Record ID' (columns.id)"),
        (["{export}", "--mapping", "sales-force"], "sales-force:1: no such mapping file"),
        (["{export}", "--mapping", "salesforce", "-o", "{export}/t.csv"], "cannot write to {export}/t.csv"),
        (["{export}", "--mapping", "salesforce", "-o", "{dir}/t.xlsx"], "{dir}/t.xlsx: the output must end in"),
    ],
)
def test_import_command_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    export = write_csv(tmp_path / "Opportunity.csv", [SF_HEADER, *SF_ROWS])
    fill = {"dir": str(tmp_path), "export": str(export)}
    proc = leanflow("import", *(a.format(**fill) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(message.format(**fill)), proc.stderr
