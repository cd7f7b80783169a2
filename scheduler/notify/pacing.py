"""Per-channel pacing: a token bucket that a 429 can pause for everyone.

Slack allows about one message per second per webhook with short bursts; a
``Retry-After`` on any one request means *every* send to that channel waits,
which is what Alertmanager's Slack integration misses.

The bucket works on an injected monotonic clock (seconds) and never sleeps
itself: :meth:`TokenBucket.reserve` says how long the caller must wait, and
:func:`acquire` does the waiting, so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class TokenBucket:
    """``rate`` sends per second on average, up to ``burst`` at once.

    Reservations may run the bucket negative: each caller is told the moment
    its token will exist, so concurrent callers queue up one ``1/rate`` apart
    instead of stampeding when the bucket refills.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()  # tokens are counted as of this instant (may be in the future)
        self._paused_until = float("-inf")

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now

    def reserve(self) -> float:
        """Take a token; return the seconds to wait before sending (0: send now)."""
        now = self._clock()
        self._refill(now)
        self._tokens -= 1
        ready = self._last + max(0.0, -self._tokens) / self.rate
        return max(0.0, ready - now)

    def pause_until(self, t: float) -> None:
        """Stop every send until clock time ``t`` (a 429's ``Retry-After``).

        After the pause the bucket holds one token, so sends resume one at a
        time at ``rate`` rather than as a burst that would earn another 429.
        """
        now = self._clock()
        if t <= now or t <= self._paused_until:
            return
        self._paused_until = t
        self._tokens = 1.0
        self._last = t

    def pause_for(self, seconds: float) -> None:
        self.pause_until(self._clock() + seconds)

    def paused_for(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())


async def acquire(
    bucket: TokenBucket, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> None:
    """Wait for a token; if a pause began while waiting, wait for a fresh one after it."""
    wait = bucket.reserve()
    while True:
        if wait > 0:
            await sleep(wait)
        if bucket.paused_for() <= 0:
            return
        wait = bucket.reserve()
