"""A seller desk: a queue in front of one or more sellers, lighter than ``simpy.Resource``.

A request is granted at once when a seller is free and no one waits, with no
event at all (the caller simply goes on); otherwise it waits in a heap keyed by
(priority, arrival order), so ties are FIFO within a priority, exactly as
``simpy.PriorityResource``. A release schedules nothing unless it grants a
waiting request. Unlike a SimPy resource, a desk can change capacity (hires,
departures) and hand its waiting requests to another desk (a leaver's deals go
to a colleague). Desks also serve as the stage and CONWIP slots.
"""

from __future__ import annotations

import heapq
from itertools import count

import simpy

_order = count()  # arrival order across desks, so a moved request keeps its place


class Grant(simpy.Event):
    """A waiting request for a seller: succeeds when granted (or with ``False`` when it expired, see
    ``expire``); ``deal`` is None for prospecting and slots."""

    __slots__ = ("cancelled", "deal", "desk", "key")

    def __init__(self, env: simpy.Environment, desk: Desk, priority: float, deal: object | None) -> None:
        super().__init__(env)
        self.desk = desk
        self.key = (priority, next(_order))
        self.deal = deal
        self.cancelled = False

    def cancel(self) -> None:
        """Withdraw a request that is still waiting (removed lazily from the heap)."""
        if not self.triggered and not self.cancelled:
            self.cancelled = True
            self.desk.waiting -= 1

    def expire(self) -> None:
        """Give up waiting: withdraw the request and wake its process with ``False``."""
        self.cancel()
        self.succeed(False)


class Desk:
    """``capacity`` sellers behind one queue."""

    __slots__ = ("capacity", "env", "heap", "users", "waiting")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.users = 0
        self.waiting = 0  # requests in the heap that are not cancelled
        self.heap: list[tuple[tuple[float, int], Grant]] = []

    def request(self, priority: float = 0.0, deal: object | None = None) -> Grant | None:
        """Ask for a seller: ``None`` if one is yours at once, else an event that succeeds when one is."""
        if self.users < self.capacity and not self.waiting:
            self.users += 1
            return None
        g = Grant(self.env, self, priority, deal)
        heapq.heappush(self.heap, (g.key, g))
        self.waiting += 1
        return g

    def occupy(self) -> None:
        """Take a place whatever the capacity: a deal of today's pipeline holds it at time 0 already."""
        self.users += 1

    def release(self) -> None:
        """A seller is done; the next waiting request, if any, gets them."""
        self.users -= 1
        if self.heap:
            self.serve()

    def serve(self) -> None:
        """Grant waiting requests while sellers are free."""
        heap = self.heap
        while self.users < self.capacity and heap:
            g = heapq.heappop(heap)[1]
            if g.cancelled:
                continue
            self.waiting -= 1
            self.users += 1
            g.desk = self
            g.succeed()

    def take_deals(self) -> list[Grant]:
        """Remove and return the waiting deal requests (prospecting requests stay)."""
        moved = [g for _, g in self.heap if g.deal is not None and not g.cancelled]
        if moved:
            self.heap = [(k, g) for k, g in self.heap if g.deal is None and not g.cancelled]
            heapq.heapify(self.heap)
            self.waiting = len(self.heap)
        return moved

    def put(self, g: Grant) -> None:
        """Take over a waiting request from another desk, keeping its place in arrival order.

        Call ``serve`` once the whole batch is in, so the earliest request gets a free seller."""
        g.desk = self
        heapq.heappush(self.heap, (g.key, g))
        self.waiting += 1
