"""A digest message for each chat channel, within that channel's limits.

One digest fire is always one message of its own (never grouped with reminders):
a header naming the digest and how many milestones fall in its window, then one
line per milestone, soonest first (countdown, title, date, acknowledgement). Lines
are packed into as few blocks as the limits allow; what does not fit is counted
("…and 12 more"), never cut mid-entry. User text is escaped as in every other
message of the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from scheduler.model import Alert
from scheduler.render.chunk import Payload
from scheduler.render.digest import DigestEntry, DigestView, alert_view, split_digests
from scheduler.render.discord import (
    CONTENT_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_TITLE_MAX,
    NO_MENTIONS,
    discord_payloads,
)
from scheduler.render.limits import (
    discord_escape,
    fit,
    fit_discord,
    fit_slack,
    slack_bold,
    slack_escape,
    ulen,
)
from scheduler.render.slack import (
    FALLBACK_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    slack_payloads,
)
from scheduler.render.teams import FALLBACK_MAX as TEAMS_FALLBACK_MAX
from scheduler.render.teams import MAX_GROUP_BYTES, card, fit_bytes, json_bytes, teams_payloads

ENTRY_TITLE_MAX = 200  # characters of a title in one digest line
DIGEST_COLOR = 0x7C3AED


def _more(n: int) -> str:
    return f"…and {n} more"


def _pack(lines: list[str], *, size: int, blocks: int, measure: Any = ulen) -> list[str]:
    """``lines`` joined by newlines into at most ``blocks`` texts of at most ``size``; when
    they do not all fit, the last text ends with how many were left out."""
    texts: list[str] = []
    current: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = measure(line) + (1 if current else 0)
        if current and used + cost > size:
            texts.append("\n".join(current))
            current, used = [], 0
            cost = measure(line)
        if len(texts) == blocks:
            left = len(lines) - index
            last = texts[-1].split("\n")
            while last and measure("\n".join([*last, _more(left)])) > size:
                last.pop()
                left += 1
            texts[-1] = "\n".join([*last, _more(left)])
            return texts
        current.append(line)
        used += cost
    if current:
        texts.append("\n".join(current))
    return texts[:blocks]


def _with_more(lines: list[str], view: DigestView) -> list[str]:
    return [*lines, _more(view.more)] if view.more else lines


# -- Slack ---------------------------------------------------------------------------
def _slack_line(e: DigestEntry) -> str:
    line = (
        f"{slack_bold(e.countdown)} {fit_slack(e.title, ENTRY_TITLE_MAX)} · {slack_escape(e.when)}"
    )
    return f"{line} · :white_check_mark: {slack_escape(e.acknowledged)}" if e.acknowledged else line


def slack_digest(view: DigestView) -> Payload:
    """Header, an optional held or late note, then the entries packed into sections."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": fit_slack(view.title, HEADER_MAX)},
        }
    ]
    if view.note:
        blocks.append({"type": "context", "elements": [_mrkdwn(slack_escape(view.note))]})
    lines = _with_more([_slack_line(e) for e in view.entries], view)
    room = MAX_BLOCKS - len(blocks)
    for text in _pack(lines, size=SECTION_TEXT_MAX, blocks=room):
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    return {"text": fit_slack(view.fallback, FALLBACK_MAX), "blocks": blocks}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


# -- Discord -------------------------------------------------------------------------
def _discord_line(e: DigestEntry) -> str:
    title = fit_discord(e.title, ENTRY_TITLE_MAX)
    line = f"**{discord_escape(e.countdown)}** {title} · {discord_escape(e.when)}"
    return f"{line} · ✅ {discord_escape(e.acknowledged)}" if e.acknowledged else line


def discord_digest(view: DigestView) -> Payload:
    """``content`` and one embed listing the entries (within the embed's 4,096 characters)."""
    lines = _with_more([_discord_line(e) for e in view.entries], view)
    if view.note:
        lines.insert(0, f"⚠️ {discord_escape(view.note)}")
    packed = _pack(lines, size=EMBED_DESCRIPTION_MAX, blocks=1)
    embed = {
        "title": fit(view.title, EMBED_TITLE_MAX),
        "description": packed[0] if packed else "Nothing due.",
        "timestamp": view.fired_at.astimezone(UTC).isoformat(),
        "color": DIGEST_COLOR,
    }
    return {
        "content": fit_discord(view.fallback, CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": NO_MENTIONS,
    }


# -- Teams ---------------------------------------------------------------------------
def _teams_line(e: DigestEntry) -> str:
    line = f"{e.countdown}: {fit_bytes(e.title, ENTRY_TITLE_MAX * 2)} — {e.when}"
    return f"{line} ✅ {e.acknowledged}" if e.acknowledged else line


def _plain(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def teams_digest(view: DigestView) -> Payload:
    """A card: the headline, an optional note, one line per entry, under 28 KB."""
    body = [_plain(fit_bytes(view.title, 1000), size="Large", weight="Bolder")]
    if view.note:
        body.append(_plain(fit_bytes(view.note, 1000), isSubtle=True))
    lines = _with_more([_teams_line(e) for e in view.entries], view)
    for text in _pack(lines, size=MAX_GROUP_BYTES, blocks=1, measure=_json_len):
        body.append(_plain(text))
    return card(body, [], fit_bytes(view.fallback, TEAMS_FALLBACK_MAX))


def _json_len(text: str) -> int:
    return json_bytes(text)


# -- every chat channel ----------------------------------------------------------------
Messages = Callable[[Sequence[Alert]], list[tuple[list[Alert], Payload]]]


def with_digests(render: Messages, digest_message: Callable[[DigestView], Payload]) -> Messages:
    """A channel's renderer that also shows digests: each digest alert as a message of
    its own (before the reminders due with it), the other alerts as ``render`` does."""

    def messages(alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
        digests, others = split_digests(alerts)
        out = [([a], digest_message(alert_view(a))) for a in digests]
        return out + (render(others) if others else [])

    return messages


slack_messages = with_digests(slack_payloads, slack_digest)
discord_messages = with_digests(discord_payloads, discord_digest)
teams_messages = with_digests(teams_payloads, teams_digest)
