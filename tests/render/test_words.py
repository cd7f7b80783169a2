"""One wording source: icon, status, countdown and fallback agree at every offset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.model import Alert
from scheduler.render import discord_payloads, slack_payloads
from scheduler.render.view import view
from scheduler.render.words import wording
from scheduler.timekeeping import short_span
from tests.support.alerts import make_alert

TITLE = "INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST"


def sent(offset: str, *, after_due: timedelta, late: bool = False) -> Alert:
    alert = make_alert(offset=offset, late_by=after_due if late else None, jitter=after_due)
    return alert


@pytest.mark.parametrize(
    ("offset", "after_due", "late", "icon", "status", "countdown"),
    [
        ("0", timedelta(milliseconds=12), False, "🏁", "Reached now", "Now"),
        ("10s", timedelta(milliseconds=12), False, "🏁", "Reached now", "Now"),
        ("1h", timedelta(milliseconds=12), False, "⏳", "In 1 hour", "T-1h"),
        ("7d", timedelta(milliseconds=12), False, "⏳", "In 7 days", "T-7d"),
        ("-2h", timedelta(milliseconds=12), False, "⌛", "2 hours ago", "T+2h"),
        # late, still before the moment: the reminder keeps its name, the note says how late
        ("7d", timedelta(hours=5), True, "⏳", "In 6 days 19 hours", "T-7d"),
        ("1h", timedelta(minutes=20), True, "⏳", "In 40 minutes", "T-1h"),
        # late past the moment: the countdown is the real one
        ("0", timedelta(minutes=40), True, "🏁", "Reached 40 minutes ago", "T+40m"),
        ("1h", timedelta(hours=3), True, "🏁", "Reached 2 hours ago", "T+2h"),
        # notify-test sends a moment reminder now, long before the moment
        ("0", -timedelta(days=150), False, "⏳", "In 150 days", "T-150d"),
        # ...and a "7 days before" one keeps its name while the moment is ahead
        ("7d", -timedelta(days=143), False, "⏳", "In 150 days", "T-7d"),
    ],
)
def test_every_place_says_the_same(
    offset: str,
    after_due: timedelta,
    late: bool,
    icon: str,
    status: str,
    countdown: str,
) -> None:
    alert = sent(offset, after_due=after_due, late=late)
    v = view(alert)
    assert (v.icon, v.status, v.countdown) == (icon, status, countdown)
    assert v.fallback.startswith(f"{countdown}: {TITLE}")
    assert ("(late by" in v.fallback) is late
    [(_, slack)] = slack_payloads([alert])
    assert slack["text"] == v.fallback
    assert slack["blocks"][0]["text"]["text"] == f"{icon} INF Treaty withdrawal takes effect"
    assert slack["blocks"][1]["text"]["text"].startswith(f"*{status}* · ")
    [(_, discord)] = discord_payloads([alert])
    assert discord["content"] == v.fallback
    assert discord["embeds"][0]["title"].startswith(icon)
    assert discord["embeds"][0]["description"].startswith(f"**{status}** · ")


def test_wording_is_the_views() -> None:
    alert = make_alert(offset="0", jitter=-timedelta(days=150))
    words = wording(alert.reminder, alert.sent_at)
    v = view(alert)
    assert (words.icon, words.status, words.countdown, words.fallback) == (
        v.icon,
        v.status,
        v.countdown,
        v.fallback,
    )


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(seconds=10), "10s"),
        (timedelta(minutes=40), "40m"),
        (timedelta(hours=2, minutes=5), "2h5m"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(days=150), "150d"),
        (timedelta(days=3, minutes=2), "3d"),
        (-timedelta(hours=2), "2h"),
    ],
)
def test_short_span(span: timedelta, expected: str) -> None:
    assert short_span(span) == expected


def test_slack_bold_title_keeps_its_asterisks_inert() -> None:
    alerts = [
        make_alert(milestone_id="a", title="Renew *.example.com certificate"),
        make_alert(milestone_id="b", title="Rotate *keys*", at=(2019, 8, 3)),
    ]
    [(_, payload)] = slack_payloads(alerts)
    first = payload["blocks"][1]["text"]["text"].splitlines()[0]
    assert first == "⏳ *Renew ∗.example.com certificate*"
    second = payload["blocks"][2]["text"]["text"].splitlines()[0]
    assert second == "⏳ *Rotate ∗keys∗*"
    # the header block is plain text: nothing to escape there
    [(_, single)] = slack_payloads(alerts[:1])
    assert single["blocks"][0]["text"]["text"] == "⏳ Renew *.example.com certificate"
