"""The acknowledge link's pages and the acknowledge API, in process (ASGI): GET changes
nothing, POST acknowledges, refused links get a page and a 4xx, the API needs the token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from scheduler.acknowledge import AckSource
from scheduler.acktoken import sign
from scheduler.http import create_app
from tests.http.fakes import (
    ACK_KEY,
    NOW,
    TOKEN,
    FakeAckDesk,
    FakeState,
    seeded_store,
    with_acks,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# withdrawal-effective: us-notice (2 Feb 2019) + 6 months, in Brussels.
OCCURRENCE = datetime(2019, 8, 2, tzinfo=ZoneInfo("Europe/Brussels"))
TITLE_ESCAPED = "INF Treaty withdrawal takes effect &lt;script&gt;"


@pytest.fixture
def state() -> FakeState:
    return with_acks(FakeState(store=seeded_store(), api_token=TOKEN))


@pytest.fixture
async def client(state: FakeState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        yield c


def _desk(state: FakeState) -> FakeAckDesk:
    assert state.acks is not None
    return state.acks


GOOD = sign(ACK_KEY, "withdrawal-effective", OCCURRENCE)


async def test_get_shows_a_form_and_changes_nothing(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    page = await client.get(f"/ack/{GOOD}")
    assert page.status_code == 200
    assert TITLE_ESCAPED in page.text and "<script>" not in page.text
    assert "Fri 2 Aug 2019 00:00 CEST" in page.text
    assert '<form method="post">' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert _desk(state).made == {}


async def test_post_acknowledges_once_with_the_name_and_note(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    form = {"by": "<b>Ann</b>", "note": "seen & handled"}
    done = await client.post(f"/ack/{GOOD}", data=form)
    assert done.status_code == 200
    assert "&lt;b&gt;Ann&lt;/b&gt;" in done.text and "seen &amp; handled" in done.text
    ((key, ack),) = _desk(state).made.items()
    assert key == ("withdrawal-effective", OCCURRENCE)
    assert (ack.by, ack.note, ack.source) == ("<b>Ann</b>", "seen & handled", AckSource.LINK)
    again = await client.post(f"/ack/{GOOD}", data={"by": "Bob"})
    assert again.status_code == 200 and "Already acknowledged" in again.text
    assert _desk(state).made[key].by == "<b>Ann</b>"
    shown = await client.get(f"/ack/{GOOD}")
    assert "Already acknowledged" in shown.text and "<form" not in shown.text


async def test_a_taken_back_acknowledgement_is_not_renewed_by_its_link(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    await client.post(f"/ack/{GOOD}", data={"by": "Ann"})
    gone = await client.request(
        "DELETE", "/api/milestones/withdrawal-effective/ack", headers=AUTH, json={"by": "Lead"}
    )
    assert gone.status_code == 200
    for method in ("GET", "POST"):
        replay = await client.request(method, f"/ack/{GOOD}", data={"by": "Ann"})
        assert replay.status_code == 409
        assert "taken back by Lead" in replay.text
    assert not _desk(state).made[("withdrawal-effective", OCCURRENCE)].active


@pytest.mark.parametrize(
    ("token", "status", "words"),
    [
        (sign("not-this-servers-key-0", "withdrawal-effective", OCCURRENCE), 403, "not issued"),
        (sign(ACK_KEY, "withdrawal-effective", NOW - timedelta(days=40)), 410, "expired"),
        (GOOD[:20], 400, "not valid"),
        ("%00%ff", 400, "not valid"),
        ("x" * 3000, 400, "not valid"),
    ],
)
async def test_refused_links(
    state: FakeState, client: httpx.AsyncClient, token: str, status: int, words: str
) -> None:
    for method in ("GET", "POST"):
        page = await client.request(method, f"/ack/{token}", data={"by": "Eve"})
        assert page.status_code == status
        assert words in page.text and "Traceback" not in page.text
    assert _desk(state).made == {}


async def test_links_off_and_still_starting(state: FakeState, client: httpx.AsyncClient) -> None:
    _desk(state).links_on = False
    assert (await client.get(f"/ack/{GOOD}")).status_code == 404
    state.acks = None
    assert (await client.post(f"/ack/{GOOD}")).status_code == 503


async def test_a_form_that_cannot_be_stored(state: FakeState, client: httpx.AsyncClient) -> None:
    bad = await client.post(f"/ack/{GOOD}", data={"by": "x" * 500})
    assert bad.status_code == 422 and "too long" in bad.text
    assert _desk(state).made == {}


async def test_the_api_needs_the_token(state: FakeState, client: httpx.AsyncClient) -> None:
    url = "/api/milestones/withdrawal-effective/ack"
    assert (await client.post(url, json={})).status_code == 401
    assert (await client.request("DELETE", url)).status_code == 401
    state.api_token = None
    assert (await client.post(url, json={}, headers=AUTH)).status_code == 403
    assert _desk(state).made == {}


async def test_the_api_acknowledges_and_shows_it(
    state: FakeState, client: httpx.AsyncClient
) -> None:
    url = "/api/milestones/withdrawal-effective/ack"
    made = await client.post(url, json={"by": "Ann", "note": "ok"}, headers=AUTH)
    assert made.status_code == 200
    body = made.json()
    assert body["changed"] is True and body["cancelled"] == ["msg_sched1"]
    assert body["acknowledged"]["by"] == "Ann"
    assert datetime.fromisoformat(body["acknowledged"]["occurrence"]) == OCCURRENCE
    listing = (await client.get("/api/milestones")).json()["items"]
    shown = {m["id"]: m["acknowledged"] for m in listing}
    assert shown["withdrawal-effective"]["by"] == "Ann"
    assert shown["us-notice"] is None
    page = (await client.get("/")).text
    assert "acknowledged</span> by <strong>Ann</strong>" in page
    again = await client.post(url, json={}, headers=AUTH)
    assert again.json()["changed"] is False


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/milestones/nope/ack", {}, 404),
        ("/api/milestones/withdrawal-effective/ack", {"occurrence": "2019-08-03T00:00"}, 404),
        ("/api/milestones/withdrawal-effective/ack", {"by": "a\x00b"}, 400),
        ("/api/milestones/withdrawal-effective/ack", {"by": "x" * 300}, 422),
    ],
)
async def test_the_api_refuses_what_it_cannot_acknowledge(
    state: FakeState, client: httpx.AsyncClient, path: str, body: dict[str, str], status: int
) -> None:
    answer = await client.post(path, json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert _desk(state).made == {}


async def test_unack_of_what_is_not_acknowledged_is_404(client: httpx.AsyncClient) -> None:
    url = "/api/milestones/withdrawal-effective/ack"
    assert (await client.request("DELETE", url, headers=AUTH)).status_code == 404
