"""What the timeline picture shows, and where: pure values in, a :class:`Layout` out.

The picture (``GET /timeline.svg``, ``tminus explain --svg``) is drawn in two
steps so that each can be tested by tables without a browser:

1. this module chooses the occurrences to draw, their rows (one per milestone,
   or one per tag group when there are more than :data:`MAX_ROWS`), the
   reminder ladder of each occurrence, the time axis and the x scale;
2. :mod:`scheduler.render.timeline` turns a layout and the stored delivery
   states into SVG text.

Rules:

* A window ``[start, end]`` is drawn; ``GET /timeline.svg`` looks ahead
  ``months`` calendar months and back a sixth of that, so reminders already
  sent for the coming deadlines (and today's line) are in view.
* Each occurrence's ladder is drawn: its reminders, and its escalations
  (``escalate:``) as marks of their own. What became of each
  (:mod:`scheduler.render.timeline_states`) comes from the store.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from dateutil.relativedelta import relativedelta

from scheduler.ladder import ladder
from scheduler.model import Milestone, MilestoneStatus, Reminder
from scheduler.planning import Resolved, next_occurrences, occurrences

MAX_ROWS = 12  # beyond this many milestones, one row per tag group
MAX_PER_GROUP = 24  # milestones drawn in one tag group's row; the rest are counted
MAX_OCCURRENCES = 62  # of one recurring milestone in one window (a daily one: two months)
MAX_AXIS_MARKS = 8  # labels on the time axis, so they fit a phone's width
UNTAGGED = "untagged"
_INACTIVE = frozenset({MilestoneStatus.CANCELLED, MilestoneStatus.DONE})


# -- what to draw ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Occurrence:
    """One milestone occurrence to draw; ``base`` is the ``after`` milestone's
    (id, instant) when this is the occurrence that chain resolved to."""

    milestone: Milestone
    at: datetime
    base: tuple[str, datetime] | None = None

    def ladder(self) -> tuple[Reminder, ...]:
        """Every reminder of this occurrence (none for a cancelled or done milestone)."""
        m = self.milestone
        if m.status in _INACTIVE:
            return ()
        return tuple(Reminder(m, self.at, o, o.subtract_from(self.at), m.notify) for o in m.remind)

    def escalations(self) -> tuple[Reminder, ...]:
        """Every escalation of this occurrence, in the order written (as planned, so
        their delivery ids are the stored ones; none for an inactive milestone)."""
        m = self.milestone
        if m.status in _INACTIVE or not m.escalate:
            return ()
        rungs = ladder(m.remind, m.escalate)[len(m.remind) :]
        return tuple(r.reminder(m, self.at, r.offset.subtract_from(self.at)) for r in rungs)

    def alerts(self) -> tuple[Reminder, ...]:
        """Reminders, then escalations."""
        return self.ladder() + self.escalations()


def _base_of(
    r: Resolved, at: datetime, resolved: Mapping[str, Resolved]
) -> tuple[str, datetime] | None:
    after = r.milestone.after
    if after is None or at != r.at or after not in resolved:
        return None
    return (after, resolved[after].at)


def occurrences_in(
    resolved: Mapping[str, Resolved], start: datetime, end: datetime
) -> list[Occurrence]:
    """Every occurrence in ``[start, end]`` (a recurring milestone's first
    :data:`MAX_OCCURRENCES`), soonest first."""
    found: list[Occurrence] = []
    for r in resolved.values():
        if r.milestone.rrule is None:  # the common case, without a generator
            if start <= r.at <= end:
                found.append(Occurrence(r.milestone, r.at, _base_of(r, r.at, resolved)))
            continue
        for at in itertools.islice(occurrences(r, start, end), MAX_OCCURRENCES):
            found.append(Occurrence(r.milestone, at, _base_of(r, at, resolved)))
    found.sort(key=lambda o: (o.at.timestamp(), o.milestone.id))
    return found


def chain(resolved: Mapping[str, Resolved], milestone_id: str) -> list[str]:
    """``milestone_id`` with its ``after`` ancestors and every milestone that
    depends on it, directly or through others (``explain --svg``)."""
    ids = [milestone_id]
    cursor = resolved[milestone_id].milestone.after
    while cursor is not None and cursor in resolved and cursor not in ids:
        ids.insert(0, cursor)
        cursor = resolved[cursor].milestone.after
    dependents: dict[str, list[str]] = {}
    for mid, r in resolved.items():
        if r.milestone.after is not None:
            dependents.setdefault(r.milestone.after, []).append(mid)
    queue = [milestone_id]
    while queue:
        for child in dependents.get(queue.pop(0), ()):
            if child not in ids:
                ids.append(child)
                queue.append(child)
    return ids


def chain_occurrences(
    resolved: Mapping[str, Resolved], milestone_id: str, now: datetime
) -> list[Occurrence]:
    """One occurrence per milestone of the chain: a recurring one's next from ``now``
    (its first when the rule has ended), as ``explain`` lists it."""
    out = []
    for mid in chain(resolved, milestone_id):
        r = resolved[mid]
        upcoming = next_occurrences(r, now, 1) if r.milestone.rrule else []
        at = upcoming[0] if upcoming else r.at
        out.append(Occurrence(r.milestone, at, _base_of(r, at, resolved)))
    out.sort(key=lambda o: (o.at.timestamp(), o.milestone.id))
    return out


def window_ahead(now: datetime, months: int) -> tuple[datetime, datetime]:
    """``months`` calendar months ahead of ``now``, and a sixth of that behind it."""
    end = now + relativedelta(months=months)
    return now - (end - now) / 6, end


def window_around(occs: Sequence[Occurrence], now: datetime) -> tuple[datetime, datetime]:
    """A window that holds every occurrence and its reminders, with a margin."""
    moments = [o.at for o in occs] + [r.due_at for o in occs for r in o.alerts()]
    if not moments:
        return window_ahead(now, 1)
    first, last = min(moments), max(moments)
    margin = max((last - first) / 25, timedelta(days=1))
    return first - margin, last + margin


# -- rows -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    """One lane: a milestone's occurrences, or a tag group's (``hidden``: milestones
    of the group that did not fit)."""

    key: str
    label: str
    occurrences: tuple[Occurrence, ...]
    grouped: bool = False
    hidden: int = 0


def _milestone_rows(occs: Sequence[Occurrence]) -> list[Row]:
    by_id: dict[str, list[Occurrence]] = {}
    for o in occs:
        by_id.setdefault(o.milestone.id, []).append(o)
    return [Row(mid, group[0].milestone.title, tuple(group)) for mid, group in by_id.items()]


def _group_rows(occs: Sequence[Occurrence]) -> list[Row]:
    groups: dict[str, dict[str, list[Occurrence]]] = {}
    for o in occs:
        tag = o.milestone.tags[0] if o.milestone.tags else UNTAGGED
        groups.setdefault(tag, {}).setdefault(o.milestone.id, []).append(o)
    rows = []
    for tag, members in groups.items():
        shown = list(members.values())[:MAX_PER_GROUP]
        n = len(members)
        label = (
            f"#{tag} · {n} milestone{'s' if n != 1 else ''}"
            if tag != UNTAGGED
            else (f"{UNTAGGED} · {n} milestone{'s' if n != 1 else ''}")
        )
        rows.append(
            Row(
                f"tag:{tag}",
                label,
                tuple(
                    sorted((o for group in shown for o in group), key=lambda o: o.at.timestamp())
                ),
                grouped=True,
                hidden=n - len(shown),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Layout:
    """The rows to draw in a window; ``hidden`` counts milestones left out."""

    start: datetime
    end: datetime
    now: datetime
    rows: tuple[Row, ...]
    hidden: int
    axis: tuple[tuple[datetime, str], ...]

    def x(self, moment: datetime, width: float) -> float:
        """Where ``moment`` falls on a lane ``width`` long (0 at ``start``)."""
        span = (self.end - self.start).total_seconds()
        return (moment - self.start).total_seconds() / span * width

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def alerts(self) -> Iterator[Reminder]:
        """The reminders and escalations of every occurrence drawn."""
        for row in self.rows:
            for o in row.occurrences:
                yield from o.alerts()

    def delivery_ids(self) -> list[str]:
        """The stored deliveries whose states the picture needs (bounded by the row caps)."""
        return [r.delivery_id(channel) for r in self.alerts() for channel in r.channels]


def lay_out(
    occs: Sequence[Occurrence], *, start: datetime, end: datetime, now: datetime, zone: tzinfo
) -> Layout:
    """Rows for ``occs`` (soonest first): one per milestone up to :data:`MAX_ROWS`
    milestones, else one per first tag, the soonest :data:`MAX_ROWS` groups."""
    if end <= start:
        raise ValueError("the timeline window must end after it starts")
    milestones = len({o.milestone.id for o in occs})
    rows = _milestone_rows(occs) if milestones <= MAX_ROWS else _group_rows(occs)
    shown = rows[:MAX_ROWS]
    hidden = sum(len({o.milestone.id for o in r.occurrences}) + r.hidden for r in rows[MAX_ROWS:])
    return Layout(start, end, now, tuple(shown), hidden, axis_marks(start, end, zone))


# -- the time axis ----------------------------------------------------------------------
_DAY_STEPS = (1, 2, 7, 14)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600)


def axis_marks(start: datetime, end: datetime, zone: tzinfo) -> tuple[tuple[datetime, str], ...]:
    """Labelled marks at local midnights: days or weeks for short windows, else
    months (``Jan 2027`` at a new year or the first mark, ``Feb`` after), at most
    :data:`MAX_AXIS_MARKS`."""
    local_start = start.astimezone(zone)
    days = (end - start).total_seconds() / 86400
    for step in _DAY_STEPS:
        if days / step <= MAX_AXIS_MARKS:
            return _day_marks(local_start, end, zone, step)
    months = days / 30.4
    step = next((s for s in _MONTH_STEPS if months / s <= MAX_AXIS_MARKS), _MONTH_STEPS[-1])
    return _month_marks(local_start, end, zone, step)


def _midnight(year: int, month: int, day: int, zone: tzinfo) -> datetime:
    return datetime(year, month, day, tzinfo=zone)


def _day_marks(
    local: datetime, end: datetime, zone: tzinfo, step: int
) -> tuple[tuple[datetime, str], ...]:
    day = local.date() + timedelta(days=1)
    if step == 7:  # weeks start on Monday
        day += timedelta(days=-day.weekday() % 7)
    marks = []
    while (moment := _midnight(day.year, day.month, day.day, zone)) <= end:
        marks.append((moment, f"{day.day} {day:%b}"))
        day += timedelta(days=step)
    return tuple(marks)


def _month_marks(
    local: datetime, end: datetime, zone: tzinfo, step: int
) -> tuple[tuple[datetime, str], ...]:
    index = local.year * 12 + local.month  # the month after the start's (month - 1 + 1)
    index += -index % step  # align to the step (Jan, Apr, Jul, Oct for 3)
    marks: list[tuple[datetime, str]] = []
    while True:
        year, month = divmod(index, 12)
        moment = _midnight(year, month + 1, 1, zone)
        if moment > end:
            return tuple(marks)
        label = f"{moment:%b}" if marks and month else f"{moment:%b %Y}"
        if step >= 12:
            label = str(year)
        marks.append((moment, label))
        index += step


def text_width(text: str) -> int:
    """Width in average Latin characters: East Asian wide and full-width characters
    (CJK, most emoji) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def truncate(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` (:func:`text_width`), ending in "…" when cut."""
    if limit < 1:
        return ""
    flat = " ".join(text.split())
    if text_width(flat) <= limit:
        return flat
    kept, used = [], 1  # room for the "…"
    for c in flat:
        used += text_width(c)
        if used > limit:
            break
        kept.append(c)
    return "".join(kept).rstrip() + "…"
