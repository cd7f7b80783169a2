"""The retry policy: backoff, jitter, Retry-After and the decision table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.model import Outcome, Reason, RetryPolicy
from scheduler.retry import RETRY_AFTER_CAP, Action, Decision, backoff, decide, next_delay

POLICY = RetryPolicy(max_attempts=5, initial=timedelta(seconds=5), max_delay=timedelta(minutes=1))


def low() -> float:
    return 0.0


def high() -> float:
    return 1.0 - 1e-12


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (6, 60), (1000, 60), (0, 5), (-3, 5)],
)
def test_backoff_doubles_and_caps(attempt: int, seconds: float) -> None:
    assert backoff(attempt, POLICY) == timedelta(seconds=seconds)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 9])
def test_equal_jitter_keeps_at_least_half(attempt: int) -> None:
    base = backoff(attempt, POLICY)
    assert next_delay(attempt, POLICY, retry_after=None, rand=low) == base / 2
    assert base / 2 < next_delay(attempt, POLICY, retry_after=None, rand=lambda: 0.5) < base
    assert abs(next_delay(attempt, POLICY, retry_after=None, rand=high) - base) < timedelta(
        microseconds=1
    )


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 2.5),  # attempt 1, rand 0: 5 s / 2
        (0.0, 2.5),
        (1.0, 2.5),  # shorter than the backoff: the backoff stands
        (30.0, 30.0),  # longer: honoured
        (3000.0, 3000.0),  # past max_delay but within the 1 h cap
        (86_400.0, RETRY_AFTER_CAP.total_seconds()),  # a hostile day is cut to 1 h
    ],
)
def test_retry_after_raises_the_delay(retry_after: float | None, expected: float) -> None:
    delay = next_delay(1, POLICY, retry_after=retry_after, rand=low)
    assert delay == timedelta(seconds=expected)


def test_retry_after_cap_follows_a_longer_max_delay() -> None:
    policy = RetryPolicy(max_attempts=3, initial=timedelta(seconds=1), max_delay=timedelta(hours=6))
    assert next_delay(1, policy, retry_after=7200, rand=low) == timedelta(hours=2)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(
        max_attempts=10**9, initial=timedelta(days=1), max_delay=timedelta(days=900)
    )
    assert next_delay(10**6, policy, retry_after=None, rand=high) <= timedelta(days=900)


OK = Outcome(True, False, Reason.OK, 200, "ok")
TIMEOUT = Outcome(False, True, Reason.TIMEOUT)
LIMITED = Outcome(False, True, Reason.RATE_LIMITED, 429, retry_after=20.0)
CLIENT = Outcome(False, False, Reason.CLIENT_ERROR, 400)
GONE = Outcome(False, False, Reason.GONE, 410, disable_channel=True)
REJECTED = Outcome(False, False, Reason.REJECTED, 200, "invalid_payload")


@pytest.mark.parametrize(
    ("outcome", "attempt", "expected"),
    [
        (OK, 1, Decision(Action.SENT, None, "ok")),
        (OK, 5, Decision(Action.SENT, None, "ok")),
        (TIMEOUT, 1, Decision(Action.RETRY, timedelta(seconds=2.5), "timeout")),
        (TIMEOUT, 3, Decision(Action.RETRY, timedelta(seconds=10), "timeout")),
        (TIMEOUT, 4, Decision(Action.RETRY, timedelta(seconds=20), "timeout")),
        (TIMEOUT, 5, Decision(Action.DEAD, None, "max_attempts")),
        (TIMEOUT, 6, Decision(Action.DEAD, None, "max_attempts")),
        (LIMITED, 1, Decision(Action.RETRY, timedelta(seconds=20), "rate_limited")),
        (CLIENT, 1, Decision(Action.DEAD, None, "client_error")),
        (GONE, 1, Decision(Action.DEAD, None, "gone")),
        (REJECTED, 1, Decision(Action.DEAD, None, "rejected")),
    ],
)
def test_decide(outcome: Outcome, attempt: int, expected: Decision) -> None:
    assert decide(outcome, attempt, POLICY, rand=low) == expected


def test_single_attempt_policy_never_retries() -> None:
    policy = RetryPolicy(max_attempts=1)
    assert decide(TIMEOUT, 1, policy, rand=low).action is Action.DEAD
