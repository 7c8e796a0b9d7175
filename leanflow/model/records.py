"""Columnar records of a run: one row per deal, per-stage times in flat arrays.

Appending to ``array`` columns costs a few bytes per value, so a million
leads fit in memory; ``leanflow.metrics`` turns these into pandas tables.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

OUTCOMES = ("open", "won", "lost", "stale", "disqualified")
OPEN, WON, LOST, STALE, DISQUALIFIED = range(5)
STATES = ("closed", "admission", "queued", "worked", "buyer", "blocked")
CLOSED, ADMISSION, QUEUED, WORKED, BUYER, BLOCKED = range(6)

SCALARS_F = ("value", "fit", "created", "closed", "touch_days", "queue_days", "buyer_days", "blocked_days")
SCALARS_I = ("deal_id", "source", "segment", "outcome", "stage", "state", "handoffs", "qualified", "owner")
STAGE_F = ("enter", "start", "done")


class Deal:
    """A deal in flight: its pre-drawn lead and what has happened to it so far."""

    __slots__ = (
        "blocked",
        "buyer",
        "closed",
        "created",
        "done",
        "enter",
        "handoffs",
        "id",
        "last_person",
        "lead",
        "outcome",
        "owner",
        "owners",
        "person",
        "qualified",
        "queue",
        "source",
        "stage",
        "start",
        "state",
        "touch",
    )  # fmt: skip

    def __init__(self, deal_id: int, source: int, lead, created: float, n_stages: int, n_teams: int) -> None:
        nan = float("nan")
        self.id = deal_id
        self.source = source
        self.lead = lead
        self.created = created
        self.enter = [nan] * n_stages
        self.start = [nan] * n_stages
        self.done = [nan] * n_stages
        self.person = [-1] * n_stages
        self.stage = 0
        self.state = ADMISSION
        self.touch = self.queue = self.buyer = self.blocked = 0.0
        self.handoffs = 0
        self.last_person = -1
        self.owners = [-1] * n_teams
        self.qualified = 0
        self.closed = nan
        self.outcome = OPEN
        self.owner = -1


@dataclass
class Records:
    """Everything one run of one plan produced, in columns."""

    n_stages: int
    scalars: dict[str, array] = field(default_factory=dict)
    stages: dict[str, array] = field(default_factory=dict)
    person: array = field(default_factory=lambda: array("q"))
    prospecting: dict[str, array] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scalars = {k: array("d") for k in SCALARS_F} | {k: array("q") for k in SCALARS_I}
        self.stages = {k: array("d") for k in STAGE_F}
        self.prospecting = {"person": array("q"), "start": array("d"), "end": array("d")}

    def add(self, d: Deal) -> None:
        """Append one finished (or, at the horizon, open) deal."""
        s = self.scalars
        s["value"].append(d.lead.value)
        s["fit"].append(d.lead.fit)
        s["created"].append(d.created)
        s["closed"].append(d.closed)
        s["touch_days"].append(d.touch)
        s["queue_days"].append(d.queue)
        s["buyer_days"].append(d.buyer)
        s["blocked_days"].append(d.blocked)
        s["deal_id"].append(d.id)
        s["source"].append(d.source)
        s["segment"].append(d.lead.segment)
        s["outcome"].append(d.outcome)
        s["stage"].append(d.stage)
        s["state"].append(d.state)
        s["handoffs"].append(d.handoffs)
        s["qualified"].append(d.qualified)
        s["owner"].append(d.owner)
        self.stages["enter"].extend(d.enter)
        self.stages["start"].extend(d.start)
        self.stages["done"].extend(d.done)
        self.person.extend(d.person)

    def add_prospecting(self, person: int, start: float, end: float) -> None:
        """Append one stretch of prospecting work."""
        self.prospecting["person"].append(person)
        self.prospecting["start"].append(start)
        self.prospecting["end"].append(end)

    def __len__(self) -> int:
        return len(self.scalars["deal_id"])

    def columns(self) -> dict[str, np.ndarray]:
        """Per-deal columns as numpy arrays (no copy)."""
        return {k: np.frombuffer(v, dtype="f8" if v.typecode == "d" else "i8") for k, v in self.scalars.items()}

    def stage_matrix(self, name: str) -> np.ndarray:
        """A (deals x stages) matrix of one per-stage column ('enter', 'start', 'done' or 'person')."""
        col = self.person if name == "person" else self.stages[name]
        arr = np.frombuffer(col, dtype="f8" if col.typecode == "d" else "i8")
        return arr.reshape(-1, self.n_stages)
