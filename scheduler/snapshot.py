"""The delivery snapshot: everything an alert shows, stored with each reminder.

A reminder row keeps a snapshot of its milestone and its own times, so a delivery
can be rendered (and redelivered) after its milestone left the config. This module
is the one place that knows the snapshot's JSON form: reconciliation builds it
with :meth:`Snapshot.of`, the store writes :meth:`Snapshot.to_json` and decodes
rows with :meth:`Snapshot.from_json`, the pipeline rebuilds the reminder with
:meth:`Snapshot.reminder`.

It sits below reconciliation, the store and the pipeline: it imports only the model
and durations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from scheduler.durations import Duration
from scheduler.model import AlertKind, Milestone, Reminder

# The keys of the milestone's part, also stored on its own milestone row.
MILESTONE_KEYS = ("milestone_id", "title", "timezone", "description", "tags", "links")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a delivery shows, in the stored form: instants as ISO 8601 text with the
    milestone zone's offset, the offset as an ISO 8601 duration.

    Text rather than parsed values, so a stored and a planned snapshot compare
    exactly as their JSON does (a refresh is written only when that changed) and
    reading many rows parses nothing.
    """

    milestone_id: str
    title: str
    timezone: str
    description: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    occurrence: str
    offset: str
    label: str
    due_at: str
    kind: AlertKind = AlertKind.REMINDER
    # The kind's own JSON values (see ``Reminder.extra``); empty for a reminder.
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(
        cls, reminder: Reminder, *, offset_iso: str | None = None, label: str | None = None
    ) -> Snapshot:
        """The snapshot of ``reminder`` (``offset_iso`` and ``label`` when already known)."""
        m = reminder.milestone
        return cls(
            milestone_id=m.id,
            title=m.title,
            timezone=m.timezone,
            description=m.description,
            tags=tuple(m.tags),
            links=tuple(m.links),
            occurrence=reminder.occurrence.isoformat(),
            offset=reminder.offset.iso() if offset_iso is None else offset_iso,
            label=reminder.label if label is None else label,
            due_at=reminder.due_at.isoformat(),
            kind=reminder.kind,
            extra=_json_values(reminder.extra),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object (``at`` repeats ``occurrence``, as rows always had it).

        ``kind`` and ``extra`` are written only for kinds other than a plain reminder,
        so reminder rows keep the form they always had (and compare equal to it).
        """
        out: dict[str, Any] = {
            **self.milestone_json(),
            "at": self.occurrence,
            "occurrence": self.occurrence,
            "offset": self.offset,
            "label": self.label,
            "due_at": self.due_at,
        }
        if self.kind is not AlertKind.REMINDER:
            out["kind"] = self.kind.value
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    def milestone_json(self) -> dict[str, Any]:
        """The milestone's part of :meth:`to_json` (the milestone row's snapshot)."""
        return {
            "milestone_id": self.milestone_id,
            "title": self.title,
            "timezone": self.timezone,
            "description": self.description,
            "tags": list(self.tags),
            "links": list(self.links),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        """Decode a stored snapshot (the optional keys default as the model does)."""
        occurrence = data.get("occurrence", data.get("at"))
        return cls(
            milestone_id=data["milestone_id"],
            title=data["title"],
            timezone=data.get("timezone", "UTC"),
            description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
            links=tuple(data.get("links", ())),
            occurrence=str(occurrence),
            offset=data["offset"],
            label=data.get("label", ""),
            due_at=data["due_at"],
            kind=AlertKind(data.get("kind", AlertKind.REMINDER)),
            extra=_json_values(data.get("extra") or {}),
        )

    def reminder(self, channel: str) -> Reminder:
        """Rebuild the reminder the delivery was planned from, for ``channel``, without
        the config (times in the milestone's zone)."""
        milestone = Milestone(
            id=self.milestone_id,
            title=self.title,
            timezone=self.timezone,
            description=self.description,
            tags=self.tags,
            links=self.links,
        )
        zone = milestone.zone
        return Reminder(
            milestone=milestone,
            occurrence=datetime.fromisoformat(self.occurrence).astimezone(zone),
            offset=Duration.parse(self.offset),
            due_at=datetime.fromisoformat(self.due_at).astimezone(zone),
            channels=(channel,),
            kind=self.kind,
            extra=self.extra,
        )


def _json_values(extra: Mapping[str, Any]) -> Mapping[str, Any]:
    """``extra`` as it reads back from the store (tuples as lists), read-only, so a
    planned and a stored snapshot compare equal exactly when their JSON does."""
    if not extra:
        return MappingProxyType({})
    return MappingProxyType(json.loads(json.dumps(dict(extra))))
