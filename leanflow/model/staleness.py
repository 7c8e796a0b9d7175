"""The staleness clock: one timer for every waiting deal, instead of a deadline armed per wait.

A deal waiting for us (a slot, admission, a seller) goes stale at its last
contact plus ``stale_after_days``. Each wait that cannot be granted at once is
entered here with that deadline; a single SimPy timeout sleeps until the
earliest deadline whose wait is still pending. Waits granted in the meantime are
skipped lazily, so a quiet queue costs a heap push per wait and a handful of
timer events per staleness period, not a timeout and a condition per wait.
A deadline is judged at the end of its instant: a grant at that very time counts.
"""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import Protocol

import simpy
from simpy.events import NORMAL


class Expiring(Protocol):
    """A wait that can be given up: a seller or slot request, or an admission."""

    triggered: bool

    def expire(self) -> None: ...


LATE = NORMAL + 1  # SimPy priority after every ordinary event of the same instant


class Deadline(simpy.Event):
    """A timeout at absolute time ``at``, processed after every ordinary event of that instant.

    So a grant at the very instant of a deadline counts (the seller made it), whatever order the
    two were scheduled in; and it never fires a hair early, whatever the float arithmetic."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        super().__init__(env)
        now = env.now
        delay = max(0.0, at - now)
        while now + delay < at:
            delay = math.nextafter(delay, math.inf)
        self._ok = True  # triggered at creation, as ``simpy.Timeout`` is
        self._value = None
        env.schedule(self, LATE, delay)


class StaleClock:
    """Expires each watched wait still pending at its deadline (in simulated days)."""

    __slots__ = ("env", "heap", "order", "timer", "timer_at")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.heap: list[tuple[float, int, Expiring]] = []
        self.order = count()  # ties at one deadline expire in the order the waits began
        self.timer: Deadline | None = None
        self.timer_at = math.inf

    def watch(self, wait: Expiring, deadline: float) -> None:
        """Expire ``wait`` at ``deadline`` unless it is granted by the end of that instant."""
        heapq.heappush(self.heap, (deadline, next(self.order), wait))
        if deadline < self.timer_at:
            self._arm(deadline)

    def _arm(self, at: float) -> None:
        timer = Deadline(self.env, at)
        timer.callbacks.append(self._fire)
        self.timer, self.timer_at = timer, at

    def _fire(self, timer: Deadline) -> None:
        """Expire the first due wait, then re-arm: the next due one is judged only after the consequences of
        this one (its slot and seller freed) have run, exactly as with a timer per wait."""
        if timer is not self.timer:  # superseded by an earlier deadline, which re-armed the clock
            return
        due, heap = self.timer_at, self.heap
        self.timer, self.timer_at = None, math.inf
        while heap and heap[0][2].triggered:  # granted meanwhile
            heapq.heappop(heap)
        if heap and heap[0][0] <= due:
            heapq.heappop(heap)[2].expire()
        while heap and heap[0][2].triggered:
            heapq.heappop(heap)
        if heap:
            self._arm(heap[0][0])
