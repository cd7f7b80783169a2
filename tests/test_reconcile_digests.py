"""Reconciliation of digest fires: past fires of one digest and channel are coalesced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.digests import plan_digests
from scheduler.durations import Duration
from scheduler.model import Config, DeliveryStatus, Digest
from scheduler.reconcile import PlannedDelivery, ReconcileReason, plan_deliveries, reconcile
from scheduler.snapshot import Snapshot

NOW = datetime(2026, 12, 7, 10, 30, 20, tzinfo=UTC)
EVERY_MINUTE = Digest(
    id="often",
    schedule="* * * * *",
    within=Duration.parse("1d"),
    notify=("a", "b"),
    skip_empty=False,
)


@dataclass(frozen=True)
class Row:
    id: str
    channel: str
    due_at: datetime
    status: str
    late: bool
    snapshot: Snapshot


def planned(start: datetime, end: datetime) -> list[PlannedDelivery]:
    config = Config(milestones=(), channels={}, digests=(EVERY_MINUTE,))
    return plan_deliveries(plan_digests(config, start, end))


def test_only_the_latest_past_fire_goes_out_late() -> None:
    found = planned(NOW - timedelta(minutes=30), NOW + timedelta(minutes=2))
    actions = reconcile(
        found,
        {},
        now=NOW,
        window_start=NOW - timedelta(hours=1),
        window_end=NOW + timedelta(days=2),
        planned_through=None,
    )
    inserted = sorted((p.due_at, p.channel, late) for p, _, late in actions.insert)
    latest = NOW.replace(second=0)
    assert inserted == [
        (latest, "a", True),
        (latest, "b", True),
        (latest + timedelta(minutes=1), "a", False),
        (latest + timedelta(minutes=1), "b", False),
        (latest + timedelta(minutes=2), "a", False),
        (latest + timedelta(minutes=2), "b", False),
    ]
    assert actions.count(ReconcileReason.COALESCED) == 2 * 29


@pytest.mark.parametrize(
    ("status", "skipped"), [(DeliveryStatus.SCHEDULED, True), (DeliveryStatus.HELD, False)]
)
def test_stored_older_fires_are_skipped_as_coalesced(status: DeliveryStatus, skipped: bool) -> None:
    found = planned(NOW - timedelta(minutes=3), NOW)
    older = [p for p in found if p.due_at < NOW.replace(second=0)]
    stored = {p.id: Row(p.id, p.channel, p.due_at, status.value, False, p.snapshot) for p in older}
    actions = reconcile(
        found,
        stored,
        now=NOW,
        window_start=NOW - timedelta(hours=1),
        window_end=NOW + timedelta(days=2),
        planned_through=None,
    )
    assert sorted(actions.skip) == (sorted(stored) if skipped else [])
    assert all(actions.reasons[i] is ReconcileReason.COALESCED for i in stored)
    assert {p.due_at for p, _, _ in actions.insert} == {NOW.replace(second=0)}
