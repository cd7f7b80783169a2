"""Stage ``wait``: first attempts wait for their moment (the latest in a group); retries do not."""

from __future__ import annotations

import pytest

from scheduler.delivery.values import Batch
from scheduler.delivery.wait import WaitUntilDue
from tests.delivery.helpers import Harness, runtime
from tests.support.rows import claimed, retried


@pytest.mark.parametrize(
    ("dues", "attempts", "slept"),
    [
        ([0.5], [1], [0.5]),
        ([0.2, 0.7], [1, 1], [0.7]),  # a group goes out when its last is due
        ([-1.0], [1], []),  # already due: no wait
        ([5.0], [2], []),  # a retry: its time is a backoff, not a deadline
        ([5.0, 0.3], [2, 1], [0.3]),  # only first attempts count
    ],
)
async def test_waits_until_the_latest_first_attempt_is_due(
    dues: list[float], attempts: list[int], slept: list[float]
) -> None:
    h = Harness()
    pairs = enumerate(zip(dues, attempts, strict=True))
    rows = tuple(retried(claimed(f"m{i}", at=h.at(d)), a) for i, (d, a) in pairs)
    batch = Batch("hook", runtime(), rows)
    start = h.clock()
    assert await WaitUntilDue(clock=h.clock, sleep=h.clock.sleep)(batch) == [batch]
    assert h.clock.slept == pytest.approx(slept)
    firsts = [r.due_at for r in rows if r.attempts <= 1]
    assert h.clock() >= max(firsts, default=start)
