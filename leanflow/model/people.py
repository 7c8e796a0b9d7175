"""The people on the teams over time, and how good each is at each stage right now.

Hires join on dates and ramp up; people leave at an annual rate (their own
random stream per role, so plans with the same roles see the same departures)
and their seat is backfilled after a delay, by a hire or by promoting someone
of another role, who starts part-ramped. Each person's effort at a stage falls
with their own count of repetitions of that stage (Wright's learning curve),
and each role has a proficiency per stage (effort multiplier, odds ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator

import numpy as np
import simpy

from leanflow.model.records import Records
from leanflow.model.teams import Team
from leanflow.random import stream

DAYS_PER_YEAR = 365.25


class Skills:
    """Per stage constants of one team: proficiency and the learning curve."""

    __slots__ = ("effort", "exponent", "floor", "gain", "learns", "odds", "start")

    def __init__(self, team: Team, stage_names: list[str]) -> None:
        role = team.role
        prof, learn = role.proficiency, role.learning
        self.effort = [prof.stages[n].effort if n in prof.stages else prof.effort for n in stage_names]
        self.odds = [prof.stages[n].odds if n in prof.stages else prof.odds for n in stage_names]
        self.learns = learn.progress_ratio < 1.0
        self.exponent = math.log2(learn.progress_ratio)
        self.start = learn.start_repetitions
        self.floor = learn.floor
        self.gain = learn.conversion_gain if learn.floor < 1.0 else 0.0

    @property
    def neutral(self) -> bool:
        return not self.learns and all(e == 1.0 for e in self.effort) and all(o == 1.0 for o in self.odds)


class Workforce:
    """Who is on which team since when, their ramp and their practice per stage."""

    def __init__(self, env: simpy.Environment, teams: list[Team], n_stages: int, records: Records,
                 rep: np.random.SeedSequence, horizon: float) -> None:  # fmt: skip
        self.env = env
        self.teams = teams
        self.records = records
        self.horizon = horizon
        self.n_stages = n_stages
        self.role_of: list[int] = []
        self.hired: list[float] = []
        self.ramp_from: list[float] = []
        self.ramp_days: list[float] = []
        self.practice: list[list[int]] = []
        self.prospected_last: list[bool] = []  # whether a person's last piece of work was prospecting
        for team in teams:
            for _ in team.people:
                self._new_person(team, 1.0, 0.0)
        self.on_seat: Callable[[Team, int], None] = lambda team, seat: None  # set by the funnel: new seat opened
        self._rng = {t.index: stream(rep, f"role:{t.name}", "attrition") for t in teams if t.role.attrition.annual_rate}

    def _new_person(self, team: Team, ramp_from: float, ramp_days: float) -> int:
        self.role_of.append(team.index)
        self.hired.append(self.env.now)
        self.ramp_from.append(ramp_from)
        self.ramp_days.append(ramp_days)
        self.practice.append([0] * self.n_stages)
        self.prospected_last.append(False)
        return len(self.role_of) - 1

    def start(self) -> None:
        """Start the hiring and tenure processes."""
        for team in self.teams:
            for hire in team.role.hires:
                self.env.process(self._hire_on(team, hire.day, hire.count))
            if team.index in self._rng:
                for person in team.people:
                    self.env.process(self._tenure(team, person))

    # ------------------------------------------------------------ productivity

    def productivity(self, person: int, now: float) -> float:
        """Share of full productivity of a person today (ramp-up)."""
        days = self.ramp_days[person]
        start = self.ramp_from[person]
        if start >= 1.0 or days <= 0:
            return 1.0
        return start + (1.0 - start) * min(1.0, (now - self.hired[person]) / days)

    def effort(
        self, skills: Skills | None, person: int, s: int, hours: float, now: float
    ) -> tuple[float, float, float, float]:
        """Hours one touch takes this person, with the learning and ramp extra in them, and the odds ratio.

        ``skills`` None: the role is neutral at every stage (only ramp-up can apply). Counts the touch as a
        repetition of the stage."""
        odds = 1.0
        learning = 0.0
        if skills is not None:
            hours *= skills.effort[s]
            odds = skills.odds[s]
            if skills.learns:
                done = self.practice[person]
                curve = max(skills.floor, (skills.start + done[s] + 1.0) ** skills.exponent)
                done[s] += 1
                learning = hours * (curve - skills.floor)
                hours *= curve
                if skills.gain:
                    odds *= 1.0 + skills.gain * (1.0 - curve) / (1.0 - skills.floor)
        prod = self.productivity(person, now)
        if prod >= 1.0:
            return hours, learning, 0.0, odds
        ramped = hours / prod
        return ramped, learning, ramped - hours, odds

    # ------------------------------------------------------------ joining and leaving

    def _hire_on(self, team: Team, day: float, n: int) -> Generator:
        yield self.env.timeout(day)
        for _ in range(n):
            self._join(team, None, team.role.ramp.start_productivity)

    def _join(self, team: Team, seat: int | None, ramp_from: float) -> None:
        person = self._new_person(team, ramp_from, team.role.ramp.weeks * 7.0)
        new_seat = seat is None
        seat = team.fill(seat, person)
        if new_seat:
            self.on_seat(team, seat)
        if team.index in self._rng:
            self.env.process(self._tenure(team, person))

    def _tenure(self, team: Team, person: int) -> Generator:
        rate = team.role.attrition.annual_rate
        yield self.env.timeout(self._rng[team.index].exponential(DAYS_PER_YEAR / rate))
        if person in team.people:
            self._depart(team, person, backfill=True)

    def _depart(self, team: Team, person: int, backfill: bool) -> None:
        """``person`` leaves ``team`` once their current work is done; their seat is backfilled if asked."""

        def go() -> None:
            seat = team.people.index(person)
            team.vacate(seat)  # the deals handed on pay a hand-off at their next touch, by someone else
            self.records.add_spell(person, team.index, self.hired[person], self.env.now)
            if backfill:
                self.env.process(self._backfill(team, seat))

        if team.busy(person):
            team.leaving[person] = go
        else:
            go()

    def _backfill(self, team: Team, seat: int) -> Generator:
        att = team.role.attrition
        yield self.env.timeout(att.backfill_days)
        source = self._promotion_source(team)
        if source is None:
            self._join(team, seat, team.role.ramp.start_productivity)
            return
        src_team, who = source
        self._depart(src_team, who, backfill=True)
        self._join(team, seat, att.promoted_start_productivity)

    def _promotion_source(self, team: Team) -> tuple[Team, int] | None:
        """The longest-serving person of the role promoted from, if anyone is there."""
        name = team.role.attrition.promote_from
        if name is None:
            return None
        src = next(t for t in self.teams if t.name == name)
        present = [p for p in src.people if p >= 0 and p not in src.leaving]
        if not present:
            return None
        return src, min(present, key=lambda p: (self.hired[p], p))

    def close(self) -> None:
        """Record the spells of everyone still on a team at the horizon."""
        for team in self.teams:
            for person in team.people:
                if person >= 0:
                    self.records.add_spell(person, team.index, self.hired[person], self.horizon)
