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
from datetime import date
from typing import Any

from scheduler.config.channels import check_channels
from scheduler.config.checker import Checker, DocPath
from scheduler.config.escalate import escalate_list
from scheduler.config.extras import COMMON_KEYS, Extras, extras, plain
from scheduler.config.fields import (
    holiday_set,
    moment,
    notify_list,
    remind_list,
    weekend_set,
    zone_name,
)
from scheduler.config.schedules import check_digests
from scheduler.config.slices import SlicedList
from scheduler.config.values import SLUG, SLUG_HINT, kind
from scheduler.durations import Duration
from scheduler.frozen import builder
from scheduler.model import (
    DEFAULT_CATCH_UP,
    DEFAULT_REMIND,
    DEFAULT_WEEKEND,
    ZERO,
    Channel,
    Digest,
    Escalation,
    Location,
    Milestone,
)

TOP_KEYS = frozenset(
    {"version", "timezone", "defaults", "channels", "milestones", "holidays", "weekend", "digests"}
)
DEFAULT_KEYS = frozenset({"remind", "notify", "catch_up", "escalate"})
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
        "escalate",
    }
)
SUPPORTED_VERSION = 1
PLAIN = plain(catch_up=DEFAULT_CATCH_UP, holidays=frozenset(), weekend=DEFAULT_WEEKEND, escalate=())
_new_milestone = builder(Milestone)  # a million milestones: see scheduler.frozen


@dataclass(slots=True)
class FileConfig:
    """What one file contributes, with the document paths later checks point at."""

    file: str
    timezone: str = "UTC"
    channels: list[tuple[Channel, DocPath]] = field(default_factory=list)
    milestones: list[tuple[Milestone, DocPath]] = field(default_factory=list)
    digests: list[tuple[Digest, DocPath]] = field(default_factory=list)
    # channel names each milestone notifies, with the path each name was written at
    notify_refs: list[tuple[tuple[str, DocPath], ...]] = field(default_factory=list)
    default_notify: tuple[tuple[str, DocPath], ...] = ()
    # channel names that ``defaults.escalate`` entries notify, located (a milestone's
    # own entries are among its ``notify_refs``)
    escalate_refs: list[tuple[tuple[str, DocPath], ...]] = field(default_factory=list)
    # every id and channel name written, valid or not, so that one broken milestone
    # does not also make each reference to it an "unknown" error
    ids_seen: set[str] = field(default_factory=set)
    channels_seen: set[str] = field(default_factory=set)
    after_refs: list[tuple[str, DocPath]] = field(default_factory=list)
    defaults: Defaults | None = None  # what the milestones were validated with


@dataclass(frozen=True, slots=True)
class Defaults:
    """A file's ``defaults`` (with its top-level holidays and weekend), as milestones use them."""

    remind: tuple[Duration, ...] = DEFAULT_REMIND
    notify: tuple[tuple[str, DocPath], ...] = ()
    notify_names: tuple[str, ...] = ()  # one tuple that milestones without notify share
    catch_up: Any = DEFAULT_CATCH_UP
    escalate: tuple[Escalation, ...] = ()
    escalate_refs: tuple[tuple[str, DocPath], ...] = ()
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = DEFAULT_WEEKEND
    location: Location | None = None
    # what a milestone that writes none of the less common keys takes (derived from the above)
    plain: Extras = field(default=PLAIN, compare=False)


def check_document(checker: Checker, data: Any, *, file: str) -> FileConfig:
    """Validate one parsed YAML document; problems go to ``checker.issues``.

    The document's ``milestones`` list is emptied on the way (each item set to ``None``
    once validated): parse the text again to validate it again.
    """
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
        result.timezone = zone_name(checker, top["timezone"], ("timezone",)) or "UTC"
    holidays = holiday_set(checker, top.get("holidays"), ("holidays",))
    weekend = weekend_set(checker, top.get("weekend"), ("weekend",))
    defaults = _defaults(checker, top.get("defaults"), holidays, weekend, file=file)
    result.defaults = defaults
    result.default_notify = defaults.notify
    result.escalate_refs.append(defaults.escalate_refs)
    if isinstance(top.get("channels"), dict):
        result.channels_seen = {str(name) for name in top["channels"]}
    if top.get("channels") is not None:
        result.channels = check_channels(
            checker, top["channels"], ("channels",), file=file, zone=result.timezone
        )
    if top.get("digests") is not None:
        for digest, digest_path, refs in check_digests(
            checker,
            top["digests"],
            ("digests",),
            zone=result.timezone,
            catch_up=defaults.catch_up,
            file=file,
        ):
            if digest is not None:
                result.digests.append((digest, digest_path))
            result.notify_refs.append(refs)
    raw_items = top.get("milestones")
    items: list[Any] | SlicedList | None = None
    if isinstance(raw_items, SlicedList):
        items = raw_items  # parsed one slice at a time as it is walked
    elif raw_items is not None:
        items = checker.sequence(raw_items, ("milestones",), "milestones")
    for index, item in enumerate(items or ()):
        _add(result, *_entry(checker, item, index, result.timezone, defaults, file))
        if isinstance(items, list):
            # The document is read once: release each item as soon as it is validated,
            # so that a large config never holds its whole raw list beside its milestones.
            items[index] = None
    return result


@dataclass(frozen=True, slots=True)
class MilestoneEntry:
    """What one item of ``milestones`` contributes to its file's :class:`FileConfig`."""

    path: DocPath
    milestone: Milestone | None
    refs: tuple[tuple[str, DocPath], ...]
    id_seen: str | None
    after_ref: tuple[str, DocPath] | None


def milestone_entry(
    checker: Checker, item: Any, index: int, zone: str, defaults: Defaults, file: str
) -> MilestoneEntry:
    """Validate the item at ``milestones[index]`` (problems go to ``checker.issues``)."""
    return MilestoneEntry(*_entry(checker, item, index, zone, defaults, file))


_Entry = tuple[
    DocPath,
    Milestone | None,
    tuple[tuple[str, DocPath], ...],
    str | None,
    tuple[str, DocPath] | None,
]


def _entry(
    checker: Checker, item: Any, index: int, zone: str, defaults: Defaults, file: str
) -> _Entry:
    """:func:`milestone_entry`'s fields, in order (a full load adds them without building
    a :class:`MilestoneEntry` for each of a million items)."""
    path: DocPath = ("milestones", index)
    id_seen = after_ref = None
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        id_seen = item["id"].strip()
    if isinstance(item, dict) and isinstance(item.get("after"), str) and "at" not in item:
        after_ref = (item["after"].strip(), (*path, "after"))
    milestone, refs = _milestone(checker, item, path, zone, defaults, file=file)
    return path, milestone, refs, id_seen, after_ref


def add_entry(result: FileConfig, entry: MilestoneEntry) -> None:
    _add(result, entry.path, entry.milestone, entry.refs, entry.id_seen, entry.after_ref)


def _add(
    result: FileConfig,
    path: DocPath,
    milestone: Milestone | None,
    refs: tuple[tuple[str, DocPath], ...],
    id_seen: str | None,
    after_ref: tuple[str, DocPath] | None,
) -> None:
    if id_seen is not None:
        result.ids_seen.add(id_seen)
    if after_ref is not None:
        result.after_refs.append(after_ref)
    result.notify_refs.append(refs)
    if milestone is not None:
        result.milestones.append((milestone, path))


def _defaults(
    checker: Checker,
    value: Any,
    holidays: frozenset[date],
    weekend: frozenset[int] | None,
    *,
    file: str,
) -> Defaults:
    body = checker.mapping(value or {}, ("defaults",), "defaults", allowed=DEFAULT_KEYS)
    body = body or {}
    remind = (
        remind_list(checker, body.get("remind"), ("defaults", "remind"))
        if "remind" in body
        else None
    )
    notify = (
        notify_list(checker, body.get("notify"), ("defaults", "notify"))
        if "notify" in body
        else None
    )
    catch_up = None
    if "catch_up" in body:
        parsed = checker.duration(
            body["catch_up"], ("defaults", "catch_up"), "catch_up", exact=True
        )
        catch_up = parsed.to_timedelta() if parsed else None
    escalate = (
        escalate_list(checker, body["escalate"], ("defaults", "escalate"))
        if "escalate" in body
        else None
    )
    catch_up = catch_up if catch_up is not None else DEFAULT_CATCH_UP
    weekend = weekend if weekend is not None else DEFAULT_WEEKEND
    escalations = escalate[0] if escalate else ()
    return Defaults(
        remind=remind or DEFAULT_REMIND,
        notify=notify or (),
        notify_names=tuple(name for name, _ in notify or ()),
        catch_up=catch_up,
        escalate=escalations,
        escalate_refs=escalate[1] if escalate else (),
        holidays=holidays,
        weekend=weekend,
        location=Location(file, 0, 0),  # positions are only looked up for problems
        plain=plain(catch_up=catch_up, holidays=holidays, weekend=weekend, escalate=escalations),
    )


def _milestone(
    checker: Checker,
    value: Any,
    path: DocPath,
    file_zone: str,
    defaults: Defaults,
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
        zone = zone_name(checker, body["timezone"], (*path, "timezone")) or file_zone
    at = after = None
    if "at" in body and "after" in body:
        checker.fail((*path, "after"), "give either 'at' or 'after', not both", on_key=True)
    elif "at" in body:
        at = moment(checker, body["at"], (*path, "at"), "at")
    elif "after" in body:
        after = checker.string(body["after"], (*path, "after"), "after")
    else:
        checker.fail(path, "milestone needs 'at' (a date) or 'after' (another milestone's id)")
    offset = ZERO  # shared: a million milestones without an offset need no million zeros
    if "offset" in body:
        if "after" not in body:
            checker.fail((*path, "offset"), "'offset' only applies with 'after'", on_key=True)
        else:
            offset = (
                checker.duration(body["offset"], (*path, "offset"), "offset", signed=True) or offset
            )
    remind = remind_list(checker, body["remind"], (*path, "remind")) if "remind" in body else None
    notify = notify_list(checker, body["notify"], (*path, "notify")) if "notify" in body else None
    refs = notify if notify is not None else defaults.notify
    more = defaults.plain
    if not body.keys() <= COMMON_KEYS:
        more = extras(checker, body, path, more, at)
        if more.refs:
            refs = (*refs, *more.refs)
    if len(checker.issues) > before or mid is None or title is None:
        return None, refs
    if at is None and after is None:
        return None, refs
    names = defaults.notify_names if notify is None else tuple(n for n, _ in notify)
    milestone = _new_milestone(
        id=mid,
        title=title.strip(),
        timezone=zone,
        at=at,
        after=after.strip() if after else None,
        offset=offset,
        remind=remind or defaults.remind,
        notify=checker.shared(names),
        catch_up=more.catch_up,
        description=more.description,
        tags=more.tags,
        links=more.links,
        rrule=more.rrule,
        roll=more.roll,
        holidays=more.holidays,
        weekend=more.weekend,
        until=more.until,
        status=more.status,
        escalate=more.escalate,
        location=defaults.location,
    )
    return milestone, refs
