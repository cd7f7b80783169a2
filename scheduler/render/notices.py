"""The words of escalations and moved-deadline notices (SPEC "Closing the loop").

An escalation reads like a reminder that nobody answered:
``Unacknowledged: TITLE — Fri 2 Aug 2019 00:00 CEST (T-1d)``. A moved notice
says what changed and why: ``Moved: TITLE — was Fri 2 Aug 2019, now Mon 5 Aug
2019 (us-notice moved; withdrawal-effective follows it)``. Dates are written as
a day alone when both instants are at midnight in the milestone's zone (the way
deadlines are usually written), else with the time and the zone's abbreviation.

Pure; :func:`scheduler.render.words.wording` calls in here for these kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.model import Reminder
from scheduler.timekeeping import format_when

UNACKNOWLEDGED = "Unacknowledged"
MOVED = "Moved"
ESCALATION_ICON = "🚨"
MOVED_ICON = "📅"


def format_day(moment: datetime) -> str:
    """``Fri 2 Aug 2019``."""
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _midnight(moment: datetime) -> bool:
    return not (moment.hour or moment.minute or moment.second or moment.microsecond)


@dataclass(frozen=True, slots=True)
class Move:
    """What a moved notice carries: the old and the new instant, and why (may be empty)."""

    was: datetime
    now: datetime
    why: str

    @classmethod
    def of(cls, reminder: Reminder) -> Move | None:
        """The move a ``milestone.moved`` reminder carries in ``extra["moved"]``."""
        found: Any = reminder.extra.get("moved")
        if not isinstance(found, Mapping):
            return None
        zone: ZoneInfo = reminder.milestone.zone
        try:
            was = datetime.fromisoformat(str(found["was"])).astimezone(zone)
            now = datetime.fromisoformat(str(found["now"])).astimezone(zone)
        except (KeyError, ValueError):
            return None
        return cls(was=was, now=now, why=str(found.get("why") or ""))

    def dates(self) -> tuple[str, str]:
        """The old and the new date as the message writes them."""
        if _midnight(self.was) and _midnight(self.now):
            return format_day(self.was), format_day(self.now)
        return format_when(self.was), format_when(self.now)


def moved_line(title: str, move: Move) -> str:
    """``Moved: TITLE — was Fri 2 Aug 2019, now Mon 5 Aug 2019 (why)``."""
    was, now = move.dates()
    line = f"{MOVED}: {title} — was {was}, now {now}"
    return f"{line} ({move.why})" if move.why else line


def moved_status(move: Move) -> str:
    """The status line beside the new date: ``Moved from Fri 2 Aug 2019``."""
    return f"Moved from {move.dates()[0]}"


def escalation_line(title: str, when: str, countdown: str) -> str:
    """``Unacknowledged: TITLE — Fri 2 Aug 2019 00:00 CEST (T-1d)``."""
    return f"{UNACKNOWLEDGED}: {title} — {when} ({countdown})"
