"""Role metrics over the people present: utilisation with and without prospecting, queue wait, headcount, cost.

A person counts only while on the team (their spells), so hires, leavers and
backfills change the denominator: utilisation = busy time / person-days
present in the window, headcount = mean number present (time-average), and
cost per year = sum over spells of the role's yearly cost per head x the
share of the window the person was present.
"""

from __future__ import annotations

import numpy as np

from leanflow.metrics.intervals import overlap, ratio
from leanflow.metrics.tables import RunData


def role_metrics(rd: RunData, lo: float, hi: float) -> dict[str, float]:
    """Per role and for the team: utilisation (deal work plus prospecting, and deal work only), prospecting
    share, queue wait; the time-average headcount and the yearly cost of the people present."""
    m: dict[str, float] = {}
    worked = rd.person >= 0
    start = rd.start[worked]
    done = np.where(np.isnan(rd.done[worked]), rd.horizon, rd.done[worked])
    wait = (rd.start - rd.enter)[worked]
    role_of_touch = rd.person_role[rd.person[worked]]
    p = rd.prospecting
    role_of_prospect = rd.person_role[p["person"]] if p["person"].size else np.empty(0, dtype=np.int64)
    present_by_spell = overlap(rd.spells["start"], rd.spells["end"], lo, hi)
    totals = np.zeros(3)  # deal work, prospecting, person-days present
    for r, name in enumerate(rd.roles):
        mine = role_of_touch == r
        deal = float(overlap(start[mine], done[mine], lo, hi).sum())
        prospect = role_of_prospect == r
        prospecting = float(overlap(p["start"][prospect], p["end"][prospect], lo, hi).sum())
        present = float(present_by_spell[rd.spells["role"] == r].sum())
        totals += (deal, prospecting, present)
        m[f"utilisation_{name}"] = ratio(deal + prospecting, present)
        m[f"utilisation_deal_{name}"] = ratio(deal, present)
        m[f"prospecting_share_{name}"] = ratio(prospecting, present)
        started = mine & (start >= lo) & (start < hi)
        m[f"queue_days_{name}"] = float(wait[started].mean()) if started.any() else float("nan")
    deal, prospecting, present = totals
    m["utilisation"] = ratio(deal + prospecting, present)
    m["utilisation_deal"] = ratio(deal, present)
    m["headcount"] = present / (hi - lo)
    m["cost_per_year"] = _cost_per_year(rd, present_by_spell / (hi - lo))
    return m


def _cost_per_year(rd: RunData, share_present: np.ndarray) -> float:
    """Yearly cost of the people present: cost per head x share of the window present, summed over spells
    (nan when a role has no cost per head)."""
    roles = rd.scenario.plans[rd.plan].roles
    costs = [roles[name].cost_per_head for name in rd.roles]
    if any(c is None for c in costs):
        return float("nan")
    return float((np.asarray(costs, dtype=float)[rd.spells["role"]] * share_present).sum())
