"""Slack's own answer rule: its words first, then the shared status table."""

from __future__ import annotations

import pytest

from scheduler.model import Reason
from scheduler.notify.classify import Answer, by_status
from scheduler.notify.slack import SLACK_ERRORS, SLACK_GONE, SLACK_TRANSIENT, slack_answer


def answer(status: int, text: str, retry_after: float | None = None) -> Answer:
    return Answer(status, text, text.strip(), retry_after)


@pytest.mark.parametrize(
    ("status", "word", "ok", "retryable", "reason", "disable"),
    [
        (200, "ok", True, False, Reason.OK, False),
        (200, " ok\n", True, False, Reason.OK, False),
        (201, "ok", False, False, Reason.REJECTED, False),  # only 200 ok is success
        (200, "", False, False, Reason.REJECTED, False),
        (200, "invalid_token", False, False, Reason.REJECTED, False),
        (200, "service_unavailable", False, True, Reason.REJECTED, False),
        (200, "channel_is_archived", False, False, Reason.GONE, True),
        (404, "no_service", False, False, Reason.GONE, True),
        (403, "action_prohibited", False, False, Reason.CLIENT_ERROR, False),
        (500, "internal_error", False, True, Reason.SERVER_ERROR, False),
    ],
)
def test_slack_words(
    status: int, word: str, ok: bool, retryable: bool, reason: Reason, disable: bool
) -> None:
    outcome = slack_answer(answer(status, word))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (ok, retryable, reason)
    assert outcome.disable_channel is disable


def test_a_429_keeps_the_headers_retry_after() -> None:
    outcome = slack_answer(answer(429, "rate_limited", 4.0))
    assert (outcome.reason, outcome.retry_after) == (Reason.RATE_LIMITED, 4.0)


def test_gone_and_transient_words_have_meanings() -> None:
    assert set(SLACK_ERRORS) >= SLACK_GONE | SLACK_TRANSIENT


def test_the_shared_table_knows_no_slack_word() -> None:
    # Slack's meaning lives in Slack's rule: the shared table reads 200 as success.
    assert by_status(answer(200, "channel_is_archived")).ok
    assert not slack_answer(answer(200, "channel_is_archived")).ok
