"""Seller teams: one per role, either a shared pool or people who own deals.

Convention for time: a role with ``h`` selling hours per week delivers ``h``
hours of effort every 7 calendar days, so ``e`` hours of effort keep a seller
busy for ``e * 7 / h`` days. Utilisation is busy time over calendar time, i.e.
the share of available selling hours used.
"""

from __future__ import annotations

from collections import deque

import simpy

from leanflow.scenario.schema import Role

IDLE_PRIORITY = float("inf")  # prospecting only when no deal waits
PROTECTED_PRIORITY = float("-inf")  # scheduled prospecting goes first


class Team:
    """The runtime of one role: its queues, its people and their open deals."""

    def __init__(self, env: simpy.Environment, name: str, role: Role, first_person: int, prioritized: bool) -> None:
        self.env = env
        self.name = name
        self.role = role
        self.headcount = role.headcount
        self.days_per_hour = 7.0 / role.selling_hours_per_week
        self.owned = role.owns_deals
        self.people = list(range(first_person, first_person + role.headcount))
        make = simpy.PriorityResource if prioritized else simpy.Resource
        if self.owned:
            self.desks: list[simpy.Resource] = [make(env, capacity=1) for _ in self.people]
        else:
            self.desks = [make(env, capacity=role.headcount)]
            self.free = list(self.people)
        self.open = [0] * role.headcount
        self.open_total = 0
        self.limit = role.wip_limit_per_person
        self.waiting: deque[tuple[simpy.Event, list[int], int, float]] = deque()
        self.random_assignment = role.assignment == "random"
        self._room: list[simpy.Event | None] = [None] * role.headcount

    # ------------------------------------------------------------ ownership span

    def admit(self, owner_slot: list[int], index: int, u: float) -> simpy.Event | None:
        """Take a deal into this role's span (``u``: its uniform draw for random assignment);
        an event to wait for if WIP limits are full."""
        person = self._pick_admission(u)
        if person is None:
            ev = self.env.event()
            self.waiting.append((ev, owner_slot, index, u))
            return ev
        self._assign(owner_slot, index, person)
        return None

    def admit_to(self, owner_slot: list[int], index: int, person: int) -> None:
        """Give a deal to the person who prospected it, if under their WIP limit (else it is admitted as usual)."""
        local = person - self.people[0]
        if self.limit is None or self.open[local] < self.limit:
            self._assign(owner_slot, index, local)

    def cancel_admission(self, ev: simpy.Event) -> None:
        """Withdraw a deal that stopped waiting for admission."""
        for item in self.waiting:
            if item[0] is ev:
                self.waiting.remove(item)
                return

    def room(self, local: int) -> simpy.Event:
        """An event that fires when one of this person's deals leaves the span."""
        ev = self._room[local]
        if ev is None:
            ev = self._room[local] = self.env.event()
        return ev

    def leave(self, local: int) -> None:
        """A deal leaves this role's span; admit the next waiting deal if any."""
        self.open[local] -= 1
        self.open_total -= 1
        ev = self._room[local]
        if ev is not None:
            self._room[local] = None
            ev.succeed()
        while self.waiting:
            ev, owner_slot, index, u = self.waiting[0]
            person = self._pick_admission(u)
            if person is None:
                return
            self.waiting.popleft()
            self._assign(owner_slot, index, person)
            ev.succeed()

    def _pick_admission(self, u: float) -> int | None:
        if self.owned:
            if self.random_assignment:
                room = [p for p in range(self.headcount) if self.limit is None or self.open[p] < self.limit]
                return room[int(u * len(room))] if room else None
            local = min(range(self.headcount), key=self.open.__getitem__)
            if self.limit is not None and self.open[local] >= self.limit:
                return None
            return local
        if self.limit is not None and self.open_total >= self.limit * self.headcount:
            return None
        return 0

    def _assign(self, owner_slot: list[int], index: int, local: int) -> None:
        owner_slot[index] = local
        self.open[local] += 1
        self.open_total += 1

    # ------------------------------------------------------------ work

    def desk(self, local: int) -> simpy.Resource:
        """The queue a deal waits in: its owner's desk, or the shared pool."""
        return self.desks[local] if self.owned else self.desks[0]

    def take(self, local: int, previous: int) -> int:
        """The person (global id) who starts the work now; a pool keeps the previous one if free."""
        if self.owned:
            return self.people[local]
        free = self.free
        if previous in free:
            free.remove(previous)
            return previous
        return free.pop()

    def give_back(self, person: int) -> None:
        """A pooled person is free again."""
        if not self.owned:
            self.free.append(person)

    def open_per_person(self, local: int) -> float:
        """Open deals on the plate of the person doing the work.

        An owner juggles every deal assigned to them; a pool shares the deals it
        has started (those in its span, less those still in its queue) per head.
        """
        if self.owned:
            return self.open[local]
        return max(0, self.open_total - len(self.desks[0].queue)) / self.headcount
