"""A channel's send slots: permits within its adaptive limit, handed out in order; and,
against a real loopback receiver, a slow one sees fewer requests at once while a fast one
gets the channel's configured concurrency."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time

import pytest

from scheduler.delivery.prepare import Prepare
from scheduler.delivery.send import Send
from scheduler.delivery.slots import SendSlots
from scheduler.delivery.stage import MultiStage
from scheduler.delivery.turns import Turns
from scheduler.delivery.values import Batch, ChannelRuntime
from scheduler.model import Channel, ChannelType, Secret
from scheduler.notify import make_notifier
from scheduler.notify.clients import ChannelClients
from tests.support.clock import FakeClock
from tests.support.receiver import Received, Response, running_receiver
from tests.support.rows import claimed


async def test_permits_stay_within_the_limit_and_go_in_the_order_asked() -> None:
    slots = SendSlots(8, initial=2)
    first, second = await slots.acquire(), await slots.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        permit = await slots.acquire()
        order.append(n)
        permit.release()

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert slots.in_flight == 2 and order == []
    first.release()
    first.release()  # a second release gives nothing back twice
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]
    assert slots.in_flight == 1
    second.release()
    assert slots.in_flight == 0


async def test_a_cancelled_waiter_leaves_no_permit_behind() -> None:
    slots = SendSlots(1, initial=1)
    held = await slots.acquire()
    granted_then_cancelled = asyncio.create_task(slots.acquire())
    never_granted = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    held.release()  # the first waiter is granted the permit ...
    granted_then_cancelled.cancel()  # ... and cancelled before it runs: it passes it on
    with pytest.raises(asyncio.CancelledError):
        await granted_then_cancelled
    permit = await never_granted
    assert slots.in_flight == 1
    permit.release()
    assert slots.in_flight == 0


async def test_answers_feed_the_limit() -> None:
    slots = SendSlots(8, initial=2)
    a, b = await slots.acquire(), await slots.acquire()
    a.release(0.01)
    assert slots.limit.limit == 3  # answered with the limit in flight, nothing queued: grow
    b.release(0.01)
    assert slots.limit.limit == 3  # one out of three in flight says nothing of the receiver


class Answering:
    """A receiver's answer: ``delay`` seconds, one request at a time when ``serial``;
    keeps how many requests were inside it when each arrived."""

    def __init__(self, delay: float, *, serial: bool) -> None:
        self.delay = delay
        self.serial = serial
        self.inside = 0
        self.seen: list[int] = []
        self._count = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def __call__(self, request: Received) -> Response:
        with self._count:
            self.inside += 1
            self.seen.append(self.inside)
        try:
            if self.serial:
                with self._one_at_a_time:
                    time.sleep(self.delay)
            else:
                time.sleep(self.delay)
        finally:
            with self._count:
                self.inside -= 1
        return Response(200)


async def drain(answering: Answering, count: int, *, concurrency: int, initial: int) -> None:
    """``count`` webhook deliveries due at once on one channel, through the real stages."""
    with running_receiver(answering) as receiver:
        async with ChannelClients(connections=concurrency, headers={}) as clients:
            channel = Channel(name="hook", type=ChannelType.WEBHOOK, url=Secret(receiver.url))
            runtime = ChannelRuntime(
                channel,
                make_notifier(channel, clients.for_channel("hook")),
                bucket=None,
                slots=SendSlots(concurrency, initial=initial),
            )
            clock = FakeClock()
            turns = Turns(MultiStage([Prepare(clock=clock), Send(clock=clock)]))
            rows = [claimed(f"m{i}") for i in range(count)]
            sent = await asyncio.gather(*(turns(Batch("hook", runtime, (r,))) for r in rows))
            assert all(b.sent is not None and b.sent.outcome.ok for (b,) in sent)
            assert runtime.slots.in_flight == 0


async def test_a_receiver_answering_one_at_a_time_sees_fewer_requests_at_once() -> None:
    # 25 ms an answer: the least round trip it learns stays within a few answers of the
    # truth even when a busy test machine delays one by 100 ms.
    answering = Answering(0.025, serial=True)
    await drain(answering, 200, concurrency=32, initial=32)
    assert max(answering.seen[:40]) >= 24  # the burst starts at the configured concurrency
    assert max(answering.seen[-100:]) <= 12  # and settles where few wait at the receiver


async def test_a_receiver_answering_in_parallel_gets_the_configured_concurrency() -> None:
    # A second per answer: long beside the jitter a shared test machine adds to it.
    answering = Answering(1.0, serial=False)
    await drain(answering, 120, concurrency=16, initial=4)
    assert answering.seen[:4] == [1, 2, 3, 4]  # it starts at its initial limit
    assert max(answering.seen) == 16
    assert statistics.median(answering.seen[40:100]) >= 12  # and stays near the top
