"""Slack incoming-webhook messages: a ``text`` fallback plus Block Kit ``blocks``.

One alert is a header, a section (status, date, lateness, description), an
optional section of links and a context line (label, tags). Several alerts due
together become one message listing them soonest first, one section each, and
are split into several messages only when Slack's limits require it.

All user text is escaped (``&``, ``<``, ``>``) so that a title such as
``<!channel>`` is shown, not obeyed, and cut with ``…`` to Slack's limits; text
inside ``*…*`` also has its ``*`` shown as ``∗`` so it cannot end the bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scheduler.model import Alert
from scheduler.render.chunk import ChatLayout, Payload, chat_payloads
from scheduler.render.limits import clip, fit_slack, fit_slack_bold, slack_bold, slack_escape, ulen
from scheduler.render.view import AlertView

# Slack's documented Block Kit limits.
MAX_BLOCKS = 50
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 2000
# Slack truncates ``text`` past 40,000 characters; a fallback is read in a
# notification banner, so keep it modest.
FALLBACK_MAX = 3000
LINK_MAX = 500
BUTTON_URL_MAX = 3000  # Slack's limit on a button's url
ACK_LABEL = "Acknowledge"
# In a grouped message each reminder gets a short entry.
GROUP_TITLE_MAX = 200
GROUP_DESCRIPTION_MAX = 300
GROUP_LINKS = 3
GROUP_TAGS_MAX = 200
MAX_GROUP_ALERTS = MAX_BLOCKS - 1  # one header, then one section per alert
# A cap on the text of one grouped message, far below what Slack accepts, so a
# burst is several readable posts rather than one endless one.
MAX_GROUP_CHARS = 30_000


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _link(url: str) -> str:
    """A clickable ``<url>`` for http(s) links, escaped text for anything else."""
    clean = url.strip()
    plain = not any(c.isspace() for c in clean)
    if clean.startswith(("https://", "http://")) and plain and ulen(clean) <= LINK_MAX:
        return "<" + slack_escape(clean).replace("|", "%7C") + ">"
    return fit_slack(clean, LINK_MAX)


def ack_button(alert: Alert) -> dict[str, Any] | None:
    """The alert's Acknowledge button (a link button: Slack opens the URL, no app
    needed); None when it has no link or one too long for a button."""
    url = alert.ack_url
    if not url or len(url) > BUTTON_URL_MAX:
        return None
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": ACK_LABEL},
        "url": url,
        "action_id": f"ack-{alert.delivery_id}",
    }


def _status_line(v: AlertView) -> str:
    return f"{slack_bold(v.status)} · {slack_escape(v.when)}"


def _single(v: AlertView) -> Payload:
    head = [_status_line(v)]
    if v.late_line:
        head.append(f":warning: {slack_escape(v.late_line)}")
    text = "\n".join(head)
    if v.description:
        room = SECTION_TEXT_MAX - ulen(text) - 1
        text += "\n" + fit_slack(v.description, room)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": fit_slack(f"{v.icon} {v.title}", HEADER_MAX)},
        },
        {"type": "section", "text": _mrkdwn(text)},
    ]
    if v.links:
        lines: list[str] = []
        used = 0
        for n, url in enumerate(v.links):
            link = _link(url)
            more = f"…and {len(v.links) - n} more"
            if used + ulen(link) + 1 + ulen(more) > SECTION_TEXT_MAX:
                lines.append(more)
                break
            lines.append(link)
            used += ulen(link) + 1
        blocks.append({"type": "section", "text": _mrkdwn("\n".join(lines))})
    button = ack_button(v.alert)
    if button is not None:
        blocks.append({"type": "actions", "elements": [button]})
    context = v.label + (f" · {v.tag_line}" if v.tags else "")
    blocks.append({"type": "context", "elements": [_mrkdwn(fit_slack(context, CONTEXT_TEXT_MAX))]})
    return {"text": fit_slack(v.fallback, FALLBACK_MAX), "blocks": blocks}


def _group_entry(v: AlertView) -> str:
    lines = [
        f"{v.icon} *{fit_slack_bold(v.title, GROUP_TITLE_MAX)}*",
        f"{_status_line(v)} · {slack_escape(v.label)}",
    ]
    if v.late_line:
        lines.append(f":warning: {slack_escape(v.late_line)}")
    if v.description:
        lines.append(fit_slack(v.description, GROUP_DESCRIPTION_MAX))
    if v.links:
        links = [_link(url) for url in v.links[:GROUP_LINKS]]
        if len(v.links) > GROUP_LINKS:
            links.append(f"…and {len(v.links) - GROUP_LINKS} more")
        lines.append(" · ".join(links))
    if v.tags:
        lines.append(fit_slack(v.tag_line, GROUP_TAGS_MAX))
    return clip("\n".join(lines), SECTION_TEXT_MAX)


def _group(views: Sequence[AlertView], entries: Sequence[str]) -> Payload:
    n = len(views)
    fallback = f"{n} reminders: " + "; ".join(v.fallback for v in views)
    header = f"⏳ {n} reminders, soonest first"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit_slack(header, HEADER_MAX)}}
    ]
    for v, e in zip(views, entries, strict=True):
        section: dict[str, Any] = {"type": "section", "text": _mrkdwn(e)}
        button = ack_button(v.alert)
        if button is not None:  # beside its entry: a group stays one block per reminder
            section["accessory"] = button
        blocks.append(section)
    return {"text": fit_slack(fallback, FALLBACK_MAX), "blocks": blocks}


SLACK_LAYOUT: ChatLayout[str] = ChatLayout(
    single=_single,
    entry=_group_entry,
    entry_size=ulen,  # the fallback text is cut to FALLBACK_MAX whatever the group
    group=_group,
    max_group_alerts=MAX_GROUP_ALERTS,
    max_group_size=MAX_GROUP_CHARS,
)


def slack_payloads(alerts: Sequence[Alert]) -> list[tuple[list[Alert], Payload]]:
    """Render ``alerts`` (one channel, due together) as one or more Slack messages.

    Returns each message with the alerts it carries, soonest first. A single
    alert is always one message; a group is split greedily by Slack's block
    limit and a size budget (:func:`~scheduler.render.chunk.chat_payloads`), so
    rendering any returned group again yields that same single message.
    """
    return chat_payloads(alerts, SLACK_LAYOUT)
