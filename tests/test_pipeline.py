"""The delivery pipeline on a real store, with a notifier that records what it is asked."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.dispatcher import Dispatcher
from scheduler.metrics import Metrics
from scheduler.model import Alert, Channel, ChannelType, DeliveryStatus, Outcome, Reason, Secret
from scheduler.notify.base import Request
from scheduler.notify.pacing import TokenBucket
from scheduler.pipeline import MAX_PAUSE, ChannelRuntime, Pipeline
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.support.deliveries import planned

LEASE = timedelta(seconds=30)


class FakeNotifier:
    def __init__(self, channel: Channel, outcome: Outcome) -> None:
        self.channel = channel
        self.outcome = outcome
        self.sent: list[list[str]] = []

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        return [Request((a,), b"{}", {}) for a in alerts]

    async def send(self, request: Request) -> Outcome:
        self.sent.append([a.delivery_id for a in request.alerts])
        return self.outcome


async def _db(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def _setup(store: Store, outcome: Outcome, due_in: float, **kw: Any):
    now = datetime.now(UTC)
    p = planned("m", at=now + timedelta(seconds=due_in), channel="hook")
    store.apply(ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False)]), now=now)
    channel = Channel(name="hook", type=ChannelType.WEBHOOK, url=Secret("http://127.0.0.1:9/x"))
    notifier = FakeNotifier(channel, outcome)
    bucket = TokenBucket(1e6, 1_000_000, time.monotonic)
    pipeline = Pipeline(
        store=store, db=_db, metrics=Metrics(), worker="w", clock=lambda: datetime.now(UTC), **kw
    )
    pipeline.set_channels({"hook": ChannelRuntime(channel, notifier, bucket)})  # type: ignore[arg-type]
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5, ahead=timedelta(seconds=5))
    return p, pipeline, notifier, bucket, rows


OK = Outcome(ok=True, retryable=False, reason=Reason.OK, status_code=200)


async def test_a_delivery_moved_while_claimed_ahead_is_given_back(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.2, check=lambda row: "release")
    assert [r.id for r in rows] == [p.id]
    await pipeline.deliver("hook", rows)
    await pipeline.recorder.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert row.status is DeliveryStatus.SCHEDULED
    assert row.attempts == 0  # the claim is undone, not counted as an attempt
    assert row.next_attempt_at == row.due_at


async def test_a_delivery_dropped_while_claimed_ahead_is_cancelled(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.2, check=lambda row: "cancel")
    await pipeline.deliver("hook", rows)
    await pipeline.recorder.close()
    assert notifier.sent == []
    assert store.get_delivery(p.id).status is DeliveryStatus.CANCELLED


async def test_first_attempt_waits_for_its_moment_then_is_sent(store: Store) -> None:
    p, pipeline, notifier, _, rows = _setup(store, OK, 0.3)
    started = datetime.now(UTC)
    await pipeline.deliver("hook", rows)
    await pipeline.recorder.close()
    assert notifier.sent == [[p.id]]
    assert datetime.now(UTC) >= p.due_at > started
    assert store.get_delivery(p.id).status is DeliveryStatus.SENT


async def test_a_huge_retry_after_pauses_the_channel_only_so_long(store: Store) -> None:
    limited = Outcome(
        ok=False, retryable=True, reason=Reason.RATE_LIMITED, status_code=429, retry_after=1e5
    )
    p, pipeline, _, bucket, rows = _setup(store, limited, 0.0)
    await pipeline.deliver("hook", rows)
    await pipeline.recorder.close()
    assert 0 < bucket.paused_for() <= MAX_PAUSE.total_seconds()
    assert store.get_delivery(p.id).status is DeliveryStatus.RETRYING


def test_dispatcher_checks_against_its_own_plan(store: Store) -> None:
    d = Dispatcher(store=store, db=_db, metrics=Metrics(), worker="w", clock=lambda: None)  # type: ignore[arg-type]
    t = datetime(2030, 1, 1, tzinfo=UTC)
    a, b, c = planned("a", at=t), planned("b", at=t), planned("c", at=t)
    rows = {x.id: x for x in store_rows(store, [a, b, c])}
    d.set_plan({a.id: a.due_at, b.id: b.due_at})
    d.set_plan({a.id: a.due_at + timedelta(hours=1)})  # b dropped by a reload, a moved
    assert d.check(rows[a.id]) == "release"
    assert d.check(rows[b.id]) == "cancel"
    assert d.check(rows[c.id]) is None  # never planned here: another replica's; send it
    d.set_plan({a.id: a.due_at, b.id: b.due_at})  # b comes back
    assert d.check(rows[b.id]) is None
    assert d.check(rows[a.id]) is None


def store_rows(store: Store, items: list[Any]) -> list[Any]:
    now = datetime(2029, 1, 1, tzinfo=UTC)
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in items]), now=now
    )
    return [store.get_delivery(p.id) for p in items]


async def test_supersede_hook_runs_after_a_send_not_after_a_cancel(store: Store) -> None:
    seen: list[list[str]] = []

    async def on_due(rows: list[Any]) -> None:
        seen.append([r.id for r in rows])

    _, pipeline, _, _, rows = _setup(store, OK, 0.1, on_due=on_due, check=lambda row: "cancel")
    await pipeline.deliver("hook", rows)
    assert seen == []  # cancelled: nothing fell due, nothing is superseded
    q = planned("n", at=datetime.now(UTC) + timedelta(milliseconds=100), channel="hook")
    store.apply(
        ReconcileActions(insert=[(q, DeliveryStatus.SCHEDULED, False)]), now=datetime.now(UTC)
    )
    claimed = store.claim_due(
        now=datetime.now(UTC), worker="w", lease=LEASE, limit=5, ahead=timedelta(seconds=5)
    )
    pipeline._check = lambda row: None  # type: ignore[method-assign]
    await pipeline.deliver("hook", claimed)
    await pipeline.recorder.close()
    assert seen == [[q.id]]


class OnePerMessage(FakeNotifier):
    """A chat-like notifier whose messages hold one alert; it notes each prepare call."""

    def __init__(self, channel: Channel, outcome: Outcome) -> None:
        super().__init__(channel, outcome)
        self.prepared: list[tuple[list[str], datetime]] = []

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        self.prepared.append(([a.delivery_id for a in alerts], alerts[0].sent_at))
        return super().prepare(alerts)


async def test_each_request_is_prepared_after_its_pacing_with_that_moment(store: Store) -> None:
    now = datetime.now(UTC)
    a, b = (planned(m, at=now, channel="chat") for m in ("a", "b"))
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in (a, b)]), now=now
    )
    channel = Channel(name="chat", type=ChannelType.SLACK, url=Secret("http://127.0.0.1:9/x"))
    notifier = OnePerMessage(channel, OK)
    pipeline = Pipeline(
        store=store, db=_db, metrics=Metrics(), worker="w", clock=lambda: datetime.now(UTC)
    )
    bucket = TokenBucket(10.0, 1, time.monotonic)  # the second request waits 0.1 s
    pipeline.set_channels({"chat": ChannelRuntime(channel, notifier, bucket)})  # type: ignore[arg-type]
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5, ahead=timedelta(0))
    await pipeline.deliver("chat", rows)
    await pipeline.recorder.close()
    first, second = notifier.prepared
    assert sorted(first[0]) == sorted([a.id, b.id]) and second[0] == [notifier.sent[1][0]]
    assert second[1] - first[1] >= timedelta(seconds=0.09)  # rendered at its own send time
    assert sorted(i for sent in notifier.sent for i in sent) == sorted([a.id, b.id])
