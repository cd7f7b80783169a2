"""``tminus run``: the composition root that wires config, store, timers, delivery and HTTP.

The database is the source of truth: one durable row per delivery. APScheduler
is only the alarm clock. It holds a handful of jobs, never one per reminder: ``wake``,
a date job at the earliest moment something must be claimed, re-armed after every
dispatch, reconcile and retry, kicks the :class:`~scheduler.dispatcher.Dispatcher`
(timer-driven, no polling); the periodic ones (refill, sweep, leases, heartbeat) are
:mod:`scheduler.timers`. On PostgreSQL, the takeover (:mod:`scheduler.takeover`) puts
the claims of replicas whose liveness lock is gone back in the queue.

On PostgreSQL the worker holds its liveness lock and listens for other replicas'
wake-ups on a connection of its own (:mod:`scheduler.db.session`); claims are taken
only while that session is held, and sent only while it still vouches for them
(:mod:`scheduler.fencing`).

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
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import __version__
from scheduler.acknowledgements import Acknowledgements
from scheduler.acktoken import AckLinks
from scheduler.config.incremental import IncrementalLoader
from scheduler.db.notify import Wakeup
from scheduler.db.owner import owning
from scheduler.db.session import WorkerSession, application_name
from scheduler.delivery.claims import Claims
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DEFAULT_CONCURRENCY, DeliveryPolicy
from scheduler.dispatcher import Dispatcher
from scheduler.errors import TminusError
from scheduler.gc_pause import freeze_long_lived, kept_for_good
from scheduler.health import StoreHealth
from scheduler.logs import fields, redacting
from scheduler.metrics import Metrics
from scheduler.notify.clients import ChannelClients
from scheduler.notify.registry import make_notifier
from scheduler.service import Service, load
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.takeover import Takeover
from scheduler.timers import Periodic
from scheduler.wakeups import Wakeups
from scheduler.watch import watch_config

log = logging.getLogger("tminus.daemon")
T = TypeVar("T")

SHUTDOWN_GRACE = 20.0  # SIGTERM waits this long for requests in flight, then releases them
SESSION_WAIT = 10.0  # seconds the start waits for the liveness lock before serving anyway


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
        self.acks: Acknowledgements | None = None
        self._exit_code = 0
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tminus-read")
        self.session: WorkerSession | None = None

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous store call on the database executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a short synchronous read on a thread of its own (no write delays it)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, partial(fn, *args, **kwargs))

    @staticmethod
    async def read_here(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a read of the local SQLite file on the event loop itself: WAL readers never
        wait for the writer, and a primary-key read takes about 0.1 ms, where a hop to a
        thread and back wakes two threads (each a wait for a CPU on a busy machine)."""
        return fn(*args, **kwargs)

    async def run(self) -> int:
        """Start everything, serve until SIGTERM/SIGINT, stop gracefully. Returns the exit code."""
        self.settings.ack_links()  # a public URL without a usable key stops here
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tminus-db")
        store = await self.db(
            Store.open, self.settings.database_url, application_name=application_name(self.worker)
        )
        try:
            return await self._run_with(store)
        finally:
            self._reader.shutdown(wait=True)
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
                released = await self.db(store.release_claims, worker=None, forgive_unrecorded=True)
                if released:
                    log.warning(
                        "released claims left by a previous run", extra=fields(count=released)
                    )
            try:
                return await self._run_configured(store)
            finally:
                if self.session is not None:
                    await asyncio.to_thread(self.session.stop)

    async def _run_configured(self, store: Store) -> int:
        loader = IncrementalLoader()
        with kept_for_good():  # millions of objects at a million milestones: never walked
            config = await load(Path(self.settings.config), self.metrics, loader)
        if config is None:
            return 1
        async with ChannelClients(
            connections=DEFAULT_CONCURRENCY, headers={"user-agent": f"tminus/{__version__}"}
        ) as clients:
            links = self.settings.ack_links()
            wakeups = Wakeups(asyncio.get_running_loop())
            built: list[Dispatcher] = []  # the session may call back before it exists
            claims = await self._liveness(store, wakeups, lambda: built[0] if built else None)
            pipeline = Pipeline(
                store=store,
                db=self.db,
                metrics=self.metrics,
                worker=self.worker,
                clock=self.clock,
                ack_url=_ack_url(links) if links is not None else None,
                claims=claims,
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
                # Nothing is claimed before the first config's channels are installed: an
                # overdue delivery claimed earlier would find no channel and go dead.
                may_claim=lambda: health.healthy and bool(self.service and self.service.config()),
            )
            built.append(dispatcher)
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
                loader=loader,
            )
            service.acks = self.acks = Acknowledgements(
                store=store,
                db=self.db,
                # The version read before each due batch: on SQLite in the loop.
                read=self.read_here if store.is_sqlite else self.read,
                memory=pipeline.acks,
                dispatcher=dispatcher,
                metrics=self.metrics,
                clock=self.clock,
                config=service.config,
                links=links,
            )
            takeover = None
            if self.session is not None:
                takeover = Takeover(
                    store=store,
                    db=self.db,
                    worker=self.worker,
                    metrics=self.metrics,
                    on_taken=dispatcher.kick,
                )
                dispatcher.on_work = takeover.stir
                for kind in (Wakeup.WORK, Wakeup.RELOAD, Wakeup.TAKEOVER):
                    wakeups.on(kind, takeover.heard)  # another replica has work
            wakeups.on(Wakeup.WORK, dispatcher.arm)
            wakeups.on(Wakeup.RELOAD, dispatcher.arm)
            wakeups.on(Wakeup.TAKEOVER, dispatcher.kick)
            # An acknowledgement made by any process: at once on PostgreSQL (its NOTIFY;
            # the sweep polls as the fallback), else on the next heartbeat's poll.
            wakeups.on(Wakeup.ACK, self.acks.sync)
            service.acknowledged = self.acks.listed
            self.acks.after_change = service.refresh_digests
            with redacting(service.secrets):
                await self._serve(service, dispatcher, pipeline, config, takeover)
        return self._exit_code

    async def _liveness(
        self, store: Store, wakeups: Wakeups, dispatcher: Callable[[], Dispatcher | None]
    ) -> Claims:
        """On PostgreSQL, start the worker's session (its liveness lock and listener) and
        return the claims it vouches for; on SQLite, claims nobody can take over."""
        if store.is_sqlite:
            return Claims()
        loop = asyncio.get_running_loop()

        def kick() -> None:
            if (d := dispatcher()) is not None:
                self._background(d.kick())

        def changed(state: Any) -> None:
            if state.epoch is not None:  # held again: claim what is due
                loop.call_soon_threadsafe(kick)
            if state.epoch is not None and state.epoch > 1:
                # Back after a loss: what was announced meanwhile was not heard.
                wakeups.heard(Wakeup.ACK)
                wakeups.heard(Wakeup.WORK)

        def acquired(epoch: int) -> None:
            if epoch == 1:
                return
            # The lock was lost and is back: every claim this worker still has belongs to
            # the old session (its copies in memory will not be sent): give them back.
            released = store.release_claims(worker=self.worker)
            if released:
                log.warning("released the claims of the lost session", extra=fields(count=released))

        session = self.session = WorkerSession(
            store.engine.url,
            worker=self.worker,
            on_wakeup=wakeups.heard,
            on_change=changed,
            on_acquired=acquired,
        )
        session.start()
        if not await asyncio.to_thread(session.wait_held, SESSION_WAIT):
            log.error("liveness lock not taken yet: no claims until it is")
        return Claims(session=lambda: session.state, lease=self.policy.lease.total_seconds())

    async def _serve(
        self,
        service: Service,
        dispatcher: Dispatcher,
        pipeline: Pipeline,
        config: Any,
        takeover: Takeover | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        http = await self._start_http(service)
        scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        scheduler.start()
        dispatcher.scheduler = scheduler
        assert self.acks is not None
        await self.acks.sync()  # before anything is claimed: the verdicts need them
        if takeover is not None:
            # Before the first claim: the claims of a predecessor that died come back
            # through the takeover (which forgives its unrecorded attempts), not through
            # its lease running out.
            await takeover.check()
            takeover.stir()
        dispatching = asyncio.create_task(dispatcher.run())
        with kept_for_good():
            await service.apply(config, first=True)
        assert self.health is not None
        Periodic(
            service=service,
            dispatcher=dispatcher,
            health=self.health,
            acks=self.acks,
            takeover=takeover,
            lease=self.policy.lease,
        ).install(scheduler)
        await self.health.check()  # pins the SQLite file's identity
        freeze_long_lived()  # no full collection walks the started heap again
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
        if takeover is not None:
            takeover.stop()
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


def _ack_url(links: AckLinks) -> Callable[[Any], str]:
    """The acknowledge link of a reminder's occurrence."""
    return lambda reminder: links.url(reminder.milestone.id, reminder.occurrence)
