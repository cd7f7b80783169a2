"""Chat channels (Slack, Discord): one notifier, parametrised by the channel's renderer.

What a chat channel posts is a JSON message rendered by its ``render/`` module
and cut by the shared :func:`~scheduler.render.chunk.chat_payloads`; what its
receiver's answers mean beyond the status is the channel's :data:`AnswerRule`.
Both come from the channel's own module as a :class:`ChatStyle`; the sending is
the same for all of them and lives here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import httpx

from scheduler.model import Alert, Channel, Outcome
from scheduler.notify.base import (
    ChannelKind,
    Request,
    carries_at_most,
    json_headers,
    post,
    report_fallbacks,
)
from scheduler.notify.classify import AnswerRule
from scheduler.render.chunk import Payload
from scheduler.render.template import markup_for
from scheduler.render.templated import TemplateFailure, TextMessage, templated_payloads

Render = Callable[[Sequence[Alert]], list[tuple[list[Alert], Payload]]]


@dataclass(frozen=True, slots=True)
class ChatStyle:
    """What one chat channel type brings: its renderer, its answer rule, its group limit."""

    render: Render
    answers: AnswerRule
    max_alerts: int  # alerts one message can carry
    text_message: TextMessage  # how a channel's ``template`` text is posted

    def kind(self) -> ChannelKind:
        """This style as the registry's entry for its channel type."""
        return ChannelKind(notifier=partial(ChatNotifier, style=self), answers=self.answers)


class ChatNotifier:
    """Posts the style's rendered messages as UTF-8 JSON, one request per message."""

    def __init__(self, channel: Channel, client: httpx.AsyncClient, *, style: ChatStyle) -> None:
        self.channel = channel
        self.style = style
        self._client = client

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        headers = json_headers(self.channel)
        payloads, failures = self._render(alerts)
        requests: list[Request] = []
        for carried, payload in payloads:
            content = json.dumps(payload, ensure_ascii=False).encode()
            fallbacks = tuple(f for f in failures if f.alert in carried)
            requests.append(Request(tuple(carried), content, headers, fallbacks))
        return requests

    def _render(
        self, alerts: Sequence[Alert]
    ) -> tuple[list[tuple[list[Alert], Payload]], list[TemplateFailure]]:
        """The built-in layout, or the channel's ``template`` text when it has one."""
        templates = self.channel.templates
        if templates is None or templates.text is None:
            return self.style.render(alerts), []
        return templated_payloads(
            alerts,
            templates.text,
            templates,
            message=self.style.text_message,
            markup=markup_for(self.channel.type.value),
            max_alerts=self.style.max_alerts,
        )

    async def send(self, request: Request) -> Outcome:
        carries_at_most(request, self.style.max_alerts, self.channel)
        report_fallbacks(self.channel, request)
        return await post(
            self._client, self.channel, request.content, request.headers, self.style.answers
        )
