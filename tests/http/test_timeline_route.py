"""``GET /timeline.svg``: the picture from the config in force and the stored states."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import timedelta

import httpx
import pytest

from scheduler.acknowledge import AckSource
from scheduler.durations import Duration
from scheduler.http import create_app
from scheduler.model import Config, DeliveryStatus, Escalation
from scheduler.planning import resolve
from scheduler.render.timeline import COLOURS
from scheduler.render.timeline_layout import occurrences_in, window_ahead
from scheduler.render.timeline_states import TickState
from tests.http.fakes import NOW, FakeState, FakeStore, inf_config, row, with_acks

SVG = "{http://www.w3.org/2000/svg}"


async def _get(state: FakeState, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as client:
        return await client.get(url)


def _ticks(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [e.get("data-state", "") for e in root.iter(f"{SVG}line") if e.get("data-state")]


async def test_the_picture_of_the_next_six_months() -> None:
    response = await _get(FakeState(), "/timeline.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    root = ET.fromstring(response.text)
    # NOW is 26 July 2019: the withdrawal (2 Aug) and the review (1 Sep) are ahead;
    # the notice (2 Feb) is before the month looked back on.
    rows = [g.get("data-row") for g in root.iter(f"{SVG}g") if g.get("data-row")]
    assert rows == ["withdrawal-effective", "annual-review"]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "INF Treaty withdrawal takes effect <script>alert(1)</script>" in titles
    assert "<script>" not in response.text  # escaped: &lt;script&gt;
    assert not any(e.tag == f"{SVG}script" for e in root.iter())


async def test_stored_states_colour_the_ticks() -> None:
    config = inf_config()
    start, end = window_ahead(NOW, 6)
    occs = occurrences_in(resolve(config), start, end)
    withdrawal = next(o for o in occs if o.milestone.id == "withdrawal-effective")
    seven, one, _ = withdrawal.ladder()  # 26 Jul, 1 Aug, 2 Aug
    sent = [
        dataclasses.replace(
            row(seven.delivery_id(c), DeliveryStatus.SENT, due=seven.due_at), channel=c
        )
        for c in ("newsroom", "audit")
    ]
    acknowledged = [
        dataclasses.replace(
            row(one.delivery_id(c), DeliveryStatus.CANCELLED, due=one.due_at),
            channel=c,
            reason="acknowledged",
        )
        for c in ("newsroom", "audit")
    ]
    unrelated = row("msg_unrelated", DeliveryStatus.DEAD, due=NOW)
    store = FakeStore(rows=[*sent, *acknowledged, unrelated])
    response = await _get(FakeState(store=store), "/timeline.svg")
    assert response.status_code == 200
    # Withdrawal: 7d sent, 1d acknowledged, at the moment due; the review (1 Sep,
    # reminded 30 days before, on 2 Aug): both due.
    assert _ticks(response.text) == ["sent", "acknowledged", "due", "due", "due"]
    # One channel acknowledged, the other not stored yet (due): due wins.
    partly = FakeStore(rows=[*sent, acknowledged[0]])
    response = await _get(FakeState(store=partly), "/timeline.svg")
    assert _ticks(response.text) == ["sent", "due", "due", "due", "due"]
    # Past and not stored: not recorded.
    response = await _get(FakeState(store=FakeStore(rows=acknowledged)), "/timeline.svg")
    assert _ticks(response.text) == ["not recorded", "acknowledged", "due", "due", "due"]
    assert f'stroke="{COLOURS[TickState.ACKNOWLEDGED]}"' in response.text


@pytest.mark.parametrize("months", ["0", "-1", "25", "abc", "1.5", "9" * 30, ""])
async def test_a_bad_months_is_a_client_error(months: str) -> None:
    response = await _get(FakeState(), f"/timeline.svg?months={months}")
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


@pytest.mark.parametrize("months", [1, 12, 24])
async def test_months_widens_the_window(months: int) -> None:
    response = await _get(FakeState(), f"/timeline.svg?months={months}")
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    rows = {g.get("data-row"): g for g in root.iter(f"{SVG}g") if g.get("data-row")}
    # The review recurs on 1 September: out of view for one month, twice in view for 24.
    expected = ["withdrawal-effective"] + (["annual-review"] if months > 1 else [])
    assert list(rows) == expected
    if months == 24:
        markers = [
            p for p in rows["annual-review"].iter(f"{SVG}polygon") if p.get("data-milestone")
        ]
        assert len(markers) == 2


async def test_no_config_yet_is_503() -> None:
    response = await _get(FakeState(loaded=None), "/timeline.svg")
    assert response.status_code == 503
    assert response.json()["reason"] == "no config loaded yet"


async def test_a_store_that_does_not_answer_leaves_the_plan() -> None:
    response = await _get(FakeState(store=FakeStore(down=True)), "/timeline.svg")
    assert response.status_code == 200
    assert "delivery states unavailable" in response.text
    assert _ticks(response.text) == ["not recorded", "due", "due", "due", "due"]
    closed = await _get(FakeState(store=None), "/timeline.svg")
    assert closed.status_code == 200
    assert "delivery states unavailable" in closed.text


async def test_the_status_page_embeds_it() -> None:
    response = await _get(FakeState(), "/")
    assert '<img src="timeline.svg"' in response.text
    assert "img-src 'self'" in response.headers["content-security-policy"]
    empty = await _get(FakeState(loaded=None), "/")
    assert "timeline.svg" not in empty.text


async def test_the_openapi_document_lists_it() -> None:
    response = await _get(FakeState(), "/openapi.json")
    operation = response.json()["paths"]["/timeline.svg"]["get"]
    assert "image/svg+xml" in operation["responses"]["200"]["content"]
    months = next(p for p in operation["parameters"] if p["name"] == "months")
    assert (months["schema"]["minimum"], months["schema"]["maximum"]) == (1, 24)


def test_now_is_inside_the_default_window() -> None:
    start, end = window_ahead(NOW, 6)
    assert start < NOW < end and end - NOW > timedelta(days=180)


async def test_no_channel_secret_reaches_the_picture() -> None:
    state = FakeState()
    response = await _get(state, "/timeline.svg?months=24")
    assert state.loaded is not None
    secrets = [s for c in state.loaded.channels.values() for s in c.secrets()]
    assert secrets
    for secret in secrets:
        assert secret not in response.text


def _escalating() -> Config:
    """The INF example with two escalations on the withdrawal (2 Aug 2019 00:00 CEST)."""
    config = inf_config()
    ladder = (
        Escalation(Duration.parse("1d"), ("audit",)),
        Escalation(Duration.parse("-2h"), ("newsroom",)),
    )
    withdrawal = dataclasses.replace(config.milestones[1], escalate=ladder)
    return dataclasses.replace(config, milestones=(config.milestones[0], withdrawal))


def _escalation_states(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [
        e.get("data-state", "")
        for e in root.iter(f"{SVG}polygon")
        if e.get("data-kind") == "escalation"
    ]


async def test_escalations_are_drawn_with_their_stored_state() -> None:
    config = _escalating()
    start, end = window_ahead(NOW, 6)
    (occurrence,) = [o for o in occurrences_in(resolve(config), start, end) if o.milestone.escalate]
    one, _ = occurrence.escalations()
    store = FakeStore(
        rows=[
            dataclasses.replace(row(one.delivery_id("audit"), DeliveryStatus.HELD), channel="audit")
        ]
    )
    response = await _get(FakeState(store=store, loaded=config), "/timeline.svg")
    assert response.status_code == 200
    assert _escalation_states(response.text) == ["held", "due"]
    assert "escalation" in ET.fromstring(response.text).itertext()  # in the legend


async def test_an_acknowledgement_in_force_marks_escalations_not_yet_stored() -> None:
    config = _escalating()
    state = with_acks(FakeState(loaded=config))
    assert state.acks is not None
    await state.acks.acknowledge(
        "withdrawal-effective", occurrence=None, by="ana", note=None, source=AckSource.API
    )
    response = await _get(state, "/timeline.svg")
    assert _escalation_states(response.text) == ["acknowledged", "acknowledged"]
    # The reminders ahead with no row yet will not be sent either (7 days before passed).
    assert _ticks(response.text) == ["not recorded", "acknowledged", "acknowledged"]
    diamond = next(
        p
        for p in ET.fromstring(response.text).iter(f"{SVG}polygon")
        if p.get("data-milestone") == "withdrawal-effective"
    )
    assert diamond.get("fill") == COLOURS[TickState.ACKNOWLEDGED]
