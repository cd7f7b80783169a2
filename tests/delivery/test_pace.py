"""Stage ``pace``: the token bucket's wait, and a channel disabled while a request waited."""

from __future__ import annotations

from scheduler.delivery.pace import Pace
from scheduler.delivery.values import Batch, DeliveryReason
from scheduler.notify.pacing import TokenBucket
from tests.delivery.helpers import Harness, runtime
from tests.support.rows import claimed


async def test_a_paced_channel_waits_its_turn() -> None:
    h = Harness()
    rt = runtime()
    now = [0.0]
    rt.bucket = TokenBucket(2.0, 1, lambda: now[0])
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    stage = Pace(h.finisher, sleep=sleep)
    batch = Batch("hook", rt, (claimed("a"),))
    assert await stage(batch) == [batch]
    assert await stage(batch) == [batch]
    assert waits == [0.5]  # 2 per second, a burst of one


async def test_disabled_while_waiting_ends_the_request_dead() -> None:
    h = Harness()
    rt = runtime()
    rt.disabled = True
    rows = (claimed("a"), claimed("b"))
    assert await Pace(h.finisher, sleep=h.clock.sleep)(Batch("hook", rt, rows)) == []
    await h.close()
    assert h.marks.kinds() == [("dead", DeliveryReason.CHANNEL_DISABLED)] * 2
