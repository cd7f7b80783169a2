"""The acknowledge link in every message: a Slack button, a Teams action, a Discord link,
``ack_url`` in webhook bodies, a line and a button in email; nothing of it when links are off."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from email.message import EmailMessage

import pytest

from scheduler.model import Alert, EmailSettings, Mailbox, Templates
from scheduler.render import discord_payloads, slack_payloads
from scheduler.render.email_mime import email_messages
from scheduler.render.teams import teams_payloads
from scheduler.render.webhook import webhook_body
from tests.support.alerts import INF_TITLE, burst, make_alert
from tests.support.chat_limits import discord_problems, slack_problems
from tests.support.teams_limits import teams_problems

URL = "https://tminus.example.org/ack/eyJ2MSJ9.c2lnbmF0dXJl"
EMAIL = EmailSettings(
    host="mail.example.org",
    port=587,
    implicit_tls=False,
    sender=Mailbox("deadlines@example.org"),
    recipients=(Mailbox("legal@example.org"),),
)


def _linked(alert: Alert, n: int = 0) -> Alert:
    return replace(alert, ack_url=f"{URL}{n}")


def test_slack_single_has_an_acknowledge_button() -> None:
    ((_, payload),) = slack_payloads([_linked(make_alert())])
    assert slack_problems(payload) == []
    (actions,) = [b for b in payload["blocks"] if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["type"] == "button"
    assert button["text"] == {"type": "plain_text", "text": "Acknowledge"}
    assert button["url"] == f"{URL}0"
    # Before the context line, after the facts.
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds.index("actions") == len(kinds) - 2


def test_slack_group_has_one_button_beside_each_entry() -> None:
    alerts = [_linked(a, i) for i, a in enumerate(burst(5))]
    ((carried, payload),) = slack_payloads(alerts)
    assert slack_problems(payload) == []
    sections = [b for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == 5 == len(carried)
    urls = {s["accessory"]["url"] for s in sections}
    assert urls == {a.ack_url for a in alerts}


def test_teams_puts_acknowledge_first_among_the_actions() -> None:
    ((_, payload),) = teams_payloads([_linked(make_alert())])
    assert teams_problems(payload) == []
    actions = payload["attachments"][0]["content"]["actions"]
    assert actions[0] == {
        "type": "Action.OpenUrl",
        "title": "Acknowledge",
        "url": f"{URL}0",
        "style": "positive",
    }
    assert actions[1]["url"] == "https://example.org/inf"  # the milestone's own link stays
    ((_, group),) = teams_payloads([_linked(a, i) for i, a in enumerate(burst(3))])
    assert teams_problems(group) == []
    assert f"{URL}2" in str(group)


def test_discord_embeds_carry_a_link() -> None:
    ((_, payload),) = discord_payloads([_linked(make_alert())])
    assert discord_problems(payload) == []
    (embed,) = payload["embeds"]
    (field,) = [f for f in embed["fields"] if f["name"] == "Acknowledge"]
    assert field["value"] == f"[Acknowledge this deadline]({URL}0)"


def test_webhook_body_has_ack_url() -> None:
    assert webhook_body(_linked(make_alert()))["ack_url"] == f"{URL}0"


@pytest.mark.parametrize("render", ["slack", "teams", "discord", "webhook"])
def test_no_link_when_links_are_off(render: str) -> None:
    alert = make_alert()
    assert alert.ack_url == ""
    if render == "webhook":
        assert "ack_url" not in webhook_body(alert)
        return
    payloads = {"slack": slack_payloads, "teams": teams_payloads, "discord": discord_payloads}
    ((_, payload),) = payloads[render]([alert])
    assert "Acknowledge" not in str(payload)


def _email(alerts: list[Alert], templates: Templates | None = None) -> tuple[str, str]:
    """The plain and HTML parts of the one message carrying ``alerts``, parsed back."""
    [rendered] = email_messages(alerts, EMAIL, templates)
    message = email.message_from_bytes(rendered.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return plain.get_content().replace("\r\n", "\n"), rich.get_content()


def _buttons(html: str) -> list[str]:
    """The href of every Acknowledge button, as written (escaped)."""
    return re.findall(r'<a href="([^"]*)" style="[^"]*">Acknowledge</a>', html)


def test_email_has_an_acknowledge_line_and_button() -> None:
    text, html = _email([_linked(make_alert())])
    assert f"\nAcknowledge: {URL}0\n" in text
    assert _buttons(html) == [f"{URL}0"]


def test_email_group_has_one_link_per_reminder() -> None:
    alerts = [_linked(a, n) for n, a in enumerate(burst(3))]
    text, html = _email(alerts)
    assert [line for line in text.splitlines() if line.startswith("Acknowledge")] == [
        f"Acknowledge: {URL}{n}" for n in range(3)
    ]
    assert _buttons(html) == [f"{URL}{n}" for n in range(3)]
    # Each button sits in its reminder's card, after that reminder's title.
    titles = [html.index(f"Deadline {n:03d}</h2>") for n in range(3)]
    assert titles[1] < html.index(f"{URL}1") < titles[2]


def test_email_link_is_escaped_and_only_http_is_a_button() -> None:
    text, html = _email([replace(make_alert(), ack_url=f'{URL}?a=1&b="2"')])
    assert f'Acknowledge: {URL}?a=1&b="2"' in text
    assert _buttons(html) == [f"{URL}?a=1&amp;b=&quot;2&quot;"]
    _, html = _email([replace(make_alert(), ack_url="javascript:alert(1)")])
    assert _buttons(html) == [] and 'href="javascript' not in html
    assert "Acknowledge: javascript:alert(1)" in html


def test_templated_email_keeps_the_link_once() -> None:
    alert = _linked(make_alert())
    text, html = _email([alert], Templates(text="{{ countdown }} {{ milestone.title }}"))
    assert text.startswith(f"T-7d {INF_TITLE}\nAcknowledge: {URL}0\n")
    assert _buttons(html) == [f"{URL}0"]
    # A template that shows the link itself gets no second one.
    text, html = _email([alert], Templates(text="Done? {{ ack_url }}"))
    assert text.startswith(f"Done? {URL}0\n\n-- ") and text.count(URL) == 1
    assert _buttons(html) == [] and html.count(f'href="{URL}0"') == 1


def test_no_email_link_when_links_are_off() -> None:
    text, html = _email([make_alert()])
    assert "Acknowledge" not in text and "Acknowledge" not in html
    text, html = _email([make_alert()], Templates(text="{{ countdown }} [{{ ack_url }}]"))
    assert text.startswith("T-7d []\n") and "Acknowledge" not in text + html
