"""The application service of ``tminus run``: the config in force, reloads and
reconciliation, and what the HTTP surface asks of the running daemon (``AppState``).

The daemon builds one :class:`Service` from its long-lived resources and hands it
to the HTTP app; nothing here creates a resource, starts a timer or handles a signal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from scheduler.acknowledgements import Acknowledgements
from scheduler.config import load_config
from scheduler.config.incremental import IncrementalLoader
from scheduler.db.notify import Wakeup
from scheduler.delivery.channels import install
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DeliveryPolicy, is_grouped
from scheduler.delivery.values import DbCall
from scheduler.digests import AckLookup, no_acknowledgements, plan_digests, with_digests
from scheduler.dispatcher import Dispatcher
from scheduler.errors import ConfigError, TminusError
from scheduler.logs import fields, ordered_secrets
from scheduler.metrics import Metrics
from scheduler.model import Channel, Config, Reminder
from scheduler.notify.base import Notifier
from scheduler.planning import plan, resolve
from scheduler.reconciler import Reconciler
from scheduler.settings import Settings
from scheduler.store import DeliveryRow, Store

log = logging.getLogger("tminus.daemon")
T = TypeVar("T")

HEARTBEAT_STALE = 10.0  # seconds without a heartbeat before /healthz says the loop is stuck


async def load(
    path: Path, metrics: Metrics, loader: IncrementalLoader | None = None
) -> Config | None:
    """Read and validate the config; log every problem and count a failed load. With a
    ``loader``, what did not change since its last load is not validated again."""
    try:
        if loader is None:
            config = await asyncio.to_thread(load_config, path)
        else:
            config = await asyncio.to_thread(loader.load, path, env=os.environ)
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
        loader: IncrementalLoader | None = None,
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
        self.loader = loader or IncrementalLoader()
        self._reconciler = Reconciler(store=store, db=db, dispatcher=dispatcher)
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
            started = time.monotonic()
            config = await load(Path(self.settings.config), self.metrics, self.loader)
            if config is None:
                log.error("config rejected: the previous config stays in force")
                return False
            try:
                await self.apply(config, first=False, started=started)
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

    async def apply(self, config: Config, *, first: bool, started: float | None = None) -> None:
        """Reconcile the store with ``config``, then switch channels and the config over.

        If reconciling fails, nothing has been switched and the caller keeps the old one.
        """
        self._use_secrets(self.config_in_force, config)
        await self.reconcile(config, changed_only=not first)
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
                reused=None if first else self.loader.reused,
                ms=None if started is None else round((time.monotonic() - started) * 1000),
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

    async def reconcile(self, config: Config, *, changed_only: bool = False) -> None:
        """Bring the stored deliveries in line with the plan for the horizon (after a
        reload, ``changed_only``: only for what it changed, when that is all)."""
        await self._reconciler.reconcile(
            config, now=self.clock(), acknowledged=self.acknowledged, changed_only=changed_only
        )

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
