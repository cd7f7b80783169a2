"""Discord's own answer rule: its JSON errors read around the shared status table."""

from __future__ import annotations

import json

import pytest

from scheduler.model import Reason
from scheduler.notify.classify import Answer, by_status
from scheduler.notify.discord import discord_answer


def answer(status: int, body: object, retry_after: float | None = None) -> Answer:
    text = body if isinstance(body, str) else json.dumps(body)
    return Answer(status, text, text, retry_after)


@pytest.mark.parametrize(
    ("status", "body", "header_wait", "reason", "retry_after", "disable"),
    [
        (204, "", None, Reason.OK, None, False),
        (429, {"retry_after": 2.5}, None, Reason.RATE_LIMITED, 2.5, False),
        (429, {"retry_after": 0.5}, 2.0, Reason.RATE_LIMITED, 2.0, False),  # the longer wait
        (429, {"retry_after": True}, None, Reason.RATE_LIMITED, None, False),
        (429, {"retry_after": -1}, None, Reason.RATE_LIMITED, None, False),
        (404, {"message": "Unknown Webhook", "code": 10015}, None, Reason.GONE, None, True),
        (
            404,
            {"message": "Unknown Channel", "code": 10003},
            None,
            Reason.CLIENT_ERROR,
            None,
            False,
        ),
        (400, "[1, 2]", None, Reason.CLIENT_ERROR, None, False),
        (502, "<html>", None, Reason.SERVER_ERROR, None, False),
    ],
)
def test_discord_answers(
    status: int,
    body: object,
    header_wait: float | None,
    reason: Reason,
    retry_after: float | None,
    disable: bool,
) -> None:
    outcome = discord_answer(answer(status, body, header_wait))
    assert (outcome.reason, outcome.retry_after, outcome.disable_channel) == (
        reason,
        retry_after,
        disable,
    )


def test_discords_message_is_added_to_a_failure() -> None:
    outcome = discord_answer(answer(401, {"message": "Invalid Webhook Token", "code": 50027}))
    assert outcome.detail == "HTTP 401: the receiver refused the request: Invalid Webhook Token"


def test_the_shared_table_knows_no_discord_code() -> None:
    body = {"message": "Unknown Webhook", "code": 10015}
    assert by_status(answer(404, body)).reason is Reason.CLIENT_ERROR
