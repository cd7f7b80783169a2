"""Slack and Discord messages: golden cases, hostile input, limits, grouping."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.model import Alert
from scheduler.render import discord_payloads, slack_payloads
from tests.support.alerts import burst, make_alert
from tests.support.chat_limits import discord_problems, slack_problems, ulen

HOSTILE = "<!channel> <!here> & <@U123|boss> *bold* `code` @everyone 💥"
LONG = "💥" * 5_000  # 10,000 UTF-16 units
TITLES = ["INF Treaty withdrawal takes effect", HOSTILE, "x" * 10_000, LONG, HOSTILE * 200]
ZONES = ["Europe/Brussels", "America/New_York", "Asia/Kolkata"]
OFFSETS = ["30d", "7d", "36h", "2h", "0", "-2h", "6 months"]
LATENESS = [None, timedelta(minutes=40), timedelta(hours=5, minutes=3)]


def all_variants() -> list[Alert]:
    return [
        make_alert(title=title, zone=zone, offset=offset, late_by=late)
        for title, zone, offset, late in itertools.product(TITLES, ZONES, OFFSETS, LATENESS)
    ]


# -- golden ------------------------------------------------------------------


def test_slack_golden_seven_days_before() -> None:
    [(carried, payload)] = slack_payloads([alert := make_alert()])
    assert carried == [alert]
    assert payload == {
        "text": "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "⏳ INF Treaty withdrawal takes effect"},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*In 7 days* · Fri 2 Aug 2019 00:00 CEST\n"
                    "Article XV — six months after notice.",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "<https://example.org/inf>"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "7 days before · #inf #usa"}],
            },
        ],
    }


def test_slack_golden_reached_late_in_new_york() -> None:
    alert = make_alert(offset="0", zone="America/New_York", late_by=timedelta(minutes=40))
    [(_, payload)] = slack_payloads([alert])
    assert payload["text"] == (
        # Issue 13: 40 minutes after the moment the fallback no longer says "Now"
        # while the body says "Reached 40 minutes ago".
        "T+40m: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 EDT (late by 40 minutes)"
    )
    assert payload["blocks"][0]["text"]["text"] == "🏁 INF Treaty withdrawal takes effect"
    assert payload["blocks"][1]["text"]["text"] == (
        "*Reached 40 minutes ago* · Fri 2 Aug 2019 00:00 EDT\n"
        ":warning: Late by 40 minutes: this reminder was due Fri 2 Aug 2019 00:00 EDT\n"
        "Article XV — six months after notice."
    )
    assert payload["blocks"][-1]["elements"][0]["text"] == "at the moment · #inf #usa"


def test_slack_golden_hours_before_in_kolkata() -> None:
    alert = make_alert(offset="36h", zone="Asia/Kolkata", at=(2019, 8, 2, 9, 30), links=())
    [(_, payload)] = slack_payloads([alert])
    assert payload["text"] == "T-36h: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 09:30 IST"
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert payload["blocks"][1]["text"]["text"].startswith(
        "*In 1 day 12 hours* · Fri 2 Aug 2019 09:30 IST"
    )


def test_discord_golden_seven_days_before() -> None:
    [(_, payload)] = discord_payloads([make_alert()])
    assert payload == {
        "content": "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        "embeds": [
            {
                "title": "⏳ INF Treaty withdrawal takes effect",
                "description": "**In 7 days** · Fri 2 Aug 2019 00:00 CEST\n\n"
                "Article XV — six months after notice.",
                "timestamp": "2019-08-01T22:00:00+00:00",
                "color": 0x3B82F6,
                "fields": [
                    {"name": "When", "value": "Fri 2 Aug 2019 00:00 CEST", "inline": True},
                    {"name": "Reminder", "value": "7 days before", "inline": True},
                    {"name": "Tags", "value": "#inf #usa", "inline": True},
                    {"name": "Links", "value": "https://example.org/inf"},
                ],
            }
        ],
        "allowed_mentions": {"parse": []},
    }


def test_discord_golden_late_reached() -> None:
    alert = make_alert(offset="0", zone="Asia/Kolkata", late_by=timedelta(hours=2, minutes=5))
    [(_, payload)] = discord_payloads([alert])
    embed = payload["embeds"][0]
    assert payload["content"] == (
        # Issue 13: "T+2h5m", as the body's "Reached 2 hours 5 minutes ago" (was "Now").
        "T+2h5m: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 IST "
        "(late by 2 hours 5 minutes)"
    )
    assert embed["title"] == "🏁 INF Treaty withdrawal takes effect"
    assert embed["description"].startswith(
        "**Reached 2 hours 5 minutes ago** · Fri 2 Aug 2019 00:00 IST\n"
        "⚠️ Late by 2 hours 5 minutes: this reminder was due Fri 2 Aug 2019 00:00 IST"
    )
    assert embed["timestamp"] == "2019-08-01T18:30:00+00:00"
    assert embed["color"] == 0xD97706


def test_lateness_is_real_time_across_dst() -> None:
    # Due 01:30 CET on the spring-forward night, sent 03:30 CEST: one real hour late.
    zone = ZoneInfo("Europe/Brussels")
    alert = make_alert(offset="0", at=(2025, 3, 30, 1, 30), late_by=timedelta(0))
    alert = Alert(
        alert.delivery_id,
        alert.reminder,
        alert.channel,
        1,
        True,
        datetime(2025, 3, 30, 3, 30, tzinfo=zone),
    )
    [(_, payload)] = slack_payloads([alert])
    assert payload["text"].endswith("(late by 1 hour)")


# -- hostile input -------------------------------------------------------------


def test_slack_escapes_markup_everywhere() -> None:
    alert = make_alert(
        title=HOSTILE,
        description="a < b && c > d <!everyone>",
        tags=("<!here>",),
        links=("javascript:<x>",),
    )
    [(_, payload)] = slack_payloads([alert])
    assert slack_problems(payload) == []
    text = str(payload)
    assert "<!channel>" not in text and "<!here>" not in text and "<!everyone>" not in text
    assert "<@U123" not in text
    assert payload["blocks"][0]["text"]["text"] == (
        "⏳ &lt;!channel&gt; &lt;!here&gt; &amp; &lt;@U123|boss&gt; *bold* `code` @everyone 💥"
    )
    assert "a &lt; b &amp;&amp; c &gt; d &lt;!everyone&gt;" in payload["blocks"][1]["text"]["text"]
    assert payload["blocks"][2]["text"]["text"] == "javascript:&lt;x&gt;"


def test_discord_never_pings_and_escapes_markdown() -> None:
    [(_, payload)] = discord_payloads([make_alert(title=HOSTILE, description="**loud** @here")])
    assert payload["allowed_mentions"] == {"parse": []}
    assert "\\*bold\\*" in payload["content"]
    assert "\\*\\*loud\\*\\* @here" in payload["embeds"][0]["description"]
    assert discord_problems(payload) == []


@pytest.mark.parametrize("title", ["x" * 10_000, LONG])
def test_long_titles_are_cut_with_an_ellipsis(title: str) -> None:
    [(_, slack)] = slack_payloads([make_alert(title=title)])
    header = slack["blocks"][0]["text"]["text"]
    assert header.endswith("…") and 140 <= ulen(header) <= 150
    assert ulen(slack["text"]) <= 3000
    [(_, discord)] = discord_payloads([make_alert(title=title)])
    assert (
        discord["embeds"][0]["title"].endswith("…") and ulen(discord["embeds"][0]["title"]) <= 256
    )
    assert ulen(discord["content"]) <= 2000


def test_an_escape_is_never_cut_in_half() -> None:
    [(_, payload)] = slack_payloads([make_alert(title="&" * 200)])
    header = payload["blocks"][0]["text"]["text"]
    assert header.endswith("&amp;…"), header[-12:]


def test_huge_description_and_fields_fit_discords_total() -> None:
    alert = make_alert(
        description="d" * 20_000,
        tags=tuple("t" * 300 for _ in range(20)),
        links=tuple(f"https://example.org/{'p' * 400}/{i}" for i in range(30)),
    )
    [(_, payload)] = discord_payloads([alert])
    assert discord_problems(payload) == []
    [(_, payload)] = slack_payloads([alert])
    assert slack_problems(payload) == []
    assert payload["blocks"][2]["text"]["text"].endswith("more")


def test_every_variant_is_within_limits() -> None:
    variants = all_variants()
    assert len(variants) == 315
    for alert in variants:
        [(_, slack)] = slack_payloads([alert])
        [(_, discord)] = discord_payloads([alert])
        assert slack_problems(slack) == [], alert.reminder.milestone.title[:40]
        assert discord_problems(discord) == [], alert.reminder.milestone.title[:40]


# -- grouping ----------------------------------------------------------------------


def test_group_is_one_message_soonest_first() -> None:
    late = make_alert(milestone_id="b", title="Later deadline", at=(2019, 8, 3))
    soon = make_alert(milestone_id="a", title="Sooner deadline", at=(2019, 8, 2), offset="0")
    [(carried, payload)] = slack_payloads([late, soon])
    assert carried == [soon, late]
    assert payload["blocks"][0]["text"]["text"] == "⏳ 2 reminders, soonest first"
    assert payload["blocks"][1]["text"]["text"].startswith("🏁 *Sooner deadline*\n*Reached now*")
    assert payload["blocks"][2]["text"]["text"].startswith(
        "⏳ *Later deadline*\n*In 7 days* · Sat 3 Aug"
    )
    assert payload["text"].startswith("2 reminders: Now: Sooner deadline")
    [(carried, payload)] = discord_payloads([late, soon])
    assert carried == [soon, late]
    assert [e["title"] for e in payload["embeds"]] == ["🏁 Sooner deadline", "⏳ Later deadline"]


@pytest.mark.parametrize("n", [2, 49, 50, 200, 500])
def test_burst_splits_only_at_the_limits(n: int) -> None:
    alerts = burst(n)
    slack = slack_payloads(alerts)
    assert len(slack) == -(-n // 49)  # 49 sections per message: fewest posts the block limit allows
    discord = discord_payloads(alerts)
    assert len(discord) == -(-n // 10)
    for messages, check in ((slack, slack_problems), (discord, discord_problems)):
        carried = [a for group, _ in messages for a in group]
        assert sorted(a.delivery_id for a in carried) == sorted(a.delivery_id for a in alerts)
        assert carried == sorted(
            carried, key=lambda a: (a.reminder.occurrence, a.reminder.milestone.id)
        )
        for _, payload in messages:
            assert check(payload) == []


@pytest.mark.parametrize("title", [HOSTILE * 50, LONG])
def test_hostile_burst_stays_within_limits_and_rerenders_identically(title: str) -> None:
    alerts = burst(120, title=title)
    for render in (slack_payloads, discord_payloads):
        messages = render(alerts)
        for group, payload in messages:
            assert render(group) == [(group, payload)]  # a notifier batch is exactly one request
        problems = slack_problems if render is slack_payloads else discord_problems
        assert all(problems(p) == [] for _, p in messages)


def test_nothing_to_render() -> None:
    assert slack_payloads([]) == [] and discord_payloads([]) == []
