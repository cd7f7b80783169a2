"""The one-line fallback shared by every channel, and the helpers beneath it.

Its words (the ``T-7d`` / ``Now`` / ``T+2h`` countdown, the lateness note) are
decided in :mod:`scheduler.render.words`, the one wording source; dates and
spans come from :mod:`scheduler.timekeeping`.

Everything here is pure: the only "now" is the one passed in (an alert's
``sent_at``), so the same reminder always renders the same way and
``tminus simulate`` shows exactly what the daemon would send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.model import AlertKind, Reminder
from scheduler.render.digest import digest_text
from scheduler.render.words import late_note, one_line, wording

__all__ = ["fallback_text", "in_zone", "late_note", "one_line"]


def in_zone(moment: datetime, reminder: Reminder) -> datetime:
    """``moment`` in the milestone's zone."""
    return moment.astimezone(reminder.milestone.zone)


def fallback_text(
    reminder: Reminder,
    *,
    late_by: timedelta | None = None,
    sent_at: datetime | None = None,
    held: bool = False,
) -> str:
    """One line for notifications, screen readers and logs.

    ``T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST``;
    at the moment itself ``Now: …``; after it ``T+2h: …``; a late delivery
    ends with ``(late by 2 hours)``. Plain text: channels escape it themselves.
    ``sent_at`` defaults to the due time plus ``late_by``, as the daemon sends it. A
    ``held`` one (quiet hours) ends with ``(held: due Sat 00:00)``. A digest is its
    own summary line (:func:`scheduler.render.digest.digest_text`).
    """
    if sent_at is None:
        sent_at = reminder.due_at + (late_by or timedelta(0))
    if reminder.kind is AlertKind.DIGEST:
        return digest_text(reminder, sent_at, held=held)
    return wording(reminder, sent_at, late_by=late_by, held=held).fallback
