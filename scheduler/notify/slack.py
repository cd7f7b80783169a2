"""Slack incoming webhooks: one grouped Block Kit message per batch."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from scheduler.model import Alert, Channel, Outcome
from scheduler.notify.base import json_headers, one_request, post
from scheduler.render.slack import slack_payloads


class SlackNotifier:
    """Posts :func:`~scheduler.render.slack.slack_payloads` messages; success is 200 ``ok``."""

    def __init__(self, channel: Channel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self._client = client

    def batches(self, alerts: Sequence[Alert]) -> list[list[Alert]]:
        return [carried for carried, _ in slack_payloads(alerts)]

    async def send(self, batch: Sequence[Alert]) -> Outcome:
        payloads = slack_payloads(batch)
        one_request(batch, len(payloads), self.channel)
        body = json.dumps(payloads[0][1], ensure_ascii=False).encode()
        return await post(self._client, self.channel, body, json_headers(self.channel))
