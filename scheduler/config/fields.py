"""Validators for values that appear both in ``defaults`` (or at file level) and on
milestones: zones, moments, reminder lists, channel lists, holidays and weekends.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.values import (
    MAX_YEAR,
    MIN_YEAR,
    check_zone,
    parse_date,
    parse_moment,
    parse_weekday,
    year_range_hint,
)
from scheduler.durations import Duration


def zone_name(checker: Checker, value: Any, path: DocPath) -> str | None:
    """An IANA zone name known to this machine."""
    name = checker.string(value, path, "timezone")
    if name is None:
        return None
    try:
        return check_zone(name.strip())
    except ValueError as exc:
        checker.fail(path, str(exc))
        return None


def moment(checker: Checker, value: Any, path: DocPath, what: str) -> date | datetime | None:
    """A date or datetime (``at``, ``until``); ``${VAR}`` allowed."""
    if isinstance(value, str) and "$" in value:
        value = checker.string(value, path, what)
        if value is None:
            return None
    try:
        parsed = parse_moment(value)
    except ValueError as exc:
        checker.fail(path, f"{what}: {exc}")
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        checker.fail(path, f"{what}: {year_range_hint(parsed.year)}")
        return None
    return parsed


def remind_list(checker: Checker, value: Any, path: DocPath) -> tuple[Duration, ...] | None:
    """Reminder offsets; negative ones fall after the moment. Duplicates are errors."""
    items = checker.sequence(value, path, "remind")
    if items is None:
        return None
    # Most milestones repeat one of a few lists: reuse the result of a valid one.
    key = (*items, *map(type, items)) if all(type(i) in (str, int) for i in items) else None
    if key is not None and (cached := checker.remind_cache.get(key)) is not None:
        return cached
    before = len(checker.issues)
    result = _remind_items(checker, items, path)
    if key is not None and len(checker.issues) == before and result is not None:
        checker.remind_cache[key] = result
    return result


def _remind_items(checker: Checker, items: list[Any], path: DocPath) -> tuple[Duration, ...] | None:
    out: list[Duration] = []
    seen: dict[Duration, int] = {}
    for i, item in enumerate(items):
        parsed = checker.duration(item, (*path, i), "remind offset", signed=True)
        if parsed is None:
            continue
        if parsed in seen:
            checker.fail(
                (*path, i),
                f"duplicate reminder offset {parsed} (same as {path[-1]}[{seen[parsed]}])",
            )
            continue
        seen[parsed] = i
        out.append(parsed)
    return tuple(out) if out else None


def notify_list(
    checker: Checker, value: Any, path: DocPath
) -> tuple[tuple[str, DocPath], ...] | None:
    """Channel names, deduplicated; whether they exist is checked across files."""
    items = checker.sequence(value, path, "notify")
    if items is None:
        return None
    out: list[tuple[str, DocPath]] = []
    for i, item in enumerate(items):
        name = checker.string(item, (*path, i), "channel name")
        if name is not None and name.strip() not in (n for n, _ in out):
            out.append((name.strip(), (*path, i)))
    return tuple(out)


def optional_strings(
    checker: Checker, body: dict[str, Any], path: DocPath, key: str
) -> tuple[str, ...]:
    """A list of strings under ``key``, empty when absent."""
    if body.get(key) is None:
        return ()
    return checker.strings(body[key], (*path, key), key) or ()


def holiday_set(checker: Checker, value: Any, path: DocPath) -> frozenset[date]:
    """Non-business days, as calendar dates."""
    if value is None:
        return frozenset()
    items = checker.sequence(value, path, "holidays") or []
    out: set[date] = set()
    for i, item in enumerate(items):
        try:
            out.add(parse_date(item))
        except ValueError as exc:
            checker.fail((*path, i), f"holiday: {exc}")
    return frozenset(out)


def weekend_set(checker: Checker, value: Any, path: DocPath) -> frozenset[int] | None:
    """Weekdays off (``date.weekday()`` numbers); ``None`` when not given."""
    if value is None:
        return None
    items = checker.sequence(value, path, "weekend")
    if items is None:
        return None
    out: set[int] = set()
    for i, item in enumerate(items):
        try:
            out.add(parse_weekday(item))
        except ValueError as exc:
            checker.fail((*path, i), f"weekend: {exc}")
    return frozenset(out)
