"""Bringing the stored deliveries in line with a config: the whole horizon, or after a
reload only the milestones it changed (:mod:`scheduler.replan`).

The service calls :meth:`Reconciler.reconcile` at start, on each reload and at the
hourly refill; the planning runs off the event loop, the store calls on the database
executor.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import chain
from operator import attrgetter

from scheduler.db.notify import Wakeup
from scheduler.delivery.values import DbCall
from scheduler.digests import AckLookup, plan_digests
from scheduler.dispatcher import Dispatcher
from scheduler.gc_pause import gc_paused
from scheduler.logs import fields
from scheduler.model import DEFAULT_CATCH_UP, AlertKind, Config, DeliveryStatus, Reminder
from scheduler.moves import (
    cancelled_by_move,
    changed_instants,
    detect_moves,
    lookback_of,
    notice_deliveries,
    told_by,
    why_moved,
)
from scheduler.planning import Resolved, plan, resolve
from scheduler.reconcile import (
    PlannedDelivery,
    Window,
    plan_deliveries,
    reconcile,
    reconcile_window,
)
from scheduler.replan import Followers, changes, followers_of, plan_changed
from scheduler.store import DeliveryRow, Store
from scheduler.widest import Reach

log = logging.getLogger("tminus.daemon")
_CATCH_UP = attrgetter("catch_up")


class Scope(enum.StrEnum):
    """How much a reconcile planned again (the ``scope`` of its log line)."""

    ALL = "all"  # the whole horizon: a start, a refill, or a reload that changed more
    CHANGED = "changed"  # a reload: only the milestones it changed, and the digests


def _plan_in_bulk(
    config: Config, start: datetime, end: datetime, acknowledged: AckLookup
) -> tuple[dict[str, Resolved], list[Reminder], Reach, Followers]:
    """Reminders, escalations and digest fires of a horizon, with the instants resolved
    and the milestones' reach and ``after`` edges counted (which a reload then updates,
    not recounts).
    Planning it allocates millions of acyclic values: the daemon, which owns the process,
    pauses the cyclic collector for it (see :mod:`scheduler.gc_pause`)."""
    with gc_paused():
        resolved = resolve(config)
        reminders = plan(config, start, end, resolved=resolved)
        digests = plan_digests(config, start, end, resolved=resolved, acknowledged=acknowledged)
        reach, followers = Reach.of(config.milestones), followers_of(config.milestones)
        return resolved, reminders + digests, reach, followers


class Reconciler:
    """The store's deliveries against the plan, remembering the config last reconciled."""

    def __init__(self, *, store: Store, db: DbCall, dispatcher: Dispatcher) -> None:
        self._store = store
        self._db = db
        self._dispatcher = dispatcher
        # The config last reconciled and its instants: a reload compares against them to
        # find the few milestones that changed (None at start: ask the store).
        self._config: Config | None = None
        self._resolved: dict[str, Resolved] | None = None
        self._followers: Followers | None = None  # its ``after`` edges
        self._reach: Reach | None = None  # its widest catch-up and longest offset, counted

    async def reconcile(
        self, config: Config, *, now: datetime, acknowledged: AckLookup, changed_only: bool
    ) -> None:
        """Reconcile ``config``; with ``changed_only`` (a reload), only what changed since
        the config last reconciled when that is all that changed."""
        started = time.monotonic()
        raw = await self._db(self._store.get_meta, "planned_through")
        planned_through = datetime.fromisoformat(raw) if raw else None
        found = None
        if (
            changed_only
            and self._config is not None
            and self._resolved is not None
            and self._reach is not None
            and planned_through is not None
            and planned_through > now
        ):
            found = await asyncio.to_thread(
                changes, self._config, config, self._resolved, self._followers
            )
        try:
            if found is None:
                stored = await self._db(self._store.open_deliveries)
                held = [r.due_at for r in stored.values() if r.status is DeliveryStatus.HELD]
                window = _window(config, now, planned_through, min(held, default=None))
                resolved, reminders, reach, followers = await asyncio.to_thread(
                    _plan_in_bulk, config, window.start, window.end, acknowledged
                )
                longest = reach.after([], [])[1]
                changed = None
                old: Mapping[str, Resolved] | None = self._resolved
            else:
                assert self._reach is not None and planned_through is not None
                ids = found.reconciled_ids(config)
                stored = await self._db(self._store.open_deliveries_of, ids)
                held_since = await self._db(self._store.earliest_held)
                gone = [was for was, _ in found.pairs if was is not None]
                came = [now_ for _, now_ in found.pairs if now_ is not None]
                widest, longest = self._reach.after(gone, came)
                catch_ups = chain(
                    [] if widest is None else [widest], map(_CATCH_UP, config.digests)
                )
                # The horizon stays where the last full reconcile put it (the refill moves it).
                start = reconcile_window(
                    now=now,
                    planned_through=planned_through,
                    catch_ups=catch_ups,
                    default_catch_up=DEFAULT_CATCH_UP,
                    held_since=held_since,
                ).start
                window = Window(start=start, end=planned_through)
                resolved, reach, followers = found.resolved, self._reach, found.followers
                reminders = await asyncio.to_thread(
                    plan_changed, config, found, window.start, window.end, acknowledged
                )
                changed, old = found.affected, found.before()
            planned = plan_deliveries(reminders)
            notices = await self._moved_notices(
                config,
                resolved,
                stored,
                now=now,
                since=window.start,
                old=old,
                changed=changed,
                lookback=lookback_of(longest),
            )
            actions = reconcile(
                planned,
                stored,
                now=now,
                window_start=window.start,
                window_end=window.end,
                planned_through=planned_through,
                moved=cancelled_by_move(resolved),
            )
            actions.notices = notices
            await self._db(self._store.apply, actions, now=now)
        except BaseException:
            if found is not None:  # nothing applied: the instants stay those of before
                found.undo()
            raise
        if found is not None:
            reach.move(gone, came)
        self._config, self._resolved, self._reach = config, resolved, reach
        self._followers = followers
        by_id = {p.id: p.due_at for p in planned}
        if changed is None:
            await self._db(self._store.set_meta, "planned_through", window.end.isoformat())
            self._dispatcher.set_plan(by_id, since=window.start)
        else:
            self._dispatcher.patch_plan(by_id, replaced=stored.keys(), since=window.start)
        log.info(
            "reconciled",
            extra=fields(
                scope=(Scope.ALL if changed is None else Scope.CHANGED).value,
                changed=None if changed is None else len(changed),
                planned=len(planned),
                inserted=len(actions.insert),
                cancelled=len(actions.cancel),
                moved_notices=len(notices),
                skipped=len(actions.skip),
                ms=round((time.monotonic() - started) * 1000),
            ),
        )
        await self._dispatcher.arm()
        if actions.insert:  # other replicas re-arm their timers now, not at their sweep
            await self._db(self._store.notify, Wakeup.WORK)

    async def _moved_notices(
        self,
        config: Config,
        resolved: dict[str, Resolved],
        stored: dict[str, DeliveryRow],
        *,
        now: datetime,
        since: datetime,
        old: Mapping[str, Resolved] | None,
        changed: frozenset[str] | None,
        lookback: timedelta,
    ) -> list[PlannedDelivery]:
        """The ``milestone.moved`` deliveries owed for this config (SPEC "Moved deadlines").

        A reload looks only at milestones whose instants changed since the last
        reconcile (among ``changed``, when the reload says which changed); at start, the
        previous config is unknown and the store's sent deliveries (their snapshots hold
        the occurrences told) are compared with all.
        """
        ids: set[str] | None = None
        if old is not None and changed is not None:
            ids = changed_instants(
                {mid: old[mid] for mid in changed if mid in old},
                {mid: resolved[mid] for mid in changed if mid in resolved},
            )
        elif old is not None:
            # One key per milestone (0.1 s for 100,000): off the loop, which sends on time.
            ids = await asyncio.to_thread(changed_instants, old, resolved)
        if ids is not None and not ids:
            return []
        sent = await self._db(self._store.sent_since, due_from=since - lookback, milestone_ids=ids)
        notices = [
            row
            for row in stored.values()
            if row.snapshot.kind is AlertKind.MOVED and (ids is None or row.milestone_id in ids)
        ]
        told = [told_by(row) for row in [*sent, *notices]]
        moves = detect_moves(told, resolved, channels=config.channels.keys(), since=since)
        moved = {move.milestone.id for move in moves}
        why = {mid: why_moved(mid, resolved, old, moved) for mid in moved}
        for move in moves:
            log.info(
                "milestone moved",
                extra=fields(
                    milestone=move.milestone.id,
                    channel=move.channel,
                    was=move.was.isoformat(),
                    now=move.now.isoformat(),
                    why=why[move.milestone.id] or None,
                ),
            )
        return notice_deliveries(moves, noticed_at=now, why=why)


def _window(
    config: Config, now: datetime, planned_through: datetime | None, held: datetime | None
) -> Window:
    return reconcile_window(
        now=now,
        planned_through=planned_through,
        catch_ups=chain(map(_CATCH_UP, config.milestones), map(_CATCH_UP, config.digests)),
        default_catch_up=DEFAULT_CATCH_UP,
        held_since=held,
    )
