"""The collector pause: on for the block, then as the caller had it; planning never touches it."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, date, datetime

import pytest

from scheduler.durations import Duration
from scheduler.gc_pause import freeze_long_lived, gc_paused, kept_for_good
from scheduler.model import Config, Milestone
from scheduler.planning import plan, resolve


@pytest.mark.parametrize("enabled_before", [True, False])
def test_gc_paused_restores_the_callers_setting(enabled_before: bool) -> None:
    (gc.enable if enabled_before else gc.disable)()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled_before
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("boom")
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()


def test_planning_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc, "disable", lambda: calls.append("disable"))
    monkeypatch.setattr(gc, "enable", lambda: calls.append("enable"))
    m = Milestone(id="m", title="M", at=date(2030, 1, 1), remind=(Duration(days=1), Duration()))
    config = Config(milestones=(m,), channels={})
    resolved = resolve(config)
    reminders = plan(
        config,
        datetime(2029, 1, 1, tzinfo=UTC),
        datetime(2031, 1, 1, tzinfo=UTC),
        resolved=resolved,
    )
    assert len(reminders) == 2
    assert calls == []


def test_freeze_long_lived_leaves_what_is_alive_out_of_later_collections() -> None:
    kept = [[i] for i in range(1000)]  # alive, tracked by the collector
    try:
        freeze_long_lived()
        assert gc.get_freeze_count() >= len(kept)
        before = gc.get_freeze_count()
        gc.collect()  # a full collection leaves the frozen objects where they are
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_kept_for_good_collects_before_pauses_in_the_block_and_freezes_what_it_built() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    assert gone() is not None  # a cycle waits for the collector
    frozen = gc.get_freeze_count()
    try:
        with kept_for_good():
            assert gone() is None  # collected before the block, not frozen
            assert not gc.isenabled()
            built = [[i] for i in range(1000)]
            assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(built)
    finally:
        gc.unfreeze()
