"""Columnar records of a run: one row per deal, per-stage times in flat arrays.

Appending to ``array`` columns costs a few bytes per value, so a million
leads fit in memory; ``leanflow.metrics`` turns these into pandas tables.
"""

from __future__ import annotations

from array import array

import numpy as np

from leanflow.model.leads import Lead

OUTCOMES = ("open", "won", "lost", "stale", "disqualified")
OPEN, WON, LOST, STALE, DISQUALIFIED = range(5)
STATES = ("closed", "admission", "queued", "worked", "buyer", "blocked")
CLOSED, ADMISSION, QUEUED, WORKED, BUYER, BLOCKED = range(6)
# where a deal comes from: created during the run, or today's pipeline placed at time 0 (conditioned on its
# age; older than the model's paths to its stage; no path matched its age; older than max_age_days: stale at 0)
INITIAL = ("new", "placed", "old", "unmatched", "expired")
NEW, PLACED, OLD, UNMATCHED, EXPIRED = range(5)

SCALARS_F = (
    "value", "fit", "created", "closed", "buyer_days", "blocked_days",
    "handoff_hours",  # effort spent briefing the next person
    "switch_hours",  # extra effort from juggling open deals (context switching)
    "learning_hours",  # effort above what a fully practised person would need (learning still to come)
    "ramp_hours",  # effort above what a fully ramped person would need
)  # fmt: skip
SCALARS_I = (
    "deal_id", "source", "segment", "outcome", "state", "handoffs", "qualified", "owner",
    "cooled",  # 1: it failed an advance draw it would have passed had it not waited (cooling or speed to lead)
    "generation",  # 0: a new lead; k: the k-th return of a recycled lead
    "origin",  # deal_id of the lead's first generation
    "initial",  # INITIAL code: 0 for a deal created in the run, above 0 for one of today's pipeline
)  # fmt: skip
STAGE_F = ("enter", "start", "done")


class Deal:
    """A deal in flight: its pre-drawn lead and what has happened to it so far."""

    __slots__ = (
        "asg", "base", "blocked", "buy", "buyer", "closed", "cooled", "created", "eff", "fit", "generation",
        "handoff_hours", "handoffs", "id", "initial", "last_contact", "last_person", "learning_hours", "origin",
        "outcome", "owner", "owners", "person", "qualified", "ramp_hours", "recycle", "segment", "source", "state",
        "switch_hours", "times", "u", "value", "z",
    )  # fmt: skip

    def __init__(self, deal_id: int, source: int, lead: Lead, created: float, n_stages: int, n_teams: int) -> None:
        nan = float("nan")
        self.id = deal_id
        self.source = source
        self.segment, self.value, self.fit, self.eff, self.buy, self.u, self.z, self.asg, self.base = lead[:9]
        self.recycle = lead[9:]  # the lead's recycling draws: a uniform and the nurture delay
        self.created = created
        self.last_contact = created
        self.times = [nan] * (3 * n_stages)  # enter, start and done day of each stage
        self.person = [-1] * n_stages
        self.state = CLOSED  # set at the horizon for deals still open
        self.buyer = self.blocked = 0.0
        self.handoffs = 0
        self.handoff_hours = self.switch_hours = self.learning_hours = self.ramp_hours = 0.0
        self.cooled = self.generation = 0
        self.origin = deal_id
        self.initial = NEW
        self.last_person = -1
        self.owners = [-1] * n_teams
        self.qualified = 0
        self.closed = nan
        self.outcome = OPEN
        self.owner = -1


class Records:
    """Everything one run of one plan produced, in interleaved columns (a few appends per deal)."""

    def __init__(self, n_stages: int) -> None:
        self.n_stages = n_stages
        self._f = array("d")  # SCALARS_F, interleaved per deal
        self._i = array("q")  # SCALARS_I, interleaved per deal
        self._times = array("d")  # per deal: STAGE_F blocks of one value per stage
        self._person = array("q")
        # stretches of prospecting work; switch_hours: the part of the stretch spent switching from selling
        self.prospecting: dict[str, array] = {
            "person": array("q"), "start": array("d"), "end": array("d"), "switch_hours": array("d")
        }  # fmt: skip
        # one row per person per spell on the team: who (global id), which role (index), from, to
        # (the horizon if still there), and whether they came as a hire, a backfill or a promotion
        self.people: dict[str, array] = {"person": array("q"), "role": array("q"), "start": array("d"),
                                         "end": array("d")}  # fmt: skip

    def add(self, d: Deal) -> None:
        """Append one finished (or, at the horizon, open) deal."""
        self._f.extend((d.value, d.fit, d.created, d.closed, d.buyer, d.blocked, d.handoff_hours, d.switch_hours,
                        d.learning_hours, d.ramp_hours))  # fmt: skip
        self._i.extend((d.id, d.source, d.segment, d.outcome, d.state, d.handoffs, d.qualified, d.owner, d.cooled,
                        d.generation, d.origin, d.initial))  # fmt: skip
        self._times.extend(d.times)
        self._person.extend(d.person)

    def add_prospecting(self, person: int, start: float, end: float, switch_hours: float = 0.0) -> None:
        """Append one stretch of prospecting work."""
        self.prospecting["person"].append(person)
        self.prospecting["start"].append(start)
        self.prospecting["end"].append(end)
        self.prospecting["switch_hours"].append(switch_hours)

    def add_spell(self, person: int, role: int, start: float, end: float) -> None:
        """Append one person's time on the team."""
        self.people["person"].append(person)
        self.people["role"].append(role)
        self.people["start"].append(start)
        self.people["end"].append(end)

    def __len__(self) -> int:
        return len(self._i) // len(SCALARS_I)

    def columns(self) -> dict[str, np.ndarray]:
        """Per-deal columns as numpy arrays, with touch and queue days summed over stages."""
        f = np.frombuffer(self._f, dtype="f8").reshape(-1, len(SCALARS_F))
        i = np.frombuffer(self._i, dtype="i8").reshape(-1, len(SCALARS_I))
        enter, start, done = (self.stage_matrix(k) for k in STAGE_F)
        return (
            {k: np.ascontiguousarray(f[:, j]) for j, k in enumerate(SCALARS_F)}
            | {k: np.ascontiguousarray(i[:, j]) for j, k in enumerate(SCALARS_I)}
            | {
                "touch_days": np.nansum(done - start, axis=1),
                "queue_days": np.nansum(start - enter, axis=1),
                "stage": _last_entered(enter),
            }
        )

    def stage_matrix(self, name: str) -> np.ndarray:
        """A (deals x stages) matrix of one per-stage column ('enter', 'start', 'done' or 'person')."""
        if name == "person":
            return np.frombuffer(self._person, dtype="i8").reshape(-1, self.n_stages)
        block = np.frombuffer(self._times, dtype="f8").reshape(-1, len(STAGE_F), self.n_stages)
        return block[:, STAGE_F.index(name), :]


def _last_entered(enter: np.ndarray) -> np.ndarray:
    """The last stage each deal entered (0 if none); a deal of today's pipeline has entered no earlier stage."""
    entered = ~np.isnan(enter)
    last = enter.shape[1] - 1 - np.argmax(entered[:, ::-1], axis=1)
    return np.where(entered.any(axis=1), last, 0)
