"""``tminus run``: the composition root that wires config, store, timers, delivery and HTTP.

The database is the source of truth: one durable row per delivery. APScheduler
is only the alarm clock. It holds a handful of jobs, never one per reminder:

* ``wake`` — a date job at the earliest moment something must be claimed, re-armed
  after every dispatch, reconcile and retry; it kicks the
  :class:`~scheduler.dispatcher.Dispatcher` (timer-driven, no polling);
* ``refill`` — materialises the next :data:`HORIZON` of reminders every
  :data:`REFILL_EVERY`, so 100,000 milestones cost a planning pass, not 400,000 jobs;
* ``sweep`` — every :data:`SWEEP_EVERY`, a cheap claim that picks up work other
  replicas scheduled and claims whose lease expired after a crash;
* ``leases`` — renews the lease of deliveries in flight;
* ``heartbeat`` — proves to ``/healthz`` that the loop and the scheduler run.

A delivery is claimed in one atomic statement, sent, and recorded ``sent`` only
after the receiver's 2xx. A crash between send and record leaves the claim to
expire (or, on SQLite, to be released at the next start) and the delivery is
sent again with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import __version__
from scheduler.config import load_config
from scheduler.dispatcher import LEASE, LOOKAHEAD, Dispatcher
from scheduler.errors import ConfigError, TminusError
from scheduler.logs import REDACTOR, fields
from scheduler.metrics import Metrics
from scheduler.model import DEFAULT_CATCH_UP, Channel, ChannelType, Config, Reminder
from scheduler.notify.pacing import TokenBucket
from scheduler.notify.registry import make_notifier
from scheduler.pipeline import GROUPED_TYPES, ChannelRuntime
from scheduler.planning import plan
from scheduler.reconcile import plan_deliveries, reconcile
from scheduler.settings import Settings
from scheduler.store import DeliveryRow, Store

log = logging.getLogger("tminus.daemon")
T = TypeVar("T")

HORIZON = timedelta(days=2)
REFILL_EVERY = timedelta(hours=1)
SWEEP_EVERY = timedelta(seconds=15)
# SIGTERM waits this long for requests in flight, then releases their claims.
SHUTDOWN_GRACE = 20.0
# How far back a restart looks for reminders missed while the daemon was down.
MAX_LOOKBACK = timedelta(days=366)
UNPACED_RATE = 1e6  # requests per second: no pacing, but a 429 can still pause the channel
HEARTBEAT_EVERY = 1.0
HEARTBEAT_STALE = 10.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """Owns every long-lived resource of ``tminus run`` and its lifecycle."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.metrics = Metrics()
        self.api_token = settings.api_token
        self.store: Store | None = None
        self.config_in_force: Config | None = None
        self._ready_reason: str | None = "starting"
        self._heartbeat = time.monotonic()
        self._stopping = False
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._client: httpx.AsyncClient | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._dispatcher: Dispatcher | None = None
        self.http_port: int | None = None

    # -- plumbing -------------------------------------------------------------
    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous store call on the database executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    @property
    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    @property
    def _dispatch(self) -> Dispatcher:
        assert self._dispatcher is not None
        return self._dispatcher

    # -- AppState for the HTTP surface ----------------------------------------
    def config(self) -> Config | None:
        return self.config_in_force

    def now(self) -> datetime:
        return self.clock()

    def ready_reason(self) -> str | None:
        """Why the daemon is not ready; the HTTP app pings the database itself."""
        return self._ready_reason

    async def redeliver(self, delivery_id: str) -> DeliveryRow:
        """Queue a finished delivery again (same id) and wake the dispatcher."""
        row = await self.db(self._store.redeliver, delivery_id, now=self.clock())
        log.info("delivery queued again", extra=fields(delivery=delivery_id, channel=row.channel))
        if self._dispatcher is not None:
            await self._dispatcher.kick()
        return row

    def loop_alive(self) -> bool:
        return time.monotonic() - self._heartbeat < HEARTBEAT_STALE

    def upcoming(self, within: timedelta) -> list[Reminder]:
        config = self.config_in_force
        if config is None:
            return []
        now = self.clock()
        return plan(config, now, now + within)

    def calendar(self) -> bytes:
        from scheduler.ics import to_ics

        config = self.config_in_force
        if config is None:
            return b""
        return to_ics(config, now=self.clock())

    # -- lifecycle ------------------------------------------------------------
    async def run(self) -> int:
        """Start everything, serve until SIGTERM/SIGINT, stop gracefully. Returns the exit code."""
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tminus-db")
        self._ready_reason = "migrating the database"
        self.store = await self.db(Store.open, self.settings.database_url)
        if not self._store.is_sqlite:
            # PostgreSQL serves several replicas: give the store calls more threads.
            self._executor.shutdown(wait=True)
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tminus-db")
        await self.db(self._store.upgrade)
        if self._store.is_sqlite:
            # A SQLite file serves one daemon: claims left by a killed predecessor are
            # released at once instead of waiting for their lease.
            released = await self.db(self._store.release_claims, worker=None)
            if released:
                log.warning("released claims left by a previous run", extra=fields(count=released))

        self._ready_reason = "loading the config"
        config = await self._load(Path(self.settings.config))
        if config is None:
            await self._close()
            return 1

        self._client = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            headers={"user-agent": f"tminus/{__version__}"},
        )
        dispatcher = self._dispatcher = Dispatcher(
            store=self._store,
            db=self.db,
            metrics=self.metrics,
            worker=self.worker,
            clock=self.clock,
        )
        http = await self._start_http()

        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        self._scheduler.start()
        dispatcher.scheduler = self._scheduler
        dispatching = asyncio.create_task(dispatcher.run())
        await self._apply_config(config, first=True)
        self._scheduler.add_job(self._refill, "interval", seconds=REFILL_EVERY.total_seconds())
        self._scheduler.add_job(dispatcher.kick, "interval", seconds=SWEEP_EVERY.total_seconds())
        self._scheduler.add_job(
            dispatcher.renew_leases, "interval", seconds=LEASE.total_seconds() / 3
        )
        self._scheduler.add_job(self._beat, "interval", seconds=HEARTBEAT_EVERY)
        self._ready_reason = None

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._background(self.reload("SIGHUP")))
        watcher = asyncio.create_task(self._watch_config())
        log.info(
            "tminus ready",
            extra=fields(
                worker=self.worker,
                milestones=len(config.milestones),
                listening=f"http://{self.settings.host}:{self.http_port}" if http else None,
            ),
        )
        await self._stop.wait()

        log.info("stopping: no new claims; waiting for deliveries in flight")
        watcher.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        # A claim in progress completes (its rows join the in-flight set) before we wait.
        await dispatcher.drain_claims(dispatching, SHUTDOWN_GRACE)
        await dispatcher.pipeline.recorder.close()
        if http is not None:
            await http.stop()
        await self._close()
        log.info("stopped")
        return 0

    def request_stop(self) -> None:
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.stopping = True
        self._ready_reason = "stopping"
        self._stop.set()

    async def _close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.store is not None:
            await self.db(self.store.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def _start_http(self) -> Any:
        from scheduler.http.app import create_app
        from scheduler.http.server import serve

        try:
            handle = await serve(create_app(self), self.settings.host, self.settings.port)
        except OSError as exc:
            raise TminusError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: "
                f"{exc.strerror or exc} (is another tminus running? set --port or TMINUS_PORT)"
            ) from None
        self.http_port = handle.port
        return handle

    # -- config ---------------------------------------------------------------
    async def _load(self, path: Path) -> Config | None:
        try:
            config = await asyncio.to_thread(load_config, path)
        except ConfigError as exc:
            self.metrics.record_reload(ok=False)
            for problem in exc.problems:
                log.error("config error", extra=fields(problem=str(problem)))
            return None
        except TminusError as exc:
            self.metrics.record_reload(ok=False)
            log.error("config error", extra=fields(problem=str(exc)))
            return None
        return config

    async def reload(self, why: str) -> bool:
        """Load the config again; keep the running one if the new one is invalid."""
        if self._stopping:
            return False
        log.info("reloading config", extra=fields(trigger=why))
        async with self._reload_lock:
            config = await self._load(Path(self.settings.config))
            if config is None:
                log.error("config rejected: the previous config stays in force")
                return False
            try:
                await self._apply_config(config, first=False)
            except Exception as exc:
                # E.g. the database was locked or unreachable: nothing was switched over.
                self.metrics.record_reload(ok=False)
                REDACTOR.set_secrets(_secrets_of(self.config_in_force, self.settings))
                log.error(
                    "config could not be applied: the previous config stays in force",
                    extra=fields(error=f"{type(exc).__name__}: {exc}"),
                )
                return False
            return True

    async def _apply_config(self, config: Config, *, first: bool) -> None:
        """Reconcile the store with ``config``, then switch channels and the config over.

        If reconciling fails, nothing has been switched and the caller keeps the old one.
        """
        old = self.config_in_force
        REDACTOR.set_secrets(_secrets_of(old, self.settings) + _secrets_of(config, self.settings))
        await self._reconcile(config)
        await self._install_channels(config.channels)
        REDACTOR.set_secrets(_secrets_of(config, self.settings))
        self.config_in_force = config
        # Claim far enough ahead that a chat channel's whole group window arrives together.
        windows = [c.group_window for c in config.channels.values() if c.type in GROUPED_TYPES]
        self._dispatch.ahead = LOOKAHEAD + max(windows, default=timedelta(0))
        self.metrics.set_milestones_loaded(len(config.milestones))
        self.metrics.record_reload(ok=True)
        log.info(
            "config loaded" if first else "config reloaded",
            extra=fields(
                milestones=len(config.milestones),
                channels=len(config.channels),
                sources=",".join(config.sources) or None,
            ),
        )

    async def _install_channels(self, channels: Mapping[str, Channel]) -> None:
        assert self._client is not None
        pipeline = self._dispatch.pipeline
        states = await self.db(self._store.channel_states)
        runtimes: dict[str, ChannelRuntime] = {}
        for name, channel in channels.items():
            old = pipeline.channels.get(name)
            state = states.get(name)
            fingerprint = channel.fingerprint()
            disabled = bool(state and state.disabled_fingerprint == fingerprint)
            if state and state.disabled_fingerprint and not disabled:
                await self.db(self._store.enable_channel, name)
                log.warning("channel re-enabled: its config changed", extra=fields(channel=name))
            if old is not None and old.channel == channel:
                old.disabled = disabled
                runtimes[name] = old
                continue
            bucket = _bucket_for(channel)
            runtime = ChannelRuntime(
                channel=channel,
                notifier=make_notifier(channel, self._client),
                bucket=bucket,
                disabled=disabled,
            )
            if old is not None:
                # Changed definition, same channel name: a 429 pause still in force carries
                # over, and the lock too, so sends in flight and new ones stay one at a time.
                runtime.lock = old.lock
                if old.bucket is not None and old.bucket.paused_for() > 0:
                    bucket.pause_for(old.bucket.paused_for())
            runtimes[name] = runtime
            if disabled:
                log.error(
                    "channel is disabled until its config changes",
                    extra=fields(channel=name, reason=state.disabled_reason if state else None),
                )
        pipeline.set_channels(runtimes)
        self.metrics.set_disabled_channels(
            [n for n, r in runtimes.items() if r.disabled], known=runtimes
        )

    async def _reconcile(self, config: Config) -> None:
        """Bring the stored deliveries in line with the plan for the horizon."""
        now = self.clock()
        raw = await self.db(self._store.get_meta, "planned_through")
        planned_through = datetime.fromisoformat(raw) if raw else None
        catch_up = max((m.catch_up for m in config.milestones), default=DEFAULT_CATCH_UP)
        start = now - catch_up
        if planned_through is not None and planned_through < start:
            start = max(planned_through, now - MAX_LOOKBACK)
        end = now + HORIZON
        started = time.monotonic()
        reminders = await asyncio.to_thread(plan, config, start, end)
        planned = plan_deliveries(reminders)
        planned_due = {p.id: p.due_at for p in planned}
        stored = await self.db(self._store.open_deliveries)
        actions = reconcile(
            planned,
            {k: v for k, v in stored.items()},
            now=now,
            window_start=start,
            window_end=end,
            planned_through=planned_through,
        )
        await self.db(self._store.apply, actions, now=now)
        await self.db(self._store.set_meta, "planned_through", end.isoformat())
        self._dispatch.set_plan(planned_due)
        log.info(
            "reconciled",
            extra=fields(
                planned=len(planned),
                inserted=len(actions.insert),
                cancelled=len(actions.cancel),
                skipped=len(actions.skip),
                ms=round((time.monotonic() - started) * 1000),
            ),
        )
        await self._dispatch.arm()

    async def _refill(self) -> None:
        async with self._reload_lock:
            if self.config_in_force is not None and not self._stopping:
                await self._reconcile(self.config_in_force)

    async def _watch_config(self) -> None:
        """Reload when the config file (or a file in the config directory) changes."""
        from watchfiles import awatch

        targets, names = _watch_targets(Path(self.settings.config))
        while not self._stopping:
            try:
                async for changes in awatch(*targets, debounce=300, step=100, recursive=False):
                    if names is None or any(Path(p).name in names for _, p in changes):
                        await self.reload("file changed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # watching is best effort; SIGHUP always works
                log.warning("config watcher restarting", extra=fields(error=type(exc).__name__))
                await asyncio.sleep(5)

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine detached (a signal handler's reload), keeping a reference."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _beat(self) -> None:
        self._heartbeat = time.monotonic()


def _bucket_for(channel: Channel) -> TokenBucket:
    """Every channel gets a bucket, so a 429's Retry-After pauses all its sends; one
    without a rate limit (a generic webhook by default) is effectively unpaced."""
    rate = channel.effective_rate_limit
    if rate is None:
        return TokenBucket(UNPACED_RATE, int(UNPACED_RATE), time.monotonic)
    # Short bursts are fine (Slack: "about one per second"); Discord allows 5 per 2 s.
    burst = 5 if channel.type is ChannelType.DISCORD else max(1, int(rate * 3))
    return TokenBucket(rate, burst, time.monotonic)


def _watch_targets(path: Path) -> tuple[list[Path], set[str] | None]:
    """Directories to watch and the file names in them that matter (None: any).

    A config file may be a symlink (a Kubernetes ConfigMap mounts ``x.yaml ->
    ..data/x.yaml`` and swaps ``..data``): watch the link's directory and the target's.
    """
    if path.is_dir():
        return [path], None
    link = path.absolute()
    target = path.resolve()
    dirs = list(dict.fromkeys([link.parent, target.parent]))
    return dirs, {link.name, target.name, "..data"}


def _secrets_of(config: Config | None, settings: Settings) -> list[str]:
    secrets: list[str] = []
    for channel in config.channels.values() if config is not None else ():
        secrets.append(channel.url)
        if channel.secret:
            secrets.append(channel.secret)
            secrets.append(channel.secret.removeprefix("whsec_"))
        # Header values often carry tokens (Authorization: Bearer …).
        secrets.extend(v for v in channel.headers.values() if len(v) >= 12)
    if settings.api_token:
        secrets.append(settings.api_token)
    return secrets
