"""Every endpoint of the HTTP surface, in process (ASGI), with and without a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scheduler.http import create_app
from scheduler.model import DeliveryStatus
from tests.http.fakes import NOW, TOKEN, FakeState, FakeStore, row, seeded_store, with_acks

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_for(state: FakeState) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url="http://tminus"
    )


@pytest.fixture
def state() -> FakeState:
    return FakeState(store=seeded_store())


@pytest.fixture
async def client(state: FakeState) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(state) as c:
        yield c


# -- health and readiness -----------------------------------------------------------


async def test_healthz_ok_then_stale_heartbeat(state: FakeState, client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    state.alive = False
    r = await client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"
    assert "heartbeat" in r.json()["reason"]


async def test_readyz_reports_each_reason(state: FakeState, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json() == {"status": "ok"}

    state.not_ready = "migrating the database"
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "reason": "migrating the database"}

    state.not_ready = None
    assert state.store is not None
    state.store.down = True
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reason"] == "database does not answer (StoreError)"

    state.store = None
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert "not open" in r.json()["reason"]


# -- metrics ----------------------------------------------------------------------------


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


async def test_metrics_follow_deliveries_reloads_and_store(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    before = parse(r.text)
    sent = (
        "tminus_deliveries_total",
        frozenset({("channel", "audit"), ("outcome", "sent"), ("reason", "ok")}),
    )
    assert sent not in before
    # Gauges of stored state are read from the store at scrape time.
    assert before[("tminus_reminders", frozenset({("status", "dead")}))] == 1
    assert before[("tminus_channels_disabled", frozenset({("channel", "newsroom")}))] == 1
    assert before[("tminus_channels_disabled", frozenset({("channel", "audit")}))] == 0

    state.metrics.record_delivery("audit", "sent", "ok", duration=0.01, lateness=0.002)
    state.metrics.record_delivery("audit", "dead", "client_error")
    state.metrics.record_reload(ok=False)
    assert state.store is not None
    state.store.rows.append(row("msg_dead2", DeliveryStatus.DEAD))
    after = parse((await client.get("/metrics")).text)
    assert after[sent] == 1
    assert (
        after[
            (
                "tminus_deliveries_dead_total",
                frozenset({("channel", "audit"), ("reason", "client_error")}),
            )
        ]
        == 1
    )
    assert after[("tminus_config_reloads_total", frozenset({("result", "failed")}))] == 1
    assert after[("tminus_reminders", frozenset({("status", "dead")}))] == 2
    assert after[("tminus_delivery_lateness_seconds_count", frozenset({("channel", "audit")}))] == 1


async def test_metrics_survive_a_dead_database(state: FakeState, client: httpx.AsyncClient) -> None:
    assert state.store is not None
    state.store.down = True
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert "tminus_config_reloads_total" in r.text


# -- read API ---------------------------------------------------------------------------


async def test_milestones_with_resolved_instants_and_pages(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/milestones")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    by_id = {m["id"]: m for m in body["items"]}
    assert by_id["withdrawal-effective"]["at"] == "2019-08-02T00:00:00+02:00"
    assert (
        by_id["withdrawal-effective"]["remind"] == ["P7D", "P1D", "PT0S"]
        or by_id["withdrawal-effective"]["remind"][0] == "P7D"
    )
    # The recurring one shows its next occurrence after "now" (26 July 2019).
    assert by_id["annual-review"]["at"].startswith("2019-09-01T09:00")
    page = (await client.get("/api/milestones", params={"limit": 1, "offset": 1})).json()
    assert [m["id"] for m in page["items"]] == ["withdrawal-effective"]
    assert (page["limit"], page["offset"], page["total"]) == (1, 1, 3)


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1}])
async def test_pagination_is_bounded(client: httpx.AsyncClient, params: dict[str, int]) -> None:
    for path in ("/api/milestones", "/api/deliveries", "/api/reminders"):
        assert (await client.get(path, params=params)).status_code == 422


async def test_no_config_yet_is_503(state: FakeState, client: httpx.AsyncClient) -> None:
    state.loaded = None
    assert (await client.get("/api/milestones")).status_code == 503
    assert (await client.get("/api/reminders")).status_code == 503
    assert (await client.get("/calendar.ics")).status_code == 503


async def test_reminders_window_order_and_stored_status(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/reminders", params={"within": "10d"})
    assert r.status_code == 200
    body = r.json()
    due = [i["due_at"] for i in body["items"]]
    assert due == sorted(due)
    # Soonest first (planning sorts on due time, then milestone id, occurrence, offset):
    # the annual review's 30-day reminder (2 Aug 09:00 UTC) comes after the withdrawal
    # itself (2 Aug 00:00 in Brussels, 1 Aug 22:00 UTC).
    labels = [(i["milestone_id"], i["label"]) for i in body["items"]]
    assert labels == [
        ("withdrawal-effective", "1 day before"),
        ("withdrawal-effective", "at the moment"),
        ("annual-review", "30 days before"),
    ]
    assert all(d["status"] == "planned" for i in body["items"] for d in i["deliveries"])
    wider = (await client.get("/api/reminders", params={"within": "6 months"})).json()
    assert {i["milestone_id"] for i in wider["items"]} == {"withdrawal-effective", "annual-review"}


async def test_reminder_status_comes_from_the_store(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    first = (await client.get("/api/reminders", params={"within": "10d"})).json()["items"][0]
    delivery = first["deliveries"][0]
    assert state.store is not None
    state.store.rows.append(
        row(
            delivery["delivery_id"],
            DeliveryStatus.SCHEDULED,
            due=NOW + timedelta(hours=36),  # withdrawal-effective 1d before: 1 Aug 00:00 CEST
        )
    )
    scheduled = (
        await client.get("/api/reminders", params={"within": "10d", "status": "scheduled"})
    ).json()
    assert [i["id"] for i in scheduled["items"]] == [first["id"]]
    statuses = {d["delivery_id"]: d["status"] for d in scheduled["items"][0]["deliveries"]}
    assert statuses[delivery["delivery_id"]] == "scheduled"


async def test_reminders_of_an_occurrence_acknowledged_through_the_api() -> None:
    state = with_acks(FakeState(store=seeded_store(), api_token=TOKEN))
    async with client_for(state) as c:
        ack = await c.post("/api/milestones/withdrawal-effective/ack", headers=AUTH, json={})
        assert ack.status_code == 200, ack.text
        items = (await c.get("/api/reminders", params={"within": "10d"})).json()["items"]
        fates = {
            (i["milestone_id"], d["status"], d["reason"], (i["acknowledged"] or {}).get("by"))
            for i in items
            for d in i["deliveries"]
        }
        assert fates == {
            ("withdrawal-effective", "cancelled", "acknowledged", "(api)"),
            ("annual-review", "planned", None, None),
        }
        cancelled = (
            await c.get("/api/reminders", params={"within": "10d", "status": "cancelled"})
        ).json()
        assert {i["milestone_id"] for i in cancelled["items"]} == {"withdrawal-effective"}
        assert cancelled["total"] == 2

        taken_back = await c.request(
            "DELETE", "/api/milestones/withdrawal-effective/ack", headers=AUTH
        )
        assert taken_back.status_code == 200, taken_back.text
        items = (await c.get("/api/reminders", params={"within": "10d"})).json()["items"]
        assert {d["status"] for i in items for d in i["deliveries"]} == {"planned"}


@pytest.mark.parametrize("within", ["soon", "-5d", "20 years", "x" * 65])
async def test_reminders_refuse_bad_windows(client: httpx.AsyncClient, within: str) -> None:
    r = await client.get("/api/reminders", params={"within": within})
    # Over 64 characters is refused by validation (422), the rest by parsing (400).
    assert r.status_code == (422 if len(within) > 64 else 400)


async def test_deliveries_filter_and_pages(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/deliveries")).json()
    assert body["total"] == 3
    assert [d["id"] for d in body["items"]] == ["msg_sched1", "msg_dead1", "msg_sent1"]
    dead = (await client.get("/api/deliveries", params={"status": "dead"})).json()
    assert dead["total"] == 1
    assert dead["items"][0]["due_at"] == "2019-07-26T10:00:00Z"
    assert dead["items"][0]["last_error"] == "HTTP 404 <not found>"
    assert dead["items"][0]["channel"] == "newsroom"
    page = (await client.get("/api/deliveries", params={"limit": 1, "offset": 2})).json()
    assert [d["id"] for d in page["items"]] == ["msg_sent1"]
    assert (await client.get("/api/deliveries", params={"status": "bogus"})).status_code == 422


async def test_deliveries_need_an_open_store(state: FakeState, client: httpx.AsyncClient) -> None:
    state.store = None
    assert (await client.get("/api/deliveries")).status_code == 503


# -- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/milestones", "/api/reminders", "/api/deliveries", "/api/deliveries?status=dead"]
)
async def test_reads_need_no_token_even_when_one_is_set(path: str) -> None:
    async with client_for(FakeState(store=seeded_store(), api_token=TOKEN)) as c:
        assert (await c.get(path)).status_code == 200
        assert (await c.get(path, headers=AUTH)).status_code == 200
        # A wrong token on a read is not an error either: reads ignore it.
        assert (await c.get(path, headers={"Authorization": "Bearer nope"})).status_code == 200


async def test_without_token_reads_are_open_and_mutations_refused(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/deliveries")).status_code == 200
    r = await client.post("/api/deliveries/msg_dead1/redeliver", headers=AUTH)
    assert r.status_code == 403
    assert "read-only" in r.json()["detail"]


async def test_redeliver_with_token() -> None:
    state = FakeState(store=seeded_store(), api_token=TOKEN)
    async with client_for(state) as c:
        url = "/api/deliveries/msg_dead1/redeliver"
        missing = await c.post(url)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert (await c.post(url, headers={"Authorization": f"Basic {TOKEN}"})).status_code == 401
        assert (await c.post(url, headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (
            await c.post(url, headers={"Authorization": "Bearer " + TOKEN + "x"})
        ).status_code == 401
        assert (
            await c.post(url, headers={"Authorization": "Bearer \xe9".encode("latin-1")})
        ).status_code == 401
        assert state.redelivered == []

        r = await c.post(url, headers=AUTH)
        assert r.status_code == 202
        assert r.json()["status"] == "queued"
        assert r.json()["delivery"]["id"] == "msg_dead1"
        assert r.json()["delivery"]["status"] == "scheduled"
        assert state.redelivered == ["msg_dead1"]

        again = await c.post(url, headers=AUTH)  # now scheduled: nothing to redeliver
        assert again.status_code == 409
        missing = await c.post("/api/deliveries/msg_nope/redeliver", headers=AUTH)
        assert missing.status_code == 404


# -- bounds, calendar, openapi ---------------------------------------------------------------


async def test_request_size_bounds(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/deliveries", params={"status": "x" * 5000})
    assert r.status_code == 414
    big = b"{" + b" " * (70 * 1024) + b"}"
    r = await client.post("/api/deliveries/msg_dead1/redeliver", content=big)
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    r = await client.post("/api/deliveries/msg_dead1/redeliver", content=chunks())
    # A chunked body without content-length is bounded on the stream, whether or not
    # the route reads it (160 KiB here): it never reaches the route's 403.
    assert r.status_code == 413


async def test_calendar_feed(client: httpx.AsyncClient) -> None:
    r = await client.get("/calendar.ics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.content.startswith(b"BEGIN:VCALENDAR")
    assert b"withdrawal-effective" in r.content


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path in (
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/milestones",
        "/api/reminders",
        "/api/deliveries",
        "/api/deliveries/{delivery_id}/redeliver",
        "/calendar.ics",
    ):
        assert path in doc["paths"], path
    assert "DeliveryPage" in doc["components"]["schemas"]


# -- status page -----------------------------------------------------------------------------


async def test_status_page_escapes_and_highlights(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<meta name="viewport"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "HTTP 404 &lt;not found&gt;" in html
    assert '<tr class="dead">' in html
    assert 'data-channel="newsroom"' in html and "channel_is_archived" in html
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "http://" not in html and "https://" not in html  # no external assets


async def test_status_page_without_database_or_config() -> None:
    async with client_for(FakeState(store=FakeStore(down=True), loaded=None)) as c:
        r = await c.get("/")
        assert r.status_code == 200
        assert "database unavailable" in r.text
        assert "no config loaded" in r.text
