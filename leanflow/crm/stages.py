"""The scenario's stages from a CRM export: per-stage times and exits, from stage history or from the cycle alone.

Without stage history the times between stages are not identifiable: the pipeline stages after creation
become one or two timed phases (``leanflow.crm.survival.split_phases``) and any stages between them are
passed in no time. With history, each stage's sojourn runs from the deal's first entry into it (or
into any later stage: a skipped stage is passed in no time) to its first entry into a later stage or its
close; conversions and durations are competing-risks estimates with open deals censored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leanflow.crm.survival import LOST, WON, Incidence, Phases, incidence, split_phases

DECISION = "decision"
BUYER_POINTS = 100  # quantiles of a stage's elapsed days that make its buyer_days; silent ones are added to them
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
    silent_waits: int = 0  # buyer waits added to its BUYER_POINTS for the buyers who never reply (no decision)
    se: float = math.nan  # standard error of ``advance``, for its log-odds uncertainty (nan: not estimated)

    @property
    def silent(self) -> float:
        """The share of the deals entering the stage whose buyer never replies: they end stale."""
        return self.silent_waits / (BUYER_POINTS + self.silent_waits)

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


def silent_copies(p_open: float, replied: float) -> int:
    """How many buyer waits to add to a stage's ``BUYER_POINTS`` so that the share of silent buyers among the
    deals that enter it is nearest ``p_open`` / (``replied`` + ``p_open``)."""
    return round(BUYER_POINTS * p_open / replied) if replied > 0 else 0


def stages_from_cycle(inc: Incidence, pipeline: list[str]) -> tuple[list[StageFit], Phases]:
    """Stages when only creation and close dates are known: one or two timed phases over the pipeline stages.

    One phase: the last pipeline stage holds the whole cycle, the earlier ones are passed in no time. Two
    phases: the first pipeline stage holds the first, the last one the second (a stage of its own, named
    'decision', when the pipeline has one stage), and those between are passed in no time.

    No decision (deals never seen to close, ``p_open``) is the last timed stage's silent share: those deals
    pass the earlier phases as the others do, are worked there, and their buyer never replies, so they stay
    open until the scenario's ``stale_after_days`` (past the longest observed cycle) and end stale. So a deal
    open at age a is a no-decision deal as often as the data says (the data has them open at every age); had
    they left at the end of the first phase, every deal past it would be one that closes, and today's old
    deals would win too often. The silent share is rounded to whole copies among the stage's buyer waits
    (``silent_copies``), the advance of the stages before it set so that P(won) stays exact.
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
        m = silent_copies(p_open, p_won + p_lost)
        silent = m / (BUYER_POINTS + m)
        advance = min(1.0, p_won / (1.0 - silent))
        only = StageFit(names[-1], pipeline[-1], ph.first, advance, 1.0, 1.0, inc.n,
                        f"one phase ({why}): days to any close; no decision ({p_open:.1%}): the buyer goes silent "
                        f"({silent:.1%} of deals); {fit}", m, inc.won_se / (1.0 - silent))  # fmt: skip
        return [*(passed(k, 1.0) for k in range(len(names) - 1)), only], ph
    closing = p_won + ph.late_lost  # deals that go on and then close
    m = silent_copies(p_open, closing)
    silent = m / (BUYER_POINTS + m)
    onward = min(1.0, closing / (1.0 - silent))
    first = StageFit(names[0], pipeline[0], ph.first, onward, 1.0, 1.0, inc.n,
                     f"first of two phases: early losses ({1.0 - onward:.1%} of deals) leave after it; {fit}")
    own = len(names) == 1
    second = StageFit(stage_name(DECISION, taken) if own else names[-1],
                      "(the rest of a won deal's cycle)" if own else pipeline[-1], ph.second, p_won / closing, 1.0,
                      onward, inc.n, f"second phase: the rest of a win's days (deconvolution); late losses "
                      f"{ph.late_lost:.1%}; no decision ({p_open:.1%} of deals): the buyer goes silent "
                      f"({silent:.1%} of those entering it)", m, inc.won_se / closing)  # fmt: skip
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
                             f"{inc.n_lost} lost (Aalen-Johansen)", se=inc.won_se))  # fmt: skip
        share *= inc.p_won
    return fits
