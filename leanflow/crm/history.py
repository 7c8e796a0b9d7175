"""Stage-history files (Salesforce OpportunityHistory): when each opportunity entered each stage, with its amount.

Read with the mapping's ``history`` section; rows are checked like the export's
(dropped and counted under 'history: ...'), and only opportunities kept in the
canonical table are kept.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from leanflow.crm.importer import Drops, ImportedExport, read_amounts, read_dates, read_sheet, renamed, unknown_stage
from leanflow.crm.mapping import ExportError, History, Mapping

HISTORY_COLUMNS = ["id", "stage", "date", "amount"]


def with_history(imported: ImportedExport, paths: list[Path]) -> ImportedExport:
    """The import with its stage history read from ``paths``: rows sorted by id then date, drops added."""
    m = imported.mapping
    if m.history is None:
        raise ExportError([f"{paths[0]}:1: the mapping '{m.name}' has no 'history' section to read this file with"])
    ids = set(imported.table["id"])
    frames, counts, problems, read = [], dict(imported.dropped), [], 0
    for path in paths:
        drops, frame = _read_one(Path(path), m, m.history, ids)
        frames.append(frame[drops.keep])
        for reason, n in drops.counts.items():
            counts[reason] = counts.get(reason, 0) + n
        problems += [text for _, _, text in sorted(drops.problems)]
        read += len(frame)
    history = pd.concat(frames, ignore_index=True).sort_values(["id", "date"], kind="stable").reset_index(drop=True)
    return replace(imported, history=history, dropped=counts, problems=[*imported.problems, *problems],
                   history_rows_read=read)  # fmt: skip


def _read_one(path: Path, m: Mapping, spec: History, ids: set[str]) -> tuple[Drops, pd.DataFrame]:
    """One history file as [id, stage, date, amount], with the drops that say which rows to keep."""
    columns = {f: col for f, col in spec.columns.model_dump().items() if col is not None}
    sheet = read_sheet(path, columns, m.delimiter, m.encoding)
    rows = renamed(sheet.rows, m)
    drops = Drops(sheet, prefix="history: ")
    drops.drop_common(["id", "stage", "date"])
    ident = rows["id"]
    unknown = ~ident.isin(ids)
    drops.drop(unknown, "unknown opportunity", "id", lambda j: f"'{ident[j]}' is not among the kept opportunities")
    known = m.outcome_of_stage
    drops.drop(~rows["stage"].isin(known), "unknown stage", "stage", lambda j: unknown_stage(rows.at[j, "stage"], m))
    date = read_dates(rows, "date", spec.date_format, drops, "bad date")
    amount = read_amounts(rows, m, drops) if "amount" in rows else pd.Series(np.nan, index=rows.index)
    frame = pd.DataFrame({"id": rows["id"], "stage": rows["stage"], "date": date, "amount": amount.astype(float)})
    return drops, frame[HISTORY_COLUMNS]
