"""Email rendering: the texts, the MIME structure, the calendar attachment, threading ids."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import icalendar
import pytest

from scheduler.model import Alert, EmailSettings, Mailbox
from scheduler.render.email import SUBJECT_MAX, email_text
from scheduler.render.email_mime import (
    MAX_GROUP_ALERTS,
    build_message,
    email_messages,
    message_id,
    thread_root,
)
from scheduler.render.text import fallback_text
from tests.support.alerts import INF_TITLE, burst, make_alert

SETTINGS = EmailSettings(
    host="mail.example.org",
    port=587,
    implicit_tls=False,
    sender=Mailbox("deadlines@Example.org", "tminus"),
    recipients=(Mailbox("legal@example.org"), Mailbox("counsel@example.org", "Counsel")),
)
CHANNEL = "legal-mail"


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def sent(alerts: list[Alert], settings: EmailSettings = SETTINGS) -> EmailMessage:
    [mail] = email_messages(alerts, settings)
    assert sorted(a.delivery_id for a in mail.alerts) == sorted(a.delivery_id for a in alerts)
    assert mail.fallbacks == ()
    return parse(mail.content)


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def calendars(message: EmailMessage) -> list[icalendar.Calendar]:
    out = []
    for part in message.iter_attachments():
        assert part.get_content_type() == "text/calendar"
        assert part.get_param("method") == "PUBLISH"
        assert part.get_filename().endswith(".ics")
        out.append(icalendar.Calendar.from_ical(part.get_content()))
    return out


def test_one_reminder_reads_like_the_slack_message() -> None:
    alert = make_alert(channel=CHANNEL)
    message = sent([alert])
    assert message["Subject"] == fallback_text(alert.reminder, sent_at=alert.sent_at)
    assert message["Subject"] == f"T-7d: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST"
    assert message["From"].addresses[0].addr_spec == "deadlines@Example.org"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "legal@example.org",
        "counsel@example.org",
    ]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == alert.sent_at.replace(microsecond=0)
    text, html = bodies(message)
    assert text.splitlines()[:2] == [f"⏳ {INF_TITLE}", "In 7 days · Fri 2 Aug 2019 00:00 CEST"]
    assert "Article XV — six months after notice." in text
    assert "https://example.org/inf" in text and "7 days before · #inf #usa" in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:600px" in html
    assert '<a href="https://example.org/inf"' in html


def test_multipart_alternative_plain_first_then_html() -> None:
    message = sent([make_alert(channel=CHANNEL)])
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
    ]
    assert attachment.get_content_disposition() == "attachment"
    assert not message.defects and not alternative.defects


def test_without_ics_the_message_is_the_alternative_alone() -> None:
    settings = EmailSettings(**{**_fields(SETTINGS), "attach_ics": False})
    message = sent([make_alert(channel=CHANNEL)], settings)
    assert message.get_content_type() == "multipart/alternative"
    assert list(message.iter_attachments()) == []


def _fields(settings: EmailSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]


def test_hostile_text_is_escaped_in_html_and_kept_in_text() -> None:
    title = '<script>alert("x")</script> & <b>bold</b>'
    alert = make_alert(
        channel=CHANNEL,
        title=title,
        description="line one\n<img src=x onerror=alert(1)>",
        links=("javascript:alert(1)", "https://example.org/a?b=1&c=<2>"),
    )
    text, html = bodies(sent([alert]))
    assert title in text
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "line one<br>" in html
    assert 'href="javascript' not in html  # shown as text, never a link
    assert 'href="https://example.org/a?b=1&amp;c=&lt;2&gt;"' in html


def test_late_reminder_says_so() -> None:
    alert = make_alert(channel=CHANNEL, late_by=timedelta(hours=2))
    message = sent([alert])
    assert message["Subject"].endswith("(late by 2 hours)")
    text, html = bodies(message)
    assert "Late by 2 hours: this reminder was due" in text and "Late by 2 hours" in html


def test_a_group_is_one_message_soonest_first() -> None:
    alerts = burst(3, channel=CHANNEL)
    message = sent(list(reversed(alerts)))
    assert message["Subject"].startswith("3 reminders: T-7d: Deadline 000")
    text, html = bodies(message)
    assert text.startswith("⏳ 3 reminders, soonest first")
    assert text.index("Deadline 000") < text.index("Deadline 001") < text.index("Deadline 002")
    assert html.count("<h2 ") == 3
    assert len(calendars(message)) == 3
    assert message["X-Tminus-Delivery"] == ", ".join(a.delivery_id for a in alerts)


def test_long_groups_are_split() -> None:
    alerts = burst(MAX_GROUP_ALERTS + 5, channel=CHANNEL)
    messages = email_messages(alerts, SETTINGS)
    assert [len(mail.alerts) for mail in messages] == [MAX_GROUP_ALERTS, 5]
    # Rendering a returned group again gives the same message: the pipeline relies on it.
    assert email_messages(messages[0].alerts, SETTINGS) == [messages[0]]


def test_the_subject_is_bounded() -> None:
    message = sent(burst(40, channel=CHANNEL, title="A rather long deadline title"))
    assert len(message["Subject"]) <= SUBJECT_MAX
    assert message["Subject"].endswith("…")
    assert "\n" not in email_text(burst(40, channel=CHANNEL)).subject


def test_the_attachment_is_the_occurrence_calendar_apps_import() -> None:
    alert = make_alert(channel=CHANNEL, at=(2030, 1, 15, 9, 30), offset="1d")
    (cal,) = calendars(sent([alert]))
    assert cal["METHOD"] == "PUBLISH"
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == alert.reminder.occurrence
    assert str(event["SUMMARY"]) == INF_TITLE
    assert str(event["URL"]) == "https://example.org/inf"
    assert str(event["UID"]).startswith("withdrawal-effective-20300115T083000")
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Brussels"]


def test_a_midnight_moment_is_a_whole_day() -> None:
    (cal,) = calendars(sent([make_alert(channel=CHANNEL)]))
    (event,) = cal.walk("VEVENT")
    assert str(event.decoded("DTSTART")) == "2019-08-02"
    assert str(event.decoded("DTEND")) == "2019-08-03"


def test_every_reminder_of_an_occurrence_is_one_thread() -> None:
    offsets = ["30d", "7d", "0"]
    alerts = [make_alert(channel=CHANNEL, offset=o) for o in offsets]
    messages = [sent([a]) for a in alerts]
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == 3
    assert ids == [f"<{a.delivery_id}@example.org>" for a in alerts]
    root = thread_root(alerts[0].reminder, CHANNEL, "example.org")
    for m in messages:
        assert m["In-Reply-To"] == root and m["References"] == root
    # Another occurrence (the deadline moved) and another channel are other threads.
    moved = make_alert(channel=CHANNEL, at=(2019, 8, 3))
    assert sent([moved])["References"] != root
    assert thread_root(alerts[0].reminder, "other", "example.org") != root


def test_the_same_deliveries_give_the_same_message_id() -> None:
    alerts = burst(3, channel=CHANNEL)
    assert message_id(alerts, "example.org") == message_id(alerts[::-1], "example.org")
    assert message_id(alerts, "example.org").startswith("<grp_")
    assert message_id(alerts[:2], "example.org") != message_id(alerts, "example.org")
    first = build_message(alerts, SETTINGS).as_bytes()
    assert build_message(alerts[::-1], SETTINGS).as_bytes() == first


@pytest.mark.parametrize("name", ["Ünïcode Desk", "Legal, Counsel", 'quote "me"'])
def test_display_names_survive_the_round_trip(name: str) -> None:
    settings = EmailSettings(**{**_fields(SETTINGS), "sender": Mailbox("d@example.org", name)})
    message = sent([make_alert(channel=CHANNEL)], settings)
    (address,) = message["From"].addresses
    assert (address.display_name, address.addr_spec) == (name, "d@example.org")
