"""Records of one run -> the per-deal table and the per-stage interval matrices.

Built once per run with numpy; pandas only at the very end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from leanflow.model.records import INITIAL, OUTCOMES, STATES, Records
from leanflow.scenario.schema import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class RunData:
    """One plan x replication as arrays: the basis of every metric."""

    scenario: Scenario
    plan: str
    replication: int
    cols: dict[str, np.ndarray]
    enter: np.ndarray  # deals x stages: day the deal entered each stage (nan: never)
    start: np.ndarray  # day a seller started the stage's work
    done: np.ndarray  # day the seller finished it
    person: np.ndarray  # global id of the person who worked it (-1: nobody)
    leave: np.ndarray  # day the deal left the stage (horizon if still there)
    prospecting: dict[str, np.ndarray]
    spells: dict[str, np.ndarray]  # person, role, start, end: each person's time on the team
    person_role: np.ndarray  # role index of each global person id
    roles: list[str]
    stages: list[str]

    @property
    def horizon(self) -> float:
        return self.scenario.horizon_days

    @property
    def warmup(self) -> float:
        return self.scenario.warmup_days


def run_data(sc: Scenario, plan: str, replication: int, rec: Records) -> RunData:
    """Arrays of one run, with each stage's leave time derived from the next stage's entry."""
    cols = rec.columns()
    enter, start, done = (rec.stage_matrix(k) for k in ("enter", "start", "done"))
    person = rec.stage_matrix("person")
    n = enter.shape[1]
    end = np.where(np.isnan(cols["closed"]), sc.horizon_days, cols["closed"])
    leave = np.full_like(enter, np.nan)
    for s in range(n):
        nxt = enter[:, s + 1] if s + 1 < n else np.full(len(end), np.nan)
        inside = ~np.isnan(enter[:, s])
        leave[:, s] = np.where(inside, np.where(np.isnan(nxt), end, nxt), np.nan)
    roles = list(sc.plans[plan].roles)
    prospecting, spells = (
        {k: np.frombuffer(v, dtype="f8" if v.typecode == "d" else "i8") for k, v in table.items()}
        for table in (rec.prospecting, rec.people)
    )
    person_role = np.full(int(spells["person"].max()) + 1 if spells["person"].size else 0, -1, dtype=np.int64)
    person_role[spells["person"]] = spells["role"]
    return RunData(sc, plan, replication, cols, enter, start, done, person, leave, prospecting, spells, person_role,
                   roles, [s.name for s in sc.process.stages])  # fmt: skip


def person_names(rd: RunData) -> list[str]:
    """A name per global person id: role-k, k counting that role's people in order of arrival."""
    seen = [0] * len(rd.roles)
    names = []
    for role in rd.person_role:
        seen[role] += 1
        names.append(f"{rd.roles[role]}-{seen[role]}")
    return names


def deals_table(rd: RunData) -> pd.DataFrame:
    """One row per deal: attributes, outcome, owner, time split and stage timestamps."""
    import pandas as pd  # only tables need pandas, not one replication's metrics
    c = rd.cols
    sc = rd.scenario
    people = person_names(rd)
    columns = {
        "plan": pd.Categorical.from_codes(np.zeros(len(c["deal_id"]), dtype=np.int8), [rd.plan]),
        "replication": np.full(len(c["deal_id"]), rd.replication, dtype=np.int32),
        "deal_id": c["deal_id"],
        "source": pd.Categorical.from_codes(c["source"], list(sc.market.sources)),  # today's pipeline: none
        "segment": pd.Categorical.from_codes(c["segment"], list(sc.market.segments)),
        "value": c["value"],
        "fit": c["fit"],
        "qualified": c["qualified"].astype(bool),
        "created": c["created"],
        "closed": c["closed"],
        "outcome": pd.Categorical.from_codes(c["outcome"], list(OUTCOMES)),
        "stage": pd.Categorical.from_codes(c["stage"], rd.stages),
        "state": pd.Categorical.from_codes(c["state"], list(STATES)),
        "owner": pd.Categorical.from_codes(c["owner"], people),
        "handoffs": c["handoffs"].astype(np.int32),
        "touch_days": c["touch_days"],
        "queue_days": c["queue_days"],
        "buyer_days": c["buyer_days"],
        "blocked_days": c["blocked_days"],
        "initial": pd.Categorical.from_codes(c["initial"], list(INITIAL)),  # new, or how today's deal was placed
    }
    for s, name in enumerate(rd.stages):
        columns[f"enter_{name}"] = rd.enter[:, s]
        columns[f"start_{name}"] = rd.start[:, s]
        columns[f"done_{name}"] = rd.done[:, s]
    return pd.DataFrame(columns, copy=False)
