"""Rendering escalations and moved-deadline notices on every channel."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.model import Alert, AlertKind
from scheduler.render import discord_payloads, slack_payloads, teams_payloads, webhook_body
from scheduler.render.notices import Move, moved_line
from tests.support.alerts import INF_TITLE, make_alert

BRU = ZoneInfo("Europe/Brussels")


def escalation(level: int = 1, offset: str = "1d") -> Alert:
    alert = make_alert(offset=offset)
    reminder = replace(
        alert.reminder,
        kind=AlertKind.ESCALATION,
        extra=MappingProxyType({"escalation": {"at": alert.reminder.offset.iso(), "level": level}}),
    )
    return replace(alert, reminder=reminder, delivery_id=reminder.delivery_id(alert.channel))


def moved(was: datetime, now: datetime, why: str = "") -> Alert:
    alert = make_alert(offset="0", at=(now.year, now.month, now.day, now.hour, now.minute))
    extra = {"moved": {"was": was.isoformat(), "now": now.isoformat(), "why": why}}
    reminder = replace(alert.reminder, kind=AlertKind.MOVED, extra=MappingProxyType(extra))
    return replace(alert, reminder=reminder, delivery_id=reminder.delivery_id(alert.channel))


def test_escalation_text_starts_unacknowledged_on_every_chat_channel() -> None:
    alert = escalation()
    expected = f"Unacknowledged: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST (T-1d)"
    ((_, slack),) = slack_payloads([alert])
    assert slack["text"] == expected
    assert "🚨" in slack["blocks"][0]["text"]["text"]
    assert "escalation 1 · 1 day before" in json.dumps(slack["blocks"], ensure_ascii=False)
    ((_, discord),) = discord_payloads([alert])
    assert discord["content"].startswith("Unacknowledged: ")
    ((_, teams),) = teams_payloads([alert])
    card: dict[str, Any] = teams["attachments"][0]["content"]
    assert card["fallbackText"] == expected


def test_escalation_webhook_body() -> None:
    body = webhook_body(escalation(level=2))
    assert body["type"] == "milestone.escalated"
    assert body["escalation"] == {"at": "P1D", "level": 2}
    assert body["reminder"]["label"] == "escalation 2 · 1 day before"
    assert body["milestone"]["at"] == "2019-08-02T00:00:00+02:00"


@pytest.mark.parametrize(
    ("was", "now", "why", "expected"),
    [
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 8, 5, tzinfo=BRU),
            "us-notice moved; withdrawal-effective follows it",
            f"Moved: {INF_TITLE} — was Fri 2 Aug 2019, now Mon 5 Aug 2019 "
            "(us-notice moved; withdrawal-effective follows it)",
        ),
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 8, 2, 9, 30, tzinfo=BRU),
            "at changed",
            f"Moved: {INF_TITLE} — was Fri 2 Aug 2019 00:00 CEST, now Fri 2 Aug 2019 09:30 CEST "
            "(at changed)",
        ),
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 8, 5, tzinfo=BRU),
            "",
            f"Moved: {INF_TITLE} — was Fri 2 Aug 2019, now Mon 5 Aug 2019",
        ),
    ],
)
def test_moved_line(was: datetime, now: datetime, why: str, expected: str) -> None:
    alert = moved(was, now, why)
    ((_, slack),) = slack_payloads([alert])
    assert slack["text"] == expected
    assert moved_line(INF_TITLE, Move(was, now, why)) == expected
    ((_, discord),) = discord_payloads([alert])
    assert discord["content"] == expected
    blocks = json.dumps(slack["blocks"], ensure_ascii=False)
    assert "Moved from Fri 2 Aug 2019" in blocks
    assert "deadline moved" in blocks


def test_moved_webhook_body_carries_both_instants() -> None:
    was, now = datetime(2019, 8, 2, tzinfo=BRU), datetime(2019, 8, 5, tzinfo=BRU)
    body = webhook_body(moved(was, now, "at changed"))
    assert body["type"] == "milestone.moved"
    assert body["moved"] == {
        "was": "2019-08-02T00:00:00+02:00",
        "now": "2019-08-05T00:00:00+02:00",
        "why": "at changed",
    }
    assert body["milestone"]["at"] == "2019-08-05T00:00:00+02:00"
