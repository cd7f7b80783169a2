"""Reconciliation: the planned deliveries against the stored ones, as a list of actions.

Pure: values in, values out, no clock and no database. The daemon calls
:func:`plan_deliveries` on the reminders of its horizon, reads the open
deliveries from the store, and hands both to :func:`reconcile`; the store then
applies the :class:`ReconcileActions` in one transaction.

The rules (SPEC "Reminder identity and delivery semantics"):

* planned, not stored, due in the future → insert ``scheduled``;
* planned, not stored, already due less than ``catch_up`` ago → insert
  ``scheduled`` with ``late``;
* planned, not stored, due ``catch_up`` or more ago → insert ``skipped`` only if it
  fell due after the ``planned_through`` watermark (missed while the daemon was
  down); otherwise nothing (a fresh database does not record 2019 as missed);
* stored ``scheduled``/``retrying`` in the window but not planned → ``cancelled``
  (the milestone moved or went away, or the channel is no longer listed);
* stored ``scheduled`` and overdue by ``catch_up`` or more → ``skipped``;
  overdue by less → marked ``late``;
* stored and planned → untouched, its snapshot refreshed only if it changed;
* digest fires already due are coalesced, as cron's catch-up and APScheduler's
  ``coalesce`` do: of one digest's past fires on a channel only the latest is sent
  (late, within ``catch_up``); the older ones are not inserted, and open rows of them
  are skipped (``coalesced``). A digest of every minute does not send sixty late
  messages after an hour down, and its latest list is the one worth reading.

A planned delivery that is not among the open stored rows may still exist as a
finished row (sent, dead, skipped, cancelled): the store inserts with "on
conflict", keeping finished rows as they are and reviving cancelled ones.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from scheduler.durations import Duration
from scheduler.model import AlertKind, DeliveryStatus, Reminder, delivery_id, reminder_id
from scheduler.snapshot import Snapshot

# A stored delivery due less than this before "now" is on time, not late: the
# timer that fires it may run a few milliseconds after the due instant.
LATE_GRACE = timedelta(seconds=1)

_OPEN = frozenset({DeliveryStatus.SCHEDULED, DeliveryStatus.HELD, DeliveryStatus.RETRYING})


class ReconcileReason(enum.StrEnum):
    """Why reconciliation decided what it did about one delivery (a log and metric label)."""

    NEW = "new"  # inserted scheduled: due in the future
    LATE = "late"  # inserted or marked late: due less than catch_up ago
    MISSED = "missed"  # inserted skipped: fell due while the daemon was down
    TOO_OLD = "too_old"  # not inserted: older than catch_up and not missed while down
    UNCHANGED = "unchanged"  # stored and planned alike
    REFRESHED = "refreshed"  # stored; its snapshot (title, description, …) changed
    REMOVED = "removed"  # cancelled: the reminder is no longer planned
    MOVED = "moved"  # cancelled: its occurrence moved (the milestone is still there)
    CHANNEL_REMOVED = "channel_removed"  # cancelled: the channel is no longer listed
    EXPIRED = "expired"  # stored scheduled, overdue by catch_up or more: skipped
    COALESCED = "coalesced"  # a past digest fire with a later one also past: skipped


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """One reminder to one channel, as the current config plans it."""

    id: str
    reminder_id: str
    milestone_id: str
    channel: str
    due_at: datetime
    catch_up: timedelta
    snapshot: Snapshot
    occurrence_at: datetime
    offset_iso: str
    label: str
    milestone_title: str


class StoredState(Protocol):
    """What reconciliation needs to know about a stored delivery (a ``DeliveryRow`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def late(self) -> bool: ...
    @property
    def snapshot(self) -> Snapshot: ...


@dataclass(slots=True)
class ReconcileActions:
    """What the store must do: inserts (with status and late flag), cancels, skips, refreshes."""

    insert: list[tuple[PlannedDelivery, DeliveryStatus, bool]] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    refresh: list[PlannedDelivery] = field(default_factory=list)
    late: list[str] = field(default_factory=list)  # stored scheduled rows now overdue
    reasons: dict[str, ReconcileReason] = field(default_factory=dict)
    # Event notices to insert once (moved deadlines): an existing row is left as it is.
    notices: list[PlannedDelivery] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.insert or self.cancel or self.skip or self.refresh or self.late or self.notices
        )

    def count(self, reason: ReconcileReason) -> int:
        return sum(1 for r in self.reasons.values() if r is reason)


def plan_deliveries(reminders: Iterable[Reminder]) -> list[PlannedDelivery]:
    """One planned delivery per reminder and channel, in the reminders' order."""
    out: list[PlannedDelivery] = []
    # Planning a large config repeats offsets: describe each once.
    offset_texts: dict[Duration, tuple[str, str]] = {}
    for r in reminders:
        m = r.milestone
        texts = offset_texts.get(r.offset) if r.kind is AlertKind.REMINDER else None
        if texts is None and r.kind is not AlertKind.REMINDER:
            texts = (r.offset.iso(), r.label)  # the label names the kind: not shared
        elif texts is None:
            texts = offset_texts[r.offset] = (r.offset.iso(), r.offset.label())
        offset_iso, label = texts
        rid = reminder_id(m.id, r.occurrence, r.offset, r.kind)
        snapshot = Snapshot.of(r, offset_iso=offset_iso, label=label)
        due = r.due_at.astimezone(UTC)
        occurrence = r.occurrence.astimezone(UTC)
        catch_up = m.catch_up  # 0 is a real value: send nothing late
        for channel in dict.fromkeys(r.channels):
            out.append(
                PlannedDelivery(
                    id=delivery_id(rid, channel),
                    reminder_id=rid,
                    milestone_id=m.id,
                    channel=channel,
                    due_at=due,
                    catch_up=catch_up,
                    snapshot=snapshot,
                    occurrence_at=occurrence,
                    offset_iso=offset_iso,
                    label=label,
                    milestone_title=m.title,
                )
            )
    return out


def reconcile(
    planned: Iterable[PlannedDelivery],
    stored: Mapping[str, StoredState],
    *,
    now: datetime,
    window_start: datetime,
    window_end: datetime,
    planned_through: datetime | None,
    channels: Collection[str] | None = None,
    moved: Callable[[StoredState], bool] | None = None,
) -> ReconcileActions:
    """Decide, for every planned and every open stored delivery, what the store must do.

    ``planned`` are the deliveries of the reminders due in
    ``[window_start, window_end)``; ``stored`` the open (scheduled, retrying,
    sending) rows, keyed by id. Stored rows outside the window are left alone,
    except ``scheduled`` rows due before it, which are overdue beyond any
    catch-up and are skipped. ``channels``, when given, names the configured
    channels, so that cancels of an unlisted channel say so; ``moved``, when given,
    tells the cancels whose occurrence moved (reason ``moved``, not ``removed``).
    """
    actions = ReconcileActions()
    planned = list(planned)
    coalesced = _coalesced(planned, now=now)
    seen: set[str] = set()
    for p in planned:
        if p.id in seen:
            continue
        seen.add(p.id)
        row = stored.get(p.id)
        if p.id in coalesced:
            if row is not None and row.status == DeliveryStatus.SCHEDULED:
                actions.skip.append(p.id)
            actions.reasons[p.id] = ReconcileReason.COALESCED
            continue
        if row is None:
            _decide_new(p, actions, now=now, planned_through=planned_through)
        else:
            _decide_stored(p, row, actions, now=now)

    for row in stored.values():
        if row.id in seen or DeliveryStatus(row.status) not in _OPEN:
            continue
        if not row.snapshot.kind.planned:  # an event notice: not the plan's to cancel
            continue
        if window_start <= row.due_at < window_end:
            actions.cancel.append(row.id)
            unlisted = channels is not None and row.channel not in channels
            reason = ReconcileReason.CHANNEL_REMOVED if unlisted else ReconcileReason.REMOVED
            if not unlisted and moved is not None and moved(row):
                reason = ReconcileReason.MOVED
            actions.reasons[row.id] = reason
        elif row.due_at < window_start and row.status == DeliveryStatus.SCHEDULED:
            actions.skip.append(row.id)
            actions.reasons[row.id] = ReconcileReason.EXPIRED
    return actions


def _coalesced(planned: list[PlannedDelivery], *, now: datetime) -> set[str]:
    """Past digest fires that a later past fire of the same digest and channel replaces."""
    latest: dict[tuple[str, str], PlannedDelivery] = {}
    past = [
        p for p in planned if p.snapshot.kind is AlertKind.DIGEST and p.due_at < now - LATE_GRACE
    ]
    for p in past:
        key = (p.milestone_id, p.channel)
        if key not in latest or p.due_at > latest[key].due_at:
            latest[key] = p
    return {p.id for p in past if latest[(p.milestone_id, p.channel)].id != p.id}


def _decide_new(
    p: PlannedDelivery,
    actions: ReconcileActions,
    *,
    now: datetime,
    planned_through: datetime | None,
) -> None:
    if p.due_at >= now:
        actions.insert.append((p, DeliveryStatus.SCHEDULED, False))
        actions.reasons[p.id] = ReconcileReason.NEW
    elif now - p.due_at < p.catch_up:
        actions.insert.append((p, DeliveryStatus.SCHEDULED, True))
        actions.reasons[p.id] = ReconcileReason.LATE
    elif planned_through is not None and p.due_at > planned_through:
        actions.insert.append((p, DeliveryStatus.SKIPPED, True))
        actions.reasons[p.id] = ReconcileReason.MISSED
    else:
        actions.reasons[p.id] = ReconcileReason.TOO_OLD


def _decide_stored(
    p: PlannedDelivery, row: StoredState, actions: ReconcileActions, *, now: datetime
) -> None:
    status = DeliveryStatus(row.status)
    if status == DeliveryStatus.SCHEDULED and p.due_at < now:
        overdue = now - p.due_at
        if overdue >= p.catch_up:
            actions.skip.append(p.id)
            actions.reasons[p.id] = ReconcileReason.EXPIRED
            return
        if overdue > LATE_GRACE and not row.late:
            actions.late.append(p.id)
            actions.reasons[p.id] = ReconcileReason.LATE
    if row.snapshot != p.snapshot or row.due_at != p.due_at:
        actions.refresh.append(p)
        actions.reasons.setdefault(p.id, ReconcileReason.REFRESHED)
    else:
        actions.reasons.setdefault(p.id, ReconcileReason.UNCHANGED)


@dataclass(frozen=True, slots=True)
class Window:
    """The span of due times one reconcile plans: ``[start, end)``."""

    start: datetime
    end: datetime


# How far ahead deliveries are materialised, and how far back a restart looks for
# reminders missed while the daemon was down.
HORIZON = timedelta(days=2)
MAX_LOOKBACK = timedelta(days=366)


def reconcile_window(
    *,
    now: datetime,
    planned_through: datetime | None,
    catch_ups: Iterable[timedelta],
    default_catch_up: timedelta,
    horizon: timedelta = HORIZON,
    max_lookback: timedelta = MAX_LOOKBACK,
    held_since: datetime | None = None,
) -> Window:
    """The window of a reconcile at ``now``.

    It starts at the widest ``catch_up`` before now (the default when there are no
    milestones), or further back at the ``planned_through`` watermark when the
    daemon was down longer (so what fell due meanwhile is recorded missed), or at
    ``held_since``, the earliest due time of a delivery quiet hours still hold (so a
    reload that removes or moves its milestone cancels it rather than leaving it to go
    out at the opening), but never more than ``max_lookback`` back; it ends
    ``horizon`` after now.
    """
    start = now - max(catch_ups, default=default_catch_up)
    for earlier in (planned_through, held_since):
        if earlier is not None and earlier < start:
            start = max(earlier, now - max_lookback)
    return Window(start=start, end=now + horizon)
