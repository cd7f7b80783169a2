"""Email in a channel's templates: the subject, the plain and HTML parts, the fallback."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage

import pytest

from scheduler.model import Alert, Templates
from scheduler.render.email import SUBJECT_MAX
from scheduler.render.email_mime import email_messages
from scheduler.render.template import Markup, markup_for, render_text, sample_alert
from tests.render.test_email import CHANNEL, SETTINGS, parse
from tests.render.test_email import bodies as crlf_bodies
from tests.support.alerts import INF_TITLE, burst, make_alert

SUBJECT = "[{{ countdown }}] {{ milestone.title }}"
TEXT = """\
{{ countdown }}: {{ milestone.title }}
Due {{ milestone.at | date('%a %-d %b %Y') }}.

Read {{ milestone.links[0] }}, then file it."""


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain and HTML parts with the wire's CRLF line ends read as ``\\n``."""
    text, html = crlf_bodies(message)
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def mail(alerts: list[Alert], templates: Templates):  # type: ignore[no-untyped-def]
    """The one message carrying ``alerts``, parsed, and the alerts whose template failed."""
    [rendered] = email_messages(alerts, SETTINGS, templates)
    return parse(rendered.content), rendered.fallbacks


def test_the_subject_template_replaces_the_subject_line_only() -> None:
    message, fallbacks = mail([make_alert(channel=CHANNEL)], Templates(subject=SUBJECT))
    assert fallbacks == ()
    assert message["Subject"] == f"[T-7d] {INF_TITLE}"
    text, html = bodies(message)
    assert text.splitlines()[:2] == [f"⏳ {INF_TITLE}", "In 7 days · Fri 2 Aug 2019 00:00 CEST"]
    assert f"<title>[T-7d] {INF_TITLE}</title>" in html


def test_the_template_replaces_the_text_in_both_parts() -> None:
    message, fallbacks = mail([make_alert(channel=CHANNEL)], Templates(text=TEXT))
    assert fallbacks == ()
    assert message["Subject"] == f"T-7d: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST"
    text, html = bodies(message)
    assert text == (
        f"T-7d: {INF_TITLE}\nDue Fri 2 Aug 2019.\n\n"
        "Read https://example.org/inf, then file it.\n\n-- \nSent by tminus.\n"
    )
    # One paragraph per block, its line break kept, the URL a link without its comma.
    assert f"T-7d: {INF_TITLE}<br>\nDue Fri 2 Aug 2019.</p>" in html
    assert 'Read <a href="https://example.org/inf" style="color:#0969da">' in html
    assert "</a>, then file it.</p>" in html
    assert "max-width:600px" in html and "<pre" not in html
    assert "In 7 days" not in html  # the built-in card is gone


def test_templated_text_is_escaped_in_html_and_kept_in_text() -> None:
    title = '<script>alert("x")</script> & <!channel> *bold*'
    alert = make_alert(channel=CHANNEL, title=title, links=("javascript:alert(1)",))
    source = "{{ milestone.title }} {{ milestone.links[0] }}"
    message, _ = mail([alert], Templates(subject="{{ milestone.title }}", text=source))
    # Plain channels: values as written, as ``tminus check`` renders an email's templates.
    assert message["Subject"] == title
    text, html = bodies(message)
    assert text.startswith(f"{title} javascript:alert(1)\n")
    assert "<script>" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;!channel&gt;" in html


def test_rendering_matches_what_check_renders() -> None:
    assert markup_for("email") is Markup.PLAIN  # what check_templates renders an email's with
    source = "{{ text }} | {{ milestone.description }} & <{{ reminder.label }}>"
    templates = Templates(subject=source, text=source)
    alert = replace(sample_alert("Europe/Brussels"), channel=CHANNEL)
    expected = render_text(source, alert, templates).text
    assert expected is not None
    message, _ = mail([alert], templates)
    assert message["Subject"] == expected
    assert bodies(message)[0].startswith(expected + "\n")


def test_a_group_keeps_its_shape_with_each_alert_templated() -> None:
    alerts = burst(3, channel=CHANNEL)
    templates = Templates(subject="{{ milestone.title }}", text="{{ milestone.id }} is due")
    message, _ = mail(alerts[::-1], templates)
    assert message["Subject"] == "3 reminders: Deadline 000; Deadline 001; Deadline 002"
    text, html = bodies(message)
    assert text.startswith("⏳ 3 reminders, soonest first\n\ndeadline-000 is due\n\n")
    assert html.count("is due</p>") == 3
    assert html.index("deadline-000") < html.index("deadline-001") < html.index("deadline-002")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("{{ milestone.title }}\r\n\tBcc: all@example.org", f"{INF_TITLE} Bcc: all@example.org"),
        ("{% for i in range(100) %}{{ milestone.title }} {% endfor %}", None),
    ],
)
def test_a_subject_is_one_bounded_line(subject: str, expected: str | None) -> None:
    message, _ = mail([make_alert(channel=CHANNEL)], Templates(subject=subject))
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Bcc"] is None
    if expected is not None:
        assert message["Subject"] == expected
    else:
        assert len(message["Subject"]) <= SUBJECT_MAX and message["Subject"].endswith("…")


def test_a_template_failing_for_one_alert_gives_it_the_built_in_words() -> None:
    # The second deadline has one tag: ``tags[1]`` fails for it alone.
    [ok] = burst(1, channel=CHANNEL)
    one_tag = make_alert(
        channel=CHANNEL, milestone_id="deadline-001", title="Deadline 001", tags=("inf",)
    )
    source = "{{ milestone.tags[1] }}: {{ milestone.title }}"
    message, fallbacks = mail([ok, one_tag], Templates(subject=source, text=source))
    assert [(f.alert, f.key) for f in fallbacks] == [(one_tag, "subject"), (one_tag, "template")]
    assert all("unknown variable" in f.problem.describe() for f in fallbacks)
    assert message["Subject"] == (
        "2 reminders: usa: Deadline 000; T-7d: Deadline 001 — Fri 2 Aug 2019 00:00 CEST"
    )
    text, html = bodies(message)
    assert "usa: Deadline 000\n\n⏳ Deadline 001\nIn 7 days · Fri 2 Aug 2019 00:00 CEST" in text
    assert "usa: Deadline 000</p>" in html and "⏳ Deadline 001</h2>" in html


@pytest.mark.parametrize("source", ["{{ '' }}", "   \n  "])
def test_a_template_rendering_to_nothing_falls_back(source: str) -> None:
    alert = make_alert(channel=CHANNEL)
    message, fallbacks = mail([alert], Templates(subject=source))
    assert message["Subject"] == f"T-7d: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST"
    [failure] = fallbacks
    assert failure.key == "subject" and "empty" in failure.problem.describe()


def test_without_templates_the_words_are_the_built_in_ones() -> None:
    alerts = burst(2, channel=CHANNEL)
    assert email_messages(alerts, SETTINGS, Templates()) == email_messages(alerts, SETTINGS)
    env_only = Templates(env={"TMINUS_TEMPLATE_X": "x"})
    assert email_messages(alerts, SETTINGS, env_only) == email_messages(alerts, SETTINGS)
