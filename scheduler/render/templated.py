"""Chat messages from a channel's ``template``: the user's text, cut to the channel's limits.

With a ``template``, a chat channel posts the rendered text instead of its built-in
layout: Slack as ``text`` (mrkdwn), Discord as ``content`` (mentions still
disabled), Teams as one wrapped ``TextBlock`` in an Adaptive Card. Alerts due
together are still one message: their texts, soonest first, one paragraph each,
cut into several messages by the same greedy routine as the built-in layouts
(:func:`~scheduler.render.chunk.greedy_chunks`) and each cut with ``…`` to the
channel's limit.

An alert with an acknowledge link (``TMINUS_PUBLIC_URL`` set) keeps it beside its
text, as the built-in layouts carry it: a Slack button (the texts become
sections, each with its button), a Discord masked link on the line under the
text, a Teams ``Action.OpenUrl``. A text that already shows the link (the
template used ``{{ ack_url }}``) gets no second one, as in email.

An alert whose template fails to render (a value it did not expect) gets the
built-in one-line text instead and is reported in :class:`TemplateFailure`, so
the caller can say why; the reminder is never lost to a template.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler.model import Alert, Templates
from scheduler.render.chunk import Payload, greedy_chunks
from scheduler.render.discord import CONTENT_ACK_LINK, CONTENT_MAX, FIELD_VALUE_MAX, NO_MENTIONS
from scheduler.render.limits import fit, ulen
from scheduler.render.slack import SECTION_TEXT_MAX, ack_button
from scheduler.render.teams import MAX_GROUP_BYTES, ack_actions, card, fit_bytes, json_bytes
from scheduler.render.template import Markup, TemplateProblem, escape_for, render_text
from scheduler.render.view import soonest_first, view

PARAGRAPH = "\n\n"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One alert's part of a templated message: the text shown for it."""

    alert: Alert
    text: str

    @property
    def ack_url(self) -> str:
        """The link the channel adds beside the text: the alert's acknowledge link,
        unless there is none or the text shows it already."""
        url = self.alert.ack_url
        return url if url and url not in self.text else ""


def _no_link_room(url: str) -> int:
    return 0


@dataclass(frozen=True, slots=True)
class TextMessage:
    """How one chat channel type carries templated texts, and how much of them fits."""

    wrap: Callable[[Sequence[Paragraph]], Payload]  # the message carrying the paragraphs
    size: Callable[[str], int]  # what a text counts towards ``max_size``
    cut: Callable[[str, int], str]  # ``text`` cut with ``…`` to ``max_size``
    max_size: int
    # What a paragraph's acknowledge link takes of ``max_size`` (0: it is sent apart).
    link_size: Callable[[str], int] = _no_link_room


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
    paragraphs = [_fitted(alert, text, message) for alert, text in texts]
    gap = message.size(PARAGRAPH)
    chunks = greedy_chunks(
        paragraphs,
        [message.size(p.text) + message.link_size(p.ack_url) + gap for p in paragraphs],
        max_items=max_alerts,
        max_size=message.max_size,
    )
    return [([p.alert for p in chunk], message.wrap(chunk)) for chunk in chunks], failures


def _fitted(alert: Alert, text: str, message: TextMessage) -> Paragraph:
    """The alert's paragraph, its text cut so that it fits one message with its link."""
    room = message.max_size - (message.link_size(alert.ack_url) if alert.ack_url else 0)
    if message.size(text) > room:
        text = message.cut(text, room)
    return Paragraph(alert, text)


def _joined(paragraphs: Sequence[Paragraph]) -> str:
    return PARAGRAPH.join(p.text for p in paragraphs)


def _slack_text(paragraphs: Sequence[Paragraph]) -> Payload:
    """``text`` alone; with acknowledge links, the texts as sections with their buttons
    too (Slack then shows the blocks and uses ``text`` for notifications)."""
    text = _joined(paragraphs)
    buttons = [ack_button(p.alert) if p.ack_url else None for p in paragraphs]
    if not any(buttons):
        return {"text": text}
    blocks: list[dict[str, Any]] = []
    for p, button in zip(paragraphs, buttons, strict=True):
        section: dict[str, Any] = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": fit(p.text, SECTION_TEXT_MAX)},
        }
        if button is not None:
            section["accessory"] = button
        blocks.append(section)
    return {"text": text, "blocks": blocks}


def _discord_link(url: str) -> str:
    """The line under a paragraph that carries its link ("" when there is none, or it
    is too long to be worth the room)."""
    if not url or ulen(url) + len(CONTENT_ACK_LINK) > FIELD_VALUE_MAX:
        return ""
    return "\n" + CONTENT_ACK_LINK.format(url=url)


def _discord_text(paragraphs: Sequence[Paragraph]) -> Payload:
    content = PARAGRAPH.join(p.text + _discord_link(p.ack_url) for p in paragraphs)
    return {"content": content, "allowed_mentions": NO_MENTIONS}


def _teams_block(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True}


def _teams_text(paragraphs: Sequence[Paragraph]) -> Payload:
    """One text block per alert; the Acknowledge button as the card's action for a lone
    alert, under its text for each alert of a group."""
    if len(paragraphs) == 1:
        (p,) = paragraphs
        return card([_teams_block(p.text)], ack_actions(p.ack_url), p.text)
    body: list[dict[str, Any]] = []
    for p in paragraphs:
        body.append(_teams_block(p.text))
        actions = ack_actions(p.ack_url)
        if actions:
            body.append({"type": "ActionSet", "actions": actions})
    return card(body, [], _joined(paragraphs))


def _teams_link_size(url: str) -> int:
    return json_bytes({"type": "ActionSet", "actions": ack_actions(url)}) + 1


# Slack shows ``text`` alone as mrkdwn; past 4,000 characters it advises splitting.
SLACK_TEXT = TextMessage(
    wrap=_slack_text,
    size=ulen,
    cut=lambda text, limit: fit(text, limit),
    max_size=4000,
)
DISCORD_TEXT = TextMessage(
    wrap=_discord_text,
    size=ulen,
    cut=lambda text, limit: fit(text, limit),
    max_size=CONTENT_MAX,
    link_size=lambda url: ulen(_discord_link(url)),
)
# The card repeats the text as its fallback, cut to FALLBACK_MAX: both fit under 28 KB.
TEAMS_TEXT = TextMessage(
    wrap=_teams_text,
    size=lambda text: json_bytes(text) - 2,
    cut=fit_bytes,
    max_size=MAX_GROUP_BYTES,
    link_size=_teams_link_size,
)
