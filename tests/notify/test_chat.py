"""The shared chat notifier: each message rendered once in prepare, sent as rendered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import httpx
import pytest

from scheduler.model import Alert, Channel, ChannelType, Secret
from scheduler.notify.base import Request, json_headers
from scheduler.notify.chat import ChatNotifier, ChatStyle
from scheduler.notify.discord import DISCORD_STYLE
from scheduler.notify.slack import SLACK_STYLE
from scheduler.render.chunk import Payload
from tests.support.alerts import burst

STYLES = [
    pytest.param(ChannelType.SLACK, SLACK_STYLE, id="slack"),
    pytest.param(ChannelType.DISCORD, DISCORD_STYLE, id="discord"),
]


def counting(style: ChatStyle) -> tuple[ChatStyle, list[int]]:
    """``style`` with a renderer that counts the alerts it is asked to render."""
    calls: list[int] = []

    def render(alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
        calls.append(len(alerts))
        return style.render(alerts)

    return replace(style, render=render), calls


@pytest.mark.parametrize(("kind", "style"), STYLES)
async def test_prepare_renders_once_and_send_posts_those_bytes(
    kind: ChannelType, style: ChatStyle
) -> None:
    posted: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200, text="ok")

    channel = Channel(
        name="c", type=kind, url=Secret("https://example.org/hook"), headers={"X-Team": "a"}
    )
    counted, calls = counting(style)
    alerts = burst(2 * style.max_alerts + 1)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        notifier = ChatNotifier(channel, client, style=counted)
        requests = notifier.prepare(alerts)
        assert calls == [len(alerts)]
        expected = style.render(alerts)
        assert [list(r.alerts) for r in requests] == [group for group, _ in expected]
        for request, (_, payload) in zip(requests, expected, strict=True):
            assert request.content == json.dumps(payload, ensure_ascii=False).encode()
            assert dict(request.headers) == json_headers(channel)
            await notifier.send(request)
    assert calls == [len(alerts)]  # sending rendered nothing again
    assert [p.content for p in posted] == [r.content for r in requests]
    assert all(p.headers["x-team"] == "a" for p in posted)


@pytest.mark.parametrize(("kind", "style"), STYLES)
async def test_a_request_holding_more_than_one_message_is_refused(
    kind: ChannelType, style: ChatStyle
) -> None:
    channel = Channel(name="c", type=kind, url=Secret("http://127.0.0.1:9/x"))
    async with httpx.AsyncClient() as client:
        notifier = ChatNotifier(channel, client, style=style)
        with pytest.raises(ValueError, match="one request"):
            await notifier.send(Request(tuple(burst(style.max_alerts + 1)), b"{}", {}))


def test_a_request_carries_an_alert() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        Request((), b"{}", {})
