"""A milestone's less common keys: ``catch_up``, ``description``, ``tags``, ``links``,
``rrule``, ``roll``, ``holidays``, ``weekend``, ``until``, ``status`` and ``escalate``.

Most milestones of a large config write none of them (an id, a title, a date, perhaps
reminders and channels): :func:`extras` is only called for an item that writes one, and
:func:`plain` gives what the defaults make of them for the others, the same values the
checks below give when every key is absent (a file's ``defaults`` keep it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.escalate import escalate_list
from scheduler.config.fields import holiday_set, moment, optional_strings, weekend_set
from scheduler.config.rrules import check_rrule
from scheduler.config.urls import link_problem
from scheduler.model import Escalation, MilestoneStatus, Roll

# The keys whose checks are not in :func:`extras` (the rest of ``MILESTONE_KEYS``).
COMMON_KEYS = frozenset({"id", "title", "at", "after", "offset", "timezone", "remind", "notify"})


@dataclass(frozen=True, slots=True)
class Extras:
    """What a milestone's less common keys give; ``refs``: its escalations' channel
    names, located (added to those it notifies)."""

    catch_up: timedelta
    description: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    rrule: str | None
    roll: Roll
    holidays: frozenset[date]
    weekend: frozenset[int]
    until: date | datetime | None
    status: MilestoneStatus
    escalate: tuple[Escalation, ...]
    refs: tuple[tuple[str, DocPath], ...]


def plain(
    *,
    catch_up: timedelta,
    holidays: frozenset[date],
    weekend: frozenset[int],
    escalate: tuple[Escalation, ...],
) -> Extras:
    """The values of a milestone that writes none of the less common keys, under a
    file's defaults (its ``catch_up``, holidays, weekend and escalations)."""
    return Extras(
        catch_up,
        "",
        (),
        (),
        None,
        Roll.NONE,
        holidays,
        weekend,
        None,
        MilestoneStatus.ACTIVE,
        escalate,
        (),
    )


def extras(
    checker: Checker,
    body: dict[str, Any],
    path: DocPath,
    base: Extras,
    at: date | datetime | None,
) -> Extras:
    """The less common keys of the milestone ``body`` (problems go to ``checker.issues``,
    in the order of the keys above). ``base``: :func:`plain` under the file's defaults;
    ``at``: the milestone's, for ``until``."""
    catch_up = base.catch_up
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
    tags = checker.shared(optional_strings(checker, body, path, "tags"))
    links = checker.shared(optional_strings(checker, body, path, "links"))
    if isinstance(body.get("links"), list) and len(links) == len(body["links"]):
        for i, link in enumerate(links):
            if (problem := link_problem(link)) is not None:
                checker.fail((*path, "links", i), problem)
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
    holidays = base.holidays
    if body.get("holidays") is not None:
        holidays = checker.shared(
            holidays | holiday_set(checker, body["holidays"], (*path, "holidays"))
        )
    weekend = weekend_set(checker, body.get("weekend"), (*path, "weekend"))
    until = None
    if body.get("until") is not None:
        until = moment(checker, body["until"], (*path, "until"), "until")
        if until is not None and at is not None and _before(until, at):
            checker.fail((*path, "until"), "until must not be before at")
    status = MilestoneStatus.ACTIVE
    if "status" in body:
        chosen = checker.choice(
            body["status"], (*path, "status"), "status", [s.value for s in MilestoneStatus]
        )
        status = MilestoneStatus(chosen) if chosen else status
    escalate = base.escalate
    refs: tuple[tuple[str, DocPath], ...] = ()
    if "escalate" in body:
        own = escalate_list(checker, body["escalate"], (*path, "escalate"))
        if own is not None:
            escalate, refs = checker.shared(own[0]), own[1]
    return Extras(
        catch_up,
        description,
        tags,
        links,
        rrule,
        roll,
        holidays,
        checker.shared(weekend) if weekend is not None else base.weekend,
        until,
        status,
        escalate,
        refs,
    )


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
