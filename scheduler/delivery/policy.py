"""Delivery policy: the defaults that the dispatcher, the pipeline and the daemon share.

Each number lives here, with the part that owns the policy, never in the daemon
(which imports everything and is imported by nothing). Environment overrides are
read when a :class:`DeliveryPolicy` is built, not at import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from scheduler.model import Channel, ChannelType
from scheduler.notify.pacing import TokenBucket

# A claim outlives any single request (default timeout 15 s) with room to spare, and
# is renewed every lease/3 while the request runs; a replica that dies mid-delivery
# has its claims taken over at most lease + the sweep interval later.
DEFAULT_LEASE = timedelta(seconds=30)
# First attempts are claimed this far ahead of their due time and sent from memory at
# the exact moment, so the database round trip is not part of their lateness.
DEFAULT_LOOKAHEAD = timedelta(seconds=1)
CLAIM_BATCH = 500
# Requests in flight at once on one channel, at most. Each channel has its own send slots
# and its own connection pool of this size, so a burst on one channel never holds
# another's; within it, the channel's adaptive limit (``scheduler.delivery.limit``) keeps
# only as many out as its receiver answers without queueing them.
DEFAULT_CONCURRENCY = 64
# Claimed deliveries one channel may hold in memory (waiting for their moment or a send
# slot). A channel holding this many is skipped by claims until some of them end, so a
# burst of 10,000 drains through a bounded window and other channels' rows are claimed
# on time beside it. A claim may overshoot by one batch.
CHANNEL_BACKLOG = 2 * CLAIM_BATCH
# A Retry-After pauses the whole channel, but never longer than this: a receiver asking
# for a day must not hold every claimed delivery in memory for a day (they retry later).
MAX_PAUSE = timedelta(minutes=5)
UNPACED_RATE = 1e6  # requests per second: no pacing, but a 429 can still pause the channel
# Chat and email channels combine reminders due within their group window into one post
# (one message), one request at a time and in order; webhooks send each delivery on its
# own, concurrently.
GROUPED_TYPES = frozenset(
    {ChannelType.SLACK, ChannelType.DISCORD, ChannelType.TEAMS, ChannelType.EMAIL}
)

LEASE_ENV = "TMINUS_LEASE_SECONDS"
LOOKAHEAD_ENV = "TMINUS_LOOKAHEAD_SECONDS"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long claims live, how far ahead first attempts are claimed, batch sizes."""

    lease: timedelta = DEFAULT_LEASE
    lookahead: timedelta = DEFAULT_LOOKAHEAD
    claim_batch: int = CLAIM_BATCH
    backlog: int = CHANNEL_BACKLOG  # claimed rows one channel may hold in memory

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliveryPolicy:
        """The defaults, with the lease and lookahead overridable (tests shorten them)."""
        env = os.environ if environ is None else environ
        return cls(
            lease=timedelta(seconds=float(env.get(LEASE_ENV, DEFAULT_LEASE.total_seconds()))),
            lookahead=timedelta(
                seconds=float(env.get(LOOKAHEAD_ENV, DEFAULT_LOOKAHEAD.total_seconds()))
            ),
        )


def is_grouped(channel: Channel) -> bool:
    """Whether ``channel`` combines reminders into posts, sent one at a time in order."""
    return channel.type in GROUPED_TYPES


def bucket_for(channel: Channel) -> TokenBucket:
    """Every channel gets a bucket, so a 429's Retry-After pauses all its sends; one
    without a rate limit (a generic webhook by default) is effectively unpaced."""
    rate = channel.effective_rate_limit
    if rate is None:
        return TokenBucket(UNPACED_RATE, int(UNPACED_RATE), time.monotonic)
    # Short bursts are fine (Slack: "about one per second"); Discord allows 5 per 2 s;
    # Teams counts requests per second, so its burst is one second's worth.
    if channel.type is ChannelType.DISCORD:
        burst = 5
    elif channel.type is ChannelType.TEAMS:
        burst = max(1, int(rate))
    else:
        burst = max(1, int(rate * 3))
    return TokenBucket(rate, burst, time.monotonic)
