"""The reconcile window, as a table: catch-up, the watermark, the lookback bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.reconcile import HORIZON, MAX_LOOKBACK, reconcile_window

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("planned_through", "catch_ups", "start"),
    [
        (None, [], NOW - H),  # no milestones: the default catch-up
        (None, [2 * H, 5 * H], NOW - 5 * H),  # the widest catch-up
        (None, [timedelta(0)], NOW),  # catch_up 0 is kept as 0
        (NOW - 30 * H, [H], NOW - 30 * H),  # down for 30 h: back to the watermark
        (NOW - 10 * H, [24 * H], NOW - 24 * H),  # the watermark inside the catch-up
        (NOW + H, [H], NOW - H),  # planned ahead already: the catch-up still applies
        (NOW - 1000 * 24 * H, [H], NOW - MAX_LOOKBACK),  # never further back than a year
    ],
)
def test_the_window_starts_where_missed_reminders_begin(
    planned_through: datetime | None, catch_ups: list[timedelta], start: datetime
) -> None:
    window = reconcile_window(
        now=NOW, planned_through=planned_through, catch_ups=catch_ups, default_catch_up=H
    )
    assert window.start == start
    assert window.end == NOW + HORIZON


@pytest.mark.parametrize(
    ("held_since", "planned_through", "start"),
    [
        (NOW - 10 * H, None, NOW - 10 * H),  # held overnight: the window reaches back to it
        (NOW - 10 * H, NOW - 30 * H, NOW - 30 * H),  # the watermark is further back still
        (NOW - 30 * H, NOW - 10 * H, NOW - 30 * H),
        (NOW - 0.5 * H, None, NOW - H),  # inside the catch-up anyway
        (NOW - 1000 * 24 * H, None, NOW - MAX_LOOKBACK),
    ],
)
def test_the_window_reaches_back_to_deliveries_still_held(
    held_since: datetime, planned_through: datetime | None, start: datetime
) -> None:
    window = reconcile_window(
        now=NOW,
        planned_through=planned_through,
        catch_ups=[H],
        default_catch_up=H,
        held_since=held_since,
    )
    assert window.start == start
