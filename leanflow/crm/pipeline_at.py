"""What a CRM export says about one date: the deals open at its start, and what was won from it on.

Dates are calendar days and ``as_of`` means the start of that day, as in ``leanflow.crm.calibrate`` (data
before it) and ``leanflow.experiment.forecast`` (time 0 is the start of the first day): a deal created
before ``as_of`` and not closed before it is open; a close on ``as_of`` belongs to the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

PIPELINE_COLUMNS = ["id", "stage", "age_days", "value", "owner", "segment", "days_in_stage"]


@dataclass(frozen=True)
class Actuals:
    """What the export says was won in [as_of, as_of + horizon): revenue and deals, and the revenue's split
    into deals open at ``as_of`` and deals created after it (the forecast's parts)."""

    won_revenue: float
    won_deals: int
    won_revenue_pipeline: float
    won_revenue_new: float


def first_pipeline_stage(imp) -> str:
    """The open stage a deal enters on its created date: the first that is not a pre-pipeline stage."""
    m = imp.mapping
    return next((s for s in m.stages if s not in m.pre_pipeline_stages), m.stages[0])


def pipeline_at(imp, as_of: date) -> pd.DataFrame:
    """The deals open at the start of ``as_of``, in the forecast's pipeline columns (stage: the CRM's name).

    Open: created before ``as_of`` and not closed before it. The stage is the last one the stage history
    (``imp.history``) records before ``as_of``; without history (or for a deal it says nothing about yet) it
    is the first pipeline stage, the one a deal is in from its created date: the export's stage is today's,
    not the one at ``as_of``. Rows without a created date (pre-pipeline stages) cannot be placed in time and
    are left out (``undated_open`` counts them). ``age_days`` counts from the created date; ``value`` is the
    amount when the CRM knows amounts of open deals (``amounts_known_while_open``), else NaN;
    ``days_in_stage`` is known only from the history (from the deal's first entry into its stage, as the
    calibration counts a stage's time), else NaN.
    """
    t = imp.table
    cut = pd.Timestamp(as_of)
    open_ = t[t["created"].notna() & (t["created"] < cut) & (t["closed"].isna() | (t["closed"] >= cut))]
    age = (cut - open_["created"]).dt.days.to_numpy(dtype=float)
    stage = pd.Series(first_pipeline_stage(imp), index=open_.index, dtype=object)
    in_stage = np.full(len(open_), np.nan)
    if imp.history is not None and not imp.history.empty:
        recorded, entered = _stage_from_history(imp, open_, cut)
        stage = recorded.fillna(stage)
        in_stage = np.minimum((cut - entered).dt.days.to_numpy(dtype=float), age)
    return pd.DataFrame({
        "id": open_["id"].to_numpy(),
        "stage": stage.to_numpy(),
        "age_days": age,
        "value": (open_["amount"].to_numpy(dtype=float) if amounts_known_while_open(imp)
                  else np.full(len(open_), np.nan)),
        "owner": open_["owner"].to_numpy(),
        "segment": open_["segment"].to_numpy(),
        "days_in_stage": in_stage,
    }, columns=PIPELINE_COLUMNS)  # fmt: skip


def _stage_from_history(imp, open_: pd.DataFrame, cut: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """Each open deal's last open stage recorded before ``cut`` and its first entry into it (NaN/NaT: none)."""
    h = imp.history
    h = h[(h["date"] < cut) & h["stage"].isin(imp.mapping.stages) & h["id"].isin(open_["id"])]
    last = h.groupby("id", sort=False)["stage"].last()  # the history is sorted by id, then date
    current = h[h["stage"].eq(h["id"].map(last))]
    entered = current.groupby("id", sort=False)["date"].min()
    ids = open_["id"]
    return (pd.Series(ids.map(last).to_numpy(), index=open_.index, dtype=object),
            pd.Series(ids.map(entered).to_numpy(dtype="datetime64[ns]"), index=open_.index))  # fmt: skip


def amounts_known_while_open(imp) -> bool:
    """Whether the export records amounts on open deals. If none of its open deals has one (Maven's
    close_value), an amount is known only once the deal closes, so a deal open at a past date had none then:
    using it would tell the back-test which deals were won (look-ahead)."""
    t = imp.table
    return bool(t.loc[t["outcome"].eq("open"), "amount"].notna().any())


def undated_open(imp) -> int:
    """Open rows without a created date (pre-pipeline stages): no date places them in any pipeline."""
    t = imp.table
    return int((t["created"].isna() & t["outcome"].eq("open")).sum())


def actuals(imp, as_of: date, horizon_days: int) -> Actuals:
    """Won revenue and won deals with a close date in [as_of, as_of + horizon_days)."""
    t = imp.table
    start = pd.Timestamp(as_of)
    end = start + pd.Timedelta(days=horizon_days)
    won = t["outcome"].eq("won") & (t["closed"] >= start) & (t["closed"] < end)
    amount = t["amount"].where(won, 0.0).fillna(0.0)
    old = t["created"] < start
    return Actuals(float(amount.sum()), int(won.sum()), float(amount[old].sum()), float(amount[~old].sum()))


def won_by_date(imp, as_of: date, dates: list[date]) -> np.ndarray:
    """Cumulative won revenue and won deals closed from ``as_of`` to before each date: (2, dates)."""
    t = imp.table
    won = t[t["outcome"].eq("won") & (t["closed"] >= pd.Timestamp(as_of))]
    closed = won["closed"].to_numpy(dtype="datetime64[D]")
    order = np.argsort(closed, kind="stable")
    closed, amount = closed[order], won["amount"].to_numpy(dtype=float)[order]
    at = np.searchsorted(closed, np.array(dates, dtype="datetime64[D]"), side="left")
    revenue = np.concatenate([[0.0], np.cumsum(np.nan_to_num(amount))])
    return np.stack([revenue[at], at.astype(float)])


def data_span(imp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last dates the export holds (created or closed)."""
    t = imp.table
    dates = pd.concat([t["created"], t["closed"]]).dropna()
    return dates.min(), dates.max()
