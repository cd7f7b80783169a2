"""Stage ``turns``: a group goes out one request at a time, each paced and rendered at
its own send moment; a turn that ends nothing ends the group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scheduler.delivery.prepare import Prepare
from scheduler.delivery.stage import MultiStage
from scheduler.delivery.turns import Turns
from scheduler.delivery.values import Batch
from scheduler.model import ChannelType
from tests.delivery.helpers import FakeNotifier, Harness, runtime
from tests.support.rows import claimed


class Tick:
    """A pace stand-in: each turn takes a second; ``stop_after`` turns then ends nothing."""

    def __init__(self, h: Harness, stop_after: int = 99) -> None:
        self.h = h
        self.turns = 0
        self.stop_after = stop_after

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        self.turns += 1
        if self.turns > self.stop_after:
            return []
        self.h.clock.advance(1)
        return [batch]


class Sent:
    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        assert batch.request is not None
        self.requests.append([a.delivery_id for a in batch.request.alerts])
        return [replace(batch)]


async def test_every_request_gets_its_own_turn_and_moment() -> None:
    h = Harness()
    rt = runtime(ChannelType.SLACK, per_request=2)
    rows = tuple(claimed(f"m{i}") for i in range(5))
    tick, sent = Tick(h), Sent()
    turns = Turns(MultiStage([tick, Prepare(clock=h.clock), sent]))
    start = h.clock()
    done = await turns(Batch("hook", rt, rows))
    ids = [r.id for r in rows]
    assert sent.requests == [ids[0:2], ids[2:4], ids[4:5]]
    assert tick.turns == 3
    notifier = rt.notifier
    assert isinstance(notifier, FakeNotifier)
    # Each turn renders what is still pending, stamped with that turn's moment.
    assert [[a.delivery_id for a in p] for p in notifier.prepared] == [ids, ids[2:], ids[4:]]
    stamps = [(p[0].sent_at - start).total_seconds() for p in notifier.prepared]
    assert stamps == [1.0, 2.0, 3.0]
    assert [r.id for b in done for r in b.rows] == ids


async def test_a_turn_that_ends_nothing_ends_the_group() -> None:
    h = Harness()
    rt = runtime(ChannelType.SLACK, per_request=1)
    rows = tuple(claimed(f"m{i}") for i in range(3))
    tick, sent = Tick(h, stop_after=1), Sent()
    done = await Turns(MultiStage([tick, Prepare(clock=h.clock), sent]))(Batch("hook", rt, rows))
    assert sent.requests == [[rows[0].id]]
    assert tick.turns == 2
    assert [r.id for b in done for r in b.rows] == [rows[0].id]
