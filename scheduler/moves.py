"""Moved deadlines: what channels were told about a milestone's occurrences against
where the config puts them now, as ``milestone.moved`` notices (SPEC "Moved deadlines").

Pure: values in, values out. The daemon feeds :func:`detect_moves` with what the
store knows each channel was told (:class:`Told`: the sent reminders and escalations
of an occurrence, and the moved notices already inserted) for the milestones whose
instants may have changed, and inserts the notices it returns (their ids are
deterministic, so two replicas reconciling the same change insert one row).

The rules:

* a channel *knows* an occurrence once a reminder or an escalation of it was sent
  there; a moved notice from A to B replaces A by B in what it knows (notices apply
  in the order they were made, so a move and its reversal cancel out);
* a known occurrence the milestone no longer has moved: it is paired with the
  milestone's nearest occurrence now (within a year either way), one the channel does
  not already know, and the channel gets one notice "was A, now B";
* a milestone that left the config, or is cancelled or done, did not move: its
  reminders are cancelled as removed, and nobody is told it moved;
* a move where both instants lie before ``since`` (a recurring milestone's past
  occurrences, shifted by an edit of its rule) is history, not news;
* the notice goes only to a channel the config still defines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from scheduler.model import (
    ZERO,
    AlertKind,
    Config,
    Milestone,
    MilestoneStatus,
    Reminder,
    delivery_id,
)
from scheduler.planning import Resolved, occurrences
from scheduler.reconcile import MAX_LOOKBACK, PlannedDelivery, plan_deliveries
from scheduler.snapshot import Snapshot
from scheduler.timekeeping import iso_exact, utc_iso_micro

# How far from a vanished occurrence its replacement is looked for (recurring milestones).
PAIRING_REACH = timedelta(days=366)
_INACTIVE = frozenset({MilestoneStatus.CANCELLED, MilestoneStatus.DONE})


@dataclass(frozen=True, slots=True)
class Told:
    """One thing a channel was told about an occurrence (from one stored delivery).

    ``was`` is set for a moved notice: the occurrence it replaced by ``occurrence``.
    ``at`` orders notices (their due time: when the move was noticed).
    """

    milestone_id: str
    channel: str
    occurrence: datetime  # aware
    kind: AlertKind
    at: datetime
    was: datetime | None = None


class StoredDelivery(Protocol):
    """What :func:`told_by` reads of a stored delivery (a ``DeliveryRow`` fits)."""

    @property
    def channel(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def snapshot(self) -> Snapshot: ...


def told_by(row: StoredDelivery) -> Told:
    """What one stored delivery told its channel (the caller picks sent rows, and
    moved notices of any open status)."""
    snap = row.snapshot
    was = None
    moved = snap.extra.get("moved") if snap.kind is AlertKind.MOVED else None
    if isinstance(moved, Mapping) and isinstance(moved.get("was"), str):
        was = datetime.fromisoformat(moved["was"])
    return Told(
        milestone_id=snap.milestone_id,
        channel=row.channel,
        occurrence=datetime.fromisoformat(snap.occurrence),
        kind=snap.kind,
        at=row.due_at,
        was=was,
    )


def cancelled_by_move(resolved: Mapping[str, Resolved]) -> Callable[[StoredDelivery], bool]:
    """For reconciliation: whether an unplanned open delivery is dropped because its
    occurrence moved (its milestone is still active and no longer has that occurrence)."""

    def moved(row: StoredDelivery) -> bool:
        r = resolved.get(row.snapshot.milestone_id)
        if r is None or r.milestone.status in _INACTIVE:
            return False
        return not still_occurs(r, datetime.fromisoformat(row.snapshot.occurrence))

    return moved


def told_lookback(config: Config) -> timedelta:
    """How long before an occurrence its earliest alert can fall due (the longest offset
    before it, with room for calendar months and DST), at most :data:`MAX_LOOKBACK`."""
    longest = 0.0
    seen: set[tuple[int, int]] = set()
    for m in config.milestones:
        if (id(m.remind), id(m.escalate)) not in seen:  # most share their file's defaults
            seen.add((id(m.remind), id(m.escalate)))
            offsets = [*m.remind, *(e.at for e in m.escalate)]
            longest = max([longest, *(o.approx_seconds() for o in offsets)])
    return lookback_of(longest)


def lookback_of(longest: float) -> timedelta:
    """:func:`told_lookback` from the longest offset in seconds (0 at least)."""
    return min(timedelta(seconds=longest) + timedelta(days=3), MAX_LOOKBACK)


def known_occurrences(told: Iterable[Told]) -> dict[tuple[str, str], set[datetime]]:
    """(milestone, channel) -> the occurrences that channel knows about, as UTC instants."""
    known: dict[tuple[str, str], set[datetime]] = {}
    notices: list[Told] = []
    for t in told:
        if t.kind is AlertKind.MOVED:
            notices.append(t)
        elif t.kind in (AlertKind.REMINDER, AlertKind.ESCALATION):
            known.setdefault((t.milestone_id, t.channel), set()).add(t.occurrence.astimezone(UTC))
    for t in sorted(notices, key=lambda n: n.at):
        occs = known.setdefault((t.milestone_id, t.channel), set())
        if t.was is not None:
            occs.discard(t.was.astimezone(UTC))
        occs.add(t.occurrence.astimezone(UTC))
    return known


def still_occurs(r: Resolved, occurrence: datetime) -> bool:
    """Whether ``occurrence`` is still one of the milestone's occurrences."""
    if r.milestone.rrule is None:
        return r.at == occurrence
    return any(True for _ in occurrences(r, occurrence, occurrence))


def nearest_occurrence(
    r: Resolved, old: datetime, *, exclude: Collection[datetime] = ()
) -> datetime | None:
    """The milestone's occurrence nearest to ``old`` (the later one on a tie), skipping
    ``exclude`` (UTC instants); ``None`` when there is none within a year."""
    if r.milestone.rrule is None:
        return None if r.at.astimezone(UTC) in exclude else r.at
    best: datetime | None = None
    for occ in occurrences(r, old - PAIRING_REACH, old + PAIRING_REACH):
        if occ.astimezone(UTC) in exclude:
            continue
        if best is None or abs(occ - old) <= abs(best - old):
            best = occ
        elif occ > old:
            break  # occurrences come in order: the rest are further away
    return best


@dataclass(frozen=True, slots=True)
class Move:
    """One moved notice owed: ``channel`` knew ``was``; the milestone is at ``now`` now."""

    milestone: Milestone
    channel: str
    was: datetime
    now: datetime

    def reminder(self, *, noticed_at: datetime, why: str) -> Reminder:
        """The ``milestone.moved`` alert, due when the move was noticed."""
        zone = self.milestone.zone
        extra = {
            "moved": {
                "was": iso_exact(self.was.astimezone(zone)),
                "now": iso_exact(self.now.astimezone(zone)),
                "why": why,
            }
        }
        return Reminder(
            milestone=self.milestone,
            occurrence=self.now.astimezone(zone),
            offset=ZERO,
            due_at=noticed_at.astimezone(zone),
            channels=(self.channel,),
            kind=AlertKind.MOVED,
            extra=MappingProxyType(extra),
        )


def detect_moves(
    told: Iterable[Told],
    resolved: Mapping[str, Resolved],
    *,
    channels: Collection[str],
    since: datetime,
) -> list[Move]:
    """Every moved notice owed, by milestone, channel and old occurrence."""
    out: list[Move] = []
    for (mid, channel), known in sorted(known_occurrences(told).items()):
        r = resolved.get(mid)
        if r is None or r.milestone.status in _INACTIVE or channel not in channels:
            continue
        for old in sorted(known):
            if still_occurs(r, old):
                continue
            new = nearest_occurrence(r, old, exclude=known)
            if new is None or max(old, new) < since:
                continue
            out.append(Move(r.milestone, channel, old, new))
    return out


def moved_reminder_id(milestone_id: str, was: datetime, now: datetime) -> str:
    """The identity of a moved notice: (milestone, old occurrence, new occurrence)."""
    parts = f"{milestone_id}\x1f{utc_iso_micro(was)}\x1f{utc_iso_micro(now)}\x1f{AlertKind.MOVED}"
    return f"rem_{hashlib.sha256(parts.encode()).hexdigest()[:24]}"


def notice_deliveries(
    moves: Iterable[Move], *, noticed_at: datetime, why: Mapping[str, str]
) -> list[PlannedDelivery]:
    """The deliveries of ``moves``: one per channel, ids from (milestone, old
    occurrence, new occurrence, channel), so every replica computes the same ones."""
    out: list[PlannedDelivery] = []
    for move in moves:
        reminder = move.reminder(noticed_at=noticed_at, why=why.get(move.milestone.id, ""))
        (planned,) = plan_deliveries([reminder])
        rid = moved_reminder_id(move.milestone.id, move.was, move.now)
        out.append(replace(planned, id=delivery_id(rid, move.channel), reminder_id=rid))
    return out


# -- why -------------------------------------------------------------------------------
def _definition(m: Milestone) -> tuple[object, ...]:
    return (m.at, m.after, m.offset, m.roll, m.holidays, m.weekend, m.rrule, m.timezone)


def instant_key(r: Resolved) -> tuple[object, ...]:
    """What decides a milestone's occurrences: equal keys, equal occurrences."""
    m = r.milestone
    return (r.at, m.rrule, m.roll, m.holidays, m.weekend, m.timezone, m.status)


def changed_instants(old: Mapping[str, Resolved], new: Mapping[str, Resolved]) -> set[str]:
    """Milestones in both whose occurrences may differ (cheap: one key per milestone)."""
    return {mid for mid, r in new.items() if mid in old and instant_key(old[mid]) != instant_key(r)}


def why_moved(
    mid: str,
    new: Mapping[str, Resolved],
    old: Mapping[str, Resolved] | None,
    moved: Collection[str] = (),
) -> str:
    """Why ``mid`` moved, in a few words: ``us-notice moved; withdrawal-effective follows
    it``, ``at changed``, ``offset changed``, ``roll``, ….

    With the previous config (a reload) the definitions are compared; without it (a
    restart) only a moved base can be named (``moved``: milestones seen moving).
    """
    m = new[mid].milestone
    if old is None or mid not in old:
        base = m.after
        root = None
        while base is not None and base in moved and base in new:
            root, base = base, new[base].milestone.after
        return f"{root} moved; {mid} follows it" if root else ""
    o = old[mid].milestone
    if _definition(o) == _definition(m) and m.after is not None:
        root = m.after
        while True:  # climb while the base itself only followed its own base
            here = new.get(root)
            before = old.get(root)
            if (
                here is None
                or before is None
                or _definition(here.milestone) != _definition(before.milestone)
            ):
                break
            if here.milestone.after is None:
                break
            root = here.milestone.after
        return f"{root} moved; {mid} follows it"
    parts = []
    for name, a, b in (
        ("at changed", o.at, m.at),
        ("after changed", o.after, m.after),
        ("offset changed", o.offset, m.offset),
        ("roll", (o.roll, o.holidays, o.weekend), (m.roll, m.holidays, m.weekend)),
        ("rrule changed", o.rrule, m.rrule),
        ("timezone changed", o.timezone, m.timezone),
    ):
        if a != b:
            parts.append(name)
    return ", ".join(parts)
