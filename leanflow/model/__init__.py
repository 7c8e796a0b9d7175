"""The SimPy model: a validated scenario, a plan and a seed in, columnar records out."""

from leanflow.model.funnel import Funnel
from leanflow.model.records import OUTCOMES, STATES, Records

__all__ = ["OUTCOMES", "STATES", "Funnel", "Records", "simulate"]


def simulate(scenario, plan: str, rep_seed) -> Records:
    """Run one plan of a scenario for one replication's SeedSequence."""
    return Funnel(scenario, plan, rep_seed).run()
