"""The application service of ``tminus run``: the config in force, reloads and
reconciliation, and what the HTTP surface asks of the running daemon (``AppState``).

The daemon builds one :class:`Service` from its long-lived resources and hands it
to the HTTP app; nothing here creates a resource, starts a timer or handles a signal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from scheduler.acknowledgements import Acknowledgements
from scheduler.config import load_config
from scheduler.db.notify import Wakeup
from scheduler.delivery.channels import install
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DeliveryPolicy, is_grouped
from scheduler.delivery.values import DbCall
from scheduler.digests import AckLookup, no_acknowledgements, plan_digests, with_digests
from scheduler.dispatcher import Dispatcher
from scheduler.errors import ConfigError, TminusError
from scheduler.gc_pause import gc_paused
from scheduler.logs import fields, ordered_secrets
from scheduler.metrics import Metrics
from scheduler.model import DEFAULT_CATCH_UP, AlertKind, Channel, Config, DeliveryStatus, Reminder
from scheduler.moves import (
    cancelled_by_move,
    changed_instants,
    detect_moves,
    notice_deliveries,
    told_by,
    told_lookback,
    why_moved,
)
from scheduler.notify.base import Notifier
from scheduler.planning import Resolved, plan, resolve
from scheduler.reconcile import (
    PlannedDelivery,
    plan_deliveries,
    reconcile,
    reconcile_window,
)
from scheduler.settings import Settings
from scheduler.store import DeliveryRow, Store

log = logging.getLogger("tminus.daemon")
T = TypeVar("T")

HEARTBEAT_STALE = 10.0  # seconds without a heartbeat before /healthz says the loop is stuck


async def load(path: Path, metrics: Metrics) -> Config | None:
    """Read and validate the config; log every problem and count a failed load."""
    try:
        config = await asyncio.to_thread(load_config, path)
    except ConfigError as exc:
        metrics.record_reload(ok=False)
        for problem in exc.problems:
            log.error("config error", extra=fields(problem=str(problem)))
        return None
    except TminusError as exc:
        metrics.record_reload(ok=False)
        log.error("config error", extra=fields(problem=str(exc)))
        return None
    return config


def _plan_in_bulk(
    config: Config, start: datetime, end: datetime, acknowledged: AckLookup
) -> tuple[dict[str, Resolved], list[Reminder]]:
    """Reminders, escalations and digest fires of a horizon, with the instants resolved.
    Planning it allocates millions of acyclic values: the daemon, which owns the process,
    pauses the cyclic collector for it (see :mod:`scheduler.gc_pause`)."""
    with gc_paused():
        resolved = resolve(config)
        reminders = plan(config, start, end, resolved=resolved)
        digests = plan_digests(config, start, end, resolved=resolved, acknowledged=acknowledged)
        return resolved, reminders + digests


class Service:
    """The running daemon as its callers see it: HTTP handlers, signals, timers."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Callable[[], datetime],
        metrics: Metrics,
        store: Store,
        db: DbCall,
        pipeline: Pipeline,
        dispatcher: Dispatcher,
        policy: DeliveryPolicy,
        make_notifier: Callable[[Channel], Notifier],
        store_problem: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.store: Store | None = store
        self._db = db
        self._pipeline = pipeline
        self._dispatcher = dispatcher
        self._policy = policy
        self._make_notifier = make_notifier
        self._store_problem = store_problem
        self.config_in_force: Config | None = None
        # The instants of the config last reconciled: a reload compares against them to
        # find the few milestones that may have moved (None at start: ask the store).
        self._resolved: dict[str, Resolved] | None = None
        # What digests show as acknowledged: (milestone id, occurrence) -> {by, at, note}
        # or None. Called on the planning thread, so it must not touch the database:
        # whoever stores acknowledgements sets a lookup over a snapshot read beforehand
        # (and reconciles again when one changes, so digests already planned refresh).
        self.acknowledged: AckLookup = no_acknowledgements
        self._ready_reason: str | None = "loading the config"
        self._heartbeat = time.monotonic()
        self._reload_lock = asyncio.Lock()
        self._stopping = False
        self._secrets: tuple[str, ...] = ordered_secrets(self._settings_secrets())
        # Set by the daemon once built (it needs the dispatcher and this service).
        self.acks: Acknowledgements | None = None

    # -- AppState for the HTTP surface ----------------------------------------
    @property
    def api_token(self) -> str | None:
        return self.settings.api_token

    def db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Any:
        """Run a synchronous store call on the daemon's database executor."""
        return self._db(fn, *args, **kwargs)

    def config(self) -> Config | None:
        return self.config_in_force

    def now(self) -> datetime:
        return self.clock()

    def ready_reason(self) -> str | None:
        """Why the daemon is not ready: loading or stopping, else the last store probe's
        finding (``scheduler.health``); the HTTP app also pings the database itself."""
        return self._ready_reason or self._store_problem()

    def set_ready_reason(self, reason: str | None) -> None:
        self._ready_reason = reason

    def beat(self) -> None:
        """The heartbeat: the loop and the scheduler are alive."""
        self._heartbeat = time.monotonic()

    def loop_alive(self) -> bool:
        return time.monotonic() - self._heartbeat < HEARTBEAT_STALE

    async def redeliver(self, delivery_id: str) -> DeliveryRow:
        """Queue a finished delivery again (same id) and wake the dispatcher."""
        assert self.store is not None
        row: DeliveryRow = await self._db(self.store.redeliver, delivery_id, now=self.clock())
        log.info("delivery queued again", extra=fields(delivery=delivery_id, channel=row.channel))
        await self._dispatcher.kick()
        await self._db(self.store.notify, Wakeup.WORK)
        return row

    def upcoming(self, within: timedelta) -> list[Reminder]:
        config = self.config_in_force
        if config is None:
            return []
        now = self.clock()
        resolved = resolve(config)
        reminders = plan(config, now, now + within, resolved=resolved)
        return with_digests(reminders, plan_digests(config, now, now + within, resolved=resolved))

    def calendar(self) -> bytes:
        from scheduler.ics import to_ics

        config = self.config_in_force
        if config is None:
            return b""
        return to_ics(config, now=self.clock())

    # -- secrets --------------------------------------------------------------
    def secrets(self) -> tuple[str, ...]:
        """What the log redactor hides now: every configured secret in force (both
        configs' while a reload switches over) and the API token."""
        return self._secrets

    def _settings_secrets(self) -> list[str]:
        links = self.settings.ack_links()  # the key may come from a file
        found = [self.settings.api_token, self.settings.secret_key, links and links.key]
        return [str(s) for s in found if s]

    def _use_secrets(self, *configs: Config | None) -> None:
        found = self._settings_secrets()
        for config in configs:
            for channel in config.channels.values() if config is not None else ():
                found.extend(channel.secrets())
        self._secrets = ordered_secrets(found)

    # -- config ---------------------------------------------------------------
    def stop(self) -> None:
        """No more reloads or refills (the daemon is stopping)."""
        self._stopping = True
        self._ready_reason = "stopping"

    async def reload(self, why: str) -> bool:
        """Load the config again; keep the running one if the new one is invalid."""
        if self._stopping:
            return False
        log.info("reloading config", extra=fields(trigger=why))
        async with self._reload_lock:
            config = await load(Path(self.settings.config), self.metrics)
            if config is None:
                log.error("config rejected: the previous config stays in force")
                return False
            try:
                await self.apply(config, first=False)
            except Exception as exc:
                # E.g. the database was locked or unreachable: nothing was switched over.
                self.metrics.record_reload(ok=False)
                self._use_secrets(self.config_in_force)
                log.error(
                    "config could not be applied: the previous config stays in force",
                    extra=fields(error=f"{type(exc).__name__}: {exc}"),
                )
                return False
            return True

    async def apply(self, config: Config, *, first: bool) -> None:
        """Reconcile the store with ``config``, then switch channels and the config over.

        If reconciling fails, nothing has been switched and the caller keeps the old one.
        """
        self._use_secrets(self.config_in_force, config)
        await self.reconcile(config)
        await self._install_channels(config)
        self._use_secrets(config)
        self.config_in_force = config
        if first:  # claims waited for the channels (the daemon's ``may_claim``)
            await self._dispatcher.kick()
        # Claim far enough ahead that a chat channel's whole group window arrives together.
        windows = [c.group_window for c in config.channels.values() if is_grouped(c)]
        self._dispatcher.ahead = self._policy.lookahead + max(windows, default=timedelta(0))
        self.metrics.set_milestones_loaded(len(config.milestones))
        self.metrics.record_reload(ok=True)
        if not first:
            assert self.store is not None
            await self._db(self.store.notify, Wakeup.RELOAD)
        log.info(
            "config loaded" if first else "config reloaded",
            extra=fields(
                milestones=len(config.milestones),
                channels=len(config.channels),
                sources=",".join(config.sources) or None,
            ),
        )

    async def _install_channels(self, config: Config) -> None:
        assert self.store is not None
        states = await self._db(self.store.channel_states)
        installed = install(
            config.channels,
            current=self._pipeline.channels,
            states=states,
            make_notifier=self._make_notifier,
        )
        for name in installed.re_enabled:
            await self._db(self.store.enable_channel, name)
            log.warning("channel re-enabled: its config changed", extra=fields(channel=name))
        for name, reason in installed.disabled.items():
            if self._pipeline.channels.get(name) is not installed.runtimes[name]:
                log.error(
                    "channel is disabled until its config changes",
                    extra=fields(channel=name, reason=reason),
                )
        self._pipeline.set_channels(installed.runtimes)
        self.metrics.set_disabled_channels(installed.disabled, known=installed.runtimes)

    async def reconcile(self, config: Config) -> None:
        """Bring the stored deliveries in line with the plan for the horizon."""
        assert self.store is not None
        now = self.clock()
        raw = await self._db(self.store.get_meta, "planned_through")
        planned_through = datetime.fromisoformat(raw) if raw else None
        stored = await self._db(self.store.open_deliveries)
        held = [r.due_at for r in stored.values() if r.status is DeliveryStatus.HELD]
        window = reconcile_window(
            now=now,
            planned_through=planned_through,
            catch_ups=[m.catch_up for m in config.milestones]
            + [d.catch_up for d in config.digests],
            default_catch_up=DEFAULT_CATCH_UP,
            held_since=min(held, default=None),
        )
        started = time.monotonic()
        resolved, reminders = await asyncio.to_thread(
            _plan_in_bulk, config, window.start, window.end, self.acknowledged
        )
        planned = plan_deliveries(reminders)
        notices = await self._moved_notices(config, resolved, stored, now=now, since=window.start)
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
        await self._db(self.store.apply, actions, now=now)
        self._resolved = resolved
        await self._db(self.store.set_meta, "planned_through", window.end.isoformat())
        self._dispatcher.set_plan({p.id: p.due_at for p in planned}, since=window.start)
        log.info(
            "reconciled",
            extra=fields(
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
            await self._db(self.store.notify, Wakeup.WORK)

    async def _moved_notices(
        self,
        config: Config,
        resolved: dict[str, Resolved],
        stored: dict[str, DeliveryRow],
        *,
        now: datetime,
        since: datetime,
    ) -> list[PlannedDelivery]:
        """The ``milestone.moved`` deliveries owed for this config (SPEC "Moved deadlines").

        A reload looks only at milestones whose instants changed since the last
        reconcile; at start, the previous config is unknown and the store's sent
        deliveries (their snapshots hold the occurrences told) are compared with all.
        """
        assert self.store is not None
        old = self._resolved
        # One key per milestone (0.1 s for 100,000): off the loop, which sends on time.
        ids = None if old is None else await asyncio.to_thread(changed_instants, old, resolved)
        if ids is not None and not ids:
            return []
        sent = await self._db(
            self.store.sent_since, due_from=since - told_lookback(config), milestone_ids=ids
        )
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

    async def refresh_digests(self) -> None:
        """Plan again when the config has digests, so fires already planned list what
        changed (an acknowledgement); without digests nothing planned shows it."""
        config = self.config_in_force
        if config is not None and config.digests:
            await self.refill()

    async def refill(self) -> None:
        """The hourly top-up of the horizon."""
        async with self._reload_lock:
            if self.config_in_force is not None and not self._stopping:
                await self.reconcile(self.config_in_force)
