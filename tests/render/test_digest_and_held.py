"""Digest messages and held deliveries as each channel receives them, within its limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.digests import plan_digests
from scheduler.durations import Duration
from scheduler.model import Alert, Config, Digest, Milestone
from scheduler.render import fallback_text, webhook_body
from scheduler.render.digest_chat import discord_messages, slack_messages, teams_messages
from tests.support.alerts import make_alert, make_reminder
from tests.support.chat_limits import discord_problems, slack_problems
from tests.support.teams_limits import teams_problems

FIRE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Brussels


def digest_alert(
    n: int = 2, *, title: str = "Contract {i}", held: bool = False, **kw: Any
) -> Alert:
    milestones = tuple(
        Milestone(
            id=f"m{i:03d}",
            title=title.format(i=i),
            at=FIRE + timedelta(days=1, hours=i),
            timezone="Europe/Brussels",
            tags=("contracts",),
        )
        for i in range(n)
    )
    digest = Digest(
        id="weekly",
        schedule="0 9 * * mon",
        within=Duration.parse("14d"),
        timezone="Europe/Brussels",
        notify=("team",),
        skip_empty=False,
    )
    config = Config(milestones=milestones, channels={}, digests=(digest,))
    (fire,) = plan_digests(config, FIRE, FIRE + timedelta(minutes=1), **kw)
    return Alert(fire.delivery_id("team"), fire, "team", 1, False, FIRE, held=held)


def test_webhook_body_is_specs_digest_document() -> None:
    body = webhook_body(digest_alert())
    assert body["type"] == "digest"
    assert body["digest"] == {
        "id": "weekly",
        "fired_at": "2026-12-07T09:00:00+01:00",
        "within": "P14D",
    }
    assert [m["id"] for m in body["milestones"]] == ["m000", "m001"]
    first = body["milestones"][0]
    assert first == {
        "id": "m000",
        "title": "Contract 0",
        "at": "2026-12-08T09:00:00+01:00",
        "timezone": "Europe/Brussels",
        "tags": ["contracts"],
        "links": [],
        "acknowledged": None,
        "countdown": "T-1d",
    }
    assert body["total"] == 2 and body["late"] is False and "held" not in body
    assert "milestone" not in body and "reminder" not in body


def test_the_text_lists_soonest_first_with_countdowns() -> None:
    alert = digest_alert()
    assert fallback_text(alert.reminder) == (
        "Digest weekly: 2 milestones in the next 14 days — "
        "T-1d: Contract 0 — Tue 8 Dec 2026 09:00 CET; "
        "T-1d: Contract 1 — Tue 8 Dec 2026 10:00 CET"
    )


def test_acknowledged_items_say_so() -> None:
    alert = digest_alert(acknowledged=lambda mid, at: {"by": "alice"} if mid == "m001" else None)
    ((_, slack),) = slack_messages([alert])
    assert "acknowledged by alice" in json.dumps(slack)
    assert webhook_body(alert)["milestones"][1]["acknowledged"] == {"by": "alice"}


@pytest.mark.parametrize("n", [0, 1, 3, 100])
@pytest.mark.parametrize("title", ["Contract {i}", "<!channel> & *bold* " + "x" * 400 + " {i}"])
def test_chat_digests_stay_within_each_channels_limits(n: int, title: str) -> None:
    alert = digest_alert(n, title=title)  # n = 0: a digest without skip_empty can be empty
    for render, problems in (
        (slack_messages, slack_problems),
        (discord_messages, discord_problems),
        (teams_messages, teams_problems),
    ):
        ((carried, payload),) = render([alert])
        assert carried == [alert]
        assert problems(payload) == [], render
        text = json.dumps(payload, ensure_ascii=False)
        if n:
            assert "m000" not in text  # titles, not ids, are shown
            assert "Contract 0" in text or "x" * 100 in text
    ((_, discord),) = discord_messages([alert])
    lines = discord["embeds"][0]["description"].split("\n")
    match = re.fullmatch(r"…and (\d+) more", lines[-1])
    shown = len(lines) - 1 if match else len(lines)
    assert shown + (int(match.group(1)) if match else 0) == max(n, 1)  # "Nothing due." is one


def test_a_digest_is_its_own_message_beside_reminders() -> None:
    reminder = make_alert(channel="team")
    digest = digest_alert()
    messages = slack_messages([reminder, digest])
    assert [carried for carried, _ in messages] == [[digest], [reminder]]


def test_a_held_reminder_says_when_it_was_due() -> None:
    alert = replace(make_alert(offset="0", at=(2019, 8, 3)), held=True)
    alert = replace(alert, sent_at=alert.reminder.due_at + timedelta(hours=57))  # Mon 09:00
    assert fallback_text(alert.reminder, sent_at=alert.sent_at, held=True).endswith(
        "(held: due Sat 00:00)"
    )
    body = webhook_body(alert)
    assert body["held"] is True
    assert body["reminder"]["due_at"] == "2019-08-03T00:00:00+02:00"
    ((_, slack),) = slack_messages([alert])
    assert slack["text"].endswith("(held: due Sat 00:00)")
    assert "Held for quiet hours: this reminder was due Sat 3 Aug 2019 00:00 CEST" in json.dumps(
        slack, ensure_ascii=False
    )
    ((_, teams),) = teams_messages([alert])
    facts = json.dumps(teams, ensure_ascii=False)
    assert '"title": "Held"' in facts
    assert "held" not in webhook_body(make_alert())


def test_a_held_digest_says_when_it_was_due() -> None:
    body = webhook_body(digest_alert(held=True))
    assert body["held"] is True and body["due_at"] == "2026-12-07T09:00:00+01:00"
    assert "(held: due Mon 09:00)" in body["text"]
    assert make_reminder().kind.value == "reminder"
