"""The retry policy: pure functions from an outcome and an attempt number to a decision.

Backoff is exponential: ``initial * 2 ** (attempt - 1)``, capped at ``max_delay``,
with *equal jitter*: the delay is drawn uniformly from ``[d/2, d]``. Half of the
delay is kept so that a retry is never (near) immediate, the other half is
random so that many deliveries failing together (a receiver outage) do not
come back together. A receiver's ``Retry-After`` raises the delay to at least
what it asked for, bounded by :data:`RETRY_AFTER_CAP` or the policy's
``max_delay``, whichever is larger, so a hostile header cannot park a delivery
for a week.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from scheduler.model import Outcome, Reason, RetryPolicy

RETRY_AFTER_CAP = timedelta(hours=1)


class Action(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"


class RetryReason(enum.StrEnum):
    """Why the policy ended a delivery that the receiver would have let us retry."""

    MAX_ATTEMPTS = "max_attempts"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one attempt, and why (``reason`` is a log field and metric label).

    Whether the channel is disabled is the outcome's to say (``Outcome.disable_channel``),
    not the policy's: the record stage reads it there.
    """

    action: Action
    delay: timedelta | None
    reason: Reason | RetryReason


def backoff(attempt: int, policy: RetryPolicy) -> timedelta:
    """The un-jittered delay after failed attempt ``attempt`` (1-based)."""
    cap = policy.max_delay.total_seconds()
    exponent = min(max(attempt, 1) - 1, 62)  # past 2**62 every policy is at its cap
    return timedelta(seconds=min(cap, policy.initial.total_seconds() * 2.0**exponent))


def next_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None,
    rand: Callable[[], float],
) -> timedelta:
    """Delay before the attempt after ``attempt``: equal-jittered backoff, Retry-After honoured."""
    base = backoff(attempt, policy).total_seconds()
    delay = base / 2 + rand() * base / 2
    if retry_after is not None and retry_after > 0:
        bound = max(RETRY_AFTER_CAP, policy.max_delay).total_seconds()
        delay = max(delay, min(retry_after, bound))
    return timedelta(seconds=delay)


def decide(
    outcome: Outcome,
    attempt: int,
    policy: RetryPolicy,
    *,
    rand: Callable[[], float],
) -> Decision:
    """Sent, retry later, or dead, for the outcome of attempt number ``attempt`` (1-based)."""
    if outcome.ok:
        return Decision(Action.SENT, None, outcome.reason)
    if not outcome.retryable:
        return Decision(Action.DEAD, None, outcome.reason)
    if attempt >= policy.max_attempts:
        return Decision(Action.DEAD, None, RetryReason.MAX_ATTEMPTS)
    delay = next_delay(attempt, policy, retry_after=outcome.retry_after, rand=rand)
    return Decision(Action.RETRY, delay, outcome.reason)
