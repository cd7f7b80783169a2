"""Stage ``held``: a claim the worker can no longer vouch for is not sent; it is given
back under its own guard (which is a no-op when another worker took it over)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from scheduler.db.tables import DELIVERIES
from scheduler.delivery.claims import Claims
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.values import ChannelRuntime
from scheduler.fencing import Session
from scheduler.metrics import Metrics
from scheduler.model import DeliveryStatus
from scheduler.notify.pacing import TokenBucket
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.delivery.helpers import OK, FakeNotifier, channel, direct
from tests.support.deliveries import planned

LEASE = timedelta(seconds=30)


def _pipeline(store: Store, session: list[Session]) -> tuple[Pipeline, FakeNotifier, Claims]:
    ch = channel()
    notifier = FakeNotifier(ch, OK)
    claims = Claims(session=lambda: session[0], lease=LEASE.total_seconds())
    pipeline = Pipeline(
        store=store,
        db=direct,
        metrics=Metrics(),
        worker="w",
        clock=lambda: datetime.now(UTC),
        claims=claims,
    )
    bucket = TokenBucket(1e6, 1_000_000, time.monotonic)
    pipeline.set_channels({"hook": ChannelRuntime(ch, notifier, bucket)})
    return pipeline, notifier, claims


async def test_a_claim_from_a_lost_session_is_not_sent_and_given_back(store: Store) -> None:
    now = datetime.now(UTC)
    p = planned("m", at=now, channel="hook")
    store.apply(ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False)]), now=now)
    session = [Session(epoch=1, confirmed_until=time.monotonic() + 60)]
    pipeline, notifier, claims = _pipeline(store, session)
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5)
    claims.taken(rows, epoch=1, since=time.monotonic())
    session[0] = Session(epoch=2, confirmed_until=time.monotonic() + 60)  # lost, back
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert row is not None
    assert (row.status, row.attempts, row.claimed_by) == (DeliveryStatus.SCHEDULED, 0, None)


async def test_a_claim_taken_over_meanwhile_is_neither_sent_nor_touched(store: Store) -> None:
    now = datetime.now(UTC)
    p = planned("m", at=now, channel="hook")
    store.apply(ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False)]), now=now)
    session = [Session(epoch=1, confirmed_until=time.monotonic() + 60)]
    pipeline, notifier, claims = _pipeline(store, session)
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5)
    claims.taken(rows, epoch=1, since=time.monotonic())
    store.release_claims(worker="w")  # another replica took it over, and claimed it
    assert len(store.claim_due(now=now, worker="other", lease=LEASE, limit=5)) == 1
    session[0] = Session(epoch=None, confirmed_until=0.0)
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == []
    row = store.get_delivery(p.id)
    assert row is not None
    assert (row.status, row.claimed_by, row.attempts) == (DeliveryStatus.SENDING, "other", 2)


async def test_a_claim_past_its_local_lease_is_confirmed_then_sent(store: Store) -> None:
    """Renewals came late (a busy machine): one guarded renewal confirms the claims of
    the turn; the one still ours goes out, the one taken over meanwhile does not."""
    now = datetime.now(UTC)
    ours, theirs = planned("m1", at=now, channel="hook"), planned("m2", at=now, channel="hook")
    actions = [(p, DeliveryStatus.SCHEDULED, False) for p in (ours, theirs)]
    store.apply(ReconcileActions(insert=actions), now=now)
    session = [Session(epoch=1, confirmed_until=time.monotonic() + 60)]
    pipeline, notifier, claims = _pipeline(store, session)
    rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=5)
    claims.taken(rows, epoch=1, since=time.monotonic() - LEASE.total_seconds())  # long ago
    with store.engine.begin() as conn:  # the other one was taken over and claimed again
        conn.execute(
            DELIVERIES.update()
            .where(DELIVERIES.c.id == theirs.id)
            .values(claimed_by="other", attempts=2)
        )
    await pipeline.deliver("hook", rows)
    await pipeline.close()
    assert notifier.sent == [[ours.id]]
    sent, taken = store.get_delivery(ours.id), store.get_delivery(theirs.id)
    assert sent is not None and sent.status is DeliveryStatus.SENT
    assert taken is not None and (taken.status, taken.claimed_by) == (
        DeliveryStatus.SENDING,
        "other",
    )
