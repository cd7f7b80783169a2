"""What the pipeline reports to whoever subscribes (the dispatcher), instead of
calling back into it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.db.rows import DeliveryRow


@dataclass(frozen=True, slots=True)
class Reached:
    """First attempts whose moment came and that went out (whatever the answer)."""

    rows: tuple[DeliveryRow, ...]


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """A retry was recorded: the earliest thing due may have changed."""

    delivery_id: str


@dataclass(frozen=True, slots=True)
class Held:
    """A delivery was held for its channel's quiet hours until ``until``: the earliest
    thing due may have changed."""

    delivery_id: str
    until: datetime


DeliveryEvent = Reached | RetryScheduled | Held
Listener = Callable[[DeliveryEvent], Awaitable[None]]


class Events:
    """A list of subscribers, awaited in order for each event."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, event: DeliveryEvent) -> None:
        for listener in self._listeners:
            await listener(event)
