"""Slack incoming webhooks: grouped Block Kit messages, and what Slack's answers say.

Slack answers 200 ``ok`` on success and a word otherwise (``invalid_payload``,
``channel_is_archived``…), sometimes with a 2xx; :func:`slack_answer` reads the
word before the shared status table.
"""

from __future__ import annotations

from scheduler.model import Outcome, Reason
from scheduler.notify.chat import ChatStyle
from scheduler.notify.classify import Answer, by_status, with_detail
from scheduler.render.digest_chat import slack_messages
from scheduler.render.slack import MAX_GROUP_ALERTS
from scheduler.render.templated import SLACK_TEXT

# Slack incoming-webhook error bodies and what they mean for a person reading history.
SLACK_ERRORS: dict[str, str] = {
    "invalid_payload": "Slack could not parse the message (malformed JSON or blocks)",
    "invalid_blocks": "Slack rejected the message's blocks",
    "invalid_blocks_format": "Slack rejected the message's blocks",
    "no_text": "the message had no text",
    "too_many_attachments": "the message had too many attachments",
    "user_not_found": "the webhook's user no longer exists",
    "channel_not_found": "the webhook's channel does not exist or the app cannot see it",
    "channel_is_archived": "the webhook's channel was archived; the channel is disabled",
    "action_prohibited": "a Slack admin restricted posting to this channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
    "no_service": "the webhook was disabled, removed or revoked; the channel is disabled",
    "no_service_id": "the webhook URL is incomplete (no service id)",
    "no_team": "the webhook URL's workspace does not exist",
    "team_disabled": "the Slack workspace is disabled",
    "invalid_token": "the webhook URL's token is invalid or revoked",
    "invalid_team": "the webhook URL's workspace is invalid",
    "rollup_error": "Slack had an internal error",
    "internal_error": "Slack had an internal error",
    "fatal_error": "Slack had an internal error",
    "service_unavailable": "Slack is unavailable",
    "request_timeout": "Slack timed out reading the message",
}
SLACK_GONE = frozenset({"channel_is_archived", "no_service"})
SLACK_TRANSIENT = frozenset(
    {"rollup_error", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def slack_answer(answer: Answer) -> Outcome:
    """Success is 200 ``ok``; a gone channel's word disables it; any other 2xx is a refusal
    (retryable for Slack's transient words); the rest is the shared table with Slack's words."""
    status, body, word = answer.status, answer.body, answer.text.strip()
    if status == 200 and word == "ok":
        return Outcome(True, False, Reason.OK, status, body)
    meaning = SLACK_ERRORS.get(word)
    if word in SLACK_GONE:
        return Outcome(
            False, False, Reason.GONE, status, body, disable_channel=True,
            detail=f"{word}: {meaning}",
        )  # fmt: skip
    if 200 <= status < 300:
        detail = f"{word}: {meaning}" if meaning else f"HTTP {status} without 'ok': Slack said no"
        return Outcome(False, word in SLACK_TRANSIENT, Reason.REJECTED, status, body, detail=detail)
    outcome = by_status(answer)
    if meaning:
        outcome = with_detail(outcome, f"{word}: {meaning} (HTTP {status})")
    return outcome


SLACK_STYLE = ChatStyle(
    render=slack_messages,
    answers=slack_answer,
    max_alerts=MAX_GROUP_ALERTS,
    text_message=SLACK_TEXT,
)
SLACK = SLACK_STYLE.kind()
