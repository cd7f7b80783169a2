"""Email for every kind of alert: digests, held reminders, escalations, moved notices.

Each message is rendered to bytes and parsed back with the ``email`` package, as a
mail client reads it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.model import Templates
from scheduler.render.digest import alert_view
from scheduler.render.email_digest import LISTED_MAX
from scheduler.render.email_mime import email_messages
from scheduler.render.text import fallback_text
from tests.render.test_digest_and_held import digest_alert
from tests.render.test_email import SETTINGS, bodies, calendars, parse
from tests.render.test_notices import escalation, moved
from tests.support.alerts import INF_TITLE, make_alert

BRU = ZoneInfo("Europe/Brussels")


def test_a_digest_is_its_own_message_listing_soonest_first_without_a_calendar() -> None:
    digest = digest_alert(
        3, acknowledged=lambda mid, at: {"by": "alice"} if mid == "m001" else None
    )
    reminder = replace(make_alert(), channel=digest.channel)
    mails = email_messages([reminder, digest], SETTINGS)
    assert [m.alerts for m in mails] == [[digest], [reminder]]
    message = parse(mails[0].content)
    assert message["Subject"] == fallback_text(digest.reminder, sent_at=digest.sent_at)
    assert message["Subject"].startswith("Digest weekly: 3 milestones in the next 14 days — T-1d")
    assert message["X-Tminus-Delivery"] == digest.delivery_id
    assert message.get_content_type() == "multipart/alternative"
    assert calendars(message) == []
    text, html = bodies(message)
    assert text.splitlines()[:6] == [
        "📋 Digest weekly: 3 milestones in the next 14 days",
        "",
        "T-1d: Contract 0 — Tue 8 Dec 2026 09:00 CET",
        "T-1d: Contract 1 — Tue 8 Dec 2026 10:00 CET (✅ acknowledged by alice)",
        "T-1d: Contract 2 — Tue 8 Dec 2026 11:00 CET",
        "",
    ]
    assert "more" not in text
    assert html.index("Contract 0") < html.index("Contract 1") < html.index("Contract 2")
    assert "✅ acknowledged by alice" in html and "Tue 8 Dec 2026 11:00 CET" in html
    # The reminder due with it keeps its own message and calendar.
    assert len(calendars(parse(mails[1].content))) == 1


def test_a_digest_agrees_with_chat_on_every_entry() -> None:
    digest = digest_alert(4)
    text, html = bodies(parse(email_messages([digest], SETTINGS)[0].content))
    for entry in alert_view(digest).entries:
        assert f"{entry.countdown}: {entry.title} — {entry.when}" in text
        assert entry.when in html and entry.title in html


def test_a_long_digest_counts_what_it_does_not_show() -> None:
    digest = digest_alert(LISTED_MAX + 7)
    message = parse(email_messages([digest], SETTINGS)[0].content)
    text, html = bodies(message)
    assert "Contract 49 —" in text and "Contract 50 —" not in text
    assert text.count("Contract ") == LISTED_MAX
    assert "…and 7 more" in text and "…and 7 more" in html
    assert len(message["Subject"]) <= 250 and message["Subject"].endswith("…")


def test_an_empty_digest_says_nothing_is_due() -> None:
    digest = digest_alert(0)
    text, html = bodies(parse(email_messages([digest], SETTINGS)[0].content))
    assert "Digest weekly: nothing due in the next 14 days" in text
    assert "Nothing due." in text and "Nothing due." in html


def test_digest_titles_are_escaped_in_html() -> None:
    digest = digest_alert(1, title="<script>alert({i})</script>")
    _, html = bodies(parse(email_messages([digest], SETTINGS)[0].content))
    assert "<script>" not in html and "&lt;script&gt;alert(0)&lt;/script&gt;" in html


def test_a_held_digest_says_when_it_was_due() -> None:
    digest = replace(
        digest_alert(1, held=True), sent_at=digest_alert(1).sent_at + timedelta(hours=2)
    )
    message = parse(email_messages([digest], SETTINGS)[0].content)
    assert message["Subject"].startswith(
        "Digest weekly: 1 milestone in the next 14 days (held: due Mon 09:00) — "
    )
    text, _ = bodies(message)
    assert text.splitlines()[1] == (
        "Held for quiet hours: this digest was due Mon 7 Dec 2026 09:00 CET"
    )


def test_a_held_reminder_says_so_in_subject_and_body() -> None:
    alert = replace(make_alert(offset="0", at=(2019, 8, 3)), held=True)
    alert = replace(alert, sent_at=alert.reminder.due_at + timedelta(hours=57))  # Mon 09:00
    message = parse(email_messages([alert], SETTINGS)[0].content)
    assert message["Subject"] == fallback_text(alert.reminder, sent_at=alert.sent_at, held=True)
    assert message["Subject"] == (
        f"T+2d9h: {INF_TITLE} — Sat 3 Aug 2019 00:00 CEST (held: due Sat 00:00)"
    )
    text, html = bodies(message)
    line = "Held for quiet hours: this reminder was due Sat 3 Aug 2019 00:00 CEST"
    assert line in text.splitlines() and line in html
    (calendar,) = calendars(message)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2019, 8, 3)


def test_an_escalation_reads_unacknowledged() -> None:
    alert = escalation()
    message = parse(email_messages([alert], SETTINGS)[0].content)
    assert message["Subject"] == f"Unacknowledged: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST (T-1d)"
    text, html = bodies(message)
    assert text.splitlines()[0] == f"🚨 {INF_TITLE}"
    assert "🚨" in html and INF_TITLE in html


def test_a_moved_notice_reads_moved_and_its_calendar_shows_the_new_date() -> None:
    was, now = datetime(2019, 8, 2, tzinfo=BRU), datetime(2019, 8, 5, tzinfo=BRU)
    alert = moved(was, now, "us-notice moved")
    message = parse(email_messages([alert], SETTINGS)[0].content)
    assert message["Subject"] == (
        f"Moved: {INF_TITLE} — was Fri 2 Aug 2019, now Mon 5 Aug 2019 (us-notice moved)"
    )
    text, html = bodies(message)
    assert text.splitlines()[:2] == [
        f"📅 {INF_TITLE}",
        "Moved from Fri 2 Aug 2019 · Mon 5 Aug 2019 00:00 CEST",
    ]
    assert "Moved from Fri 2 Aug 2019" in html
    (calendar,) = calendars(message)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2019, 8, 5)
    [part] = message.iter_attachments()
    assert part.get_filename() == "withdrawal-effective-20190805.ics"


def test_a_digest_keeps_its_own_words_under_a_channels_templates() -> None:
    digest = digest_alert(2)
    templates = Templates(subject="Due: {{ milestone.title }}", text="{{ milestone.title }}")
    [mail] = email_messages([digest], SETTINGS, templates)
    assert mail.fallbacks == ()
    message = parse(mail.content)
    assert message["Subject"] == fallback_text(digest.reminder, sent_at=digest.sent_at)
    assert "T-1d: Contract 1 — Tue 8 Dec 2026 10:00 CET" in bodies(message)[0]
