"""Validation of one config document: top level, ``defaults`` and ``milestones``.

The result, :class:`FileConfig`, holds what one file contributes to the merged
config; checks that need every file (unknown channels, ``after`` targets and
cycles, duplicate ids) run on the merged result in :mod:`scheduler.config.crosscheck`.

Choices where SPEC.md is silent:

* ``holidays`` at milestone level *extend* the file's list (a company closure on
  top of public holidays); ``weekend`` at milestone level *replaces* the file's.
* ``offset`` is only meaningful with ``after``; with ``at`` it is an error.
* ``notify`` falls back to ``defaults.notify``, else no channel (which is valid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from scheduler.config.channels import check_channels
from scheduler.config.checker import Checker, DocPath
from scheduler.config.values import (
    SLUG,
    SLUG_HINT,
    check_rrule,
    check_zone,
    kind,
    parse_date,
    parse_moment,
    parse_weekday,
)
from scheduler.durations import Duration
from scheduler.model import (
    DEFAULT_CATCH_UP,
    DEFAULT_REMIND,
    DEFAULT_WEEKEND,
    Channel,
    Location,
    Milestone,
    MilestoneStatus,
    Roll,
)

TOP_KEYS = frozenset(
    {"version", "timezone", "defaults", "channels", "milestones", "holidays", "weekend"}
)
DEFAULT_KEYS = frozenset({"remind", "notify", "catch_up"})
MILESTONE_KEYS = frozenset(
    {
        "id",
        "title",
        "at",
        "after",
        "offset",
        "timezone",
        "remind",
        "notify",
        "catch_up",
        "description",
        "tags",
        "links",
        "rrule",
        "roll",
        "holidays",
        "weekend",
        "until",
        "status",
    }
)
SUPPORTED_VERSION = 1


@dataclass(slots=True)
class FileConfig:
    """What one file contributes, with the document paths later checks point at."""

    file: str
    timezone: str = "UTC"
    channels: list[tuple[Channel, DocPath]] = field(default_factory=list)
    milestones: list[tuple[Milestone, DocPath]] = field(default_factory=list)
    # channel names each milestone notifies, with the path each name was written at
    notify_refs: list[tuple[tuple[str, DocPath], ...]] = field(default_factory=list)
    default_notify: tuple[tuple[str, DocPath], ...] = ()
    # every id and channel name written, valid or not, so that one broken milestone
    # does not also make each reference to it an "unknown" error
    ids_seen: set[str] = field(default_factory=set)
    channels_seen: set[str] = field(default_factory=set)
    after_refs: list[tuple[str, DocPath]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Defaults:
    remind: tuple[Duration, ...] = DEFAULT_REMIND
    notify: tuple[tuple[str, DocPath], ...] = ()
    catch_up: Any = DEFAULT_CATCH_UP
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = DEFAULT_WEEKEND
    location: Location | None = None


def check_document(checker: Checker, data: Any, *, file: str) -> FileConfig:
    """Validate one parsed YAML document; problems go to ``checker.issues``."""
    result = FileConfig(file=file)
    if data is None:
        checker.fail((), "the file is empty: expected a mapping with 'version: 1' and 'milestones'")
        return result
    top = checker.mapping(data, (), "the config", allowed=TOP_KEYS, required=["version"])
    if top is None:
        return result
    if "version" in top:
        version = top["version"]
        if isinstance(version, bool) or version != SUPPORTED_VERSION:
            shown = repr(version) if isinstance(version, (int, float, str)) else kind(version)
            checker.fail(("version",), f"unsupported config version {shown}: expected 1")
    if "timezone" in top:
        result.timezone = _zone(checker, top["timezone"], ("timezone",)) or "UTC"
    holidays = _holidays(checker, top.get("holidays"), ("holidays",))
    weekend = _weekend(checker, top.get("weekend"), ("weekend",))
    defaults = _defaults(checker, top.get("defaults"), holidays, weekend, file=file)
    result.default_notify = defaults.notify
    if isinstance(top.get("channels"), dict):
        result.channels_seen = {str(name) for name in top["channels"]}
    if top.get("channels") is not None:
        result.channels = check_channels(checker, top["channels"], ("channels",), file=file)
    items = checker.sequence(top.get("milestones", []), ("milestones",), "milestones") or []
    for index, item in enumerate(items):
        path: DocPath = ("milestones", index)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            result.ids_seen.add(item["id"].strip())
        if isinstance(item, dict) and isinstance(item.get("after"), str) and "at" not in item:
            result.after_refs.append((item["after"].strip(), (*path, "after")))
        milestone, refs = _milestone(checker, item, path, result.timezone, defaults, file=file)
        result.notify_refs.append(refs)
        if milestone is not None:
            result.milestones.append((milestone, path))
    return result


def _defaults(
    checker: Checker,
    value: Any,
    holidays: frozenset[date],
    weekend: frozenset[int] | None,
    *,
    file: str,
) -> _Defaults:
    body = checker.mapping(value or {}, ("defaults",), "defaults", allowed=DEFAULT_KEYS)
    body = body or {}
    remind = (
        _remind(checker, body.get("remind"), ("defaults", "remind")) if "remind" in body else None
    )
    notify = (
        _notify(checker, body.get("notify"), ("defaults", "notify")) if "notify" in body else None
    )
    catch_up = None
    if "catch_up" in body:
        parsed = checker.duration(
            body["catch_up"], ("defaults", "catch_up"), "catch_up", exact=True
        )
        catch_up = parsed.to_timedelta() if parsed else None
    return _Defaults(
        remind=remind or DEFAULT_REMIND,
        notify=notify or (),
        catch_up=catch_up if catch_up is not None else DEFAULT_CATCH_UP,
        holidays=holidays,
        weekend=weekend if weekend is not None else DEFAULT_WEEKEND,
        location=Location(file, 0, 0),  # positions are only looked up for problems
    )


def _milestone(
    checker: Checker,
    value: Any,
    path: DocPath,
    file_zone: str,
    defaults: _Defaults,
    *,
    file: str,
) -> tuple[Milestone | None, tuple[tuple[str, DocPath], ...]]:
    """The milestone (``None`` if invalid) and the channel names it notifies, located."""
    body = checker.mapping(
        value, path, "milestone", allowed=MILESTONE_KEYS, required=["id", "title"]
    )
    if body is None:
        return None, ()
    before = len(checker.issues)
    mid = body.get("id")
    if "id" in body:
        mid = checker.string(mid, (*path, "id"), "id")
        if mid is not None and not SLUG.match(mid):
            checker.fail((*path, "id"), f"invalid milestone id {mid!r}: use {SLUG_HINT}")
    title = checker.string(body["title"], (*path, "title"), "title") if "title" in body else None
    zone = file_zone
    if "timezone" in body:
        zone = _zone(checker, body["timezone"], (*path, "timezone")) or file_zone
    at = after = None
    if "at" in body and "after" in body:
        checker.fail((*path, "after"), "give either 'at' or 'after', not both", on_key=True)
    elif "at" in body:
        at = _moment(checker, body["at"], (*path, "at"), "at")
    elif "after" in body:
        after = checker.string(body["after"], (*path, "after"), "after")
    else:
        checker.fail(path, "milestone needs 'at' (a date) or 'after' (another milestone's id)")
    offset = Duration()
    if "offset" in body:
        if "after" not in body:
            checker.fail((*path, "offset"), "'offset' only applies with 'after'", on_key=True)
        else:
            offset = (
                checker.duration(body["offset"], (*path, "offset"), "offset", signed=True) or offset
            )
    remind = _remind(checker, body["remind"], (*path, "remind")) if "remind" in body else None
    notify = _notify(checker, body["notify"], (*path, "notify")) if "notify" in body else None
    catch_up = defaults.catch_up
    if "catch_up" in body:
        parsed = checker.duration(body["catch_up"], (*path, "catch_up"), "catch_up", exact=True)
        catch_up = parsed.to_timedelta() if parsed else catch_up
    description = ""
    if body.get("description") is not None:
        description = (
            checker.string(
                body["description"], (*path, "description"), "description", allow_empty=True
            )
            or ""
        )
    tags = _optional_strings(checker, body, path, "tags")
    links = _optional_strings(checker, body, path, "links")
    rrule = None
    if body.get("rrule") is not None:
        text = checker.string(body["rrule"], (*path, "rrule"), "rrule")
        if text is not None:
            try:
                rrule = check_rrule(text.strip())
            except ValueError as exc:
                checker.fail((*path, "rrule"), str(exc))
    roll = Roll.NONE
    if "roll" in body:
        chosen = checker.choice(body["roll"], (*path, "roll"), "roll", [r.value for r in Roll])
        roll = Roll(chosen) if chosen else roll
    holidays = defaults.holidays
    if body.get("holidays") is not None:
        holidays = holidays | _holidays(checker, body["holidays"], (*path, "holidays"))
    weekend = _weekend(checker, body.get("weekend"), (*path, "weekend"))
    until = None
    if body.get("until") is not None:
        until = _moment(checker, body["until"], (*path, "until"), "until")
        if until is not None and at is not None and _before(until, at):
            checker.fail((*path, "until"), "until must not be before at")
    status = MilestoneStatus.ACTIVE
    if "status" in body:
        chosen = checker.choice(
            body["status"], (*path, "status"), "status", [s.value for s in MilestoneStatus]
        )
        status = MilestoneStatus(chosen) if chosen else status
    refs = notify if notify is not None else defaults.notify
    if len(checker.issues) > before or mid is None or title is None:
        return None, refs
    if at is None and after is None:
        return None, refs
    milestone = Milestone(
        id=mid,
        title=title.strip(),
        timezone=zone,
        at=at,
        after=after.strip() if after else None,
        offset=offset,
        remind=remind or defaults.remind,
        notify=tuple(name for name, _ in (notify if notify is not None else defaults.notify)),
        catch_up=catch_up,
        description=description,
        tags=tags,
        links=links,
        rrule=rrule,
        roll=roll,
        holidays=holidays,
        weekend=weekend if weekend is not None else defaults.weekend,
        until=until,
        status=status,
        location=defaults.location,
    )
    return milestone, refs


def _zone(checker: Checker, value: Any, path: DocPath) -> str | None:
    name = checker.string(value, path, "timezone")
    if name is None:
        return None
    try:
        return check_zone(name.strip())
    except ValueError as exc:
        checker.fail(path, str(exc))
        return None


def _moment(checker: Checker, value: Any, path: DocPath, what: str) -> date | datetime | None:
    if isinstance(value, str) and "$" in value:
        value = checker.string(value, path, what)
        if value is None:
            return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        checker.fail(path, f"{what}: {exc}")
        return None


def _before(until: date | datetime, at: date | datetime) -> bool:
    def day(v: date | datetime) -> date:
        return v.date() if isinstance(v, datetime) else v

    if (
        isinstance(until, datetime)
        and isinstance(at, datetime)
        and (until.tzinfo is None) == (at.tzinfo is None)
    ):
        return until < at
    return day(until) < day(at)


def _remind(checker: Checker, value: Any, path: DocPath) -> tuple[Duration, ...] | None:
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


def _notify(checker: Checker, value: Any, path: DocPath) -> tuple[tuple[str, DocPath], ...] | None:
    items = checker.sequence(value, path, "notify")
    if items is None:
        return None
    out: list[tuple[str, DocPath]] = []
    for i, item in enumerate(items):
        name = checker.string(item, (*path, i), "channel name")
        if name is not None and name.strip() not in (n for n, _ in out):
            out.append((name.strip(), (*path, i)))
    return tuple(out)


def _optional_strings(
    checker: Checker, body: dict[str, Any], path: DocPath, key: str
) -> tuple[str, ...]:
    if body.get(key) is None:
        return ()
    return checker.strings(body[key], (*path, key), key) or ()


def _holidays(checker: Checker, value: Any, path: DocPath) -> frozenset[date]:
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


def _weekend(checker: Checker, value: Any, path: DocPath) -> frozenset[int] | None:
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
