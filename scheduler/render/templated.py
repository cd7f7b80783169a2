"""Chat messages from a channel's ``template``: the user's text, cut to the channel's limits.

With a ``template``, a chat channel posts the rendered text instead of its built-in
layout: Slack as ``text`` (mrkdwn), Discord as ``content`` (mentions still
disabled), Teams as one wrapped ``TextBlock`` in an Adaptive Card. Alerts due
together are still one message: their texts, soonest first, one paragraph each,
cut into several messages by the same greedy routine as the built-in layouts
(:func:`~scheduler.render.chunk.greedy_chunks`) and each cut with ``…`` to the
channel's limit.

An alert whose template fails to render (a value it did not expect) gets the
built-in one-line text instead and is reported in :class:`TemplateFailure`, so
the caller can say why; the reminder is never lost to a template.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scheduler.model import Alert, Templates
from scheduler.render.chunk import Payload, greedy_chunks
from scheduler.render.discord import CONTENT_MAX, NO_MENTIONS
from scheduler.render.limits import fit, ulen
from scheduler.render.teams import MAX_GROUP_BYTES, card, fit_bytes, json_bytes
from scheduler.render.template import Markup, TemplateProblem, escape_for, render_text
from scheduler.render.view import soonest_first, view

PARAGRAPH = "\n\n"


@dataclass(frozen=True, slots=True)
class TextMessage:
    """How one chat channel type carries a templated text, and how much of it fits."""

    wrap: Callable[[str], Payload]  # the message carrying ``text``
    size: Callable[[str], int]  # what a text counts towards ``max_size``
    cut: Callable[[str, int], str]  # ``text`` cut with ``…`` to ``max_size``
    max_size: int


@dataclass(frozen=True, slots=True)
class TemplateFailure:
    """An alert whose template did not render: it carried the built-in text instead."""

    alert: Alert
    key: str  # the config key of the template: ``template``, ``body_template``…
    problem: TemplateProblem


def alert_texts(
    alerts: Sequence[Alert], source: str, templates: Templates, markup: Markup
) -> tuple[list[tuple[Alert, str]], list[TemplateFailure]]:
    """Each alert (soonest first) with its rendered text, or its built-in line on failure."""
    out: list[tuple[Alert, str]] = []
    failures: list[TemplateFailure] = []
    for alert in soonest_first(alerts):
        rendered = render_text(source, alert, templates, markup=markup)
        if rendered.text is not None and rendered.text:
            out.append((alert, rendered.text))
            continue
        problem = rendered.problem or TemplateProblem("renders to an empty text")
        failures.append(TemplateFailure(alert, "template", problem))
        out.append((alert, escape_for(markup)(view(alert).fallback)))
    return out, failures


def templated_payloads(
    alerts: Sequence[Alert],
    source: str,
    templates: Templates,
    *,
    message: TextMessage,
    markup: Markup,
    max_alerts: int,
) -> tuple[list[tuple[list[Alert], Payload]], list[TemplateFailure]]:
    """Render ``alerts`` (one channel, due together) with ``source`` as one or more messages,
    each with the alerts it carries; and the alerts whose template failed."""
    texts, failures = alert_texts(alerts, source, templates, markup)
    gap = message.size(PARAGRAPH)
    chunks = greedy_chunks(
        texts,
        [message.size(text) + gap for _, text in texts],
        max_items=max_alerts,
        max_size=message.max_size,
    )
    payloads: list[tuple[list[Alert], Payload]] = []
    for chunk in chunks:
        joined = PARAGRAPH.join(text for _, text in chunk)
        wrapped = message.wrap(message.cut(joined, message.max_size))
        payloads.append(([a for a, _ in chunk], wrapped))
    return payloads, failures


def _teams_text(text: str) -> Payload:
    block = {"type": "TextBlock", "text": text, "wrap": True}
    return card([block], [], text)


# Slack shows ``text`` alone as mrkdwn; past 4,000 characters it advises splitting.
SLACK_TEXT = TextMessage(
    wrap=lambda text: {"text": text},
    size=ulen,
    cut=lambda text, limit: fit(text, limit),
    max_size=4000,
)
DISCORD_TEXT = TextMessage(
    wrap=lambda text: {"content": text, "allowed_mentions": NO_MENTIONS},
    size=ulen,
    cut=lambda text, limit: fit(text, limit),
    max_size=CONTENT_MAX,
)
# The card repeats the text as its fallback, cut to FALLBACK_MAX: both fit under 28 KB.
TEAMS_TEXT = TextMessage(
    wrap=_teams_text,
    size=lambda text: json_bytes(text) - 2,
    cut=fit_bytes,
    max_size=MAX_GROUP_BYTES,
)
