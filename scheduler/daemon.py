"""``tminus run``: the composition root that wires config, store, timers, delivery and HTTP.

The database is the source of truth: one durable row per delivery. APScheduler
is only the alarm clock. It holds a handful of jobs, never one per reminder:

* ``wake`` — a date job at the earliest moment something must be claimed, re-armed
  after every dispatch, reconcile and retry; it kicks the
  :class:`~scheduler.dispatcher.Dispatcher` (timer-driven, no polling);
* ``refill`` — materialises the next :data:`~scheduler.reconcile.HORIZON` of reminders
  every :data:`REFILL_EVERY`, so 100,000 milestones cost a planning pass, not 400,000 jobs;
* ``sweep`` — every :data:`SWEEP_EVERY`, a cheap claim that picks up work other
  replicas scheduled and claims whose lease expired after a crash;
* ``leases`` — renews the lease of deliveries in flight;
* ``heartbeat`` — proves to ``/healthz`` that the loop and the scheduler run, and
  starts the store probe (:mod:`scheduler.health`) that ``/readyz`` and claims heed.

A delivery is claimed in one atomic statement, sent, and recorded ``sent`` only
after the receiver's 2xx. A crash between send and record leaves the claim to
expire (or, on SQLite, to be released at the next start) and the delivery is
sent again with the same ``webhook-id``. What the daemon does with the config
(reload, reconcile, the HTTP surface's questions) is :mod:`scheduler.service`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import __version__
from scheduler.db.owner import owning
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DEFAULT_CONCURRENCY, DeliveryPolicy
from scheduler.dispatcher import Dispatcher
from scheduler.errors import TminusError
from scheduler.health import StoreHealth
from scheduler.logs import fields, redacting
from scheduler.metrics import Metrics
from scheduler.notify.clients import ChannelClients
from scheduler.notify.registry import make_notifier
from scheduler.service import Service, load
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.watch import watch_config

log = logging.getLogger("tminus.daemon")
T = TypeVar("T")

REFILL_EVERY = timedelta(hours=1)
SWEEP_EVERY = timedelta(seconds=15)
SHUTDOWN_GRACE = 20.0  # SIGTERM waits this long for requests in flight, then releases them
HEARTBEAT_EVERY = 1.0


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
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = policy or DeliveryPolicy.from_env()
        self.metrics = Metrics()
        self.service: Service | None = None
        self.health: StoreHealth | None = None
        self._exit_code = 0
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._executor: ThreadPoolExecutor | None = None

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous store call on the database executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def run(self) -> int:
        """Start everything, serve until SIGTERM/SIGINT, stop gracefully. Returns the exit code."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tminus-db")
        store = await self.db(Store.open, self.settings.database_url)
        try:
            return await self._run_with(store)
        finally:
            await self.db(store.close)
            self._executor.shutdown(wait=True)

    async def _run_with(self, store: Store) -> int:
        if not store.is_sqlite:
            # PostgreSQL serves several replicas: give the store calls more threads.
            assert self._executor is not None
            self._executor.shutdown(wait=True)
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tminus-db")
        await self.db(store.upgrade)
        with contextlib.ExitStack() as owned:
            if store.is_sqlite and store.engine.url.database not in (None, "", ":memory:"):
                # A SQLite file serves one daemon: a second one refuses to start, and
                # claims left by a killed predecessor are released at once instead of
                # waiting for their lease.
                owned.enter_context(owning(Path(str(store.engine.url.database))))
                released = await self.db(store.release_claims, worker=None)
                if released:
                    log.warning(
                        "released claims left by a previous run", extra=fields(count=released)
                    )
            return await self._run_configured(store)

    async def _run_configured(self, store: Store) -> int:
        config = await load(Path(self.settings.config), self.metrics)
        if config is None:
            return 1
        async with ChannelClients(
            connections=DEFAULT_CONCURRENCY, headers={"user-agent": f"tminus/{__version__}"}
        ) as clients:
            pipeline = Pipeline(
                store=store,
                db=self.db,
                metrics=self.metrics,
                worker=self.worker,
                clock=self.clock,
            )
            health = self.health = StoreHealth(
                store=store,
                db=self.db,
                clock=self.clock,
                on_recovered=lambda: dispatcher.kick(),
                on_fatal=lambda _finding: self._fail(service, dispatcher),
            )
            dispatcher = Dispatcher(
                store=store,
                db=self.db,
                metrics=self.metrics,
                worker=self.worker,
                clock=self.clock,
                pipeline=pipeline,
                policy=self.policy,
                may_claim=lambda: health.healthy,
            )
            service = self.service = Service(
                settings=self.settings,
                clock=self.clock,
                metrics=self.metrics,
                store=store,
                db=self.db,
                pipeline=pipeline,
                dispatcher=dispatcher,
                policy=self.policy,
                make_notifier=lambda channel: make_notifier(
                    channel, clients.for_channel(channel.name)
                ),
                store_problem=health.reason,
            )
            with redacting(service.secrets):
                await self._serve(service, dispatcher, pipeline, config)
        return self._exit_code

    async def _serve(
        self, service: Service, dispatcher: Dispatcher, pipeline: Pipeline, config: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        http = await self._start_http(service)
        scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        scheduler.start()
        dispatcher.scheduler = scheduler
        dispatching = asyncio.create_task(dispatcher.run())
        await service.apply(config, first=True)
        scheduler.add_job(service.refill, "interval", seconds=REFILL_EVERY.total_seconds())
        scheduler.add_job(dispatcher.kick, "interval", seconds=SWEEP_EVERY.total_seconds())
        lease_every = self.policy.lease.total_seconds() / 3
        scheduler.add_job(dispatcher.renew_leases, "interval", seconds=lease_every)
        scheduler.add_job(self._beat, "interval", seconds=HEARTBEAT_EVERY)
        assert self.health is not None
        await self.health.check()  # pins the SQLite file's identity
        service.set_ready_reason(None)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, partial(self.request_stop, service, dispatcher))
        loop.add_signal_handler(signal.SIGHUP, lambda: self._background(service.reload("SIGHUP")))
        watcher = asyncio.create_task(
            watch_config(Path(self.settings.config), service.reload, lambda: self._stop.is_set())
        )
        log.info(
            "tminus ready",
            extra=fields(
                worker=self.worker,
                milestones=len(config.milestones),
                listening=f"http://{self.settings.host}:{http.port}",
            ),
        )
        await self._stop.wait()

        log.info("stopping: no new claims; waiting for deliveries in flight")
        watcher.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        # A claim in progress completes (its rows join the in-flight set) before we wait.
        await dispatcher.drain_claims(dispatching, SHUTDOWN_GRACE)
        await pipeline.close()
        await http.stop()
        log.info("stopped")

    def _fail(self, service: Service, dispatcher: Dispatcher) -> None:
        """Stop with exit code 1 (the store was lost; the health module logged why)."""
        self._exit_code = 1
        self.request_stop(service, dispatcher)

    def request_stop(self, service: Service, dispatcher: Dispatcher) -> None:
        service.stop()
        dispatcher.stopping = True
        self._stop.set()

    async def _start_http(self, service: Service) -> Any:
        from scheduler.http.app import create_app
        from scheduler.http.server import serve

        try:
            return await serve(create_app(service), self.settings.host, self.settings.port)
        except OSError as exc:
            raise TminusError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: "
                f"{exc.strerror or exc} (is another tminus running? set --port or TMINUS_PORT)"
            ) from None

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine detached (a signal handler's reload), keeping a reference."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _beat(self) -> None:
        if self.service is not None:
            self.service.beat()
        if self.health is not None:
            self.health.poke()
