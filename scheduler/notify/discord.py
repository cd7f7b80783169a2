"""Discord webhooks: ``content`` and one embed per reminder, and what Discord's answers say.

Discord's errors are JSON: a 429 carries ``retry_after`` in its body, a deleted
webhook is 404 with code 10015, and ``message`` explains a refusal;
:func:`discord_answer` reads them around the shared status table.
"""

from __future__ import annotations

import json

from scheduler.model import Outcome, Reason
from scheduler.notify.chat import ChatStyle
from scheduler.notify.classify import Answer, by_status, excerpt, with_detail
from scheduler.render.digest_chat import discord_messages
from scheduler.render.discord import MAX_EMBEDS
from scheduler.render.templated import DISCORD_TEXT

DISCORD_UNKNOWN_WEBHOOK = 10015


def _json(body: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def discord_answer(answer: Answer) -> Outcome:
    """The shared table, with the body's ``retry_after`` (the longer wait wins), Unknown
    Webhook as gone, and Discord's ``message`` added to a failure's detail."""
    status, body, retry_after = answer.status, answer.body, answer.retry_after
    data = _json(answer.text) if status >= 400 else {}
    if status == 429:
        value = data.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            retry_after = max(float(value), retry_after or 0.0)
    if status == 404 and data.get("code") == DISCORD_UNKNOWN_WEBHOOK:
        return Outcome(
            False, False, Reason.GONE, status, body, disable_channel=True,
            detail="Unknown Webhook: the Discord webhook was deleted; the channel is disabled",
        )  # fmt: skip
    outcome = by_status(Answer(status, answer.text, body, retry_after))
    message = data.get("message")
    if isinstance(message, str) and not outcome.ok:
        outcome = with_detail(outcome, f"{outcome.detail}: {excerpt(message, 200)}")
    return outcome


DISCORD_STYLE = ChatStyle(
    render=discord_messages,
    answers=discord_answer,
    max_alerts=MAX_EMBEDS,
    text_message=DISCORD_TEXT,
)
DISCORD = DISCORD_STYLE.kind()
