"""The timeline over the real store (SQLite file and PostgreSQL): states by delivery id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, timedelta

import httpx

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.durations import Duration
from scheduler.http import create_app
from scheduler.model import Config, DeliveryStatus, Escalation, Milestone
from scheduler.planning import plan
from scheduler.reconcile import ReconcileActions, plan_deliveries
from scheduler.store import AttemptRecord, Store
from tests.http.fakes import FakeState
from tests.support.deliveries import T0, planned
from tests.support.store import record_sent


async def test_timeline_reads_the_drawn_deliveries_from_the_store(store: Store) -> None:
    at = T0 + timedelta(hours=1)
    rows = [planned("m1", at=at, offset=offset) for offset in ("1h", "0")]
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in rows]), now=T0
    )
    (claimed,) = store.claim_due(now=T0, worker="w1", lease=timedelta(seconds=30), limit=10)
    done = AttemptRecord(attempt=1, started_at=T0, finished_at=T0, status_code=200, reason="ok")
    record_sent(store, claimed.id, worker="w1", now=T0, attempt=done)

    found = store.deliveries_by_id([r.id for r in rows] + ["msg_unknown", rows[0].id])
    assert set(found) == {r.id for r in rows}
    assert found[claimed.id].status is DeliveryStatus.SENT

    milestone = Milestone(
        id="m1",
        title="Milestone m1",
        at=at,
        remind=(Duration.parse("1h"), Duration()),
        notify=("hook",),
    )
    now = T0 + timedelta(minutes=1)
    state = FakeState(
        store=store,  # type: ignore[arg-type]
        loaded=Config(milestones=(milestone,), channels={}),
        clock=lambda: now,
    )
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        response = await c.get("/timeline.svg", params={"months": 1})
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    states = [e.get("data-state") for e in root.iter() if e.get("data-state")]
    assert states == ["sent", "due"]


async def test_escalations_planned_into_the_store_are_read_back(store: Store) -> None:
    """Escalations as the planner stores them (their own kind in the id), one sent and
    the rest cancelled by an acknowledgement: the picture finds each by the id it computes."""
    at = T0 + timedelta(hours=3)
    milestone = Milestone(
        id="m1",
        title="Milestone m1",
        at=at,
        remind=(Duration(),),
        notify=("hook",),
        escalate=(
            Escalation(Duration.parse("2h"), ("pager",)),
            Escalation(Duration.parse("1h"), ("hook", "pager")),
        ),
    )
    config = Config(milestones=(milestone,), channels={})
    rows = plan_deliveries(plan(config, T0, at + timedelta(hours=1)))
    assert len(rows) == 4  # the reminder, then 1 + 2 escalation deliveries
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in rows]), now=T0
    )
    sent_at = T0 + timedelta(hours=1)  # the first escalation's moment: claimed, sent
    (claimed,) = store.claim_due(now=sent_at, worker="w1", lease=timedelta(seconds=30), limit=10)
    done = AttemptRecord(
        attempt=1, started_at=sent_at, finished_at=sent_at, status_code=200, reason="ok"
    )
    record_sent(store, claimed.id, worker="w1", now=sent_at, attempt=done)
    ack = Acknowledgement("m1", at.astimezone(UTC), "Ana", "", AckSource.CLI, sent_at)
    change = store.acknowledge(ack, webhook_channels=[])
    assert len(change.cancelled) == 3  # the second escalation's two, and the reminder
    now = sent_at + timedelta(minutes=1)
    state = FakeState(store=store, loaded=config, clock=lambda: now)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        response = await c.get("/timeline.svg", params={"months": 1})
    root = ET.fromstring(response.text)
    marks = [e for e in root.iter() if e.get("data-kind") == "escalation"]
    assert [(m.get("data-level"), m.get("data-state")) for m in marks] == [
        ("1", "sent"),
        ("2", "acknowledged"),
    ]
    ticks = [e.get("data-state") for e in root.iter() if e.tag.endswith("line")]
    assert "acknowledged" in ticks
