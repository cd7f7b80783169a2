"""Cutting alerts due together into chat messages: one greedy routine for every chat channel.

A chat channel (Slack, Discord) shows a lone alert as a message of its own and
several as one grouped message of short entries, split only where the
channel's limits force it. What differs between channels is the markup and the
limits, given by a :class:`ChatLayout`; the cutting is the same, and lives here.

The cut is greedy and stable: rendering any returned group again yields that
same single message, so a request built from a group is exactly one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from scheduler.model import Alert
from scheduler.render.view import AlertView, soonest_first, view

Payload = dict[str, Any]
T = TypeVar("T")
E = TypeVar("E")


def greedy_chunks(
    items: Sequence[T], sizes: Sequence[int], *, max_items: int, max_size: int
) -> list[list[T]]:
    """``items`` in order, cut into runs of at most ``max_items`` whose ``sizes`` sum to
    at most ``max_size``; an item too big on its own still gets a run of its own."""
    chunks: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item, size in zip(items, sizes, strict=True):
        if current and (len(current) >= max_items or used + size > max_size):
            chunks.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True, slots=True)
class ChatLayout(Generic[E]):
    """One chat channel's way of showing alerts, and the limits of one grouped message."""

    single: Callable[[AlertView], Payload]  # the message for a lone alert
    entry: Callable[[AlertView], E]  # one alert's part of a grouped message
    entry_size: Callable[[E], int]  # what an entry counts towards ``max_group_size``
    group: Callable[[Sequence[AlertView], list[E]], Payload]  # the grouped message
    max_group_alerts: int
    max_group_size: int


def chat_payloads(
    alerts: Sequence[Alert], layout: ChatLayout[E]
) -> list[tuple[list[Alert], Payload]]:
    """Render ``alerts`` (one channel, due together) as messages, each with the alerts it
    carries, soonest first; a group that ends up holding one alert is shown as a lone one."""
    ordered = soonest_first(alerts)
    if not ordered:
        return []
    if len(ordered) == 1:
        return [(ordered, layout.single(view(ordered[0])))]
    views = [view(alert) for alert in ordered]
    entries = [layout.entry(v) for v in views]
    pairs = list(zip(views, entries, strict=True))
    out: list[tuple[list[Alert], Payload]] = []
    for chunk in greedy_chunks(
        pairs,
        [layout.entry_size(e) for e in entries],
        max_items=layout.max_group_alerts,
        max_size=layout.max_group_size,
    ):
        carried = [v.alert for v, _ in chunk]
        if len(chunk) == 1:
            out.append((carried, layout.single(chunk[0][0])))
        else:
            out.append((carried, layout.group([v for v, _ in chunk], [e for _, e in chunk])))
    return out
