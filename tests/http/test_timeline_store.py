"""The timeline over the real store (SQLite file and PostgreSQL): states by delivery id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import httpx

from scheduler.durations import Duration
from scheduler.http import create_app
from scheduler.model import Config, DeliveryStatus, Milestone
from scheduler.reconcile import ReconcileActions
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
