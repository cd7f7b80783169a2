"""A reload reconciled incrementally leaves the store as a full reconcile does.

Two stores live through the same configs at the same instant: one reconciles each
reload with ``changed_only`` (only what changed), the other plans everything again.
Between reloads some deliveries are sent, in both alike, so that moved notices are owed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text, update

from scheduler.db.tables import ALL_TABLES, DELIVERIES
from scheduler.durations import Duration
from scheduler.model import Config, Digest, Milestone, MilestoneStatus
from scheduler.reconciler import Reconciler
from scheduler.store import Store
from tests.conftest import BACKENDS
from tests.delivery.helpers import direct
from tests.support.reconciling import FakeDispatcher

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
CHANNELS = {"a": None, "b": None}
REMINDS = [
    (Duration(),),
    (Duration(seconds=3600.0), Duration()),
    (Duration(days=1), Duration(seconds=7200.0)),
]


def _empty(store: Store) -> None:
    names = ", ".join(t.name for t in ALL_TABLES)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(ALL_TABLES[0].metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}" for name in ("inc.db", "full.db")]
    else:
        make: Callable[[], str] = request.getfixturevalue("pg_databases")
        urls = [make(), make()]
    stores = []
    for url in urls:
        store = Store.open(url)
        store.upgrade()
        stores.append(store)
    yield stores[0], stores[1]
    for store in stores:
        store.close()


def milestone(draw: st.DrawFn, number: int, ids: list[str]) -> Milestone:
    common: dict[str, Any] = {
        "id": f"m{number}",
        "title": draw(st.sampled_from(["Filing", "Hearing", "Vote"])),
        "remind": draw(st.sampled_from(REMINDS)),
        "notify": draw(st.sampled_from([("a",), ("a", "b"), ("b",)])),
        "tags": draw(st.sampled_from([(), ("x",)])),
        "status": draw(st.sampled_from([MilestoneStatus.ACTIVE] * 4 + [MilestoneStatus.DONE])),
    }
    if ids and draw(st.booleans()):
        offset = Duration(seconds=draw(st.integers(-20, 20)) * 3600.0)
        return Milestone(after=draw(st.sampled_from(ids)), offset=offset, **common)
    at = NOW.replace(tzinfo=None) + timedelta(minutes=draw(st.integers(-90, 60 * 60)))
    return Milestone(at=at, **common)


def edited(draw: st.DrawFn, m: Milestone, ids: list[str]) -> Milestone:
    field = draw(
        st.sampled_from(
            ["at", "at", "after", "after", "title", "remind", "notify", "status", "same"]
        )
    )
    earlier = [i for i in ids if int(i[1:]) < int(m.id[1:])]  # no cycle: only earlier ones
    if field == "after" and earlier:
        offset = Duration(seconds=draw(st.integers(-20, 20)) * 3600.0)
        return replace(m, at=None, after=draw(st.sampled_from(earlier)), offset=offset)
    if field == "at" and m.at is not None:
        return replace(m, at=m.at + timedelta(minutes=draw(st.integers(-600, 600))))
    if field == "title":
        return replace(m, title=m.title + " (moved)")
    if field == "remind":
        return replace(m, remind=draw(st.sampled_from(REMINDS)))
    if field == "notify":
        return replace(m, notify=draw(st.sampled_from([("a",), ("b",), ("a", "b")])))
    if field == "status":
        return replace(m, status=draw(st.sampled_from(list(MilestoneStatus))))
    return replace(m)  # equal, not identical


def without_dangling(milestones: list[Milestone]) -> list[Milestone]:
    """Drop the milestones whose ``after`` chain lost its base (the loader refuses them)."""
    while True:
        ids = {m.id for m in milestones}
        kept = [m for m in milestones if m.after is None or m.after in ids]
        if len(kept) == len(milestones):
            return kept
        milestones = kept


@st.composite
def histories(draw: st.DrawFn) -> list[Config]:
    digests = draw(
        st.sampled_from([(), (Digest("daily", "0 9 * * *", Duration(days=3), notify=("a",)),)])
    )
    count = draw(st.integers(1, 8))
    milestones: list[Milestone] = []
    for i in range(count):
        milestones.append(milestone(draw, i, [m.id for m in milestones]))
    configs = [Config(milestones=tuple(milestones), channels=CHANNELS, digests=digests)]
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(
            st.sampled_from(["edit", "edit", "edit", "add", "remove", "reorder", "channels"])
        )
        if kind == "edit" and milestones:
            at = draw(st.integers(0, len(milestones) - 1))
            milestones[at] = edited(draw, milestones[at], [m.id for m in milestones])
        elif kind == "add":
            milestones.append(milestone(draw, count, [m.id for m in milestones]))
            count += 1
        elif kind == "remove" and milestones:
            milestones.pop(draw(st.integers(0, len(milestones) - 1)))
            milestones = without_dangling(milestones)
        elif kind == "reorder":
            milestones = list(reversed(milestones))
        channels = CHANNELS if kind != "channels" else {"a": None}
        configs.append(Config(milestones=tuple(milestones), channels=channels, digests=digests))
    return configs


def state(store: Store) -> list[tuple[Any, ...]]:
    rows = store.history(limit=100_000)
    return sorted(
        (r.id, r.status.value, r.due_at, r.late, r.reason, r.snapshot.to_json()) for r in rows
    )


def send_some(store: Store, step: int) -> None:
    """Mark the open rows of every other milestone sent (the same in both stores)."""
    opened = store.open_deliveries()
    chosen = [r.id for r in opened.values() if (hash(r.milestone_id) + step) % 2 == 0]
    chosen = sorted(i for i in chosen if int(i[-1], 16) % 3 == 0)
    if chosen:
        with store.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id.in_(chosen)).values(status="sent")
            )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories())
def test_incremental_reloads_end_as_full_reconciles_do(
    two_stores: tuple[Store, Store], configs: list[Config]
) -> None:
    inc_store, full_store = two_stores
    for store in two_stores:
        _empty(store)
    inc_dispatcher, full_dispatcher = FakeDispatcher(), FakeDispatcher()
    inc = Reconciler(store=inc_store, db=direct, dispatcher=inc_dispatcher)  # type: ignore[arg-type]
    full = Reconciler(store=full_store, db=direct, dispatcher=full_dispatcher)  # type: ignore[arg-type]

    async def run() -> None:
        for step, config in enumerate(configs):
            for reconciler, changed_only in ((inc, step > 0), (full, False)):
                await reconciler.reconcile(
                    config,
                    now=NOW,
                    acknowledged=lambda mid, occ: None,
                    changed_only=changed_only,
                )
            assert state(inc_store) == state(full_store), f"after step {step}"
            opened = inc_store.open_deliveries()
            assert {i: inc_dispatcher.plan._planned.get(i) for i in opened} == {
                i: full_dispatcher.plan._planned.get(i) for i in opened
            }
            send_some(inc_store, step)
            send_some(full_store, step)

    asyncio.run(run())


def test_a_follower_gained_by_one_reload_moves_with_its_base_in_the_next(
    two_stores: tuple[Store, Store],
) -> None:
    inc_store, full_store = two_stores
    at = NOW.replace(tzinfo=None)
    m0 = Milestone(id="m0", title="Base", at=at + timedelta(hours=3), notify=("a",))
    m1 = Milestone(id="m1", title="Free", at=at + timedelta(hours=5), notify=("a",))
    m1_follows = replace(m1, at=None, after="m0", offset=Duration(seconds=3600.0))
    m0_moved = replace(m0, at=at + timedelta(hours=6))
    m2 = Milestone(id="m2", title="Other", at=at + timedelta(hours=4), notify=("b",))
    m2_renamed = replace(m2, title="Renamed")
    configs = [
        Config(milestones=(m0, m1, m2), channels=CHANNELS),
        # an unrelated edit: the reload learns the after edges (none yet)
        Config(milestones=(m0, m1, m2_renamed), channels=CHANNELS),
        Config(milestones=(m0, m1_follows, m2_renamed), channels=CHANNELS),  # an edge more
        Config(milestones=(m0_moved, m1_follows, m2_renamed), channels=CHANNELS),
        Config(milestones=(m0_moved, m1, m2_renamed), channels=CHANNELS),  # an edge less
        Config(milestones=(m0, m1, m2_renamed), channels=CHANNELS),
    ]
    inc = Reconciler(store=inc_store, db=direct, dispatcher=FakeDispatcher())  # type: ignore[arg-type]
    full = Reconciler(store=full_store, db=direct, dispatcher=FakeDispatcher())  # type: ignore[arg-type]

    async def run() -> None:
        for step, config in enumerate(configs):
            await inc.reconcile(config, now=NOW, acknowledged=_none, changed_only=step > 0)
            await full.reconcile(config, now=NOW, acknowledged=_none, changed_only=False)
            assert state(inc_store) == state(full_store), f"after step {step}"

    asyncio.run(run())
    occurrences = {
        (r.milestone_id, r.snapshot.occurrence) for r in inc_store.open_deliveries().values()
    }
    assert {mid for mid, _ in occurrences} == {"m0", "m1", "m2"}
    assert len(occurrences) == 3  # one occurrence each: nothing left of the moves


def _none(milestone_id: str, occurrence: datetime) -> None:
    return None
