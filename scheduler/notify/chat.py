"""Chat channels (Slack, Discord): one notifier, parametrised by the channel's renderer.

What a chat channel posts is a JSON message rendered by its ``render/`` module
and cut by the shared :func:`~scheduler.render.chunk.chat_payloads`; what its
receiver's answers mean beyond the status is the channel's :data:`AnswerRule`.
Both come from the channel's own module as a :class:`ChatStyle`; the sending is
the same for all of them and lives here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import httpx

from scheduler.logs import fields
from scheduler.model import Alert, Channel, Outcome
from scheduler.notify.base import ChannelKind, Request, carries_at_most, json_headers, post
from scheduler.notify.classify import AnswerRule
from scheduler.render.chunk import Payload
from scheduler.render.template import markup_for
from scheduler.render.templated import TemplateFailure, TextMessage, templated_payloads

log = logging.getLogger("tminus.notify")

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
        return [
            Request(tuple(carried), json.dumps(payload, ensure_ascii=False).encode(), headers)
            for carried, payload in self._render(alerts)
        ]

    def _render(self, alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
        """The built-in layout, or the channel's ``template`` text when it has one."""
        templates = self.channel.templates
        if templates is None or templates.text is None:
            return self.style.render(alerts)
        payloads, failures = templated_payloads(
            alerts,
            templates.text,
            templates,
            message=self.style.text_message,
            markup=markup_for(self.channel.type.value),
            max_alerts=self.style.max_alerts,
        )
        for failure in failures:
            report_template_failure(self.channel, failure)
        return payloads

    async def send(self, request: Request) -> Outcome:
        carries_at_most(request, self.style.max_alerts, self.channel)
        return await post(
            self._client, self.channel, request.content, request.headers, self.style.answers
        )


def report_template_failure(channel: Channel, failure: TemplateFailure) -> None:
    """Say that ``failure``'s alert went out with the built-in text, and why."""
    log.warning(
        "template failed; sent the built-in text",
        extra=fields(
            channel=channel.name,
            delivery_id=failure.alert.delivery_id,
            template=failure.key,
            problem=failure.problem.describe(),
        ),
    )
