"""The API on the real store (SQLite file and PostgreSQL): listings, counts, redelivery."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from scheduler.http import create_app
from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import ReconcileActions
from scheduler.store import AttemptRecord, Store
from tests.http.fakes import TOKEN, FakeState
from tests.support.deliveries import T0, planned
from tests.support.store import record_dead, record_sent

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_api_over_the_real_store(store: Store) -> None:
    rows = [planned(f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(3)]
    store.apply(ReconcileActions(insert=[(p, S.SCHEDULED, False) for p in rows]), now=T0)
    now = T0 + timedelta(hours=1)
    claimed = store.claim_due(now=now, worker="w1", lease=timedelta(seconds=30), limit=10)
    assert len(claimed) == 3
    first, second, _ = (r.id for r in rows)
    sent = AttemptRecord(attempt=1, started_at=now, finished_at=now, status_code=200, reason="ok")
    record_sent(store, first, worker="w1", now=now, attempt=sent)
    record_dead(store, second, worker="w1", now=now, reason="client_error")

    state = FakeState(store=store, api_token=TOKEN, clock=lambda: now)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        assert (await c.get("/readyz")).json() == {"status": "ok"}
        listing = (await c.get("/api/deliveries")).json()
        assert listing["total"] == 3
        assert {d["status"] for d in listing["items"]} == {"sent", "dead", "sending"}
        dead = (await c.get("/api/deliveries", params={"status": "dead"})).json()
        assert [d["id"] for d in dead["items"]] == [second]
        assert dead["items"][0]["reason"] == "client_error"

        metrics = (await c.get("/metrics")).text
        gauges = {
            s.labels["status"]: s.value
            for f in text_string_to_metric_families(metrics)
            for s in f.samples
            if s.name == "tminus_reminders"
        }
        assert (gauges["sent"], gauges["dead"], gauges["sending"]) == (1, 1, 1)

        r = await c.post(f"/api/deliveries/{second}/redeliver", headers=AUTH)
        assert r.status_code == 202
        assert r.json()["delivery"]["status"] == "scheduled"
        stored = store.get_delivery(second)
        assert stored is not None and stored.status is S.SCHEDULED
        # Still queued: a second redelivery is a conflict; an unknown id is 404.
        again = await c.post(f"/api/deliveries/{second}/redeliver", headers=AUTH)
        assert again.status_code == 409
        assert (await c.post("/api/deliveries/msg_x/redeliver", headers=AUTH)).status_code == 404
