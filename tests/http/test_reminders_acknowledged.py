"""``/api/reminders`` and an acknowledged occurrence, over the real store (SQLite file and
PostgreSQL): its reminders and escalations not yet sent say they will not be sent
(``cancelled``, reason ``acknowledged``), the stored ones as the acknowledgement cancelled
them and those beyond the stored days from the acknowledgement in force; the ``status=``
filter agrees; taken back, they are scheduled and planned again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.durations import Duration
from scheduler.http import create_app
from scheduler.model import Config, DeliveryStatus, Escalation, Milestone
from scheduler.planning import plan
from scheduler.reconcile import ReconcileActions, plan_deliveries
from scheduler.store import Store
from tests.http.fakes import FakeState, with_acks
from tests.support.deliveries import T0

ACKED_AT = T0 + 3 * timedelta(days=1)  # m1's occurrence: acknowledged
OTHER_AT = ACKED_AT + timedelta(hours=1)  # m2's: not
NOW = T0 + timedelta(minutes=1)
STORED_UNTIL = T0 + timedelta(hours=36)  # the daemon stores about two days ahead


def _config() -> Config:
    d = Duration.parse
    acked = Milestone(
        id="m1",
        title="Milestone m1",
        at=ACKED_AT,
        remind=(d("2d"), Duration()),
        notify=("hook",),
        escalate=(Escalation(d("1d"), ("pager",)),),
    )
    other = Milestone(
        id="m2", title="Milestone m2", at=OTHER_AT, remind=(d("2d"), Duration()), notify=("hook",)
    )
    return Config(milestones=(acked, other), channels={})


@pytest.fixture
def state(store: Store) -> FakeState:
    """The config's first days stored as the daemon stores them; m1 acknowledged."""
    config = _config()
    rows = plan_deliveries(plan(config, T0, STORED_UNTIL))
    assert {p.milestone_id for p in rows} == {"m1", "m2"} and len(rows) == 2
    store.apply(
        ReconcileActions(insert=[(p, DeliveryStatus.SCHEDULED, False) for p in rows]), now=T0
    )
    ack = Acknowledgement("m1", ACKED_AT.astimezone(UTC), "Ana", "on it", AckSource.CLI, NOW)
    assert len(store.acknowledge(ack, webhook_channels=[]).cancelled) == 1
    state = with_acks(FakeState(store=store, loaded=config, clock=lambda: NOW))  # type: ignore[arg-type]
    _sync(state, store)
    return state


def _sync(state: FakeState, store: Store) -> None:
    """The daemon's memory of the acknowledgements in force, read from the store."""
    assert state.acks is not None
    state.acks.made = {a.key: a for a in store.acknowledgements()}


@pytest.fixture
async def client(state: FakeState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        yield c


async def _reminders(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/api/reminders", params={"within": "5d", **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _fates(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return [
        (i["milestone_id"], i["label"], d["status"], d["reason"])
        for i in items
        for d in i["deliveries"]
    ]


async def test_an_acknowledged_occurrence_says_it_will_not_be_sent(
    client: httpx.AsyncClient,
) -> None:
    items = await _reminders(client)
    assert _fates(items) == [
        ("m1", "2 days before", "cancelled", "acknowledged"),  # stored, cancelled by the ack
        ("m2", "2 days before", "scheduled", None),
        ("m1", "escalation 1 · 1 day before", "cancelled", "acknowledged"),  # not stored
        ("m1", "at the moment", "cancelled", "acknowledged"),  # not stored
        ("m2", "at the moment", "planned", None),
    ]
    by_milestone = {i["milestone_id"]: i["acknowledged"] for i in items}
    assert by_milestone["m2"] is None
    assert by_milestone["m1"]["by"] == "Ana" and by_milestone["m1"]["note"] == "on it"


async def test_the_status_filter_agrees(client: httpx.AsyncClient) -> None:
    cancelled = await _reminders(client, status="cancelled")
    assert [(i["milestone_id"], i["label"]) for i in cancelled] == [
        ("m1", "2 days before"),
        ("m1", "escalation 1 · 1 day before"),
        ("m1", "at the moment"),
    ]
    scheduled = await _reminders(client, status="scheduled")
    assert [(i["milestone_id"], i["label"]) for i in scheduled] == [("m2", "2 days before")]


async def test_taken_back_they_are_scheduled_and_planned_again(
    store: Store, state: FakeState, client: httpx.AsyncClient
) -> None:
    change = store.unacknowledge("m1", ACKED_AT.astimezone(UTC), by="Ana", now=NOW)
    assert change is not None and len(change.restored) == 1
    _sync(state, store)
    items = await _reminders(client)
    assert [f for f in _fates(items) if f[0] == "m1"] == [
        ("m1", "2 days before", "scheduled", None),
        ("m1", "escalation 1 · 1 day before", "planned", None),
        ("m1", "at the moment", "planned", None),
    ]
    assert all(i["acknowledged"] is None for i in items)
    assert await _reminders(client, status="cancelled") == []
