"""The seller desk grants requests exactly as a priority queue with FIFO ties.

A request granted at once returns ``None`` (no event); one that waits returns an
event. Property tests: random sequences of requests (with priorities), releases and
cancellations, one operation per day, are granted in the same order and on the
same day by a ``Desk`` as by ``simpy.PriorityResource``; with capacity changes
and moves of waiting deal requests between desks, as by a small reference model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from leanflow.model.desk import Desk

PRIORITIES = st.sampled_from([0.0, 1.0, 2.0, -3.0, float("inf"), float("-inf")])

simple_ops = st.lists(
    st.one_of(
        st.tuples(st.just("request"), PRIORITIES),
        st.tuples(st.just("release"), st.integers(0, 10)),
        st.tuples(st.just("cancel"), st.integers(0, 10)),
    ),
    max_size=60,
)


def _drive(env: simpy.Environment, ops, apply) -> None:
    """Apply the operations one a day (so that each one's grants are all processed before the next)."""

    def driver():
        for k, op in enumerate(ops):
            yield env.timeout(1)
            apply(k, op)

    env.process(driver())
    env.run()


def _granted_by_simpy(capacity: int, ops) -> list[tuple[float, int]]:
    env = simpy.Environment()
    res = simpy.PriorityResource(env, capacity)
    log: list[tuple[float, int]] = []
    held, waiting = [], []

    def apply(k, op):
        kind, arg = op
        if kind == "request":
            req = res.request(priority=arg)
            waiting.append(req)
            req.callbacks.append(
                lambda _, k=k, req=req: (log.append((env.now, k)), waiting.remove(req), held.append(req))
            )
        elif kind == "release" and held:
            res.release(held.pop(arg % len(held)))
        elif kind == "cancel" and waiting:
            req = waiting.pop(arg % len(waiting))
            req.cancel()

    _drive(env, ops, apply)
    return log


def _granted_by_desk(capacity: int, ops) -> list[tuple[float, int]]:
    env = simpy.Environment()
    desk = Desk(env, capacity)
    log: list[tuple[float, int]] = []
    held, waiting = [], []

    def apply(k, op):
        assert desk.waiting == len(waiting) and desk.users == len(held)  # yesterday's grants all processed
        kind, arg = op
        if kind == "request":
            g = desk.request(arg)
            if g is None:  # granted at once, with no event
                log.append((env.now, k))
                held.append(k)
                return
            waiting.append(g)
            g.callbacks.append(lambda _, k=k, g=g: (log.append((env.now, k)), waiting.remove(g), held.append(g)))
        elif kind == "release" and held:
            held.pop(arg % len(held))
            desk.release()
        elif kind == "cancel" and waiting:
            waiting.pop(arg % len(waiting)).cancel()

    _drive(env, ops, apply)
    assert desk.waiting == len(waiting) and desk.users == len(held)
    return log


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 3), ops=simple_ops)
def test_desk_grants_like_a_simpy_priority_resource(capacity: int, ops) -> None:
    """Which request, and when: the same sequence of grants as simpy's PriorityResource (ties FIFO)."""
    assert _granted_by_desk(capacity, ops) == _granted_by_simpy(capacity, ops)


# ---------------------------------------------------------------- capacity changes and moves: a reference model


@dataclass
class RefDesk:
    capacity: int
    users: int = 0
    queue: list[tuple[float, int, int, bool]] = field(default_factory=list)  # (priority, arrival, label, is_deal)


class Reference:
    """Desks as sorted lists: grant at once if a seller is free and nobody waits; else wait; on release or a
    capacity change, grant the lowest (priority, arrival) while sellers are free; a move takes the waiting deal
    requests (not prospecting ones) to another desk, keeping their arrival order."""

    def __init__(self, capacities: list[int]) -> None:
        self.desks = [RefDesk(c) for c in capacities]
        self.arrivals = 0
        self.log: list[tuple[int, int]] = []  # (desk, label)

    def request(self, d: int, priority: float, label: int, is_deal: bool) -> None:
        desk = self.desks[d]
        item = (priority, self.arrivals, label, is_deal)
        self.arrivals += 1
        if desk.users < desk.capacity and not desk.queue:
            desk.users += 1
            self.log.append((d, label))
        else:
            desk.queue.append(item)

    def serve(self, d: int) -> None:
        desk = self.desks[d]
        while desk.users < desk.capacity and desk.queue:
            item = min(desk.queue)
            desk.queue.remove(item)
            desk.users += 1
            self.log.append((d, item[2]))

    def release(self, d: int) -> None:
        self.desks[d].users -= 1
        self.serve(d)

    def cancel(self, label: int) -> None:
        for desk in self.desks:
            desk.queue = [i for i in desk.queue if i[2] != label]

    def move(self, src: int, dst: int) -> None:
        moved = [i for i in self.desks[src].queue if i[3]]
        self.desks[src].queue = [i for i in self.desks[src].queue if not i[3]]
        self.desks[dst].queue.extend(moved)
        self.serve(dst)

    def waiting(self) -> list[int]:
        return [i[2] for desk in self.desks for i in desk.queue]


class Deal:
    """A stand-in for a deal (any object but None)."""


@dataclass
class Held:
    """A request granted at once: only its desk is known."""

    desk: Desk


full_ops = st.lists(
    st.one_of(
        st.tuples(st.just("request"), st.integers(0, 1), PRIORITIES, st.booleans()),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("capacity"), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("move"), st.integers(0, 1)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(capacities=st.tuples(st.integers(0, 2), st.integers(0, 2)), ops=full_ops)
def test_desks_with_capacity_changes_and_moves_match_the_reference(capacities, ops) -> None:
    """Two desks; capacity changes (a hire, a departure) grant waiting requests; ``take_deals`` + ``put`` move the
    waiting deal requests to the other desk, where they keep their place in arrival order among its own."""
    env = simpy.Environment()
    desks = [Desk(env, c) for c in capacities]
    ref = Reference(list(capacities))
    log: list[tuple[int, int]] = []
    grants: dict[int, object] = {}
    held: list[int] = []  # labels granted and not yet released

    def granted(g, label: int) -> None:
        log.append((desks.index(g.desk), label))
        held.append(label)

    def apply(k, op):
        kind = op[0]
        if kind == "request":
            _, d, priority, is_deal = op
            g = desks[d].request(priority, Deal() if is_deal else None)
            ref.request(d, priority, k, is_deal)
            if g is None:  # granted at once: the request never waits, so it is never moved
                grants[k] = Held(desks[d])
                granted(grants[k], k)
                return
            grants[k] = g
            g.callbacks.append(lambda ev, k=k: granted(ev, k))
        elif kind == "release" and held:
            label = held.pop(op[1] % len(held))
            d = desks.index(grants[label].desk)
            grants[label].desk.release()
            ref.release(d)
        elif kind == "cancel" and ref.waiting():
            label = ref.waiting()[op[1] % len(ref.waiting())]
            grants[label].cancel()
            ref.cancel(label)
        elif kind == "capacity":
            _, d, capacity = op
            desks[d].capacity = capacity
            desks[d].serve()
            ref.desks[d].capacity = capacity
            ref.serve(d)
        elif kind == "move":  # as a leaver's queue is handed on: taken, then put in arrival order
            _, src = op
            for g in desks[src].take_deals():
                desks[1 - src].put(g)
            desks[1 - src].serve()
            ref.move(src, 1 - src)

    def same_state() -> None:
        assert log == ref.log
        for d, desk in enumerate(desks):
            assert desk.waiting == len(ref.desks[d].queue)
            assert desk.users == ref.desks[d].users

    def check_then_apply(k, op):
        same_state()  # after yesterday's grants were processed
        apply(k, op)

    _drive(env, ops, check_then_apply)
    same_state()


def test_take_deals_leaves_prospecting_and_drops_cancelled() -> None:
    env = simpy.Environment()
    a, b = Desk(env, 0), Desk(env, 0)
    deal = [a.request(p, Deal()) for p in (2.0, 1.0, 1.0, 0.0)]
    prospect = a.request(float("inf"))
    deal[1].cancel()
    moved = a.take_deals()
    assert sorted(moved, key=lambda g: g.key) == [deal[3], deal[2], deal[0]]
    assert a.waiting == 1 and [g for _, g in a.heap] == [prospect]
    early = b.request(1.0, Deal())  # arrived after the moved ones: waits behind those of its priority
    for g in reversed(moved):
        b.put(g)
    assert all(g.desk is b for g in moved) and b.waiting == 4
    order = []
    for g in (*moved, early):
        g.callbacks.append(lambda ev: order.append(ev))
    b.capacity = 10
    b.serve()
    env.run()
    assert order == [deal[3], deal[2], early, deal[0]]
    deal_late = a.request(0.0, Deal())
    deal_late.cancel()
    assert a.take_deals() == [] and a.waiting == 1


def test_a_batch_put_into_a_free_desk_keeps_arrival_order() -> None:
    """A leaver's queue handed to an idle colleague: whatever order the requests are put in, the one that arrived
    first is served first once the batch is in (``put`` does not serve; ``serve`` after the batch does)."""
    env = simpy.Environment()
    leaver, colleague = Desk(env, 1), Desk(env, 1)
    leaver.request(0.0, Deal())  # the leaver is busy: the next two wait
    first, second = leaver.request(0.0, Deal()), leaver.request(0.0, Deal())
    leaver.capacity = 0
    moved = leaver.take_deals()
    assert {id(g) for g in moved} == {id(first), id(second)}
    for g in (second, first):
        colleague.put(g)
    assert not first.triggered and not second.triggered
    colleague.serve()
    assert first.triggered and not second.triggered, "the later request took the free seller"
