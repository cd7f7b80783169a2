"""Microsoft Teams Workflows messages: an Adaptive Card 1.5 inside a ``message`` envelope.

One alert is a card with its title, a fact set (date in the milestone's zone,
countdown, status, reminder, lateness), the description, the tags, and its
links as ``Action.OpenUrl`` buttons. Several alerts due together become one
card listing them soonest first, one container each, split into several cards
only where Teams' 28 KB payload limit (or a readable length) requires it.

User text goes into ``TextRun`` inlines of a ``RichTextBlock``, which Teams
shows as it is (no markdown), so a title such as ``**bold** [x](y)`` cannot
restyle the card or hide a link. Every piece is cut with ``…`` to a budget of
UTF-8 bytes as it will be encoded in JSON, so any card stays under the limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from scheduler.model import Alert
from scheduler.render.chunk import ChatLayout, Payload, chat_payloads
from scheduler.render.limits import ELLIPSIS
from scheduler.render.view import AlertView

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
# Teams refuses a message over 28 KB; keep a margin for the envelope's own bytes.
MAX_PAYLOAD_BYTES = 28 * 1000
# Budgets in encoded bytes for one lone alert's card (their sum stays well under the limit).
TITLE_MAX = 1000
DESCRIPTION_MAX = 8000
TAGS_MAX = 1000
FACT_MAX = 300
FALLBACK_MAX = 1000
LINK_URL_MAX = 1500
TEXT_LINK_MAX = 300  # a link that cannot be a button, listed as text
LINK_TITLE_MAX = 100
MAX_ACTIONS = 5  # Teams shows a handful of buttons; more links are listed as text
# In a grouped card each reminder gets a short entry.
GROUP_TITLE_MAX = 400
GROUP_DESCRIPTION_MAX = 1200
GROUP_TAGS_MAX = 300
GROUP_LINKS = 3
GROUP_LINK_URL_MAX = 1000
MAX_GROUP_ALERTS = 20  # a card longer than this is hard to read on a phone
# Bytes of entries in one grouped card: the header, the fallback and the envelope fit in the rest.
MAX_GROUP_BYTES = 24 * 1000


def json_bytes(value: object) -> int:
    """Bytes ``value`` takes in the body as sent (UTF-8 JSON, non-ASCII unescaped)."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def fit_bytes(raw: str, limit: int) -> str:
    """``raw`` cut (with ``…``) so that its JSON string content is at most ``limit`` bytes."""
    if len(raw) <= limit and json_bytes(raw) - 2 <= limit:
        return raw
    budget = limit - json_bytes(ELLIPSIS) + 2
    pieces: list[str] = []
    used = 0
    for char in raw[:limit]:  # every character is at least one byte
        size = json_bytes(char) - 2
        if used + size > budget:
            break
        pieces.append(char)
        used += size
    return "".join(pieces).rstrip() + ELLIPSIS


def _plain(text: str, **style: Any) -> dict[str, Any]:
    """A block showing ``text`` literally: a ``TextRun`` is never read as markdown."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _openable(url: str, limit: int) -> bool:
    """Whether Teams accepts ``url`` as an ``Action.OpenUrl`` target."""
    return (
        url.startswith(("https://", "http://"))
        and url.isascii()
        and url.isprintable()
        and not any(c.isspace() for c in url)
        and json_bytes(url) - 2 <= limit
    )


def _facts(v: AlertView) -> dict[str, Any]:
    facts = [
        ("When", v.when),
        ("Countdown", f"{v.countdown} · {v.status}"),
        ("Reminder", v.label),
    ]
    if v.late_line:
        facts.append(("Held" if v.held else "Late", v.late_line))
    return {
        "type": "FactSet",
        "facts": [{"title": name, "value": fit_bytes(value, FACT_MAX)} for name, value in facts],
    }


def _title(v: AlertView, limit: int, size: str) -> dict[str, Any]:
    return _plain(fit_bytes(f"{v.icon} {v.title}", limit), size=size, weight="Bolder")


def _links(links: Sequence[str], most: int, url_max: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The first ``most`` openable links as buttons; the rest (and any unopenable) as text."""
    actions: list[dict[str, Any]] = []
    listed: list[str] = []
    for url in links:
        clean = url.strip()
        if len(actions) < most and _openable(clean, url_max):
            actions.append(
                {"type": "Action.OpenUrl", "title": fit_bytes(clean, LINK_TITLE_MAX), "url": clean}
            )
        else:
            listed.append(clean)
    return actions, listed


def ack_actions(url: str) -> list[dict[str, Any]]:
    """The Acknowledge button (to go first among the actions) when there is a link."""
    if not url or not _openable(url, LINK_URL_MAX):
        return []
    return [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": url, "style": "positive"}]


def _more_links(listed: Sequence[str]) -> list[dict[str, Any]]:
    """Links that got no button, as text: the first few, then how many more."""
    if not listed:
        return []
    shown = [fit_bytes(url, TEXT_LINK_MAX) for url in listed[:GROUP_LINKS]]
    if len(listed) > GROUP_LINKS:
        shown.append(f"…and {len(listed) - GROUP_LINKS} more")
    return [_plain("\n".join(shown), isSubtle=True)]


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]], fallback: str) -> Payload:
    """The Workflows message carrying one Adaptive Card with ``body`` and ``actions``."""
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": fit_bytes(fallback, FALLBACK_MAX),
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": content}],
    }


def _single(v: AlertView) -> Payload:
    body = [_title(v, TITLE_MAX, "Large"), _facts(v)]
    if v.description:
        body.append(_plain(fit_bytes(v.description, DESCRIPTION_MAX)))
    ack = ack_actions(v.alert.ack_url)
    actions, listed = _links(v.links, MAX_ACTIONS - len(ack), LINK_URL_MAX)
    body.extend(_more_links(listed))
    if v.tags:
        body.append(_plain(fit_bytes(v.tag_line, TAGS_MAX), isSubtle=True))
    return card(body, ack + actions, v.fallback)


def _group_entry(v: AlertView) -> dict[str, Any]:
    items = [_title(v, GROUP_TITLE_MAX, "Medium"), _facts(v)]
    if v.description:
        items.append(_plain(fit_bytes(v.description, GROUP_DESCRIPTION_MAX)))
    ack = ack_actions(v.alert.ack_url)
    actions, listed = _links(v.links, GROUP_LINKS, GROUP_LINK_URL_MAX)
    if ack or actions:
        items.append({"type": "ActionSet", "actions": ack + actions})
    items.extend(_more_links(listed))
    if v.tags:
        items.append(_plain(fit_bytes(v.tag_line, GROUP_TAGS_MAX), isSubtle=True))
    return {"type": "Container", "separator": True, "items": items}


def _group(views: Sequence[AlertView], entries: list[dict[str, Any]]) -> Payload:
    n = len(views)
    header = _plain(f"⏳ {n} reminders, soonest first", size="Large", weight="Bolder")
    fallback = f"{n} reminders: " + "; ".join(v.fallback for v in views)
    return card([header, *entries], [], fallback)


TEAMS_LAYOUT: ChatLayout[dict[str, Any]] = ChatLayout(
    single=_single,
    entry=_group_entry,
    entry_size=lambda entry: json_bytes(entry) + 1,  # and its comma
    group=_group,
    max_group_alerts=MAX_GROUP_ALERTS,
    max_group_size=MAX_GROUP_BYTES,
)


def teams_payloads(alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
    """Render ``alerts`` (one channel, due together) as one or more Teams messages.

    A single alert is one card; a group is one card of entries, soonest first,
    split greedily at :data:`MAX_GROUP_ALERTS` or :data:`MAX_GROUP_BYTES`
    (:func:`~scheduler.render.chunk.chat_payloads`), so every message stays under
    :data:`MAX_PAYLOAD_BYTES` and rendering a returned group again yields it unchanged.
    """
    return chat_payloads(alerts, TEAMS_LAYOUT)
