"""Parsers for the scalar values a config holds: moments, dates, zones, slugs, weekdays.

Recurrence rules have their own module, :mod:`scheduler.config.rrules`.

Each takes what YAML gave (usually a string: the loaders keep timestamps as text,
so that an impossible date is a located error rather than a crash) and returns
the value or raises ``ValueError`` with a message fit for a user.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SLUG_HINT = "lowercase letters, digits, '-', '_' and '.', starting with a letter or digit"

# 2019-02-02, 2019-02-02T09:00, 2019-02-02 09:00:30.5, each optionally with Z or ±hh:mm.
_MOMENT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT_HINT = "use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or either with an offset such as +02:00 or Z"

# Dates a config may hold (see scheduler.config.checker.MAX_DURATION_YEARS for why).
MIN_YEAR, MAX_YEAR = 1000, 9000


def year_range_hint(year: int) -> str:
    return f"the year {year} is out of range: use a date in the years {MIN_YEAR}-{MAX_YEAR}"


WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_WEEKDAY_ALIASES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def parse_moment(value: object) -> date | datetime:
    """A date (kept as ``date``) or a datetime (naive unless an offset was written)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date or datetime, got {_kind(value)}: {_MOMENT_HINT}")
    canonical = _canonical(value)
    return canonical if canonical is not None else _parse_moment_text(value)


def _canonical(text: str) -> datetime | None:
    """``text`` read at once when it is a datetime written as Python writes one to the
    second, naive or with an offset (``2026-12-08T09:30:00+01:00``): then the value the
    grammar of :func:`_parse_moment_text` gives, without its regular expression (which
    took a fifth of validating a milestone). Anything else: ``None``.

    Python's parser reads more than the grammar (``20261208T093000``, week dates,
    ``,5`` fractions), but with each separator in its place and ASCII only, what it
    reads is the grammar's one shape: ASCII digits (it takes no others) around them.
    """
    size = len(text)
    if not (size == 19 or (size == 25 and text[19] in "+-" and text[22] == ":")):
        return None
    if text[4:17:3] != "--T::" or not text.isascii():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None  # the regular route words the error


@lru_cache(maxsize=8192)
def _parse_moment_text(value: str) -> date | datetime:
    text = value.strip()
    match = _MOMENT.match(text)
    if not match:
        raise ValueError(f"invalid date or datetime {text!r}: {_MOMENT_HINT}")
    day, clock, offset = match.groups()
    try:
        if clock is None:
            return date.fromisoformat(day)
        iso = f"{day}T{clock}"
        if offset:
            iso += "+00:00" if offset == "Z" else offset
        return datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"impossible date or time {text!r}: {exc}") from None


def parse_date(value: object) -> date:
    """A calendar date such as ``2019-12-25``."""
    if isinstance(value, datetime):
        raise ValueError("expected a date without a time, such as 2019-12-25")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        shown = repr(value) if isinstance(value, str) else _kind(value)
        raise ValueError(f"expected a date such as 2019-12-25, got {shown}")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"impossible date {value.strip()!r}: {exc}") from None


@lru_cache(maxsize=512)
def check_zone(name: str) -> str:
    """An IANA zone name that this machine knows (``Europe/Brussels``, ``UTC``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise ValueError(
            f"unknown time zone {shown!r}: use an IANA name such as Europe/Brussels or UTC"
        ) from None
    return name


def parse_weekday(value: object) -> int:
    """``mon`` … ``sun`` (or the full English name) as ``date.weekday()``."""
    if isinstance(value, str):
        key = value.strip().lower()
        key = _WEEKDAY_ALIASES.get(key, key)
        if key in WEEKDAYS:
            return WEEKDAYS[key]
    shown = repr(value) if isinstance(value, str) else _kind(value)
    raise ValueError(f"expected a weekday (mon, tue, wed, thu, fri, sat, sun), got {shown}")


def _kind(value: object) -> str:
    """A short, value-free description of a YAML value's type."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


kind = _kind
