"""Delivery kinds: identity, the stored snapshot, reconciliation and the webhook type."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.model import Alert, AlertKind, DeliveryStatus, reminder_id
from scheduler.reconcile import plan_deliveries, reconcile
from scheduler.render.webhook import webhook_body
from scheduler.snapshot import Snapshot
from tests.support.deliveries import T0, reminder

NOW = T0 - timedelta(hours=1)


def test_plain_reminder_ids_do_not_change() -> None:
    # The id every stored reminder already has: adding kinds must not move it.
    r = reminder(offset="1d")
    assert r.id == reminder_id("m1", T0, r.offset)
    expected = hashlib.sha256(b"m1\x1f2026-03-01T12:00:00.000000Z\x1fP1D").hexdigest()
    assert r.id == f"rem_{expected[:24]}"


@pytest.mark.parametrize("kind", [k for k in AlertKind if k is not AlertKind.REMINDER])
def test_other_kinds_have_their_own_ids(kind: AlertKind) -> None:
    r = reminder(offset="1d")
    other = replace(r, kind=kind)
    assert other.id != r.id
    assert other.delivery_id("hook") != r.delivery_id("hook")


def test_snapshot_round_trip_keeps_kind_and_extra() -> None:
    r = replace(
        reminder(offset="1d"),
        kind=AlertKind.ESCALATION,
        extra={"escalation": {"at": "P1D", "level": (1, 2)}},
    )
    snap = Snapshot.of(r)
    stored = Snapshot.from_json(snap.to_json())
    assert stored == snap  # tuples and lists compare as their JSON does
    assert stored.kind is AlertKind.ESCALATION
    rebuilt = stored.reminder("hook")
    assert rebuilt.kind is AlertKind.ESCALATION
    assert rebuilt.id == r.id


def test_reminder_snapshot_json_has_no_kind_keys() -> None:
    document = Snapshot.of(reminder()).to_json()
    assert "kind" not in document
    assert "extra" not in document


@pytest.mark.parametrize(
    ("kind", "cancelled"),
    [
        (AlertKind.REMINDER, True),
        (AlertKind.ESCALATION, True),
        (AlertKind.DIGEST, True),
        (AlertKind.ACKNOWLEDGED, False),
        (AlertKind.MOVED, False),
    ],
)
def test_reconcile_cancels_only_planned_kinds(kind: AlertKind, cancelled: bool) -> None:
    (p,) = plan_deliveries([replace(reminder(), kind=kind)])

    class Row:
        id = p.id
        channel = p.channel
        due_at = p.due_at
        status = DeliveryStatus.SCHEDULED.value
        late = False
        snapshot = p.snapshot

    actions = reconcile(
        [],
        {p.id: Row()},
        now=NOW,
        window_start=NOW - timedelta(hours=2),
        window_end=NOW + timedelta(days=2),
        planned_through=None,
    )
    assert (p.id in actions.cancel) is cancelled


@pytest.mark.parametrize(
    ("kind", "offset", "expected"),
    [
        (AlertKind.REMINDER, "1d", "reminder.due"),
        (AlertKind.REMINDER, "0", "milestone.reached"),
        (AlertKind.ESCALATION, "1d", "milestone.escalated"),
        (AlertKind.ACKNOWLEDGED, "0", "milestone.acknowledged"),
        (AlertKind.MOVED, "0", "milestone.moved"),
    ],
)
def test_webhook_type_and_extra(kind: AlertKind, offset: str, expected: str) -> None:
    r = replace(reminder(offset=offset), kind=kind, extra={"probe": {"level": 1}})
    alert = Alert(r.delivery_id("hook"), r, "hook", 1, False, datetime.now(UTC))
    body = webhook_body(alert)
    assert body["type"] == expected
    assert body["probe"] == {"level": 1}
