"""Quiet hours: whether a channel may send at a moment, and when it next may.

Pure: values in, values out, no clock. The delivery pipeline's ``hold`` stage, the
renderers (``held``), ``simulate`` and ``upcoming`` all ask these two functions.

Rules (SPEC "Quiet hours"):

* a window opens at ``start`` wall time in the hours' zone on each listed day and
  closes at ``end`` the same day, or, when ``end`` is not after ``start``
  (``22:00-06:00``), at ``end`` the next day: a wrapping window belongs to the day
  it opens on, so ``fri 22:00-06:00`` runs into Saturday morning;
* openings and closings are wall times in the zone, placed by
  :func:`scheduler.timekeeping.localize` (the one DST rule), so a window opens at
  09:00 local time on the day after a DST change as on any other day; a wall time in
  a DST gap (02:30 on a spring-forward night) moves forward by the gap (03:30), and
  one in a fold takes the first of its two instants;
* a moment inside a window is open: :func:`next_opening` answers ``None``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.model import QuietHours
from scheduler.timekeeping import localize

_DAY = timedelta(days=1)


def _window(hours: QuietHours, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants the window opening on ``day`` opens and closes."""
    opening = localize(datetime.combine(day, hours.start), zone)
    if hours.end is None:
        return opening, localize(datetime.combine(day + _DAY, time(0)), zone)
    closes_on = day + _DAY if hours.end <= hours.start else day
    return opening, localize(datetime.combine(closes_on, hours.end), zone)


def is_open(hours: QuietHours, moment: datetime) -> bool:
    """Whether ``moment`` (aware) lies inside one of the windows of ``hours``: the one
    opening on its own local day, or a wrapping one that opened the day before."""
    zone = ZoneInfo(hours.timezone)
    today = moment.astimezone(zone).date()
    for day in (today - _DAY, today):
        if day.weekday() in hours.days:
            opening, closing = _window(hours, day, zone)
            if opening <= moment < closing:
                return True
    return False


def next_opening(hours: QuietHours, moment: datetime) -> datetime | None:
    """The first instant at or after ``moment`` when the channel may send: ``None`` when
    ``moment`` is already inside the hours, else the next window's opening (aware, in
    the hours' zone). Every listed day opens within a week, so the search is bounded."""
    if not hours.days:
        raise ValueError("quiet hours need at least one day")
    if is_open(hours, moment):
        return None
    zone = ZoneInfo(hours.timezone)
    first: date = moment.astimezone(zone).date()
    for ahead in range(8):
        day = first + ahead * _DAY
        if day.weekday() not in hours.days:
            continue
        opening = localize(datetime.combine(day, hours.start), zone)
        if opening > moment:
            return opening
    raise AssertionError("a listed weekday always comes within eight days")


def held_until(hours: QuietHours | None, due: datetime) -> datetime | None:
    """When a delivery due at ``due`` is sent on a channel with ``hours``: ``None`` when
    it goes at its due time (no hours, or inside them), else the next opening."""
    return None if hours is None else next_opening(hours, due)


def describe(hours: QuietHours) -> str:
    """``mon-fri 09:00-18:00 Europe/Brussels``, for ``explain`` and logs."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    ordered = sorted(hours.days)
    run = len(ordered) >= 3 and ordered == list(range(ordered[0], ordered[-1] + 1))
    listed = (
        f"{names[ordered[0]]}-{names[ordered[-1]]}" if run else ",".join(names[d] for d in ordered)
    )
    days = "daily" if len(hours.days) == 7 else listed
    end = "24:00" if hours.end is None else _hhmm(hours.end)
    return f"{days} {_hhmm(hours.start)}-{end} {hours.timezone}"


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")
