"""The ``acknowledged`` verdict: a delivery held in memory is stopped at its moment once
its occurrence is acknowledged anywhere; the poll behind it is shared; links on alerts."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.delivery.acked import AckMemory
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.values import ChannelRuntime
from scheduler.delivery.waves import STEP
from scheduler.metrics import Metrics
from scheduler.model import DeliveryStatus, Reminder
from scheduler.notify.pacing import TokenBucket
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.delivery.helpers import FAIL, OK, FakeNotifier, channel, direct
from tests.support.deliveries import planned

LEASE = timedelta(seconds=30)


def _pipeline(store: Store, notifier: FakeNotifier, **kw: Any) -> Pipeline:
    pipeline = Pipeline(
        store=store,
        db=direct,
        metrics=Metrics(),
        worker="w",
        clock=lambda: datetime.now(UTC),
        **kw,
    )
    bucket = TokenBucket(1e6, 1_000_000, time.monotonic)
    pipeline.set_channels({"hook": ChannelRuntime(notifier.channel, notifier, bucket)})

    async def poll() -> None:  # what the daemon's hook does: read the store, install
        pipeline.acks.install(store.acknowledgements())

    pipeline.acks.poll = poll
    return pipeline


def _claimed(store: Store, due_in: float) -> tuple[Any, list[Any]]:
    now = datetime.now(UTC)
    p = planned("m", at=now + timedelta(seconds=due_in), channel="hook")
    store.apply(ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False)]), now=now)
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5, ahead=timedelta(seconds=5))
    assert [r.id for r in rows] == [p.id]
    return p, rows


def _ack(store: Store, occurrence: datetime) -> None:
    ack = Acknowledgement("m", occurrence, "Ann", "", AckSource.CLI, datetime.now(UTC))
    change = store.acknowledge(ack, webhook_channels=["hook"])
    assert change.changed and change.cancelled == []  # held in memory: not the store's


async def test_acknowledged_while_claimed_ahead_it_is_cancelled_at_its_moment(
    store: Store,
) -> None:
    notifier = FakeNotifier(channel(), OK)
    pipeline = _pipeline(store, notifier)
    p, rows = _claimed(store, 0.3)
    # The pipeline read the acknowledgements before this one existed: the read at the
    # moment is what catches it.
    await pipeline.acks.ensure_fresh()
    _ack(store, p.occurrence_at)
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert row is not None
    assert (row.status, row.reason, row.attempts) == (DeliveryStatus.CANCELLED, "acknowledged", 0)


async def test_a_retry_of_an_acknowledged_occurrence_stops_too(store: Store) -> None:
    notifier = FakeNotifier(channel(), FAIL)
    pipeline = _pipeline(store, notifier, rand=lambda: 0.0)
    p, rows = _claimed(store, 0.0)
    await pipeline.deliver("hook", rows)  # fails: retrying
    retrying = store.get_delivery(p.id)
    assert retrying is not None and retrying.status is DeliveryStatus.RETRYING
    later = (retrying.next_attempt_at or datetime.now(UTC)) + timedelta(seconds=1)
    again = store.claim_due(now=later, worker="w", lease=LEASE, limit=5)
    assert [r.attempts for r in again] == [2]
    _ack(store, p.occurrence_at)
    await pipeline.deliver("hook", again)
    await pipeline.close()
    assert len(notifier.sent) == 1  # only the first, failed attempt
    row = store.get_delivery(p.id)
    assert row is not None and (row.status, row.reason) == (
        DeliveryStatus.CANCELLED,
        "acknowledged",
    )


async def test_an_unacknowledged_delivery_carries_the_link(store: Store) -> None:
    notifier = FakeNotifier(channel(), OK)
    seen: list[Reminder] = []

    def link(reminder: Reminder) -> str:
        seen.append(reminder)
        return f"https://t.example/ack/{reminder.milestone.id}"

    pipeline = _pipeline(store, notifier, ack_url=link)
    p, rows = _claimed(store, 0.05)
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    ((alert,),) = notifier.prepared
    assert alert.ack_url == "https://t.example/ack/m"
    assert seen[0].occurrence == p.occurrence_at
    assert store.get_delivery(p.id).status is DeliveryStatus.SENT  # type: ignore[union-attr]


async def test_the_poll_is_shared_by_everyone_waiting_and_never_stale() -> None:
    memory = AckMemory()
    started: list[float] = []
    gate = asyncio.Event()

    async def poll() -> None:
        started.append(time.monotonic())
        await gate.wait()

    memory.poll = poll
    waiters = [asyncio.create_task(memory.ensure_fresh()) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert len(started) == 1  # one read for fifty batches due together
    late = asyncio.create_task(memory.ensure_fresh())  # asked after that read began
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(*waiters, late)
    assert len(started) == 2  # the late one got a read that began after it asked
    assert started[1] > started[0]


async def test_a_failing_poll_does_not_hold_deliveries() -> None:
    memory = AckMemory()

    async def poll() -> None:
        raise RuntimeError("database away")

    memory.poll = poll
    await asyncio.wait_for(memory.ensure_fresh(), 1)


async def test_a_burst_waiting_for_one_read_goes_on_a_few_at_a_time() -> None:
    memory = AckMemory()
    reads: list[float] = []

    async def poll() -> None:
        reads.append(time.monotonic())

    memory.poll = poll
    count = 4 * STEP
    went_on: list[int] = []
    seen: list[int] = []  # how many had gone on each time the other channel ran

    async def branch(i: int) -> None:
        await memory.ensure_fresh()
        went_on.append(i)

    async def other_channel() -> None:
        while len(went_on) < count:
            seen.append(len(went_on))
            await asyncio.sleep(0)

    await asyncio.gather(other_channel(), *(branch(i) for i in range(count)))
    assert sorted(went_on) == list(range(count))
    # It ran between them, never behind more than one step of them.
    assert max(b - a for a, b in itertools.pairwise([*seen, count])) <= STEP
    assert len(reads) <= 2  # still one read for all who asked before it began, and one more
