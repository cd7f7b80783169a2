"""When the takeover checks: every second while there are signs of work or other
workers' claims, never on its own while the cluster is idle (on an injected clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from scheduler.db.liveness import TakeoverCheck
from scheduler.metrics import Metrics
from scheduler.store import Store
from scheduler.takeover import TAKEOVER_EVERY, WATCH_FOR, Takeover, keep_watching


@pytest.mark.parametrize(
    ("now", "watch_until", "elsewhere", "expected"),
    [
        (100.0, 0.0, False, False),  # no sign of work, no claims: idle
        (100.0, 105.0, False, True),  # watching after a sign of work
        (105.0, 105.0, False, False),  # the watch ran out
        (200.0, 105.0, True, True),  # other workers hold claims: they may die
    ],
)
def test_keep_watching(now: float, watch_until: float, elsewhere: bool, expected: bool) -> None:
    assert keep_watching(now=now, watch_until=watch_until, claims_elsewhere=elsewhere) is expected


class Timers:
    """call_later on a fake clock: timers fire only when the test advances time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        self.pending.append((self.now + delay, fn))
        return _Handle(self, fn)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.pending if t[0] <= self.now]
        self.pending = [t for t in self.pending if t[0] > self.now]
        for _, fn in due:
            fn()
        for _ in range(3):  # let the check tasks run to their end
            await asyncio.sleep(0)


class _Handle:
    def __init__(self, timers: Timers, fn: Callable[[], None]) -> None:
        self._timers, self._fn = timers, fn

    def cancel(self) -> None:
        self._timers.pending = [t for t in self._timers.pending if t[1] is not self._fn]


class FakeStore:
    def __init__(self) -> None:
        self.answers: list[TakeoverCheck | Exception] = []
        self.checks = 0
        self.notified: list[str] = []

    def take_over_dead(self, *, me: str) -> TakeoverCheck:
        self.checks += 1
        answer = self.answers.pop(0) if self.answers else TakeoverCheck()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def notify(self, kind: str) -> None:
        self.notified.append(kind)


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def make() -> tuple[Takeover, FakeStore, Timers, list[str]]:
    store, timers, taken = FakeStore(), Timers(), []

    async def on_taken() -> None:
        taken.append("claim")

    takeover = Takeover(
        store=cast(Store, store),
        db=call,
        worker="me",
        metrics=Metrics(),
        on_taken=on_taken,
        call_later=timers.call_later,
        monotonic=lambda: timers.now,
    )
    return takeover, store, timers, taken


async def test_an_idle_cluster_is_checked_only_when_the_sweep_asks() -> None:
    takeover, store, timers, _ = make()
    await timers.advance(60)
    assert store.checks == 0 and timers.pending == []
    await takeover.poke()  # the sweep
    await timers.advance(0)
    assert store.checks == 1
    assert timers.pending == []  # nobody else held claims: no timer


async def test_a_sign_of_work_starts_checks_every_second_for_the_watch() -> None:
    takeover, store, timers, _ = make()
    takeover.stir()
    seconds = 0
    while timers.pending and seconds < 100:
        await timers.advance(TAKEOVER_EVERY)
        seconds += 1
    assert store.checks == pytest.approx(WATCH_FOR / TAKEOVER_EVERY, abs=1)
    assert timers.pending == []
    takeover.stir()  # stirring again arms one timer, not one per stir
    takeover.stir()
    assert len(timers.pending) == 1


async def test_claims_held_elsewhere_keep_the_checks_going_until_they_end() -> None:
    takeover, store, timers, _ = make()
    store.answers = [TakeoverCheck({}, claims_elsewhere=True)] * 30
    takeover.stir()
    for _ in range(30):  # three times the watch: the other worker still holds claims
        await timers.advance(TAKEOVER_EVERY)
    assert store.checks == 30 and len(timers.pending) == 1
    await timers.advance(TAKEOVER_EVERY)  # its claims are gone, and so is the watch
    assert store.checks == 31 and timers.pending == []


async def test_a_dead_workers_claims_are_taken_claimed_and_announced() -> None:
    takeover, store, timers, taken = make()
    store.answers = [TakeoverCheck({"dead": 3}, claims_elsewhere=True)]
    takeover.stir()
    await timers.advance(TAKEOVER_EVERY)
    assert taken == ["claim"] and store.notified == ["takeover"]
    assert len(timers.pending) == 1  # and it goes on watching


async def test_a_failed_check_is_tried_again_a_second_later() -> None:
    takeover, store, timers, _ = make()
    store.answers = [ConnectionError("gone")] * 15
    await takeover.poke()
    await timers.advance(0)
    for _ in range(15):
        await timers.advance(TAKEOVER_EVERY)
    # Fifteen failures, each followed by the next check a second later; the sixteenth
    # answered, with nobody's claims to watch.
    assert store.checks == 16 and timers.pending == []


async def test_a_stopped_takeover_checks_no_more() -> None:
    takeover, store, timers, _ = make()
    takeover.stir()
    takeover.stop()
    takeover.stir()
    await takeover.poke()
    await timers.advance(WATCH_FOR)
    assert store.checks == 0 and timers.pending == []
