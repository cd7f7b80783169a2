"""The acknowledge link in every message: a Slack button, a Teams action, a Discord link,
``ack_url`` in webhook bodies; nothing of it when links are off."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.model import Alert
from scheduler.render import discord_payloads, slack_payloads
from scheduler.render.teams import teams_payloads
from scheduler.render.webhook import webhook_body
from tests.support.alerts import burst, make_alert
from tests.support.chat_limits import discord_problems, slack_problems
from tests.support.teams_limits import teams_problems

URL = "https://tminus.example.org/ack/eyJ2MSJ9.c2lnbmF0dXJl"


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
