"""The dispatcher: claims due deliveries when a timer kicks it, and keeps the timer set.

APScheduler holds one ``wake`` date job at the earliest moment something must be
claimed; the job only *kicks* this dispatcher (an event), so a timer never waits behind
a dispatch in progress. One task claims in a loop until nothing is due, hands each
channel's rows to the pipeline as a task of its own, and re-arms the timer. Channels are
claimed for fairly: one that holds its whole backlog in memory
(``DeliveryPolicy.backlog``) is skipped by claims and by the timer until some of its
deliveries end, so a burst on one channel drains through a bounded window while another
channel's reminders are claimed, and sent, at their moment. First attempts are claimed
the policy's lookahead early and sent from memory at their moment; a reload that drops
one in between cancels it (the pipeline's ``verdict`` stage). It hears what the pipeline
reports (events) rather than being called back: a retry re-arms the timer, a reminder
reaching its moment supersedes earlier ones still failing on its channel (in batches,
off the delivery path).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.delivery.events import DeliveryEvent, Held, Reached, RetryScheduled
from scheduler.delivery.pipeline import Pipeline
from scheduler.delivery.policy import DeliveryPolicy
from scheduler.delivery.values import Clock, DbCall, DeliveryReason
from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics
from scheduler.store import DeliveryRow, Mark, Store

MAX_CLAIM_SPACING = timedelta(seconds=0.5)

log = logging.getLogger("tminus.dispatch")

SUPERSEDE_BATCH = 500  # (milestone, channel, due) items per supersede transaction
# Supersedes wait this long for more items to join them: during a burst every first
# attempt sent adds one, and a transaction each would keep the database thread busy.
SUPERSEDE_GATHER = 0.2


class Dispatcher:
    """Claims due deliveries for this worker and hands them to the pipeline."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        metrics: Metrics,
        worker: str,
        clock: Clock,
        pipeline: Pipeline,
        policy: DeliveryPolicy,
        may_claim: Callable[[], bool] = lambda: True,
        on_work: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        # Told when the wake timer fires and when rows are claimed: signs of work that
        # every replica shares (the takeover watches claims while there are some).
        self.on_work = on_work
        # False while the store cannot work (``scheduler.health``): nothing is claimed,
        # and the timer is not re-armed; the store's recovery kicks the dispatcher.
        self.may_claim = may_claim
        self.db = db
        self.metrics = metrics
        self.worker = worker
        self.clock = clock
        self.policy = policy
        self.pipeline = pipeline
        pipeline.subscribe(self._heard)
        self.scheduler: AsyncIOScheduler | None = None
        # How far ahead first attempts are claimed: the lookahead plus the widest group
        # window of a chat channel, so a whole group arrives together.
        self.ahead = policy.lookahead
        self.stopping = False
        self._claimed_at: datetime | None = None
        self._due = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._inflight: dict[asyncio.Task[None], list[DeliveryRow]] = {}
        self.claims = pipeline.claims
        self._channel_of: dict[asyncio.Task[None], str] = {}
        # Claimed rows each channel holds in memory (in its delivery tasks).
        self.held: Counter[str] = Counter()
        self._to_supersede: list[tuple[str, str, datetime]] = []
        self._superseding: asyncio.Future[Any] | None = None

    def full_channels(self) -> frozenset[str]:
        """Channels holding their whole backlog: claims and the timer skip them."""
        return frozenset(c for c, n in self.held.items() if n >= self.policy.backlog)

    async def arm(self) -> None:
        """Point the ``wake`` job at the earliest pending delivery."""
        if self.scheduler is None or self.stopping:
            return
        when = await self.db(
            self._store.next_wakeup,
            ahead=self.policy.lookahead,
            skip_channels=self.full_channels(),
        )
        if when is None:
            self.metrics.set_next_due(None)
            return
        self.metrics.set_next_due(when + self.policy.lookahead)
        earliest = self.clock()
        if self._claimed_at is not None:
            # The timer claims at most every half lookahead (at most half a second
            # apart, however long the lookahead); each claim takes what falls due within
            # the next lookahead, so every first attempt is still claimed early, and a
            # steady stream of reminders costs two claims a second instead of one claim
            # (and one wake-up query) per reminder.
            spacing = min(self.policy.lookahead / 2, MAX_CLAIM_SPACING)
            earliest = max(earliest, self._claimed_at + spacing)
        self.scheduler.add_job(
            self._woken,
            "date",
            run_date=max(when, earliest),
            id="wake",
            replace_existing=True,
        )

    async def _woken(self) -> None:
        """The ``wake`` timer: something falls due now."""
        self.on_work()
        await self.kick()

    async def kick(self) -> None:
        """Timer callback: wake the dispatcher. Returns at once, so a timer never waits
        behind a dispatch in progress (APScheduler would skip it as a running instance)."""
        self._due.set()

    async def run(self) -> None:
        """The one task that claims due deliveries, whenever a timer kicks it."""
        while True:
            await self._due.wait()
            self._due.clear()
            if self.stopping:
                return
            try:
                await self.dispatch()
            except Exception:
                log.exception("dispatch failed; the next sweep tries again")

    async def dispatch(self) -> None:
        """Claim every due delivery, hand it to the pipeline, re-arm the timer."""
        while not self.stopping:
            epoch = self.claims.epoch()  # None: the liveness session is not ours now
            if epoch is None or not self.may_claim():
                return
            since = time.monotonic()
            now = self._claimed_at = self.clock()
            rows = await self.db(
                self._store.claim_due,
                ahead=self.ahead,
                now=now,
                worker=self.worker,
                lease=self.policy.lease,
                limit=self.policy.claim_batch,
                skip_channels=self.full_channels(),
            )
            if not rows:
                break
            self.on_work()
            self.metrics.record_claims(len(rows))
            self.claims.taken(rows, epoch=epoch, since=since)
            by_channel: dict[str, list[DeliveryRow]] = defaultdict(list)
            for row in rows:
                by_channel[row.channel].append(row)
            for channel, group in by_channel.items():
                task = asyncio.create_task(self.pipeline.deliver(channel, group))
                self._inflight[task] = group
                self._channel_of[task] = channel
                self.held[channel] += len(group)
                task.add_done_callback(self._delivered)
            if len(rows) < self.policy.claim_batch:
                break
        await self.arm()

    def set_plan(self, planned: dict[str, datetime], *, since: datetime | None = None) -> None:
        """Record a reconcile's plan of due times from ``since`` on: claims held in memory
        are checked against it."""
        self.pipeline.plan.update(planned, since=since)

    def patch_plan(
        self, planned: dict[str, datetime], *, replaced: Collection[str], since: datetime
    ) -> None:
        """Record an incremental reconcile's plan for the ids it re-planned."""
        self.pipeline.plan.patch(planned, replaced=replaced, since=since)

    async def _heard(self, event: DeliveryEvent) -> None:
        if isinstance(event, (RetryScheduled, Held)):
            if not self.stopping:
                self._background(self.arm())  # it may now be the earliest thing due
        elif isinstance(event, Reached):
            items = [(r.milestone_id, r.channel, r.due_at) for r in event.rows if r.attempts == 1]
            if items:
                # Bookkeeping, batched and detached: a send never waits for it.
                self._to_supersede.extend(items)
                if self._superseding is None or self._superseding.done():
                    self._superseding = self._background(self._supersede_pending())

    def _background(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """Run a coroutine detached, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _delivered(self, task: asyncio.Task[None]) -> None:
        rows = self._inflight.pop(task, [])
        self.claims.forget(rows)
        channel = self._channel_of.pop(task, None)
        if channel is not None:
            was_full = self.held[channel] >= self.policy.backlog
            self.held[channel] -= len(rows)
            if self.held[channel] <= 0:
                del self.held[channel]
            if was_full and self.held[channel] < self.policy.backlog and not self.stopping:
                self._due.set()  # room again: claim what this channel has waiting
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error(
                "delivery task failed; its claims will be retried after the lease",
                exc_info=task.exception(),
            )

    async def _supersede_pending(self) -> None:
        await asyncio.sleep(SUPERSEDE_GATHER)
        while self._to_supersede:
            items = self._to_supersede[:SUPERSEDE_BATCH]
            del self._to_supersede[:SUPERSEDE_BATCH]
            try:
                await self._supersede(items)
            except Exception:
                log.exception("superseding earlier reminders failed; the next one tries again")

    async def _supersede(self, items: list[tuple[str, str, datetime]]) -> None:
        """A later reminder falling due ends an earlier one still failing on that channel."""
        now = self.clock()
        for dead, channel in await self.db(self._store.supersede_all, items, now=now):
            reason = DeliveryReason.SUPERSEDED
            self.metrics.record_delivery(channel, DeliveryOutcome.DEAD, reason)
            log.warning(
                "delivery dead", extra=fields(delivery=dead, channel=channel, dead_reason=reason)
            )

    async def renew_leases(self) -> None:
        """Renew the leases of the claims in flight. Those found gone (taken over while
        this worker stalled, or simply recorded already) are marked lost, so the ``held``
        stage never sends one."""
        claims = [(r.id, r.attempts) for group in self._inflight.values() for r in group]
        if not claims:
            return
        since = time.monotonic()
        held = await self.db(
            self._store.extend_leases,
            claims,
            worker=self.worker,
            lease_until=self.clock() + self.policy.lease,
        )
        self.claims.renewed(
            [c for c in claims if c in held], [c for c in claims if c not in held], since=since
        )

    async def drain_claims(self, running: asyncio.Task[None], grace: float) -> None:
        """Stop claiming; give deliveries in flight ``grace`` seconds, then release them."""
        self.stopping = True
        self._due.set()
        await asyncio.wait([running], timeout=grace)
        tasks = list(self._inflight)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        if not pending:
            return
        rows = {r.id: r for task in pending for r in self._inflight.get(task, [])}
        unsent = sorted(rows.keys() - self.pipeline.on_the_wire)
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=2)
        # Never sent (waiting for their moment or their channel's turn): given back with
        # the attempt undone. Cut off mid-request: released as a used attempt.
        now = self.clock()
        marks = [Mark("released", i, self.worker, now, generation=rows[i].attempts) for i in unsent]
        await self.db(self._store.record, marks)
        released = await self.db(self._store.release_claims, worker=self.worker)
        log.warning(
            "gave up waiting for deliveries in flight; released for retry",
            extra=fields(unsent=len(unsent), cut_off=released),
        )
