"""The whole delivery pipeline on a real store, with a notifier that records what it is asked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.events import DeliveryEvent, Reached
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import MAX_PAUSE
from scheduler.delivery.values import ChannelRuntime, Verdict
from scheduler.metrics import Metrics
from scheduler.model import ChannelType, DeliveryStatus, Outcome, Reason
from scheduler.notify.pacing import TokenBucket
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.delivery.helpers import OK, FakeNotifier, channel, direct
from tests.support.deliveries import planned

LEASE = timedelta(seconds=30)


class Fixed:
    """A verdict check that answers what it is set to."""

    def __init__(self, verdict: Verdict = Verdict.SEND) -> None:
        self.answer = verdict

    def verdict(self, row: DeliveryRow) -> Verdict:
        return self.answer


def _setup(store: Store, outcome: Outcome, due_in: float, check: Fixed | None = None) -> Any:
    now = datetime.now(UTC)
    p = planned("m", at=now + timedelta(seconds=due_in), channel="hook")
    store.apply(ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False)]), now=now)
    ch = channel()
    notifier = FakeNotifier(ch, outcome)
    bucket = TokenBucket(1e6, 1_000_000, time.monotonic)
    pipeline = Pipeline(
        store=store,
        db=direct,
        metrics=Metrics(),
        worker="w",
        clock=lambda: datetime.now(UTC),
        checks=[check or Fixed()],
    )
    pipeline.set_channels({"hook": ChannelRuntime(ch, notifier, bucket)})
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5, ahead=timedelta(seconds=5))
    return p, pipeline, notifier, bucket, rows


async def test_a_delivery_moved_while_claimed_ahead_is_given_back(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.2, Fixed(Verdict.RELEASE))
    assert [r.id for r in rows] == [p.id]
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert row.status is DeliveryStatus.SCHEDULED
    assert row.attempts == 0  # the claim is undone, not counted as an attempt
    assert row.next_attempt_at == row.due_at


async def test_a_delivery_dropped_while_claimed_ahead_is_cancelled(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.2, Fixed(Verdict.CANCEL))
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == []
    assert store.get_delivery(p.id).status is DeliveryStatus.CANCELLED


async def test_first_attempt_waits_for_its_moment_then_is_sent(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.3)
    started = datetime.now(UTC)
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == [[p.id]]
    assert datetime.now(UTC) >= p.due_at > started
    assert store.get_delivery(p.id).status is DeliveryStatus.SENT


async def test_a_huge_retry_after_pauses_the_channel_only_so_long(store: Store) -> None:
    limited = Outcome(
        ok=False, retryable=True, reason=Reason.RATE_LIMITED, status_code=429, retry_after=1e5
    )
    p, pipeline, _, bucket, rows = _setup(store, limited, 0.0)
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert 0 < bucket.paused_for() <= MAX_PAUSE.total_seconds()
    assert store.get_delivery(p.id).status is DeliveryStatus.RETRYING


async def test_a_channel_not_installed_ends_its_rows_dead(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.0)
    await pipeline.deliver("elsewhere", rows)
    await pipeline.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert (row.status, row.reason) == (DeliveryStatus.DEAD, "channel_removed")


async def test_reached_is_reported_after_a_send_not_after_a_cancel(store: Store) -> None:
    seen: list[list[str]] = []

    async def on_event(event: DeliveryEvent) -> None:
        if isinstance(event, Reached):
            seen.append([r.id for r in event.rows])

    check = Fixed(Verdict.CANCEL)
    _, pipeline, _, _, rows = _setup(store, OK, 0.1, check)
    pipeline.subscribe(on_event)
    await pipeline.deliver("hook", rows)
    assert seen == []  # cancelled: nothing fell due, nothing is superseded
    q = planned("n", at=datetime.now(UTC) + timedelta(milliseconds=100), channel="hook")
    store.apply(
        ReconcileActions(insert=[(q, DeliveryStatus.SCHEDULED, False)]), now=datetime.now(UTC)
    )
    claimed = store.claim_due(
        now=datetime.now(UTC), worker="w", lease=LEASE, limit=5, ahead=timedelta(seconds=5)
    )
    check.answer = Verdict.SEND
    await pipeline.deliver("hook", claimed)
    await pipeline.close()
    assert seen == [[q.id]]


class Noting(FakeNotifier):
    """A chat-like notifier whose messages hold one alert; it notes each prepare call."""

    def __init__(self, ch: Any) -> None:
        super().__init__(ch, OK)
        self.moments: list[tuple[list[str], datetime]] = []

    def prepare(self, alerts: Any) -> Any:
        self.moments.append(([a.delivery_id for a in alerts], alerts[0].sent_at))
        return super().prepare(alerts)


async def test_each_request_is_prepared_after_its_pacing_with_that_moment(store: Store) -> None:
    now = datetime.now(UTC)
    a, b = (planned(m, at=now, channel="chat") for m in ("a", "b"))
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in (a, b)]), now=now
    )
    ch = channel(ChannelType.SLACK, name="chat")
    notifier = Noting(ch)
    pipeline = Pipeline(
        store=store, db=direct, metrics=Metrics(), worker="w", clock=lambda: datetime.now(UTC)
    )
    bucket = TokenBucket(10.0, 1, time.monotonic)  # the second request waits 0.1 s
    pipeline.set_channels({"chat": ChannelRuntime(ch, notifier, bucket)})
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5, ahead=timedelta(0))
    await pipeline.deliver("chat", rows)
    await pipeline.close()
    first, second = notifier.moments
    assert sorted(first[0]) == sorted([a.id, b.id]) and second[0] == [notifier.sent[1][0]]
    assert second[1] - first[1] >= timedelta(seconds=0.09)  # rendered at its own send time
    assert sorted(i for sent in notifier.sent for i in sent) == sorted([a.id, b.id])
