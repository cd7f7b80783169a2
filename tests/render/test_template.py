"""Template rendering: variables, the sandbox, escaping, limits and the built-in fallback."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.model import Templates
from scheduler.render.limits import ulen
from scheduler.render.template import (
    Markup,
    render_json,
    render_text,
    sample_alert,
    template_context,
)
from scheduler.render.templated import (
    DISCORD_TEXT,
    SLACK_TEXT,
    TEAMS_TEXT,
    templated_payloads,
)
from tests.support.alerts import INF_TITLE, make_alert

ENV = Templates(env={"PD_KEY": "R0UT1NGKEY-0123"})

# (template, expected output) for the alert of make_alert(): 7 days before, on time.
RENDERS = [
    ("{{ countdown }}", "T-7d"),
    ("{{ text }}", f"T-7d: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST"),
    ("{{ milestone.id }} {{ milestone.timezone }}", "withdrawal-effective Europe/Brussels"),
    ("{{ milestone.at }}", "2019-08-02T00:00:00+02:00"),
    ("{{ milestone.at | date('%a %-d %b %Y') }}", "Fri 2 Aug 2019"),
    ("{{ reminder.due_at | date }}", "Fri 26 Jul 2019 00:00 CEST"),
    ("{{ reminder.offset }} / {{ reminder.label }}", "P7D / 7 days before"),
    (
        "{{ milestone.tags | join(',') }} {{ milestone.links[0] }}",
        "inf,usa https://example.org/inf",
    ),
    ("{{ late }} {{ attempt }} [{{ ack_url }}]", "False 1 []"),
    ("{{ type }}", "reminder.due"),
    ("{{ env.PD_KEY }}", "R0UT1NGKEY-0123"),
    ("  padded\n\n", "padded"),
]


@pytest.mark.parametrize(("source", "expected"), RENDERS)
def test_variables(source: str, expected: str) -> None:
    assert render_text(source, make_alert(), ENV).text == expected


ACK = "https://tminus.example.org/ack/eyJ2MSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("link", "markup", "expected"),
    [
        (ACK, Markup.PLAIN, f"Acknowledge: {ACK}"),
        (ACK, Markup.SLACK, f"Acknowledge: {ACK}"),
        (f"{ACK}?a=1&b=2", Markup.SLACK, f"Acknowledge: {ACK}?a=1&amp;b=2"),
        ("", Markup.PLAIN, "Acknowledge:"),
    ],
)
def test_ack_url_is_the_alerts_link(link: str, markup: Markup, expected: str) -> None:
    alert = replace(make_alert(), ack_url=link)
    assert template_context(alert, {})["ack_url"] == link
    assert render_text("Acknowledge: {{ ack_url }}", alert, ENV, markup=markup).text == expected


def test_context_names_are_the_documented_ones() -> None:
    context = template_context(make_alert(), {})
    documented = {"milestone", "reminder", "text", "countdown", "late", "attempt"}
    documented |= {"delivery_id", "ack_url", "env", "type", "sent_at"}
    assert set(context) == documented
    assert set(context["milestone"]) == {
        "id", "title", "at", "timezone", "description", "tags", "links"
    }  # fmt: skip
    assert set(context["reminder"]) == {"offset", "label", "due_at"}


# (template, words of the problem) for templates that must not render.
FAILS = [
    ("{{ nope }}", "unknown variable"),
    ("{{ env.HOME }}", "unknown variable"),
    ("{{ ''.__class__.__mro__ }}", "not allowed in the sandbox"),
    ("{{ milestone.tags.append(1) }}", "not allowed in the sandbox"),
    ("{{ milestone.update({}) }}", "not allowed in the sandbox"),
    ("{{ lipsum.__globals__ }}", "not allowed in the sandbox"),
    ("{{ range(10**9) | list }}", "OverflowError"),
    ("{% for x in range(200) %}{{ 'x' * 1000 }}{% endfor %}", "more than 100,000 characters"),
    ("{% if %}", "syntax error"),
]


@pytest.mark.parametrize(("source", "words"), FAILS)
def test_failures_are_reported_not_raised(source: str, words: str) -> None:
    rendered = render_text(source, make_alert(), ENV)
    assert rendered.text is None
    assert rendered.problem is not None and words in rendered.problem.describe()


def test_values_are_escaped_for_the_channel_not_the_template() -> None:
    alert = make_alert(title="<!channel> *now* & _then_")
    slack = render_text("*{{ milestone.title }}*", alert, ENV, markup=Markup.SLACK)
    assert slack.text == "*&lt;!channel&gt; *now* &amp; _then_*"
    discord = render_text("**{{ milestone.title }}**", alert, ENV, markup=Markup.DISCORD)
    assert discord.text == r"**<!channel\> \*now\* & \_then\_**"
    assert render_text("{{ milestone.title }}", alert, ENV).text == alert.reminder.milestone.title


def test_json_bodies() -> None:
    body = '{"routing_key": "{{ env.PD_KEY }}", "summary": {{ text | tojson }}}'
    rendered = render_json(body, make_alert(), ENV)
    assert rendered.text is not None
    assert json.loads(rendered.text)["routing_key"] == "R0UT1NGKEY-0123"
    broken = render_json('{"k": "{{ env.PD_KEY }}" "x": 1}', make_alert(), ENV)
    assert broken.problem is not None and "does not render to JSON" in broken.problem.message
    assert "R0UT1NGKEY" not in broken.problem.describe()  # env values are secrets


def test_the_sample_renders_every_variable() -> None:
    alert = sample_alert("Europe/Brussels")
    assert render_text("{{ text }}", alert, ENV).text == (
        f"T-7d: {INF_TITLE} — Fri 2 Aug 2019 00:00 CEST"
    )


STYLES = [(SLACK_TEXT, Markup.SLACK, 49), (DISCORD_TEXT, Markup.DISCORD, 10)]


@pytest.mark.parametrize(("style", "markup", "most"), STYLES)
def test_alerts_due_together_share_messages_within_limits(style, markup, most) -> None:  # type: ignore[no-untyped-def]
    alerts = [
        make_alert(
            milestone_id=f"m{i:02d}", title=f"Filing {i:02d} " + "x" * 150, at=(2019, 8, 2, 0, i)
        )
        for i in range(60)
    ]
    payloads, failures = templated_payloads(
        alerts, "{{ text }}", ENV, message=style, markup=markup, max_alerts=most
    )
    assert failures == []
    assert sum(len(carried) for carried, _ in payloads) == 60
    assert len(payloads) > 1
    for carried, payload in payloads:
        text = payload.get("text") or payload["content"]
        assert ulen(text) <= style.max_size
        assert len(carried) <= most
        assert text.startswith(f"T-7d: Filing {carried[0].reminder.milestone.id[1:]}")
    if markup is Markup.DISCORD:
        assert all(p["allowed_mentions"] == {"parse": []} for _, p in payloads)


def test_one_long_text_is_cut_with_an_ellipsis() -> None:
    [(_, payload)], _ = templated_payloads(
        [make_alert()], "{{ 'y' * 9000 }}", ENV, message=SLACK_TEXT, markup=Markup.SLACK,
        max_alerts=49,
    )  # fmt: skip
    assert ulen(payload["text"]) == SLACK_TEXT.max_size and payload["text"].endswith("…")


def test_teams_text_is_a_card_under_28_kb() -> None:
    [(_, payload)], _ = templated_payloads(
        [make_alert()], "{{ '日本' * 9000 }}", ENV, message=TEAMS_TEXT, markup=Markup.PLAIN,
        max_alerts=20,
    )  # fmt: skip
    assert len(json.dumps(payload, ensure_ascii=False).encode()) < 28_000
    [attachment] = payload["attachments"]
    assert attachment["content"]["body"][0]["type"] == "TextBlock"


def test_a_failing_alert_gets_the_built_in_line_and_is_reported() -> None:
    ok = make_alert(milestone_id="two-tags")
    one_tag = make_alert(
        milestone_id="one-tag", tags=("inf",), at=(2019, 8, 3), late_by=timedelta(hours=2)
    )
    payloads, failures = templated_payloads(
        [ok, one_tag], "{{ milestone.tags[1] }}", ENV, message=SLACK_TEXT,
        markup=Markup.SLACK, max_alerts=49,
    )  # fmt: skip
    [(carried, payload)] = payloads
    assert len(carried) == 2
    assert payload["text"].startswith("usa\n\nT-7d: INF Treaty withdrawal takes effect — Sat 3 Aug")
    assert "(late by 2 hours)" in payload["text"]
    [failure] = failures
    assert failure.alert is one_tag and failure.key == "template"
    assert "unknown variable" in failure.problem.message
