"""The widest catch-up and the longest reminder offset of a config, kept up to date
as a reload changes a few of its milestones.

A reconcile's window starts at the widest ``catch_up`` before now, and the sent
deliveries it compares for moved deadlines reach back by the longest offset before an
occurrence (:func:`scheduler.moves.told_lookback`). Both are a largest value over every
milestone: a reload of one milestone of a million should not walk them all. A
:class:`Widest` counts the milestones per key (a catch-up; a ``remind`` or ``escalate``
tuple, by identity, as milestones of a file share their defaults' one), so that it
knows the largest value after a change from the few milestones the change touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from operator import attrgetter
from typing import Any, Generic, TypeVar

from scheduler.model import Milestone

T = TypeVar("T")

_CATCH_UP = attrgetter("catch_up")
_REMIND = attrgetter("remind")
_ESCALATE = attrgetter("escalate")


def _same(value: T) -> T:
    return value


class Widest(Generic[T]):
    """How many milestones have each value of one field, and the largest measure of a
    value held. ``by_identity``: values are told apart by identity (tuples shared by
    many milestones, cheaper to count by ``id`` than to hash)."""

    def __init__(
        self,
        milestones: Sequence[Milestone],
        field: Callable[[Milestone], T],
        measure: Callable[[T], float],
        *,
        by_identity: bool = False,
    ) -> None:
        self._field, self._measure = field, measure
        self._key: Callable[[T], Hashable] = id if by_identity else _same
        # map() keeps the counting in C: a million milestones in a fraction of a second
        self._counts: Counter[Hashable] = Counter(map(self._key, map(field, milestones)))
        held = dict(
            zip(map(self._key, map(field, milestones)), map(field, milestones), strict=True)
        )
        self._held = held  # keeps each value (and so its id) alive while counted
        self._values = {key: measure(value) for key, value in held.items()}

    def after(self, gone: Iterable[Milestone], came: Iterable[Milestone]) -> float | None:
        """The largest measure once ``gone`` left and ``came`` arrived (nothing changes)."""
        delta: Counter[Hashable] = Counter(self._key(self._field(m)) for m in came)
        delta.subtract(self._key(self._field(m)) for m in gone)
        best: float | None = None
        for key, count in self._counts.items():
            if count + delta.get(key, 0) > 0:
                best = _larger(best, self._values[key])
        for m in came:
            if self._key(self._field(m)) not in self._counts:
                best = _larger(best, self._measure(self._field(m)))
        return best

    def move(self, gone: Iterable[Milestone], came: Iterable[Milestone]) -> None:
        """Count the change for good."""
        for m in gone:
            key = self._key(self._field(m))
            self._counts[key] -= 1
            if not self._counts[key]:
                del self._counts[key], self._values[key], self._held[key]
        for m in came:
            value = self._field(m)
            key = self._key(value)
            if key not in self._counts:
                self._held[key], self._values[key] = value, self._measure(value)
            self._counts[key] += 1


def _larger(best: float | None, value: float) -> float:
    return value if best is None or value > best else best


def _longest(offsets: Iterable[Any]) -> float:
    return max((o.approx_seconds() for o in offsets), default=0.0)


def _longest_escalation(entries: Iterable[Any]) -> float:
    return _longest(e.at for e in entries)


@dataclass(slots=True)
class Reach:
    """Over every milestone: the widest catch-up, and the longest offset of a reminder
    or an escalation before its occurrence (what :func:`scheduler.moves.told_lookback`
    computes from a whole config)."""

    catch_up: Widest[timedelta]
    remind: Widest[tuple[Any, ...]]
    escalate: Widest[tuple[Any, ...]]

    @classmethod
    def of(cls, milestones: Sequence[Milestone]) -> Reach:
        return cls(
            Widest(milestones, _CATCH_UP, timedelta.total_seconds),
            Widest(milestones, _REMIND, _longest, by_identity=True),
            Widest(milestones, _ESCALATE, _longest_escalation, by_identity=True),
        )

    def after(self, gone: list[Milestone], came: list[Milestone]) -> tuple[timedelta | None, float]:
        """The widest catch-up (``None``: no milestones) and the longest offset in
        seconds, once ``gone`` left and ``came`` arrived."""
        widest = self.catch_up.after(gone, came)
        longest = max(
            0.0, self.remind.after(gone, came) or 0.0, self.escalate.after(gone, came) or 0.0
        )
        return (None if widest is None else timedelta(seconds=widest)), longest

    def move(self, gone: list[Milestone], came: list[Milestone]) -> None:
        for tally in (self.catch_up, self.remind, self.escalate):
            tally.move(gone, came)
