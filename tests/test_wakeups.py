"""Wake-ups from other replicas reach their subscribers on the loop, bursts coalesced."""

from __future__ import annotations

import asyncio
import threading

from scheduler.db.notify import Wakeup
from scheduler.wakeups import Wakeups


async def test_a_burst_of_one_kind_runs_its_subscriber_again_once_not_once_each() -> None:
    wakeups = Wakeups(asyncio.get_running_loop())
    calls: list[str] = []
    release = asyncio.Event()

    async def slow() -> None:
        calls.append("work")
        await release.wait()

    async def ack() -> None:
        calls.append("ack")

    wakeups.on(Wakeup.WORK, slow)
    wakeups.on(Wakeup.ACK, ack)
    # Heard on the session's thread, as in the daemon.
    thread = threading.Thread(
        target=lambda: [wakeups.heard(k) for k in ("work", "work", "work", "ack", "other")]
    )
    thread.start()
    thread.join()
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert calls == ["work", "ack"]  # the second and third "work" wait for the first
    release.set()
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert calls == ["work", "ack", "work"]  # once more for the burst, not twice


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    wakeups = Wakeups(asyncio.get_running_loop())
    calls: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        calls.append("fine")

    wakeups.on(Wakeup.TAKEOVER, broken)
    wakeups.on(Wakeup.TAKEOVER, fine)
    wakeups.heard("takeover")
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert calls == ["fine"]
