"""The scenario's stages from a CRM export: per-stage times and exits, from stage history or from the cycle alone.

Without stage history the times between stages are not identifiable: the pipeline stages after creation
become one or two timed phases (``leanflow.crm.survival.split_phases``) and any stages between them are
passed in no time. With history, each stage's sojourn runs from the deal's first entry into it (or
into any later stage: a skipped stage is passed in no time) to its first entry into a later stage or its
close; conversions and durations are competing-risks estimates with open deals censored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leanflow.crm.survival import LOST, WON, Incidence, Phases, incidence, split_phases

DECISION = "decision"
EPOCH = pd.Timestamp("1970-01-01")


@dataclass(frozen=True)
class StageFit:
    """One scenario stage: elapsed days (an empirical pmf; None: passed in no time) and its exit."""

    name: str
    crm: str  # the CRM stage(s) it stands for
    pmf: np.ndarray | None  # elapsed days in the stage (seller effort + buyer wait), per whole day
    advance: float  # P(leaving forward); at the last stage P(won)
    lost_share: float  # of the deals that do not advance, the share lost (the rest: no decision)
    reach: float  # share of all opportunities that reach this stage
    n: int  # deals in the estimate
    note: str  # where the numbers come from, for the scenario's comments

    @property
    def mean_days(self) -> float:
        return 0.0 if self.pmf is None else float((np.arange(self.pmf.size) * self.pmf).sum() / self.pmf.sum())


def stage_name(label: str, taken: set[str]) -> str:
    """A scenario name (letters, digits, _ and -) for a CRM label, unique among ``taken``."""
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", label.strip()).strip("_").lower() or "stage"
    if not re.match(r"[A-Za-z_]", name):
        name = f"s_{name}"
    name = name[:60]
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _exit_shares(advance: float, lost: float) -> float:
    """The lost share of the deals that do not advance (1 when all advance)."""
    rest = 1.0 - advance
    return 1.0 if rest <= 1e-12 else float(min(1.0, max(0.0, lost / rest)))


def stages_from_cycle(inc: Incidence, pipeline: list[str]) -> tuple[list[StageFit], Phases]:
    """Stages when only creation and close dates are known: one or two timed phases over the pipeline stages.

    One phase: the last pipeline stage holds the whole cycle, the earlier ones are passed in no time. Two
    phases: the first pipeline stage holds the first, the last one the second (a stage of its own, named
    'decision', when the pipeline has one stage), and those between are passed in no time.
    """
    ph = split_phases(inc)
    taken: set[str] = set()
    names = [stage_name(s, taken) for s in pipeline]
    p_won, p_lost, p_open = inc.p_won, inc.p_lost, inc.p_open
    fit = f"largest CDF gap to the Aalen-Johansen curves: won {ph.ks_won:.3f}, lost {ph.ks_lost:.3f}"

    def passed(k: int, reach: float) -> StageFit:
        return StageFit(names[k], pipeline[k], None, 1.0, 1.0, reach, inc.n, "no stage history: passed in no time")

    if ph.second is None:
        why = "won and lost take indistinguishable times" if max(ph.ks_won, ph.ks_lost) <= ph.critical else "best fit"
        only = StageFit(names[-1], pipeline[-1], ph.first, p_won, _exit_shares(p_won, p_lost), 1.0, inc.n,
                        f"one phase ({why}): days to any close; {fit}")  # fmt: skip
        return [*(passed(k, 1.0) for k in range(len(names) - 1)), only], ph
    onward = p_won + ph.late_lost
    first = StageFit(names[0], pipeline[0], ph.first, onward, _exit_shares(onward, p_lost - ph.late_lost), 1.0,
                     inc.n, f"first of two phases: early losses ({p_lost - ph.late_lost:.1%} of deals) and no "
                     f"decision ({p_open:.1%}) leave after it; {fit}")  # fmt: skip
    own = len(names) == 1
    second = StageFit(stage_name(DECISION, taken) if own else names[-1],
                      "(the rest of a won deal's cycle)" if own else pipeline[-1], ph.second, p_won / onward, 1.0,
                      onward, inc.n, f"second phase: the rest of a win's days (deconvolution); late losses "
                      f"{ph.late_lost:.1%}")  # fmt: skip
    return [first, *(passed(k, onward) for k in range(1, len(names) - 1)), second], ph


def _day(s: pd.Series) -> np.ndarray:
    """Dates as float days since 1970-01-01 (NaT: nan)."""
    return ((s - EPOCH).dt.days).to_numpy(dtype=float)


def stages_from_history(deals: pd.DataFrame, history: pd.DataFrame, pipeline: list[str], start: pd.Timestamp,
                        as_of: pd.Timestamp) -> list[StageFit]:  # fmt: skip
    """Per-stage sojourns and exits from stage history, over stage entries in the complete window [start, as_of)."""
    index = {s: i for i, s in enumerate(pipeline)}
    row = pd.Series(np.arange(len(deals)), index=deals["id"].to_numpy())
    h = history[history["stage"].isin(index) & history["id"].isin(row.index) & (history["date"] < as_of)]
    created, closed = _day(deals["created"]), _day(deals["closed"])
    won = (deals["outcome"] == "won").to_numpy()
    lost = (deals["outcome"] == "lost").to_numpy()
    last = len(pipeline) - 1
    first = np.full((len(deals), last + 1), np.inf)
    np.minimum.at(first, (row[h["id"]].to_numpy(), h["stage"].map(index).to_numpy()), _day(h["date"]))
    reach = np.minimum.accumulate(first[:, ::-1], axis=1)[:, ::-1]  # first entry into the stage or any later one
    reach[:, 0] = created
    reach = np.maximum(reach, created[:, None])
    ends = np.isfinite(closed)
    reach = np.where(ends[:, None] & np.isfinite(reach), np.minimum(reach, closed[:, None]), reach)  # none after close
    beyond = np.isinf(reach) & won[:, None]
    reach[beyond] = np.broadcast_to(closed[:, None], reach.shape)[beyond]  # a win passes the later stages at close
    t0, horizon = _day(pd.Series([start]))[0], _day(pd.Series([as_of]))[0]
    fits: list[StageFit] = []
    taken: set[str] = set()
    share = 1.0
    for k, label in enumerate(pipeline):
        enter = reach[:, k]
        inside = np.isfinite(enter) & (enter >= t0)
        nxt = reach[:, k + 1] if k < last else np.full(len(deals), np.inf)
        end = np.where(np.isfinite(nxt), nxt, np.where(ends, closed, horizon))
        code = np.select([np.isfinite(nxt), ends & won, ends & lost], [WON, WON, LOST], 0)[inside]
        days = (end - enter)[inside]
        name = stage_name(label, taken)
        if not (code > 0).any():
            fits.append(StageFit(name, label, None, 1.0, 1.0, share, int(inside.sum()),
                                 "no entries with a known exit in the window: passed in no time"))  # fmt: skip
            continue
        inc = incidence(np.maximum(days, 0.0), code, np.zeros(days.size))
        what = "won" if k == last else "went on"
        fits.append(StageFit(name, label, inc.pmf(WON) + inc.pmf(LOST), inc.p_won, _exit_shares(inc.p_won, inc.p_lost),
                             share, inc.n, f"stage history: {inc.n} entries from {start:%Y-%m-%d}, {inc.n_won} {what}, "
                             f"{inc.n_lost} lost (Aalen-Johansen)"))  # fmt: skip
        share *= inc.p_won
    return fits
