"""Validation of what decides *when* things are sent: a channel's ``hours`` and the
top-level ``digests`` list.

Choices where SPEC.md is silent:

* ``hours.days``: ``daily``, ``weekdays`` (mon-fri), ``weekends`` (sat, sun), one day,
  a range (``mon-fri``; ``fri-mon`` wraps the week) or a list of days;
* ``hours.between``: ``HH:MM-HH:MM``; ``24:00`` ends at midnight; an end at or before
  the start wraps midnight (``22:00-06:00``) and the window belongs to the day it
  opens on; equal start and end is an error (use ``00:00-24:00`` for all day);
* ``hours.timezone`` and a digest's ``timezone`` default to the file's zone;
* a digest's ``catch_up`` defaults to ``defaults.catch_up``; ``within`` must be
  positive; ``notify`` names must exist (checked across files).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.fields import notify_list, optional_strings, zone_name
from scheduler.config.values import SLUG, SLUG_HINT, WEEKDAYS, parse_weekday
from scheduler.cron import cron_trigger
from scheduler.model import Digest, Location, QuietHours

HOURS_KEYS = frozenset({"days", "between", "timezone"})
DIGEST_KEYS = frozenset(
    {"id", "schedule", "timezone", "within", "notify", "tags", "skip_empty", "catch_up"}
)
_BETWEEN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_NAMED_DAYS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_DAYS_HINT = "use daily, weekdays, weekends, a day (mon), a range (mon-fri) or a list ([mon, wed])"


def check_hours(checker: Checker, value: Any, path: DocPath, *, zone: str) -> QuietHours | None:
    """A channel's ``hours: {days, between, timezone}``."""
    body = checker.mapping(value, path, "hours", allowed=HOURS_KEYS, required=["between"])
    if body is None:
        return None
    before = len(checker.issues)
    days = _days(checker, body.get("days", "daily"), (*path, "days"))
    span = _between(checker, body.get("between"), (*path, "between")) if "between" in body else None
    if "timezone" in body:
        zone = zone_name(checker, body["timezone"], (*path, "timezone")) or zone
    if len(checker.issues) > before or days is None or span is None:
        return None
    return QuietHours(days=days, start=span[0], end=span[1], timezone=zone)


def _days(checker: Checker, value: Any, path: DocPath) -> frozenset[int] | None:
    if isinstance(value, list):
        out: set[int] = set()
        for i, item in enumerate(value):
            try:
                out.add(parse_weekday(item))
            except ValueError as exc:
                checker.fail((*path, i), f"days: {exc}")
                return None
        if not out:
            checker.fail(path, f"days must name at least one day: {_DAYS_HINT}")
            return None
        return frozenset(out)
    if not isinstance(value, str):
        checker.fail(path, f"days: {_DAYS_HINT}")
        return None
    text = value.strip().lower()
    if text in _NAMED_DAYS:
        return _NAMED_DAYS[text]
    first, dash, last = text.partition("-")
    try:
        low = parse_weekday(first)
        high = parse_weekday(last) if dash else low
    except ValueError:
        checker.fail(path, f"invalid days {value[:40]!r}: {_DAYS_HINT}")
        return None
    span = (high - low) % len(WEEKDAYS)
    return frozenset((low + k) % len(WEEKDAYS) for k in range(span + 1))


def _between(checker: Checker, value: Any, path: DocPath) -> tuple[time, time | None] | None:
    match = _BETWEEN.match(value) if isinstance(value, str) else None
    hint = 'between must be two times such as "09:00-18:00" (or "22:00-06:00" across midnight)'
    if match is None:
        shown = repr(value[:40]) if isinstance(value, str) else "a " + type(value).__name__
        checker.fail(path, f"{hint}, got {shown}")
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        checker.fail(path, f"{hint}: {value.strip()!r} is not a time of day")
        return None
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end == start:
        checker.fail(path, "between: start and end are the same time (00:00-24:00 is all day)")
        return None
    return start, end


def check_digests(
    checker: Checker,
    value: Any,
    path: DocPath,
    *,
    zone: str,
    catch_up: timedelta,
    file: str,
) -> list[tuple[Digest | None, DocPath, tuple[tuple[str, DocPath], ...]]]:
    """Each digest (``None`` when invalid) with its path and the channel names it
    notifies (located: they are checked across files, even for an invalid digest)."""
    items = checker.sequence(value, path, "digests") or []
    return [
        _digest(checker, item, (*path, index), zone=zone, catch_up=catch_up, file=file)
        for index, item in enumerate(items)
    ]


def _digest(
    checker: Checker, value: Any, path: DocPath, *, zone: str, catch_up: timedelta, file: str
) -> tuple[Digest | None, DocPath, tuple[tuple[str, DocPath], ...]]:
    required = ["id", "schedule", "within", "notify"]
    body = checker.mapping(value, path, "digest", allowed=DIGEST_KEYS, required=required)
    if body is None:
        return None, path, ()
    before = len(checker.issues)
    digest_id = checker.string(body["id"], (*path, "id"), "id") if "id" in body else None
    if digest_id is not None and not SLUG.match(digest_id.strip()):
        checker.fail((*path, "id"), f"invalid digest id {digest_id!r}: use {SLUG_HINT}")
    if "timezone" in body:
        zone = zone_name(checker, body["timezone"], (*path, "timezone")) or zone
    schedule = None
    if "schedule" in body:
        schedule = checker.string(body["schedule"], (*path, "schedule"), "schedule")
        if schedule is not None:
            try:
                cron_trigger(" ".join(schedule.split()), zone)
            except ValueError as exc:
                checker.fail((*path, "schedule"), str(exc))
    within = None
    if "within" in body:
        within = checker.duration(body["within"], (*path, "within"), "within", positive=True)
    notify = notify_list(checker, body["notify"], (*path, "notify")) if "notify" in body else None
    tags = optional_strings(checker, body, path, "tags")
    skip_empty = True
    if "skip_empty" in body:
        if isinstance(body["skip_empty"], bool):
            skip_empty = body["skip_empty"]
        else:
            checker.fail((*path, "skip_empty"), "skip_empty must be true or false")
    if "catch_up" in body:
        parsed = checker.duration(body["catch_up"], (*path, "catch_up"), "catch_up", exact=True)
        catch_up = parsed.to_timedelta() if parsed else catch_up
    refs = notify or ()
    if len(checker.issues) > before or None in (digest_id, schedule, within, notify):
        return None, path, refs
    assert digest_id is not None and schedule is not None and within is not None
    digest = Digest(
        id=digest_id.strip(),
        schedule=" ".join(schedule.split()),
        within=within,
        timezone=zone,
        notify=tuple(name for name, _ in refs),
        tags=tuple(t.strip() for t in tags),
        skip_empty=skip_empty,
        catch_up=catch_up,
        location=Location(file, 0, 0),
    )
    return digest, path, refs
