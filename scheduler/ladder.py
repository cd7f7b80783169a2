"""A milestone's ladder: every alert planned for one occurrence, reminders and escalations.

Both are an offset before the occurrence and a list of channels; they differ in
kind, in where the channels come from (``notify`` or the escalation entry) and in
what the alert carries (an escalation's ``{"escalation": {"at": "P1D", "level": 1}}``,
level counting the entries from 1 in the order written). :func:`scheduler.planning.plan`
walks the rungs in its hot loop, so each rung is digested once per distinct
``remind``/``escalate`` pair. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from scheduler.durations import Duration
from scheduler.model import AlertKind, Escalation, Milestone, Reminder

_DAY = 86400.0
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def escalation_extra(entry: Escalation, level: int) -> Mapping[str, Any]:
    """What an escalation carries (the webhook body's ``"escalation"`` key)."""
    return MappingProxyType({"escalation": {"at": entry.at.iso(), "level": level}})


@dataclass(frozen=True, slots=True)
class Rung:
    """One offset of a ladder, pre-digested for the hot loop of ``plan``.

    ``channels`` is ``None`` for a reminder (the milestone's ``notify``), else the
    escalation entry's channels.
    """

    index: int
    offset: Duration
    days: timedelta
    seconds: timedelta
    approx: float  # rough length in seconds, for the cheap window test
    margin: float  # how wrong ``approx`` can be: DST hours, 28-31 day months
    kind: AlertKind = AlertKind.REMINDER
    channels: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _NO_EXTRA)

    @classmethod
    def make(
        cls,
        index: int,
        offset: Duration,
        *,
        kind: AlertKind = AlertKind.REMINDER,
        channels: tuple[str, ...] | None = None,
        extra: Mapping[str, Any] = _NO_EXTRA,
    ) -> Rung:
        return cls(
            index=index,
            offset=offset,
            days=timedelta(days=offset.days),
            seconds=timedelta(seconds=offset.seconds),
            approx=offset.approx_seconds(),
            margin=2 * _DAY + abs(offset.months) * 3 * _DAY + abs(offset.days) * 0.1 * _DAY,
            kind=kind,
            channels=channels,
            extra=extra,
        )

    def reminder(self, m: Milestone, occurrence: datetime, due: datetime) -> Reminder:
        channels = m.notify if self.channels is None else self.channels
        return Reminder(m, occurrence, self.offset, due, channels, self.kind, self.extra)


def ladder(remind: tuple[Duration, ...], escalate: tuple[Escalation, ...]) -> tuple[Rung, ...]:
    """The rungs of one ``remind`` list and one ``escalate`` list: reminders first, then
    escalations (their index goes on, so no two rungs of a milestone share one)."""
    rungs = [Rung.make(i, o) for i, o in enumerate(remind)]
    for level, entry in enumerate(escalate, start=1):
        rungs.append(
            Rung.make(
                len(remind) + level - 1,
                entry.at,
                kind=AlertKind.ESCALATION,
                channels=entry.notify,
                extra=escalation_extra(entry, level),
            )
        )
    return tuple(rungs)


def occurrence_alerts(m: Milestone, occurrence: datetime) -> list[Reminder]:
    """Every reminder and escalation of one occurrence, by due time (for ``explain``)."""
    alerts = [
        rung.reminder(m, occurrence, rung.offset.subtract_from(occurrence))
        for rung in ladder(m.remind, m.escalate)
    ]
    alerts.sort(key=lambda r: r.due_at.timestamp())
    return alerts
