"""Templated chat messages keep the Acknowledge link: a Slack button beside each text, a
Discord link under it, a Teams ``Action.OpenUrl``; once, even when the template shows it.

Sent through the real notifiers to loopback receivers that check each payload against
the service's limits and refuse a broken one, as the services do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest

from scheduler.model import Alert, Channel, ChannelType, Secret, Templates
from scheduler.notify import make_notifier
from tests.notify.test_chat_channels import discord_like, slack_like
from tests.support.alerts import INF_TITLE, burst, make_alert
from tests.support.receiver import Received, Receiver, Response, running_receiver
from tests.support.teams_limits import TEAMS_MAX_BYTES, body_bytes, teams_problems

URL = "https://tminus.example.org/ack/eyJ2MSJ9.c2lnbmF0dXJl"
TEMPLATE = "{{ countdown }}: *{{ milestone.title }}*"
PATHS = {
    ChannelType.SLACK: "/services/T0000/B0000/XXXXXXXXXXXX",
    ChannelType.DISCORD: "/api/webhooks/1/tok",
    ChannelType.TEAMS: "/workflows/1/triggers/manual/paths/invoke",
}


def teams_like(req: Received) -> Response:
    try:
        problems = teams_problems(req.json())
    except ValueError:
        problems = ["not JSON"]
    return Response(400, json.dumps(problems)) if problems else Response(202)


@pytest.fixture(scope="module")
def receivers() -> Iterator[dict[ChannelType, Receiver]]:
    with (
        running_receiver(slack_like) as slack,
        running_receiver(discord_like) as discord,
        running_receiver(teams_like) as teams,
    ):
        yield {ChannelType.SLACK: slack, ChannelType.DISCORD: discord, ChannelType.TEAMS: teams}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def _linked(alert: Alert, n: int = 0) -> Alert:
    return replace(alert, ack_url=f"{URL}{n}")


async def _post(
    kind: ChannelType,
    receivers: dict[ChannelType, Receiver],
    client: httpx.AsyncClient,
    alerts: list[Alert],
    template: str = TEMPLATE,
) -> list[dict[str, object]]:
    """Send ``alerts`` (due together) through a templated channel; what arrived, parsed."""
    receiver = receivers[kind]
    receiver.requests.clear()
    channel = Channel(
        name="team",
        type=kind,
        url=Secret(receiver.url + PATHS[kind]),
        templates=Templates(text=template),
    )
    notifier = make_notifier(channel, client)
    for request in notifier.prepare(alerts):
        outcome = await notifier.send(request)
        assert outcome.ok, (outcome, receiver.requests[-1].body[:500])
    return [r.json() for r in receiver.requests]


async def test_slack_template_gets_a_button_beside_its_text(receivers, client) -> None:  # type: ignore[no-untyped-def]
    [posted] = await _post(ChannelType.SLACK, receivers, client, [_linked(make_alert())])
    text = f"T-7d: *{INF_TITLE}*"
    assert posted["text"] == text  # what notifications show
    [section] = posted["blocks"]  # type: ignore[misc]
    assert section["text"] == {"type": "mrkdwn", "text": text}
    assert section["accessory"]["type"] == "button"
    assert section["accessory"]["text"]["text"] == "Acknowledge"
    assert section["accessory"]["url"] == f"{URL}0"


async def test_slack_group_has_one_button_per_text_soonest_first(receivers, client) -> None:  # type: ignore[no-untyped-def]
    alerts = [_linked(a, n) for n, a in enumerate(burst(3))]
    [posted] = await _post(ChannelType.SLACK, receivers, client, list(reversed(alerts)))
    sections = posted["blocks"]
    assert isinstance(sections, list) and len(sections) == 3
    for n, section in enumerate(sections):
        assert section["text"]["text"] == f"T-7d: *Deadline {n:03d}*"
        assert section["accessory"]["url"] == f"{URL}{n}"
    assert posted["text"] == "\n\n".join(f"T-7d: *Deadline {n:03d}*" for n in range(3))


async def test_discord_template_gets_a_link_under_each_text(receivers, client) -> None:  # type: ignore[no-untyped-def]
    alerts = [_linked(a, n) for n, a in enumerate(burst(3))]
    [posted] = await _post(ChannelType.DISCORD, receivers, client, alerts)
    assert posted["content"] == "\n\n".join(
        f"T-7d: *Deadline {n:03d}*\n[Acknowledge this deadline](<{URL}{n}>)" for n in range(3)
    )
    assert posted["allowed_mentions"] == {"parse": []}


async def test_teams_template_gets_an_open_url_action(receivers, client) -> None:  # type: ignore[no-untyped-def]
    [posted] = await _post(ChannelType.TEAMS, receivers, client, [_linked(make_alert())])
    card = posted["attachments"][0]["content"]  # type: ignore[index]
    assert card["body"] == [{"type": "TextBlock", "text": f"T-7d: *{INF_TITLE}*", "wrap": True}]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": f"{URL}0", "style": "positive"}
    ]
    alerts = [_linked(a, n) for n, a in enumerate(burst(3))]
    [group] = await _post(ChannelType.TEAMS, receivers, client, alerts)
    body = group["attachments"][0]["content"]["body"]  # type: ignore[index]
    assert [b["type"] for b in body] == ["TextBlock", "ActionSet"] * 3
    assert [b["actions"][0]["url"] for b in body[1::2]] == [f"{URL}{n}" for n in range(3)]
    assert [b["text"] for b in body[::2]] == [f"T-7d: *Deadline {n:03d}*" for n in range(3)]


@pytest.mark.parametrize("kind", [ChannelType.SLACK, ChannelType.DISCORD, ChannelType.TEAMS])
async def test_a_template_showing_the_link_gets_no_second_one(kind, receivers, client) -> None:  # type: ignore[no-untyped-def]
    [posted] = await _post(kind, receivers, client, [_linked(make_alert())], "Done? {{ ack_url }}")
    assert json.dumps(posted).count(URL) == (2 if kind is ChannelType.TEAMS else 1)
    assert "Acknowledge" not in json.dumps(posted)
    if kind is ChannelType.TEAMS:  # the text block and the card's fallback text
        card = posted["attachments"][0]["content"]  # type: ignore[index]
        assert "actions" not in card and card["fallbackText"] == f"Done? {URL}0"


@pytest.mark.parametrize("kind", [ChannelType.SLACK, ChannelType.DISCORD, ChannelType.TEAMS])
async def test_no_link_when_links_are_off(kind, receivers, client) -> None:  # type: ignore[no-untyped-def]
    [posted] = await _post(kind, receivers, client, [make_alert()], TEMPLATE + " [{{ ack_url }}]")
    assert "Acknowledge" not in json.dumps(posted)
    if kind is ChannelType.SLACK:
        assert posted == {"text": f"T-7d: *{INF_TITLE}* []"}  # as before links existed


@pytest.mark.parametrize("kind", [ChannelType.SLACK, ChannelType.DISCORD, ChannelType.TEAMS])
async def test_long_texts_are_cut_but_every_link_arrives(kind, receivers, client) -> None:  # type: ignore[no-untyped-def]
    """Twenty long texts with links: within every limit (the receivers check), each
    alert's link in exactly one message, and a text cut never loses its link."""
    alerts = [_linked(a, n) for n, a in enumerate(burst(20, title="日本語" * 700))]
    posted = await _post(kind, receivers, client, alerts, "{{ milestone.title }}")
    assert len(posted) > 1
    sent = json.dumps(posted, ensure_ascii=False)
    for n in range(20):
        assert sent.count(f'{URL}{n}"') + sent.count(f"{URL}{n}>") == 1, n
    if kind is ChannelType.TEAMS:
        assert all(body_bytes(p) < TEAMS_MAX_BYTES for p in posted)
    if kind is ChannelType.DISCORD:
        assert all(len(str(p["content"])) <= 2000 for p in posted)
        assert all(str(p["content"]).endswith(">)") for p in posted)
