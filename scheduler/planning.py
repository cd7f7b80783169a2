"""Planning: milestones in, dated reminders out. Pure: no clock, no I/O, no GC toggling
(bulk callers wrap their calls in :func:`scheduler.gc_pause.gc_paused`).

Every command that needs dates (``check``, ``upcoming``, ``simulate``,
``explain``, ``export-ics``) and the daemon call the same three functions:

* :func:`resolve` gives each milestone its instant, following ``after:`` chains,
  and records how it got there (the steps ``explain`` prints);
* :func:`occurrences` gives a milestone's occurrences in a window (one for a
  plain milestone, lazily generated ones for an ``rrule``);
* :func:`plan` gives every reminder and escalation due in a window, sorted (a
  milestone's ladder of offsets and channels: :mod:`scheduler.ladder`).

Rules, in the order they apply to one milestone:

1. ``at``: a date is 00:00 in the milestone's zone; a naive datetime is wall
   time in that zone (DST gaps and folds resolved by ``timekeeping.localize``);
   an aware datetime is converted to that zone.
2. ``after``: the base milestone's resolved instant is converted to the
   *dependent* milestone's zone, and the offset is applied there in wall-clock
   time (``Duration.add_to``; calendar months clamp to the month's end). A base
   in another zone therefore keeps its instant, and "6 months later" means six
   months on the dependent milestone's own calendar.
3. ``roll``: a result on a weekend day (``weekend``) or a holiday moves to the
   next (``forward``) or previous (``backward``) business day, keeping its wall
   time. Dependents see the rolled instant.
4. ``rrule``: occurrences are generated in wall time from the milestone's
   nominal wall time (before DST resolution and rolling, so a yearly 02:30 event
   is not shifted for good by one spring-forward night), then localized and
   rolled one by one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulebase, rrulestr

from scheduler.business_days import roll_date
from scheduler.durations import Duration
from scheduler.errors import NotFoundError
from scheduler.ladder import Rung, ladder, occurrence_alerts
from scheduler.model import Config, Escalation, Milestone, MilestoneStatus, Reminder, Roll
from scheduler.resolution import Resolved as Resolved
from scheduler.resolution import resolve as resolve
from scheduler.resolution import resolve_into as resolve_into
from scheduler.timekeeping import localize

_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_INACTIVE = frozenset({MilestoneStatus.CANCELLED, MilestoneStatus.DONE})
# Slack around approximate window filters: a calendar month is 28-31 days, a
# calendar day 23-25 hours (up to 2 h in a few zones), rolling moves a few days.
_DAY = 86400.0
_EXPLAIN_ANCESTORS = 50


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``tminus explain`` shows for one milestone."""

    milestone: Milestone
    at: datetime
    steps: tuple[str, ...]  # the base milestones' steps first, then its own
    occurrences: tuple[datetime, ...]  # upcoming ones (recurring), else just ``at``
    reminders: tuple[Reminder, ...]  # those of the first listed occurrence, escalations too


def _place(wall: datetime, m: Milestone, zone: ZoneInfo) -> datetime:
    """Roll a nominal wall time to a business day and localize it."""
    day = wall.date()
    moved = roll_date(day, m)
    if moved != day:
        wall = datetime.combine(moved, wall.time())
    return localize(wall, zone)


# -- occurrences ------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _rule(text: str, dtstart: datetime, zone_key: str) -> rrulebase:
    """Parse an RRULE anchored at a naive wall time (cached: the daemon replans often)."""

    def until_local(match: re.Match[str]) -> str:
        # UNTIL in UTC next to a naive DTSTART: dateutil refuses the mix, so
        # turn it into the same instant's wall time in the milestone's zone.
        instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + instant.astimezone(ZoneInfo(zone_key)).strftime("%Y%m%dT%H%M%S")

    return rrulestr(_UNTIL_UTC.sub(until_local, text), dtstart=dtstart)


def _nominal(r: Resolved) -> datetime:
    return r.wall if r.wall is not None else r.at.replace(tzinfo=None)


def occurrences(r: Resolved, start: datetime, end: datetime) -> Iterator[datetime]:
    """Occurrences of ``r`` with ``start <= occurrence <= end`` (aware bounds), in order.

    A recurring milestone's rule is walked lazily from the window's start, so an
    infinite rule is fine. The wall-clock search window is widened by a few days
    for DST and rolling, then each occurrence is checked exactly.
    """
    m = r.milestone
    if m.rrule is None:
        if start <= r.at <= end:
            yield r.at
        return
    zone = m.zone
    slack = timedelta(days=3 + (0 if m.roll is Roll.NONE else 7 + len(m.holidays)))
    lo = start.astimezone(zone).replace(tzinfo=None) - slack
    hi = end.astimezone(zone).replace(tzinfo=None) + slack
    rule = _rule(m.rrule, _nominal(r), zone.key)
    seen: datetime | None = None
    for wall in rule.xafter(lo, inc=True):
        if wall > hi:
            break
        moment = _place(wall, m, zone)
        if start <= moment <= end and moment != seen:  # two rolled onto one day: once
            seen = moment
            yield moment


def next_occurrences(r: Resolved, after: datetime, count: int) -> list[datetime]:
    """Up to ``count`` occurrences at or after ``after`` (a plain milestone: its ``at``)."""
    m = r.milestone
    if m.rrule is None:
        return [r.at] if r.at >= after else []
    zone = m.zone
    rule = _rule(m.rrule, _nominal(r), zone.key)
    lo = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=10 + len(m.holidays))
    out: list[datetime] = []
    for wall in rule.xafter(lo, inc=True):
        moment = _place(wall, m, zone)
        if moment >= after and (not out or moment != out[-1]):
            out.append(moment)
            if len(out) >= count:
                break
    return out


# -- plan ---------------------------------------------------------------------------
def plan(
    config: Config,
    start: datetime,
    end: datetime,
    *,
    resolved: dict[str, Resolved] | None = None,
) -> list[Reminder]:
    """Every reminder with ``start <= due_at < end``, by (due_at, milestone id, offset order).

    ``due_at = offset.subtract_from(occurrence)``; cancelled and done milestones
    give none. Pass ``resolved`` to reuse an earlier :func:`resolve`.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("plan() needs aware start and end")
    if resolved is None:
        resolved = resolve(config)
    return _plan(config, start, end, resolved)


def _plan(
    config: Config, start: datetime, end: datetime, resolved: dict[str, Resolved]
) -> list[Reminder]:
    start_ts, end_ts = start.timestamp(), end.timestamp()
    keyed: list[tuple[float, str, float, int, Reminder]] = []
    append = keyed.append
    # Keyed by identity: hashing tuples of Durations costs more than the lookup saves;
    # the tuples are kept alongside so that their ids stay valid.
    specs: dict[tuple[int, int], _Spec] = {}
    cancelled, done = MilestoneStatus.CANCELLED, MilestoneStatus.DONE
    for m in config.milestones:
        if m.status is cancelled or m.status is done or not (m.remind or m.escalate):
            continue
        key = (id(m.remind), id(m.escalate))
        cached = specs.get(key)
        if cached is None:
            cached = specs[key] = _Spec.of(m.remind, m.escalate, start_ts, end_ts)
        spec = cached.rungs
        r = resolved[m.id]
        occs: Iterator[datetime] | tuple[datetime, ...]
        if m.rrule is None:
            at_ts = r.at.timestamp()
            if not cached.lo <= at_ts < cached.hi:
                continue  # no rung reaches the window: most of a long config
            reach = any(start_ts - s.margin <= at_ts - s.approx < end_ts + s.margin for s in spec)
            occs = (r.at,) if reach else ()
        else:
            # occurrence = due + offset: widen the window by each offset's rough
            # length and error; the exact due-time test below has the last word.
            lo = start + timedelta(seconds=min(s.approx - s.margin for s in spec))
            hi = end + timedelta(seconds=max(s.approx + s.margin for s in spec))
            occs = occurrences(r, lo, hi)
        for occ in occs:
            occ_utc = occ.astimezone(UTC)
            occ_ts = occ_utc.timestamp()
            for s in spec:
                if s.offset.months:
                    due = s.offset.subtract_from(occ)
                    due_ts = due.timestamp()
                    if not start_ts <= due_ts < end_ts:
                        continue
                else:
                    # Duration.subtract_from inlined for the hot loop (the daemon
                    # replans often): ``aware - timedelta`` is wall-clock arithmetic
                    # with fold=0, and the UTC round trip resolves a gap exactly as
                    # localize() does; then exact seconds.
                    utc = (occ - s.days).astimezone(UTC) if s.days else occ_utc
                    if s.seconds:
                        utc = utc - s.seconds
                    due_ts = utc.timestamp()
                    if not start_ts <= due_ts < end_ts:
                        continue
                    due = utc.astimezone(occ.tzinfo)
                append((due_ts, m.id, occ_ts, s.index, s.reminder(m, occ, due)))
    # The tuples sort on their key fields alone: two alerts never tie on all four
    # (same milestone, occurrence and rung), so the Reminder is never compared.
    keyed.sort()
    return [k[4] for k in keyed]


@dataclass(frozen=True, slots=True)
class _Spec:
    """One ``remind``/``escalate`` pair's rungs for one window, with the instants a
    plain occurrence must fall within for any rung to reach the window (the union of
    each rung's rough test in :func:`_plan`): one test rejects most milestones."""

    remind: object  # kept so that the ids in the cache key stay valid
    escalate: object
    rungs: tuple[Rung, ...]
    lo: float
    hi: float

    @classmethod
    def of(
        cls,
        remind: tuple[Duration, ...],
        escalate: tuple[Escalation, ...],
        start_ts: float,
        end_ts: float,
    ) -> _Spec:
        rungs = ladder(remind, escalate)
        # A second wider than the rungs' tests, which have the last word (rounding).
        lo = min((start_ts - s.margin + s.approx for s in rungs), default=0.0) - 1.0
        hi = max((end_ts + s.margin + s.approx for s in rungs), default=0.0) + 1.0
        return cls(remind, escalate, rungs, lo, hi)


# -- explain ------------------------------------------------------------------------
def explain(
    config: Config,
    milestone_id: str,
    *,
    now: datetime | None = None,
    count: int = 5,
    resolved: dict[str, Resolved] | None = None,
) -> Explanation:
    """How ``milestone_id``'s date was computed, its next occurrences and reminders.

    Occurrences are listed from ``now`` (recurring milestones), else from the
    first one. Raises :class:`NotFoundError` with a did-you-mean hint.
    """
    if resolved is None:
        resolved = resolve(config)
    r = resolved.get(milestone_id)
    if r is None:
        raise NotFoundError(_unknown_message(milestone_id, list(resolved)))
    m = r.milestone
    chain: list[Resolved] = []
    cursor = r
    while cursor.milestone.after is not None and len(chain) < _EXPLAIN_ANCESTORS:
        cursor = resolved[cursor.milestone.after]
        chain.append(cursor)
    steps: list[str] = []
    if cursor.milestone.after is not None:
        steps.append(f"… {cursor.milestone.id} is itself after {cursor.milestone.after}")
    for ancestor in reversed(chain):
        steps.extend(ancestor.steps)
    steps.extend(r.steps)
    origin = now if now is not None and m.rrule is not None else r.at
    occs = tuple(next_occurrences(r, origin, count)) if m.rrule else (r.at,)
    reminders: tuple[Reminder, ...] = ()
    if occs and m.status not in _INACTIVE:
        reminders = tuple(occurrence_alerts(m, occs[0]))
    if m.status in _INACTIVE:
        steps.append(f"status {m.status.value}: no reminders are sent")
    return Explanation(m, r.at, tuple(steps), occs, reminders)


def _unknown_message(wanted: str, known: list[str]) -> str:
    close = difflib.get_close_matches(wanted, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no milestone {wanted!r}{hint}"
