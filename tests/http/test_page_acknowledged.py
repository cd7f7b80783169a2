"""The status page and an acknowledged occurrence: its reminders and escalations still
ahead are not listed as next reminders (they will never be sent) but counted under the
acknowledgement, as the timeline draws them acknowledged; taken back, they return."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.durations import Duration
from scheduler.http import create_app, page
from scheduler.http.instants import Instants
from scheduler.model import Config, Escalation, Milestone
from tests.http.fakes import NOW, TOKEN, FakeState, inf_config, seeded_store, with_acks

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# withdrawal-effective: us-notice (2 Feb 2019) + 6 months, midnight in Brussels.
WITHDRAWAL = datetime(2019, 8, 1, 22, 0, tzinfo=UTC)
# A monthly one: NOW (26 July, 12:00 UTC) is a day after one occurrence, before the next.
MONTHLY_LAST = datetime(2019, 7, 25, 9, 0, tzinfo=UTC)
MONTHLY_NEXT = datetime(2019, 8, 25, 9, 0, tzinfo=UTC)


def _config() -> Config:
    """The INF config; the withdrawal escalates a day before; a monthly filing follows up
    three days after each occurrence."""
    d = Duration.parse
    base = inf_config()
    milestones = [
        dataclasses.replace(m, escalate=(Escalation(d("1d"), ("audit",)),))
        if m.id == "withdrawal-effective"
        else m
        for m in base.milestones
    ]
    monthly = Milestone(
        id="monthly-filing",
        title="Monthly filing",
        timezone="UTC",
        at=MONTHLY_LAST.replace(tzinfo=None),
        rrule="FREQ=MONTHLY",
        remind=(d("7d"), Duration(), d("-3d")),
        notify=("audit",),
    )
    return dataclasses.replace(base, milestones=(*milestones, monthly))


def _ack(milestone_id: str, occurrence: datetime) -> dict[tuple[str, datetime], Acknowledgement]:
    ack = Acknowledgement(milestone_id, occurrence, "Ann", "", AckSource.API, NOW)
    return {ack.key: ack}


def _views(acked: dict[tuple[str, datetime], Acknowledgement]) -> dict[str, page.MilestoneView]:
    views, _ = page._milestones(Instants(), _config(), NOW, acked)
    return {v.id: v for v in views}


def test_unacknowledged_reminders_and_escalations_are_next() -> None:
    withdrawal = _views({})["withdrawal-effective"]
    labels = [r.label for r in withdrawal.next_reminders]
    assert labels == ["1 day before", "escalation 1 · 1 day before", "at the moment"]
    assert withdrawal.withheld == () and withdrawal.acknowledged is None


def test_an_acknowledged_occurrence_has_no_next_reminders() -> None:
    views = _views(_ack("withdrawal-effective", WITHDRAWAL))
    withdrawal = views["withdrawal-effective"]
    assert withdrawal.acknowledged is not None and withdrawal.acknowledged.by == "Ann"
    assert withdrawal.next_reminders == ()
    assert withdrawal.withheld == (page.Withheld(WITHDRAWAL, reminders=2, escalations=1),)
    # Other milestones are untouched.
    assert [r.label for r in views["annual-review"].next_reminders] == [
        "30 days before",
        "at the moment",
    ]
    assert views["annual-review"].withheld == ()


def test_a_recurring_milestone_lists_the_next_occurrence_not_the_acknowledged_one() -> None:
    monthly = _views({})["monthly-filing"]
    assert monthly.instant == MONTHLY_NEXT
    assert monthly.next_reminders[0].due_at == datetime(2019, 7, 28, 9, tzinfo=UTC)
    acked = _views(_ack("monthly-filing", MONTHLY_LAST))["monthly-filing"]
    # The last occurrence's follow-up (28 July) will not be sent; the next one's reminders will.
    assert acked.withheld == (page.Withheld(MONTHLY_LAST, reminders=1),)
    assert [r.due_at for r in acked.next_reminders] == [
        datetime(2019, 8, 18, 9, tzinfo=UTC),
        MONTHLY_NEXT,
        datetime(2019, 8, 28, 9, tzinfo=UTC),
    ]
    assert acked.acknowledged is None  # the card's occurrence (25 August) is not acknowledged
    html = page._milestone(acked, NOW)
    assert (
        "1 reminder of the Thu 25 Jul 2019 09:00 UTC occurrence will not be sent: "
        'it is <span class="st st-acked">acknowledged</span>'
    ) in html
    assert html.count("<li>") == 3


@pytest.fixture
def state() -> FakeState:
    return with_acks(FakeState(store=seeded_store(), api_token=TOKEN, loaded=_config()))


@pytest.fixture
async def client(state: FakeState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        yield c


async def _card(client: httpx.AsyncClient, milestone_id: str) -> str:
    html = (await client.get("/")).text
    found = re.search(rf'<article [^>]*id="m-{milestone_id}">.*?</article>', html)
    assert found is not None, html
    return found.group(0)


async def test_the_page_shows_the_acknowledgement_instead_of_next_reminders(
    client: httpx.AsyncClient,
) -> None:
    url = "/api/milestones/withdrawal-effective/ack"
    before = await _card(client, "withdrawal-effective")
    assert "<li>1 day before · Thu 1 Aug 2019 00:00 CEST → newsroom, audit</li>" in before
    assert "<li>escalation 1 · 1 day before · Thu 1 Aug 2019 00:00 CEST → audit</li>" in before
    assert "will not be sent" not in before

    made = await client.post(url, json={"by": "Ann", "note": "filed"}, headers=AUTH)
    assert made.status_code == 200
    card = await _card(client, "withdrawal-effective")
    assert '<span class="st st-acked">acknowledged</span> by <strong>Ann</strong>' in card
    assert "2 reminders and 1 escalation still ahead will not be sent" in card
    assert "<li>" not in card
    assert "no other reminders in the next year" in card
    # The occurrence's own ack line comes first; other cards say nothing of it.
    assert card.index("acknowledged</span> by") < card.index("will not be sent")
    assert "will not be sent" not in await _card(client, "annual-review")

    taken_back = await client.request("DELETE", url, headers=AUTH)
    assert taken_back.status_code == 200
    assert await _card(client, "withdrawal-effective") == before
