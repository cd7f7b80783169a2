"""Discord webhook messages: ``content`` plus one embed per reminder.

``allowed_mentions: {"parse": []}`` means no text in a message can ping anyone,
so a title such as ``@everyone`` is shown, not obeyed. Markdown in user text is
backslash-escaped; everything is cut with ``…`` to Discord's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from scheduler.model import Alert
from scheduler.render.chunk import ChatLayout, Payload, chat_payloads
from scheduler.render.limits import discord_escape, fit, fit_discord, ulen
from scheduler.render.view import AlertView, Kind

# Discord's documented limits.
CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
MAX_FIELDS = 25
MAX_EMBEDS = 10
EMBEDS_TOTAL_MAX = 6000  # title + description + field names and values + footer, all embeds
# A grouped message keeps each embed short.
GROUP_DESCRIPTION_MAX = 600
LINKS_SHOWN = 5
TAGS_MAX = 512
ACK_LINK = "[Acknowledge this deadline]({url})"  # a masked link: embeds render them
# The same link in ``content`` (a templated message); ``<…>`` keeps Discord from
# adding a preview of the confirmation page under the message.
CONTENT_ACK_LINK = "[Acknowledge this deadline](<{url}>)"

COLORS = {Kind.BEFORE: 0x3B82F6, Kind.REACHED: 0x16A34A, Kind.AFTER: 0x6B7280}
LATE_COLOR = 0xD97706
NO_MENTIONS: dict[str, list[str]] = {"parse": []}

Embed = dict[str, Any]


def embed_chars(embed: Embed) -> int:
    """Characters Discord counts towards the 6,000 total of a message's embeds."""
    total = ulen(embed.get("title", "")) + ulen(embed.get("description", ""))
    for f in embed.get("fields", []):
        total += ulen(f["name"]) + ulen(f["value"])
    total += ulen(embed.get("footer", {}).get("text", ""))
    total += ulen(embed.get("author", {}).get("name", ""))
    return total


def _link(url: str) -> str:
    clean = url.strip()
    if clean.startswith(("https://", "http://")) and not any(c.isspace() for c in clean):
        return fit(clean, FIELD_VALUE_MAX // LINKS_SHOWN)  # URLs are autolinked; not escaped
    return fit_discord(clean, FIELD_VALUE_MAX // LINKS_SHOWN)


def _embed(v: AlertView, *, description_max: int) -> Embed:
    head = [f"**{discord_escape(v.status)}** · {discord_escape(v.when)}"]
    if v.late_line:
        head.append(f"⚠️ {discord_escape(v.late_line)}")
    description = "\n".join(head)
    if v.description:
        room = description_max - ulen(description) - 2
        description += "\n\n" + fit_discord(v.description, room)
    fields = [
        {"name": "When", "value": fit_discord(v.when, FIELD_VALUE_MAX), "inline": True},
        {"name": "Reminder", "value": fit_discord(v.label, FIELD_VALUE_MAX), "inline": True},
    ]
    if v.tags:
        fields.append({"name": "Tags", "value": fit_discord(v.tag_line, TAGS_MAX), "inline": True})
    if v.links:
        shown = [_link(url) for url in v.links[:LINKS_SHOWN]]
        if len(v.links) > LINKS_SHOWN:
            shown.append(f"…and {len(v.links) - LINKS_SHOWN} more")
        fields.append({"name": "Links", "value": fit("\n".join(shown), FIELD_VALUE_MAX)})
    url = v.alert.ack_url
    if url and ulen(url) + len(ACK_LINK) <= FIELD_VALUE_MAX:
        fields.append({"name": "Acknowledge", "value": ACK_LINK.format(url=url)})
    return {
        # Embed titles render no markdown: kept plain, only cut.
        "title": fit(f"{v.icon} {v.title}", EMBED_TITLE_MAX),
        "description": description,
        "timestamp": v.timestamp.astimezone(UTC).isoformat(),
        "color": LATE_COLOR if v.late_by is not None else COLORS[v.kind],
        "fields": fields[:MAX_FIELDS],
    }


def _single(v: AlertView) -> Payload:
    embed = _embed(v, description_max=EMBED_DESCRIPTION_MAX)
    over = embed_chars(embed) - EMBEDS_TOTAL_MAX
    if over > 0:  # a huge description and huge fields together: shorten the description
        embed = _embed(v, description_max=EMBED_DESCRIPTION_MAX - over)
    return {
        "content": fit_discord(v.fallback, CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": NO_MENTIONS,
    }


def _group(views: Sequence[AlertView], embeds: list[Embed]) -> Payload:
    content = f"**{len(views)} reminders**, soonest first: " + "; ".join(
        discord_escape(v.fallback) for v in views
    )
    return {
        "content": fit(content, CONTENT_MAX),
        "embeds": embeds,
        "allowed_mentions": NO_MENTIONS,
    }


DISCORD_LAYOUT: ChatLayout[Embed] = ChatLayout(
    single=_single,
    entry=lambda v: _embed(v, description_max=GROUP_DESCRIPTION_MAX),
    entry_size=embed_chars,
    group=_group,
    max_group_alerts=MAX_EMBEDS,
    max_group_size=EMBEDS_TOTAL_MAX,
)


def discord_payloads(alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
    """Render ``alerts`` (one channel, due together) as one or more Discord messages.

    A single alert is one message with one embed; a group gets one embed per
    alert, soonest first, split at 10 embeds or 6,000 embed characters
    (:func:`~scheduler.render.chunk.chat_payloads`). Rendering any returned
    group again yields that same single message.
    """
    return chat_payloads(alerts, DISCORD_LAYOUT)
