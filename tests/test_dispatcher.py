"""The dispatcher on a real store: claims, hands rows to the pipeline per channel, and
acts on what the pipeline reports (a retry re-arms the timer, a reminder reaching its
moment supersedes earlier ones still failing on its channel)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.db.marks import Mark
from scheduler.db.rows import AttemptRecord
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DeliveryPolicy
from scheduler.delivery.values import ChannelRuntime, Verdict
from scheduler.dispatcher import Dispatcher
from scheduler.fencing import Hold
from scheduler.metrics import Metrics
from scheduler.model import DeliveryStatus
from scheduler.notify.pacing import TokenBucket
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.delivery.helpers import FAIL, OK, FakeNotifier, channel, direct
from tests.support.deliveries import planned

POLICY = DeliveryPolicy(lease=timedelta(seconds=30), lookahead=timedelta(seconds=1))


class FakeScheduler:
    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []

    def add_job(self, fn: Any, trigger: str, **kw: Any) -> None:
        self.jobs.append({"trigger": trigger, "fn": fn, **kw})


def wire(store: Store, *notifiers: FakeNotifier) -> tuple[Dispatcher, FakeScheduler]:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    pipeline = Pipeline(store=store, db=direct, metrics=Metrics(), worker="w", clock=clock)
    pipeline.set_channels(
        {
            n.channel.name: ChannelRuntime(n.channel, n, TokenBucket(1e6, 10**6, time.monotonic))
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
    scheduler = FakeScheduler()
    d.scheduler = scheduler  # type: ignore[assignment]
    return d, scheduler


def insert(store: Store, *items: Any) -> None:
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in items]),
        now=datetime.now(UTC),
    )


async def settle(d: Dispatcher) -> None:
    """Wait for the delivery tasks and the background ones they started."""
    while d._inflight or d._tasks:
        await asyncio.wait([*d._inflight, *d._tasks])
        await asyncio.sleep(0)  # let the tasks' done callbacks run
    await d.pipeline.close()


async def test_due_rows_go_to_their_own_channel_and_the_timer_is_rearmed(store: Store) -> None:
    now = datetime.now(UTC)
    a, b = FakeNotifier(channel(name="a")), FakeNotifier(channel(name="b"))
    d, scheduler = wire(store, a, b)
    pa, pb = planned("x", at=now, channel="a"), planned("y", at=now, channel="b")
    later = planned("z", at=now + timedelta(hours=1), channel="a")
    insert(store, pa, pb, later)
    await d.dispatch()
    await settle(d)
    assert a.sent == [[pa.id]] and b.sent == [[pb.id]]
    assert {store.get_delivery(p.id).status for p in (pa, pb)} == {DeliveryStatus.SENT}
    (job,) = scheduler.jobs
    assert job["id"] == "wake"
    # Armed while the claims were in flight: at their lease's end, the takeover moment.
    assert now + POLICY.lease <= job["run_date"] <= datetime.now(UTC) + POLICY.lease
    await d.arm()
    # Recorded since: the next thing due is the later reminder, claimed a lookahead early.
    assert scheduler.jobs[-1]["run_date"] == later.due_at - POLICY.lookahead


async def test_the_wake_timer_and_a_claim_are_signs_of_work_and_an_empty_sweep_is_not(
    store: Store,
) -> None:
    d, scheduler = wire(store, FakeNotifier(channel(name="a")))
    told: list[str] = []
    d.on_work = lambda: told.append("work")
    await d.dispatch()  # a sweep that finds nothing due
    assert told == []
    p = planned("x", at=datetime.now(UTC) + timedelta(minutes=5), channel="a")
    insert(store, p)
    await d.arm()
    (job,) = scheduler.jobs
    await job["fn"]()  # the wake timer fires
    assert told == ["work"]
    insert(store, planned("y", at=datetime.now(UTC), channel="a"))
    await d.dispatch()  # claims the due one
    await settle(d)
    assert told == ["work", "work"]


async def test_a_recorded_retry_rearms_the_timer(store: Store) -> None:
    failing = FakeNotifier(channel(name="a"), FAIL)
    d, scheduler = wire(store, failing)
    p = planned("x", at=datetime.now(UTC), channel="a")
    insert(store, p)
    await d.dispatch()
    await settle(d)
    row = store.get_delivery(p.id)
    assert row.status is DeliveryStatus.RETRYING
    assert scheduler.jobs[-1]["run_date"] == row.next_attempt_at


async def test_a_reminder_reaching_its_moment_supersedes_an_earlier_one_still_failing(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    ok = FakeNotifier(channel(name="a"), OK)
    d, _ = wire(store, ok)
    early = planned("m", at=now + timedelta(days=1), offset="1d", channel="a")
    late = planned("m", at=now + timedelta(days=1), offset="23h59m59s", channel="a")
    insert(store, early, late)
    (claimed,) = store.claim_due(now=now, worker="w", lease=POLICY.lease, limit=1)
    attempt = AttemptRecord(attempt=1, started_at=now, reason="server_error")
    store.record(
        [
            Mark(
                "retry",
                claimed.id,
                "w",
                now,
                attempt=attempt,
                next_attempt_at=now + timedelta(1),
                generation=claimed.attempts,
            )
        ]
    )
    future = datetime.now(UTC) + timedelta(seconds=2)
    rows = store.claim_due(now=future, worker="w", lease=POLICY.lease, limit=5)
    assert [r.id for r in rows] == [late.id]
    d.clock = lambda: future
    await d.pipeline.deliver("a", rows)
    await settle(d)
    gone = store.get_delivery(early.id)
    assert (gone.status, gone.reason) == (DeliveryStatus.DEAD, "superseded")
    assert store.get_delivery(late.id).status is DeliveryStatus.SENT


def test_the_plan_reaches_the_pipeline_verdict(store: Store) -> None:
    d, _ = wire(store)
    t = datetime(2030, 1, 1, tzinfo=UTC)
    a = planned("a", at=t)
    d.set_plan({a.id: a.due_at + timedelta(hours=1)})
    insert(store, a)
    assert d.pipeline.plan.verdict(store.get_delivery(a.id)) is Verdict.RELEASE


async def test_a_lease_renewal_keeps_claims_still_held_and_marks_only_the_lost(
    store: Store,
) -> None:
    """The renewal's answer is (id, generation) pairs: a claim still held stays sendable,
    and only one recorded meanwhile (no longer ``sending``) is marked lost."""
    now = datetime.now(UTC)
    d, _ = wire(store, FakeNotifier(channel(name="a")))
    d.claims.lease = 30.0
    insert(store, planned("x", at=now, channel="a"), planned("y", at=now, channel="a"))
    rows = store.claim_due(now=now, worker="w", lease=POLICY.lease, limit=10)
    assert len(rows) == 2
    kept, gone = rows
    d.claims.taken(rows, epoch=0, since=time.monotonic())
    parked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    d._inflight[parked] = list(rows)  # type: ignore[index]
    store.record([Mark("sent", gone.id, "w", now, generation=gone.attempts)])
    await d.renew_leases()
    assert d.claims.check(kept) is Hold.HELD
    assert d.claims.check(gone) is Hold.TAKEN_OVER
    parked.cancel()
