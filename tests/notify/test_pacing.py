"""The token bucket and its 429 pause, on a fake clock."""

from __future__ import annotations

import pytest

from scheduler.notify.pacing import TokenBucket, acquire


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 3, clock)
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_tokens_refill_over_time_up_to_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 2, clock)
    assert bucket.reserve() == bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.5)
    clock.now += 100  # long idle: back to a full bucket, not 200 tokens
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]


def test_pause_holds_every_send_then_resumes_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 5, clock)
    bucket.pause_until(clock.now + 30)
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == [30.0, 31.0, 32.0]  # no burst when the pause ends
    assert bucket.paused_for() == 30.0


def test_a_shorter_or_past_pause_changes_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 1, clock)
    bucket.pause_until(clock.now + 10)
    bucket.pause_until(clock.now + 5)
    bucket.pause_until(clock.now - 5)
    assert bucket.reserve() == 10.0


async def test_acquire_sleeps_the_reserved_time() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 1, clock)
    sent = []
    for _ in range(3):
        await acquire(bucket, clock.sleep)
        sent.append(clock.now)
    assert sent == [1000.0, 1001.0, 1002.0]


async def test_acquire_waits_out_a_pause_that_began_while_it_slept() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 1, clock)
    bucket.reserve()  # the bucket is empty: the next caller waits 1 s

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        if clock.now == 1001.0:  # meanwhile another send got a 429 with Retry-After: 20
            bucket.pause_until(1020.0)

    await acquire(bucket, sleep)
    assert clock.now == 1020.0


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1, FakeClock())
    with pytest.raises(ValueError):
        TokenBucket(1, 0, FakeClock())
