"""What became of each alert a timeline draws, as its colour shows it: pure.

* A mark's state comes from the stored deliveries of its reminder or escalation
  (one per channel). When the channels disagree the one that most needs a person
  wins: dead, retrying, held, due, sent, acknowledged, cancelled, skipped.
* One with no stored row (the daemon stores about two days ahead) is *due* if it
  lies ahead and *not recorded* if it passed; ahead, of an occurrence that is
  acknowledged, it is *acknowledged* (it will never be sent).
* ``acknowledged`` is a cancelled delivery whose reason is ``acknowledged``;
  ``held`` is the status of a delivery waiting for a channel's quiet hours.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class TickState(enum.StrEnum):
    """What became of one reminder or escalation, as its mark's colour shows it."""

    DEAD = "dead"
    RETRYING = "retrying"
    HELD = "held"
    DUE = "due"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    NOT_RECORDED = "not recorded"


# The order in which channels that disagree are summed up: the first present wins.
_PRECEDENCE = tuple(TickState)
_BY_STATUS = {
    "sent": TickState.SENT,
    "scheduled": TickState.DUE,
    "sending": TickState.DUE,
    "retrying": TickState.RETRYING,
    "held": TickState.HELD,
    "dead": TickState.DEAD,
    "skipped": TickState.SKIPPED,
    "cancelled": TickState.CANCELLED,
}
ACKNOWLEDGED_REASON = "acknowledged"


class StoredState(Protocol):
    """A stored delivery's status and reason (the store's rows have both)."""

    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """A :class:`StoredState` as a plain value."""

    status: str
    reason: str | None = None


def stored_state(status: str, reason: str | None) -> TickState:
    """One stored delivery's tick state; a status this version does not know is *due*."""
    if status == "cancelled" and reason == ACKNOWLEDGED_REASON:
        return TickState.ACKNOWLEDGED
    return _BY_STATUS.get(str(status), TickState.DUE)


def tick_state(
    stored: Iterable[StoredState | None],
    *,
    due_at: datetime,
    now: datetime,
    acknowledged: bool = False,
) -> TickState:
    """The state of one reminder or escalation from its channels' stored deliveries
    (None: no row); ``acknowledged``: its occurrence is."""
    if due_at < now:
        unrecorded = TickState.NOT_RECORDED
    else:
        unrecorded = TickState.ACKNOWLEDGED if acknowledged else TickState.DUE
    found = {unrecorded if s is None else stored_state(s.status, s.reason) for s in stored}
    if not found:
        return unrecorded
    return next(state for state in _PRECEDENCE if state in found)
