"""The one greedy chunking routine, and the same cutting table run through both chat layouts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scheduler.render.chunk import ChatLayout, chat_payloads, greedy_chunks
from scheduler.render.discord import DISCORD_LAYOUT
from scheduler.render.slack import SLACK_LAYOUT
from scheduler.render.view import view
from tests.support.alerts import burst


@pytest.mark.parametrize(
    ("sizes", "max_items", "max_size", "expected"),
    [
        ([], 3, 10, []),
        ([1], 3, 10, [[0]]),
        ([1, 1, 1], 3, 10, [[0, 1, 2]]),
        ([1, 1, 1, 1], 3, 10, [[0, 1, 2], [3]]),
        ([4, 4, 4], 5, 10, [[0, 1], [2]]),
        ([5, 5], 5, 10, [[0, 1]]),  # exactly at the size limit still fits
        ([20, 1, 1], 5, 10, [[0], [1, 2]]),  # too big alone: a run of its own
        ([1, 20, 1], 5, 10, [[0], [1], [2]]),
    ],
)
def test_greedy_chunks(
    sizes: list[int], max_items: int, max_size: int, expected: list[list[int]]
) -> None:
    items = list(range(len(sizes)))
    assert greedy_chunks(items, sizes, max_items=max_items, max_size=max_size) == expected


LAYOUTS = [pytest.param(SLACK_LAYOUT, id="slack"), pytest.param(DISCORD_LAYOUT, id="discord")]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (lambda most: 0, []),
        (lambda most: 1, ["single"]),
        (lambda most: 2, ["group"]),
        (lambda most: most, ["group"]),
        (lambda most: most + 1, ["group", "single"]),  # a lone leftover is shown alone
        (lambda most: 2 * most + 2, ["group", "group", "group"]),
    ],
    ids=["none", "one", "two", "max", "max+1", "2max+2"],
)
def test_cutting_table(
    layout: ChatLayout[Any], count: Callable[[int], int], expected: list[str]
) -> None:
    """Both renderers cut the same way; only their per-message alert limit differs."""
    most = layout.max_group_alerts
    alerts = burst(count(most))
    messages = chat_payloads(alerts, layout)
    singles = {a.delivery_id: layout.single(view(a)) for a in alerts}
    shapes = [
        "single" if len(group) == 1 and payload == singles[group[0].delivery_id] else "group"
        for group, payload in messages
    ]
    assert shapes == expected
    carried = [a.delivery_id for group, _ in messages for a in group]
    assert sorted(carried) == sorted(a.delivery_id for a in alerts)
    assert all(len(group) <= most for group, _ in messages)
    for group, payload in messages:  # a cut group renders again as that one message
        assert chat_payloads(group, layout) == [(group, payload)]
