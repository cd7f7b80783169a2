"""Zones, wall times and instants: the one DST rule and every way tminus writes a time.

Functions of datetimes, zones and spans only. They know no milestone, reminder
or duration, so :mod:`scheduler.model`, :mod:`scheduler.durations`, planning,
rendering, ICS, HTTP and the commands all build on this module, and it imports
none of them.

* Zones: :func:`localize` is the DST rule (in a fold the first occurrence, in a
  gap forward by the gap's length); :func:`to_zone` and :func:`midnight` apply
  it to the values users write; :func:`dst_note` explains it when it mattered.
* Formats: ``2019-08-02 00:00 CEST`` (:func:`format_instant`, for the CLI and
  ``explain``), ``Fri 2 Aug 2019 00:00 CEST`` (:func:`format_when`, for
  messages and the status page), UTC stamps for tables, ids and logs.
* Spans: real elapsed time, countdowns as people count them (``in 7 days``
  across a DST change), and the short forms tables use (``3d 4h``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
NOW_WITHIN_SECONDS = 30  # a countdown this close to zero reads "now"


# -- zones and DST ----------------------------------------------------------------
def localize(wall: datetime, zone: tzinfo) -> datetime:
    """Attach ``zone`` to a naive wall-clock time, resolving DST deterministically.

    * In a fold (the hour repeated when clocks go back) the *first* occurrence is
      taken (``fold=0``, the earlier instant): a deadline should not fire an hour late.
    * In a gap (the hour skipped when clocks go forward) the time is moved forward
      by the length of the gap (02:30 on a spring-forward night becomes 03:30),
      which is what PEP 495 gives for ``fold=0`` and what calendar apps show.
    """
    if wall.tzinfo is not None:
        raise ValueError("localize() takes a naive datetime")
    # The constructor is much faster than ``replace``; the round trip through UTC
    # brings a gap time back shifted forward and leaves a real time unchanged.
    candidate = datetime(
        wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, wall.microsecond, zone
    )
    return candidate.astimezone(UTC).astimezone(zone)


def to_zone(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` in ``zone``: an aware one converted, a naive one read as wall time there."""
    if moment.tzinfo is not None:
        return moment.astimezone(zone)
    return localize(moment, zone)


def midnight(day: date, zone: tzinfo) -> datetime:
    """The start of ``day`` in ``zone`` (00:00, or the first instant after a gap at midnight)."""
    return localize(datetime.combine(day, time(0)), zone)


def near_transition(moment: datetime) -> bool:
    """Cheap test: does the zone's offset change within a day of ``moment``?"""
    return (moment - ONE_DAY).utcoffset() != (moment + ONE_DAY).utcoffset()


def dst_note(wall: datetime, zone: ZoneInfo, result: datetime) -> str | None:
    """Explain how a DST gap or fold was resolved for ``wall`` (``localize`` gave ``result``)."""
    if not near_transition(result):
        return None
    if result.replace(tzinfo=None) != wall:
        return (
            f"{format_point(wall)} does not exist in {zone.key} (clocks go forward): "
            f"moved to {format_instant(result)}"
        )
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        return (
            f"{format_point(wall)} happens twice in {zone.key} (clocks go back): "
            f"the first, {first.strftime('%Z')}, is used"
        )
    return None


# -- formats ------------------------------------------------------------------------
def format_wall(moment: datetime) -> str:
    """``2019-08-02 00:00`` (``:SS`` only when there are seconds), no zone."""
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    return f"{day} {clock}:{moment.second:02d}" if moment.second else f"{day} {clock}"


def format_point(moment: datetime) -> str:
    """A date alone at midnight (``2019-08-02``), else date and wall time."""
    if not (moment.hour or moment.minute or moment.second or moment.microsecond):
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return format_wall(moment)


def format_instant(moment: datetime) -> str:
    """``2019-08-02 00:00 CEST``: the wall clock of ``moment``'s own zone, and its abbreviation."""
    return f"{format_wall(moment)} {moment.tzname()}"


def format_when(moment: datetime) -> str:
    """``Fri 2 Aug 2019 00:00 CEST``: the wall clock, with the zone's abbreviation.

    ``moment`` is shown in its own zone (callers pass it in the milestone's zone);
    a naive one is shown without a zone.
    """
    zone = moment.tzname() or ""
    text = f"{moment:%a} {moment.day} {moment:%b %Y %H:%M}"
    return f"{text} {zone}" if zone else text


def format_utc(moment: datetime) -> str:
    """``2019-08-01 22:00:00Z``: the instant in UTC to the second, for tables."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_utc_minute(moment: datetime) -> str:
    """``2019-08-01 22:00 UTC``: the instant in UTC to the minute, beside a local time."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def utc_iso_micro(moment: datetime) -> str:
    """``2019-08-01T22:00:00.000000Z``: the exact instant, microseconds always written.

    A fixed width and a fixed zone, so equal instants give equal text whatever zone
    they were expressed in: reminder ids are digests of it.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_exact(moment: datetime) -> str:
    """``2019-08-02T00:00:00+02:00``, ``…T20:15:11.960+02:00``: the instant exactly, in its zone.

    Whole seconds are written as such; a sub-second part to the millisecond when
    that is exact, else to the microsecond. Nothing the daemon scheduled is rounded.
    """
    if not moment.microsecond:
        return moment.isoformat(timespec="seconds")
    if not moment.microsecond % 1000:
        return moment.isoformat(timespec="milliseconds")
    return moment.isoformat(timespec="microseconds")


def utc_iso_millis(moment: datetime) -> str:
    """``2019-08-01T22:00:00.123Z``: the instant in UTC to the millisecond, for log lines."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- spans and countdowns -----------------------------------------------------------
def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from ``start`` to ``end`` (never wall-clock arithmetic)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def until(occurrence: datetime, now: datetime) -> timedelta:
    """How long from ``now`` to ``occurrence``, as people count it.

    Beyond a day the span is rounded to the hour (a retry 40 s after the due
    time still reads "in 7 days", not "in 6 days 23 hours"), and whole calendar
    days are counted on the wall clock of the occurrence's zone, so "7 days
    before" across a DST change reads "in 7 days", not "in 6 days 23 hours".
    Shorter spans are exact.
    """
    # Aware datetimes sharing one tzinfo subtract as wall clocks: compare in UTC.
    exact = elapsed(now, occurrence)
    if abs(exact) < ONE_DAY:
        return exact
    local_now = now.astimezone(occurrence.tzinfo)
    wall = occurrence.replace(tzinfo=None) - local_now.replace(tzinfo=None)
    wall_hours = round(wall.total_seconds() / 3600)
    if wall_hours % 24 == 0:
        return timedelta(hours=wall_hours)
    return timedelta(hours=round(exact.total_seconds() / 3600))


def format_span(span: timedelta) -> str:
    """A human length, to the minute (seconds only below a minute).

    ``2 hours 5 minutes``, ``3 days 4 hours``, ``45 seconds``. At most two units,
    because "3 days 4 hours 2 minutes" is noise in a notification.
    """
    total = abs(span.total_seconds())
    if total < 59.5:
        secs = round(total)
        return f"{secs} second{'s' if secs != 1 else ''}"
    minutes = round(total / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    parts: list[str] = []
    for n, unit in units:
        if n and len(parts) < 2:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
        elif parts:
            break  # two adjacent units at most: "3 days 4 hours", never "3 days 2 minutes"
    return " ".join(parts)


def countdown(occurrence: datetime, now: datetime) -> str:
    """``in 7 days``, ``now``, ``2 hours ago`` (within 30 s counts as "now")."""
    span = until(occurrence, now)
    seconds = span.total_seconds()
    if abs(seconds) < NOW_WITHIN_SECONDS:
        return "now"
    return f"in {format_span(span)}" if seconds > 0 else f"{format_span(span)} ago"


def short_span(span: timedelta) -> str:
    """``150d``, ``1d12h``, ``2h5m``, ``40m``, ``10s``: :func:`format_span` in compact units.

    For countdown labels (``T-150d``) whose span is not a configured offset.
    """
    total = abs(span.total_seconds())
    if total < 59.5:
        return f"{round(total)}s"
    minutes = round(total / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts: list[str] = []
    for n, unit in ((days, "d"), (hours, "h"), (mins, "m")):
        if n and len(parts) < 2:
            parts.append(f"{n}{unit}")
        elif parts:
            break
    return "".join(parts)


def coarse_countdown(span: timedelta) -> str:
    """``in 3 days``, ``2 hours ago``, ``in less than a minute``: the largest unit only.

    For a page that refreshes its countdown itself and shows this only to readers
    without JavaScript.
    """
    ahead = span >= timedelta(0)
    s = abs(span.total_seconds())
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= size:
            n = int(s // size)
            text = f"{n} {unit}{'' if n == 1 else 's'}"
            break
    else:
        text = "less than a minute"
    return f"in {text}" if ahead else f"{text} ago"


def compact_span(span: timedelta) -> str:
    """``3d 4h``, ``5h 2m``, ``45m``, ``<1m``: the two largest units, for tables."""
    minutes = int(abs(span.total_seconds()) // 60)
    if minutes == 0:
        return "<1m"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts[:2])
