"""Templated chat channels: the user's text posted; a fallback said once, when it is sent."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from scheduler.model import Channel, ChannelType, Secret, Templates
from scheduler.notify import make_notifier
from tests.support.alerts import make_alert

URL = "https://hooks.slack.com/services/T0/B0/templatedchatsecret"


def _slack(template: str) -> Channel:
    return Channel(
        name="team", type=ChannelType.SLACK, url=Secret(URL), templates=Templates(text=template)
    )


async def test_a_fallback_is_logged_once_by_the_request_that_carries_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    posted: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    # Long texts, so 60 alerts due together need several posts; the last has one tag.
    alerts = [
        make_alert(milestone_id=f"m{i:02d}", title="T" * 300, at=(2019, 8, 2, 0, i))
        for i in range(59)
    ]
    alerts.append(make_alert(milestone_id="last", tags=("inf",), at=(2019, 8, 2, 1)))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        notifier = make_notifier(_slack("{{ milestone.tags[1] }} {{ milestone.title }}"), client)
        requests = notifier.prepare(alerts)
        assert len(requests) > 1
        assert [len(r.fallbacks) for r in requests] == [0] * (len(requests) - 1) + [1]
        with caplog.at_level(logging.WARNING, logger="tminus.notify"):
            for request in requests:
                assert (await notifier.send(request)).ok
    warnings = [r for r in caplog.records if "template failed" in r.getMessage()]
    assert len(warnings) == 1
    assert posted[0]["text"].startswith("usa " + "T" * 300)
    assert posted[-1]["text"].endswith(
        "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 01:00 CEST"
    )
    assert set(posted[-1]) == {"text"}
