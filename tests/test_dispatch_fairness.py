"""Channels do not wait for each other: while one channel's burst is pending (claimed,
its requests unanswered), another channel's due reminder is claimed and sent; and a
channel holds at most its backlog of claims in memory, the rest claimed as room frees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from scheduler.delivery.limit import INITIAL_LIMIT
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DeliveryPolicy
from scheduler.delivery.values import ChannelRuntime
from scheduler.dispatcher import Dispatcher
from scheduler.metrics import Metrics
from scheduler.model import DeliveryStatus, Outcome
from scheduler.notify.base import Request
from scheduler.notify.pacing import TokenBucket
from scheduler.store import Store
from tests.delivery.helpers import OK, FakeNotifier, channel, direct
from tests.support.deliveries import planned
from tests.test_dispatcher import FakeScheduler, insert

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(
    lease=timedelta(seconds=30), lookahead=timedelta(seconds=1), claim_batch=5, backlog=10
)
BURST = 40


class Held(FakeNotifier):
    """Answers nothing until ``answer`` is set: its requests stay in flight."""

    def __init__(self, name: str) -> None:
        super().__init__(channel(name=name))
        self.answer = asyncio.Event()

    async def send(self, request: Request) -> Outcome:
        self.sent.append([a.delivery_id for a in request.alerts])
        await self.answer.wait()
        return OK


def wire(store: Store, *notifiers: FakeNotifier) -> Dispatcher:
    clock = lambda: NOW  # noqa: E731 - the moment never moves: no waiting, no lease expiry
    pipeline = Pipeline(store=store, db=direct, metrics=Metrics(), worker="w", clock=clock)
    pipeline.set_channels(
        {
            n.channel.name: ChannelRuntime(n.channel, n, TokenBucket(1e6, 10**6, lambda: 0.0))
            for n in notifiers
        }
    )
    d = Dispatcher(
        store=store,
        db=direct,
        metrics=Metrics(),
        worker="w",
        clock=clock,
        pipeline=pipeline,
        policy=POLICY,
    )
    d.scheduler = FakeScheduler()  # type: ignore[assignment]
    return d


async def _until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_due_row_of_one_channel_is_sent_while_another_channels_burst_is_pending(
    store: Store,
) -> None:
    a, b = Held("a"), FakeNotifier(channel(name="b"))
    d = wire(store, a, b)
    # A's burst fell due a minute ago, so every claim ordered by due time meets it
    # first; B's one reminder is due now.
    burst = [planned(f"a{i:03d}", at=NOW - timedelta(minutes=1), channel="a") for i in range(BURST)]
    mine = planned("b", at=NOW, channel="b")
    insert(store, *burst, mine)

    running = asyncio.create_task(d.run())
    await d.kick()
    await _until(lambda: b.sent == [[mine.id]])
    # A's requests are all unanswered; A holds no more than its backlog (and one claim),
    # and has only its in-flight limit's worth out: the rest wait for their turn.
    assert d.held["a"] <= POLICY.backlog + POLICY.claim_batch
    assert len(a.sent) == min(d.held["a"], INITIAL_LIMIT)
    statuses = [store.get_delivery(p.id).status for p in burst]
    assert statuses.count(DeliveryStatus.SCHEDULED) >= BURST - d.held["a"]
    await _until(lambda: store.get_delivery(mine.id).status is DeliveryStatus.SENT)

    # Once A's receiver answers, room frees and the rest of the burst is claimed.
    a.answer.set()
    await _until(lambda: len(a.sent) == BURST)
    await _until(lambda: all(store.get_delivery(p.id).status is DeliveryStatus.SENT for p in burst))
    assert sorted(i for ids in a.sent for i in ids) == sorted(p.id for p in burst)
    d.stopping = True
    await d.kick()
    await running
    await d.pipeline.close()


async def test_a_steady_stream_is_claimed_twice_a_lookahead_not_once_a_reminder(
    store: Store,
) -> None:
    a = FakeNotifier(channel(name="a"))
    d = wire(store, a)
    soon = planned("soon", at=NOW + timedelta(seconds=1.2), channel="a")
    later = planned("later", at=NOW + timedelta(seconds=3), channel="a")
    insert(store, soon, later)
    await d.dispatch()  # claims nothing: both lie beyond the lookahead
    scheduler = d.scheduler
    assert isinstance(scheduler, FakeScheduler)
    # "soon" would be claimed at NOW + 0.2 s, but the last claim was at NOW: the next
    # one comes half a lookahead later and still takes "soon" 0.7 s ahead of its moment.
    assert scheduler.jobs[-1]["run_date"] == NOW + POLICY.lookahead / 2
    d._claimed_at = NOW - timedelta(seconds=5)  # long ago: the row's own time decides
    await d.arm()
    assert scheduler.jobs[-1]["run_date"] == soon.due_at - POLICY.lookahead
    await d.pipeline.close()
