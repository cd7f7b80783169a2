"""What the heartbeat probes: the SQLite file every beat, a heartbeat row only when no
recent write proved the store writable, and every beat while the store is unhealthy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from scheduler.db.health import StoreFinding, StoreProblem
from scheduler.health import WRITE_PROOF_FOR, ProbeKind, StoreHealth, probe_kind
from scheduler.store import Store
from scheduler.timers import SWEEP_EVERY

W, F, N = ProbeKind.WRITE, ProbeKind.FILE, ProbeKind.NONE
LOCKED = StoreFinding(StoreProblem.LOCKED, "database is locked")


@pytest.mark.parametrize(
    ("now", "healthy", "last_write", "has_file", "kind"),
    [
        (100.0, True, None, True, W),  # never written: prove it
        (100.0, True, None, False, W),
        (100.0, True, 99.0, True, F),  # written a second ago: the file only
        (100.0, True, 99.0, False, N),  # and no file to lose: nothing
        (100.0, True, 98.01, True, F),
        (100.0, True, 98.0, True, W),  # the proof is exactly as old as it may be
        (100.0, True, 90.0, False, W),
        (100.0, False, 99.9, True, W),  # unhealthy: write every beat to see recovery
        (100.0, False, 99.9, False, W),
    ],
)
def test_probe_kind(
    now: float, healthy: bool, last_write: float | None, has_file: bool, kind: ProbeKind
) -> None:
    found = probe_kind(
        now=now, healthy=healthy, last_write=last_write, proof_for=2.0, has_file=has_file
    )
    assert found is kind


class FakeStore:
    """Answers probes from a script and remembers each one's kind."""

    def __init__(self, *, sqlite: bool) -> None:
        self.is_sqlite = sqlite
        self.last_write: float | None = None
        self.answers: list[StoreFinding | None] = []
        self.probes: list[bool] = []  # write?
        self.time = 0.0
        self.changes: list[bool] = []

    def changed_elsewhere(self) -> bool | None:
        if not self.is_sqlite:
            return None
        return self.changes.pop(0) if self.changes else False

    def probe(self, *, now: datetime, write: bool = True) -> StoreFinding | None:
        self.probes.append(write)
        found = self.answers.pop(0) if self.answers else None
        if write and found is None:
            self.last_write = self.time
        return found


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class Beats:
    """A StoreHealth on a fake store, beaten once per simulated second."""

    def __init__(self, *, sqlite: bool) -> None:
        self.store = FakeStore(sqlite=sqlite)
        self.recovered = 0
        self.health = StoreHealth(
            store=cast(Store, self.store),
            db=call,
            clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
            on_recovered=self._recovered,
            on_fatal=lambda _f: None,
            monotonic=lambda: self.store.time,
        )

    async def _recovered(self) -> None:
        self.recovered += 1

    async def beat(self, seconds: float = 1.0) -> None:
        self.store.time += seconds
        self.health.poke()
        await asyncio.sleep(0)  # let the probe task run
        await asyncio.sleep(0)


@pytest.mark.parametrize("sqlite", [True, False], ids=["sqlite", "postgresql"])
async def test_an_idle_store_is_written_once_per_proof_period(sqlite: bool) -> None:
    beats = Beats(sqlite=sqlite)
    proof_for = WRITE_PROOF_FOR["sqlite" if sqlite else "postgresql"]
    for _ in range(30):
        await beats.beat()
    writes = beats.store.probes.count(True)
    assert writes == pytest.approx(30 / max(proof_for, 1.0), abs=1)  # one beat a second
    # The file is looked at every beat on SQLite; PostgreSQL has none to look at.
    assert len(beats.store.probes) == (30 if sqlite else writes)


async def test_the_daemons_own_writes_stand_in_for_the_heartbeat_row() -> None:
    beats = Beats(sqlite=False)
    await beats.beat()  # the first write proves it
    for _ in range(10):
        beats.store.last_write = beats.store.time  # a claim or an outcome just committed
        await beats.beat()
    assert beats.store.probes == [True]  # nothing more: no file to look at either
    for _ in range(int(WRITE_PROOF_FOR["postgresql"])):  # the writes stopped
        await beats.beat()
    assert beats.store.probes == [True, True]


async def test_the_sweeps_claim_stands_in_for_the_heartbeat_row_on_postgresql() -> None:
    beats = Beats(sqlite=False)
    sweep_every = int(SWEEP_EVERY.total_seconds())
    for second in range(sweep_every * 6):
        if second % sweep_every == sweep_every - 1:  # the sweep's claim committed
            beats.store.last_write = beats.store.time
        await beats.beat()
    assert beats.store.probes == [True]  # the first beat's row, then none


async def test_an_unhealthy_store_is_written_every_beat_until_it_recovers() -> None:
    beats = Beats(sqlite=False)
    await beats.beat()
    beats.store.answers = [LOCKED, LOCKED, LOCKED]
    await beats.beat(WRITE_PROOF_FOR["postgresql"])
    assert beats.health.finding == LOCKED
    for _ in range(3):
        await beats.beat()
    assert beats.store.probes == [True] * 5  # every beat while locked, and the recovery
    assert beats.health.healthy and beats.recovered == 1
    await beats.beat()
    assert len(beats.store.probes) == 5  # healthy again: a fresh write vouches for it


async def test_a_commit_elsewhere_is_reported_and_quiet_beats_are_not() -> None:
    beats = Beats(sqlite=True)
    told: list[float] = []
    beats.health.on_changed = lambda: told.append(beats.store.time)
    beats.store.changes = [True, False, False, True, False]
    for _ in range(5):
        await beats.beat()
    assert told == [1.0, 4.0]
    beats.store.answers = [LOCKED]
    beats.store.changes = [True]
    await beats.beat()
    assert told == [1.0, 4.0]  # a store that cannot work is not read from


async def test_a_probe_still_running_is_not_doubled() -> None:
    beats = Beats(sqlite=True)
    gate = asyncio.Event()

    async def slow(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return fn(*args, **kwargs)

    beats.health._db = slow
    for _ in range(5):
        await beats.beat(10)
    gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert beats.store.probes == [True]
