"""Acknowledging in the store: one transaction that records the acknowledgement, cancels
the occurrence's unsent reminders and escalations and queues the webhook notices; an
unack that puts back what is not yet due; reconciliations that respect both. On SQLite
and on the real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.acknowledge import REASON, UNACK_REASON, Acknowledgement, AckSource
from scheduler.model import AlertKind, DeliveryStatus
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.support.deliveries import T0, planned
from tests.support.store import LEASE, attempt, insert, record_retry, record_sent

S = DeliveryStatus
W = "worker-1"
NEXT_WEEK = T0 + timedelta(days=7)


def _ack(at: datetime, *, by: str = "Ann", occurrence: datetime = T0) -> Acknowledgement:
    return Acknowledgement("m1", occurrence, by, "seen it", AckSource.API, at)


def _statuses(store: Store) -> dict[str, tuple[str, str | None]]:
    return {r.id: (r.status.value, r.reason) for r in store.history(limit=100)}


def _seed(store: Store) -> dict[str, str]:
    """m1 at T0: 3d (sent to hook and chat), 2d (retrying), 1d (claimed), 0 (scheduled);
    m1's next occurrence and another milestone, both scheduled."""
    rows = {
        "3d-hook": planned("m1", offset="3d", channel="hook"),
        "3d-chat": planned("m1", offset="3d", channel="chat"),
        "2d": planned("m1", offset="2d", channel="hook"),
        "1d": planned("m1", offset="1d", channel="hook"),
        "0": planned("m1", offset="0", channel="hook"),
        "0-chat": planned("m1", offset="0", channel="chat"),
        "next": planned("m1", at=NEXT_WEEK, offset="0", channel="hook"),
        "other": planned("m2", offset="0", channel="hook"),
    }
    insert(store, rows.values())
    sent = store.claim_due(now=T0 - timedelta(days=3), worker=W, lease=LEASE, limit=5)
    assert {r.id for r in sent} == {rows["3d-hook"].id, rows["3d-chat"].id}
    for row in sent:
        assert record_sent(store, row.id, worker=W, now=row.due_at, attempt=attempt())
    claimed = store.claim_due(now=T0 - timedelta(days=2), worker=W, lease=LEASE, limit=5)
    assert [r.id for r in claimed] == [rows["2d"].id]
    assert record_retry(
        store,
        rows["2d"].id,
        worker=W,
        now=T0 - timedelta(days=2),
        next_attempt_at=T0 - timedelta(hours=12),
        attempt=attempt(code=500),
    )
    # The 1d reminder, claimed a second ahead by a daemon (on its way, in memory).
    claimed = store.claim_due(
        now=T0 - timedelta(days=1, seconds=1),
        worker=W,
        lease=LEASE,
        limit=1,
        ahead=timedelta(seconds=1),
    )
    assert [r.id for r in claimed] == [rows["1d"].id]
    return {k: p.id for k, p in rows.items()}


def test_acknowledging_cancels_the_occurrences_unsent_deliveries_in_one_go(store: Store) -> None:
    ids = _seed(store)
    before = store.ack_version()
    now = T0 - timedelta(hours=20)
    change = store.acknowledge(_ack(now), webhook_channels=["hook"])
    assert change.changed
    assert [i for i, _c in change.cancelled] == sorted([ids["2d"], ids["0"], ids["0-chat"]])
    found = _statuses(store)
    for key in ("2d", "0", "0-chat"):
        assert found[ids[key]] == ("cancelled", REASON), key
    assert found[ids["1d"]] == ("sending", None)  # its claimer's verdict stops it
    assert found[ids["3d-hook"]][0] == found[ids["3d-chat"]][0] == "sent"
    assert found[ids["next"]] == ("scheduled", None)  # another occurrence
    assert found[ids["other"]] == ("scheduled", None)
    # One notice, to the webhook channel that was sent a reminder of it, due now.
    ((notice_id, channel),) = change.notices
    assert channel == "hook"
    notice = store.get_delivery(notice_id)
    assert notice is not None
    assert notice.status is S.SCHEDULED
    assert notice.due_at == notice.next_attempt_at == now
    assert notice.snapshot.kind is AlertKind.ACKNOWLEDGED
    assert notice.snapshot.extra["acknowledged"]["by"] == "Ann"
    assert store.ack_version() not in (None, before)
    (stored,) = store.acknowledgements()
    assert (stored.by, stored.note, stored.source, stored.at) == ("Ann", "seen it", "api", now)
    assert stored.occurrence == T0


def test_acknowledging_twice_changes_nothing_the_second_time(store: Store) -> None:
    _seed(store)
    store.acknowledge(_ack(T0 - timedelta(hours=20)), webhook_channels=["hook"])
    version = store.ack_version()
    before = _statuses(store)
    again = store.acknowledge(_ack(T0 - timedelta(hours=19), by="Bob"), webhook_channels=["hook"])
    assert not again.changed
    assert again.acknowledgement.by == "Ann"
    assert again.cancelled == again.notices == []
    assert _statuses(store) == before
    assert store.ack_version() == version


def test_unack_puts_back_what_is_not_yet_due_and_withdraws_the_unsent_notice(
    store: Store,
) -> None:
    ids = _seed(store)
    change = store.acknowledge(_ack(T0 - timedelta(hours=20)), webhook_channels=["hook"])
    ((notice_id, _c),) = change.notices
    # The 2d retry's next attempt was due before now; the 0 reminders are still ahead.
    now = T0 - timedelta(hours=10)
    taken = store.unacknowledge("m1", T0, by="Bob", now=now)
    assert taken is not None
    assert [i for i, _c in taken.restored] == sorted([ids["0"], ids["0-chat"]])
    found = _statuses(store)
    assert found[ids["0"]] == found[ids["0-chat"]] == ("scheduled", None)
    row = store.get_delivery(ids["0"])
    assert row is not None and row.next_attempt_at == T0 and row.attempts == 0
    assert found[ids["2d"]] == ("cancelled", REASON)  # fell due while acknowledged
    assert found[notice_id] == ("cancelled", UNACK_REASON)
    assert store.acknowledgements() == []
    kept = store.acknowledgement("m1", T0)
    assert kept is not None and not kept.active and kept.revoked_by == "Bob"
    assert store.unacknowledge("m1", T0, by="Bob", now=now) is None  # nothing to take back
    # Acknowledged again: the withdrawn notice is queued again (same id), once.
    again = store.acknowledge(_ack(now + timedelta(minutes=1), by="Cy"), webhook_channels=["hook"])
    assert again.changed and [i for i, _c in again.notices] == [notice_id]
    assert _statuses(store)[notice_id] == ("scheduled", None)
    requeued = store.get_delivery(notice_id)
    assert requeued is not None
    assert requeued.snapshot.extra["acknowledged"]["by"] == "Cy"  # the new one, not Ann's
    assert {i for i, _c in again.cancelled} == {ids["0"], ids["0-chat"]}


def test_a_sent_notice_is_never_sent_again(store: Store) -> None:
    _seed(store)
    first = store.acknowledge(_ack(T0 - timedelta(hours=20)), webhook_channels=["hook"])
    ((notice_id, _c),) = first.notices
    taken = [
        r for r in store.claim_due(now=T0 - timedelta(hours=20), worker=W, lease=LEASE, limit=9)
    ]
    assert notice_id in {r.id for r in taken}
    assert record_sent(store, notice_id, worker=W, now=T0 - timedelta(hours=20), attempt=attempt())
    store.unacknowledge("m1", T0, by="Bob", now=T0 - timedelta(hours=19))
    again = store.acknowledge(_ack(T0 - timedelta(hours=18)), webhook_channels=["hook"])
    assert again.changed and again.notices == []
    assert _statuses(store)[notice_id] == ("sent", "ok")


def test_no_notice_without_a_sent_reminder_or_to_other_channel_types(store: Store) -> None:
    insert(store, [planned("m1", offset="0", channel="hook")])
    change = store.acknowledge(_ack(T0 - timedelta(days=1)), webhook_channels=["hook"])
    assert change.notices == []  # nothing was sent: nobody to tell
    _seed_sent = planned("m1", at=NEXT_WEEK, offset="1d", channel="chat")
    insert(store, [_seed_sent])
    (row,) = store.claim_due(now=_seed_sent.due_at, worker=W, lease=LEASE, limit=5)
    record_sent(store, row.id, worker=W, now=row.due_at, attempt=attempt())
    change = store.acknowledge(
        _ack(NEXT_WEEK - timedelta(hours=1), occurrence=NEXT_WEEK), webhook_channels=["hook"]
    )
    assert change.notices == []  # chat is not a webhook channel


def test_a_reconcile_never_schedules_what_an_acknowledgement_stopped(store: Store) -> None:
    ids = _seed(store)
    now = T0 - timedelta(hours=20)
    store.acknowledge(_ack(now), webhook_channels=["hook"])
    # A reload plans the cancelled row again (reconcile revives cancelled rows), and a
    # new channel, and the same milestone's next occurrence.
    late_channel = planned("m1", offset="0", channel="pager")
    again = planned("m1", offset="0", channel="hook")
    next_one = planned("m1", at=NEXT_WEEK, offset="1d", channel="hook")
    insert(store, [again, late_channel, next_one], now=now)
    found = _statuses(store)
    assert found[ids["0"]] == ("cancelled", REASON)
    assert found[late_channel.id] == ("cancelled", REASON)
    assert found[next_one.id] == ("scheduled", None)
    store.apply(ReconcileActions(), now=now)  # nothing to do, nothing changes
    assert _statuses(store) == found
