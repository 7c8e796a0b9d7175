"""Seller teams: one per role, either a shared pool or seats whose holders own deals.

Convention for time: a role with ``h`` selling hours per week delivers ``h``
hours of effort every 7 calendar days, so ``e`` hours of effort keep a seller
busy for ``e * 7 / h`` days. Utilisation is busy time over time present, i.e.
the share of available selling hours used.

A team is a row of seats. A seat holds one person (a global id) or is vacant
(-1) between a departure and its backfill; a hire adds a seat. An owning team
has one desk (queue) per seat; a pool has one desk for all its seats.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import simpy

from leanflow.model.desk import Desk, Grant
from leanflow.scenario.schema import Role

IDLE_PRIORITY = float("inf")  # prospecting only when no deal waits
PROTECTED_PRIORITY = float("-inf")  # scheduled prospecting goes first
VACANT = -1


class Admission(simpy.Event):
    """A deal waiting to be admitted to a role's span (its WIP limits full, or no seat staffed)."""

    __slots__ = ("team",)

    def __init__(self, team: Team) -> None:
        super().__init__(team.env)
        self.team = team

    def expire(self) -> None:
        """Give up waiting: leave the admission queue and wake the deal with ``False``."""
        self.team.cancel_admission(self)
        self.succeed(False)


class Team:
    """The runtime of one role: its seats, queues and open deals."""

    def __init__(
        self, env: simpy.Environment, name: str, index: int, role: Role, people: list[int], promoted_from: bool
    ) -> None:
        """``promoted_from``: another role promotes people out of this one, so it can lose people."""
        self.env = env
        self.name = name
        self.index = index
        self.role = role
        self.days_per_hour = 7.0 / role.selling_hours_per_week
        self.owned = role.owns_deals
        self.people = list(people)  # seat -> person (global id) or VACANT
        self.present = len(people)
        self.vacant = 0
        self.desks = [Desk(env, 1) for _ in people] if self.owned else [Desk(env, len(people))]
        self.free = [] if self.owned else list(people)
        self.open = [0] * len(people)
        self.open_total = 0
        self.limit = role.wip_limit_per_person
        self.waiting: deque[tuple[Admission, object, int, float]] = deque()
        self.random_assignment = role.assignment == "random"
        self._room: list[simpy.Event | None] = [None] * len(people)
        # an owning role that can lose people keeps each seat's deals, to hand them on
        self.tracks = self.owned and (role.attrition.annual_rate > 0 or promoted_from)
        self.seat_deals: list[dict] = [{} for _ in people] if self.tracks else []  # insertion-ordered: deterministic
        self.leaving: dict[int, Callable[[], None]] = {}  # person -> what to do when their current work ends

    @property
    def seats(self) -> int:
        return len(self.people)

    # ------------------------------------------------------------ ownership span

    def admit(self, d, index: int, u: float) -> Admission | None:
        """Take deal ``d`` into this role's span (``u``: its uniform draw for random assignment);
        an event to wait for if WIP limits are full or no seat is staffed."""
        seat = self._pick_admission(u)
        if seat is None:
            ev = Admission(self)
            self.waiting.append((ev, d, index, u))
            return ev
        self._assign(d, index, seat)
        return None

    def admit_to(self, d, index: int, person: int) -> None:
        """Give a deal to the person who prospected it, if still here and under their WIP limit (else it is
        admitted as usual)."""
        if person not in self.people:
            return
        seat = self.people.index(person)
        if self.limit is None or self.open[seat] < self.limit:
            self._assign(d, index, seat)

    def place(self, d, index: int, seat: int | None) -> int:
        """Admit a deal of today's pipeline at time 0 to ``seat`` (None: the least loaded), whatever the WIP
        limits: it is in the span already. Returns the seat."""
        if seat is None:
            seat = min(range(self.seats), key=self.open.__getitem__) if self.owned else 0
        self._assign(d, index, seat)
        return seat

    def cancel_admission(self, ev: Admission) -> None:
        """Withdraw a deal that stopped waiting for admission."""
        for item in self.waiting:
            if item[0] is ev:
                self.waiting.remove(item)
                return

    def room(self, seat: int) -> simpy.Event:
        """An event that fires when one of this seat's deals leaves the span (or the seat changes hands)."""
        ev = self._room[seat]
        if ev is None:
            ev = self._room[seat] = self.env.event()
        return ev

    def _wake(self, seat: int) -> None:
        ev = self._room[seat]
        if ev is not None:
            self._room[seat] = None
            ev.succeed()

    def leave(self, seat: int, d) -> None:
        """A deal leaves this role's span; admit the next waiting deal if any."""
        self.open[seat] -= 1
        self.open_total -= 1
        if self.tracks:
            self.seat_deals[seat].pop(d, None)
        self._wake(seat)
        self.admit_waiting()

    def admit_waiting(self) -> None:
        """Admit waiting deals while there is room."""
        while self.waiting:
            ev, d, index, u = self.waiting[0]
            seat = self._pick_admission(u)
            if seat is None:
                return
            self.waiting.popleft()
            self._assign(d, index, seat)
            ev.succeed()

    def _staffed(self) -> list[int]:
        return [s for s in range(self.seats) if self.people[s] != VACANT]

    def _pick_admission(self, u: float) -> int | None:
        if self.owned:
            seats = self._staffed() if self.vacant else range(self.seats)
            if self.random_assignment:
                room = [s for s in seats if self.limit is None or self.open[s] < self.limit]
                return room[int(u * len(room))] if room else None
            if not seats:
                return None
            seat = min(seats, key=self.open.__getitem__)
            if self.limit is not None and self.open[seat] >= self.limit:
                return None
            return seat
        if not self.present or (self.limit is not None and self.open_total >= self.limit * self.present):
            return None
        return 0

    def _assign(self, d, index: int, seat: int) -> None:
        d.owners[index] = seat
        self.open[seat] += 1
        self.open_total += 1
        if self.tracks:
            self.seat_deals[seat][d] = None

    # ------------------------------------------------------------ work

    def desk(self, seat: int) -> Desk:
        """The queue a deal waits in: its owner's desk, or the shared pool."""
        return self.desks[seat] if self.owned else self.desks[0]

    def take(self, seat: int, previous: int) -> int:
        """The person (global id) who starts the work now; a pool keeps the previous one if free."""
        if self.owned:
            return self.people[seat]
        free = self.free
        if previous in free:
            free.remove(previous)
            return previous
        return free.pop()

    def finish(self, desk: Desk, person: int) -> None:
        """``person`` is done with a piece of work: they leave now if they were due to, else are free again."""
        gone = self.leaving.pop(person, None) if self.leaving else None
        if gone is not None:
            gone()
        elif not self.owned:
            self.free.append(person)
        desk.release()

    def open_per_person(self, seat: int) -> float:
        """Open deals on the plate of the person doing the work.

        An owner juggles every deal assigned to them; a pool shares the deals it
        has started (those in its span, less those still in its queue) per head.
        """
        if self.owned:
            return self.open[seat]
        return max(0, self.open_total - self.desks[0].waiting) / max(self.present, 1)

    def busy(self, person: int) -> bool:
        """Whether ``person`` is working right now."""
        if self.owned:
            return self.desks[self.people.index(person)].users > 0
        return person not in self.free

    # ------------------------------------------------------------ seats change hands

    def vacate(self, seat: int) -> list:
        """The seat's holder has left: close its desk and hand its deals to the least loaded colleagues.

        Returns the deals handed on (their next touch pays a hand-off, being by someone else)."""
        person = self.people[seat]
        self.people[seat] = VACANT
        self.present -= 1
        self.vacant += 1
        if not self.owned:
            self.desks[0].capacity -= 1
            if person in self.free:
                self.free.remove(person)
            return []
        desk = self.desks[seat]
        desk.capacity = 0
        queued = {g.deal: g for g in desk.take_deals()}
        moved = list(self.seat_deals[seat])
        others = self._staffed()
        if not others:  # nobody left to take them: the deals wait for the seat's backfill
            for g in queued.values():
                desk.put(g)
            moved = []
        touched = set()
        for d in moved:
            to = min(others, key=self.open.__getitem__)
            self.open[seat] -= 1
            self.open[to] += 1
            self.seat_deals[to][d] = None
            d.owners[self.index] = to
            if d in queued:
                self.desks[to].put(queued.pop(d))
                touched.add(to)
        for to in sorted(touched):
            self.desks[to].serve()
        if moved:
            self.seat_deals[seat].clear()
        self._wake(seat)
        return moved

    def fill(self, seat: int | None, person: int) -> int:
        """A person takes a seat (``None``: a new seat); returns the seat."""
        if seat is None:
            seat = self.seats
            self.people.append(VACANT)
            self.vacant += 1
            self.open.append(0)
            self._room.append(None)
            if self.owned:
                self.desks.append(Desk(self.env, 0))
            if self.tracks:
                self.seat_deals.append({})
        self.people[seat] = person
        self.present += 1
        self.vacant -= 1
        if self.owned:
            self.desks[seat].capacity = 1
            self.desks[seat].serve()
        else:
            self.free.append(person)
            self.desks[0].capacity += 1
            self.desks[0].serve()
        self._wake(seat)
        self.admit_waiting()
        return seat


__all__ = ["IDLE_PRIORITY", "PROTECTED_PRIORITY", "VACANT", "Admission", "Grant", "Team"]
