"""Durations as users write them, and the calendar arithmetic they mean.

A :class:`Duration` has three parts, applied in this order:

* ``months`` — calendar months (years are 12 months), applied to the wall-clock
  date and clamped to the month's end, as ``relativedelta`` does
  (31 Aug + 6 months = 29 Feb);
* ``days`` — calendar days (weeks are 7), applied to the wall-clock date, so
  "7 days before 00:00 CEST" is 00:00 local time even across a DST change;
* ``seconds`` — exact elapsed seconds (``36h`` is 129,600 s of real time).

Wall-clock results that fall in a DST gap or fold are resolved by
:func:`scheduler.timekeeping.localize`, the one DST rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta

from scheduler.timekeeping import localize

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_COMPACT = re.compile(r"(\d+)(w|d|h|m|s)")
_WORDS = re.compile(r"^(\d+)\s*(years?|months?|weeks?|days?|hours?|minutes?|mins?|seconds?|secs?)$")
_ISO = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A signed span of calendar months, calendar days and exact seconds."""

    months: int = 0
    days: int = 0
    seconds: float = 0

    # -- construction ---------------------------------------------------------
    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        """Parse ``45s``, ``90m``, ``1d12h``, ``2w``, ``6 months``, ``P7D``, ``0``, ``-90d``.

        Raises ``ValueError`` with a message fit for a user.
        """
        if isinstance(text, bool):
            raise ValueError(f"expected a duration such as 30d or 6 months, got {text!r}")
        if isinstance(text, (int, float)):
            if text == 0:
                return cls()
            raise ValueError(
                f"a bare number is not a duration: write {text}s, {text}m, {text}h or {text}d"
            )
        raw = text.strip()
        sign = 1
        if raw.startswith("-"):
            sign, raw = -1, raw[1:].strip()
        elif raw.startswith("+"):
            raw = raw[1:].strip()
        parsed = _parse_unsigned(raw.lower() if not raw.startswith("P") else raw)
        if parsed is None:
            raise ValueError(
                f"invalid duration {text!r}: use e.g. 45s, 90m, 36h, 30d, 2w, 1d12h, "
                "6 months, 1 year or ISO 8601 (P7D, PT36H, P6M)"
            )
        return parsed if sign > 0 else -parsed

    @classmethod
    def of(cls, delta: timedelta) -> Duration:
        return cls(seconds=delta.total_seconds())

    def __neg__(self) -> Duration:
        return Duration(-self.months, -self.days, -self.seconds)

    # -- predicates -----------------------------------------------------------
    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.days == 0 and self.seconds == 0

    @property
    def is_exact(self) -> bool:
        """True when the span is a fixed number of seconds (no calendar part)."""
        return self.months == 0 and self.days == 0

    @property
    def is_negative(self) -> bool:
        return (self.months, self.days, self.seconds) < (0, 0, 0) and all(
            p <= 0 for p in (self.months, self.days, self.seconds)
        )

    def approx_seconds(self) -> float:
        """A rough length for ordering and sanity checks (a month as 30 days)."""
        return self.months * 30 * 86400 + self.days * 86400 + self.seconds

    def to_timedelta(self) -> timedelta:
        """The exact span; calendar days count as 24 h. Months are refused."""
        if self.months:
            raise ValueError("a span in months has no fixed length")
        return timedelta(days=self.days, seconds=self.seconds)

    # -- arithmetic -----------------------------------------------------------
    def add_to(self, moment: datetime) -> datetime:
        """``moment + self``, calendar parts in ``moment``'s wall clock, seconds exact."""
        if moment.tzinfo is None:
            raise ValueError("Duration arithmetic needs an aware datetime")
        zone = moment.tzinfo
        result = moment
        if self.months or self.days:
            wall = moment.replace(tzinfo=None) + relativedelta(months=self.months, days=self.days)
            result = localize(wall, zone)
        if self.seconds:
            result = (result.astimezone(UTC) + timedelta(seconds=self.seconds)).astimezone(zone)
        return result

    def subtract_from(self, moment: datetime) -> datetime:
        return (-self).add_to(moment)

    # -- presentation ---------------------------------------------------------
    def iso(self) -> str:
        """ISO 8601 duration (``P7D``, ``PT36H``, ``P6M``, ``-P90D``, ``PT0S``)."""
        if self.is_zero:
            return "PT0S"
        neg = self.is_negative
        m, d, s = (
            (abs(self.months), abs(self.days), abs(self.seconds))
            if neg
            else (
                self.months,
                self.days,
                self.seconds,
            )
        )
        if not neg and (m < 0 or d < 0 or s < 0):
            # Mixed signs cannot be written in ISO 8601; fall back to exact seconds.
            return f"PT{_num(self.approx_seconds())}S"
        years, months = divmod(m, 12)
        out = "P"
        if years:
            out += f"{years}Y"
        if months:
            out += f"{months}M"
        if d:
            out += f"{d}D"
        if s:
            hours, rest = divmod(s, 3600)
            minutes, secs = divmod(rest, 60)
            out += "T"
            if hours:
                out += f"{int(hours)}H"
            if minutes:
                out += f"{int(minutes)}M"
            if secs:
                out += f"{_num(secs)}S"
        return ("-" if neg else "") + out

    def short(self) -> str:
        """Compact form for fallbacks: ``7d``, ``36h``, ``6mo``, ``1d12h``, ``0``."""
        if self.is_zero:
            return "0"
        sign = "-" if self.is_negative else ""
        m, d, s = abs(self.months), abs(self.days), abs(self.seconds)
        out = ""
        years, months = divmod(m, 12)
        if years:
            out += f"{years}y"
        if months:
            out += f"{months}mo"
        if d:
            out += f"{d // 7}w" if d % 7 == 0 and d >= 14 else f"{d}d"
        hours, rest = divmod(int(s), 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            out += f"{hours}h"
        if minutes:
            out += f"{minutes}m"
        if secs:
            out += f"{secs}s"
        return sign + out

    def words(self) -> str:
        """``7 days``, ``6 months``, ``1 day 12 hours``, ``0 seconds``."""
        parts: list[str] = []
        m, d, s = abs(self.months), abs(self.days), abs(self.seconds)
        years, months = divmod(m, 12)
        hours, rest = divmod(int(s), 3600)
        minutes, secs = divmod(rest, 60)
        for n, unit in (
            (years, "year"),
            (months, "month"),
            (d, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (secs, "second"),
        ):
            if n:
                parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
        return " ".join(parts) or "0 seconds"

    def label(self) -> str:
        """Reminder label: ``7 days before``, ``at the moment``, ``2 hours after``."""
        if self.is_zero:
            return "at the moment"
        return f"{self.words()} {'after' if self.is_negative else 'before'}"

    def __str__(self) -> str:
        return self.short()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _parse_unsigned(raw: str) -> Duration | None:
    if raw in ("0", "0s", "pt0s", "PT0S"):
        return Duration()
    if raw.startswith("P"):
        return _parse_iso(raw)
    words = _WORDS.match(raw)
    if words:
        return _unit(int(words.group(1)), words.group(2))
    pos = 0
    months = days = 0
    seconds = 0
    seen: set[str] = set()
    for match in _COMPACT.finditer(raw):
        if match.start() != pos or match.group(2) in seen:
            return None
        seen.add(match.group(2))
        n, unit = int(match.group(1)), match.group(2)
        if unit == "w":
            days += 7 * n
        elif unit == "d":
            days += n
        else:
            seconds += n * _UNIT_SECONDS[unit]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        return None
    return Duration(months, days, seconds)


def _unit(n: int, unit: str) -> Duration:
    if unit.startswith("year"):
        return Duration(months=12 * n)
    if unit.startswith("month"):
        return Duration(months=n)
    if unit.startswith("week"):
        return Duration(days=7 * n)
    if unit.startswith("day"):
        return Duration(days=n)
    if unit.startswith("hour"):
        return Duration(seconds=3600 * n)
    if unit.startswith("min"):
        return Duration(seconds=60 * n)
    return Duration(seconds=n)


def _parse_iso(raw: str) -> Duration | None:
    match = _ISO.match(raw)
    if not match:
        return None
    y, mo, w, d, h, mi, s = match.groups()
    return Duration(
        months=12 * int(y or 0) + int(mo or 0),
        days=7 * int(w or 0) + int(d or 0),
        seconds=3600 * int(h or 0) + 60 * int(mi or 0) + float(s or 0),
    )
