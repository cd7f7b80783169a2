"""Resolving: each milestone's instant, following ``after:`` chains (rules 1-3 of
:mod:`scheduler.planning`), and the steps ``explain`` prints. Pure: no clock, no I/O.

The daemon keeps one :class:`Resolved` per milestone for as long as it runs (a reload
compares the instants), so the value is kept small: the instant, the nominal wall time
only where it differs, and a reference to the base; the steps are written on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from scheduler.business_days import roll_date, roll_note
from scheduler.frozen import builder
from scheduler.model import Config, Milestone, Roll
from scheduler.timekeeping import dst_note, format_instant, format_point, localize


@dataclass(frozen=True, slots=True)
class Resolved:
    """A milestone with its instant; :attr:`steps` tells how it got there.

    ``at`` is aware, in the milestone's own zone, after offset and rolling.
    ``wall`` is the nominal wall time (offset applied, before DST resolution and
    rolling) when it differs from ``at``'s (``None``: the wall time of ``at``):
    recurring milestones generate their occurrences from it. One of these stays in
    memory per milestone while the daemon runs, so it holds no text: ``steps`` are
    written when asked for, from the milestone and its ``base`` (the resolved
    milestone it is ``after``).
    """

    milestone: Milestone
    at: datetime
    wall: datetime | None = field(default=None, compare=False)
    base: Resolved | None = field(default=None, compare=False, repr=False)

    @property
    def steps(self) -> tuple[str, ...]:
        """The human steps that produced ``at`` (``explain``)."""
        return _steps(self)


_new_resolved = builder(Resolved)  # one per milestone: see scheduler.frozen


def resolve(config: Config) -> dict[str, Resolved]:
    """Resolve every milestone's instant, ``after:`` chains in dependency order.

    Iterative, so chains of any depth work. Unknown targets and cycles (which
    the config loader already reports with positions) raise ``ValueError``.
    """
    milestones = config.milestones
    # The index is only read to follow an ``after`` (a million entries cost 0.2 s).
    chained = any(m.after is not None for m in milestones)
    return resolve_into({}, milestones, {m.id: m for m in milestones} if chained else {})


def resolve_into(
    done: dict[str, Resolved], roots: Iterable[Milestone], by_id: Mapping[str, Milestone]
) -> dict[str, Resolved]:
    """Resolve ``roots`` (and what their chains need) into ``done``, which may already
    hold milestones resolved before (an incremental reload keeps the unchanged ones)."""
    for root in roots:
        if root.id in done:
            continue
        if root.after is None:  # most milestones: no chain to follow
            done[root.id] = _resolve_one(root, None)
            continue
        stack = [root]
        pending = {root.id}
        while stack:
            top = stack[-1]
            target = top.after
            if target is not None and target not in done:
                base = by_id.get(target)
                if base is None:
                    raise ValueError(f"milestone {top.id!r}: unknown milestone {target!r} in after")
                if target in pending:
                    raise ValueError(f"milestone {top.id!r}: after: chain loops back to {target!r}")
                stack.append(base)
                pending.add(target)
                continue
            stack.pop()
            pending.discard(top.id)
            done[top.id] = _resolve_one(top, done[target] if target is not None else None)
    return done


def _resolve_one(m: Milestone, base: Resolved | None) -> Resolved:
    zone = m.zone
    at = m.at
    if base is None and m.roll is Roll.NONE and isinstance(at, datetime) and at.tzinfo is not None:
        # The common case, short: an instant as written, converted; its wall time is
        # its own and nothing rolls (what the general route below gives too).
        return _new_resolved(milestone=m, at=at.astimezone(zone))
    result, wall = _unrolled(m, base, zone)
    day = result.date()
    moved = roll_date(day, m)
    if moved != day:
        result = localize(datetime.combine(moved, result.replace(tzinfo=None).time()), zone)
    naive = result.replace(tzinfo=None)
    if wall == naive and wall.fold == naive.fold:
        return Resolved(milestone=m, at=result, base=base)
    return Resolved(milestone=m, at=result, wall=wall, base=base)


def _unrolled(m: Milestone, base: Resolved | None, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instant before rolling, and the nominal wall time."""
    if base is not None:
        origin = base.at.astimezone(zone)
        result = m.offset.add_to(origin)
        if (m.offset.months or m.offset.days) and not m.offset.seconds:
            return result, _calendar_wall(m, origin)
        return result, result.replace(tzinfo=None)
    if m.at is None:
        raise ValueError(f"milestone {m.id!r} has neither at nor after")
    if isinstance(m.at, datetime) and m.at.tzinfo is not None:
        result = m.at.astimezone(zone)
        return result, result.replace(tzinfo=None)
    wall = m.at if isinstance(m.at, datetime) else datetime.combine(m.at, time(0))
    return localize(wall, zone), wall


def _calendar_wall(m: Milestone, origin: datetime) -> datetime:
    wall: datetime = origin.replace(tzinfo=None) + relativedelta(
        months=m.offset.months, days=m.offset.days
    )
    return wall


def _steps(r: Resolved) -> tuple[str, ...]:
    """How ``r.at`` was computed, in words (the same computation as :func:`_resolve_one`)."""
    m, base = r.milestone, r.base
    zone = m.zone
    steps: list[str] = []
    result, wall = _unrolled(m, base, zone)
    if base is not None:
        origin = base.at.astimezone(zone)
        if base.at.utcoffset() != origin.utcoffset() or base.milestone.zone.key != zone.key:
            there, here = format_instant(base.at), format_instant(origin)
            steps.append(f"{base.milestone.id} {there} is {here} ({zone.key})")
        note = None
        if m.offset.months or m.offset.days:
            wall_cal = _calendar_wall(m, origin)
            note = dst_note(wall_cal, zone, localize(wall_cal, zone))
        if m.offset.is_zero:
            steps.append(f"same moment as {base.milestone.id}: {format_point(origin)}")
        else:
            sign, span = ("-", -m.offset) if m.offset.is_negative else ("+", m.offset)
            steps.append(
                f"{base.milestone.id} {format_point(origin)} {sign} {span.words()} "
                f"= {format_point(result)}"
            )
        if note:
            steps.append(note)
    elif isinstance(m.at, datetime) and m.at.tzinfo is not None:
        steps.append(f"{m.id} {m.at.isoformat()} is {format_instant(result)} ({zone.key})")
    else:
        steps.append(f"{m.id} {format_instant(result)} ({zone.key})")
        note = dst_note(wall, zone, result)
        if note:
            steps.append(note)
    day = result.date()
    moved = roll_date(day, m)
    if moved != day:
        steps.append(roll_note(day, moved, m))
    if base is not None or moved != day:
        steps.append(f"{m.id} {format_instant(r.at)} ({zone.key})")
    return tuple(steps)
