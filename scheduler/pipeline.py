"""The delivery pipeline: claimed deliveries in, recorded outcomes out.

Stages, in order, for the deliveries claimed for one channel:

1. **route** — the channel must still exist and not be disabled, else ``dead``;
2. **group** — the notifier splits the alerts into requests (one per delivery for
   webhooks; a few combined messages for Slack and Discord);
3. **pace** — the channel's token bucket, and any pause a 429 asked for;
4. **send** — one HTTP request, answered with an :class:`~scheduler.model.Outcome`;
5. **decide** — :func:`scheduler.retry.decide` turns the outcome into sent, retry or dead;
6. **record** — the guarded store call, the metric and one log line.

The store is synchronous (SQLAlchemy); its calls run on a dedicated executor
through ``db`` so the event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics
from scheduler.model import Alert, Channel, ChannelType, Outcome
from scheduler.notify.base import Notifier
from scheduler.notify.pacing import TokenBucket, acquire
from scheduler.retry import Action, decide
from scheduler.store import AttemptRecord, DeliveryRow, Mark, Store

log = logging.getLogger("tminus.delivery")

T = TypeVar("T")
GROUPED_TYPES = frozenset({ChannelType.SLACK, ChannelType.DISCORD})
# A Retry-After pauses the whole channel, but never longer than this: a receiver asking
# for a day must not hold every claimed delivery in memory for a day (they retry later).
MAX_PAUSE = timedelta(minutes=5)
# What to do with a delivery claimed ahead when its moment comes: send it (None), cancel it
# (a reload removed it), or give the claim back (a reload moved it to another time).
Verdict = Literal["cancel", "release"] | None
_OUTCOMES = {
    Action.SENT: DeliveryOutcome.SENT,
    Action.RETRY: DeliveryOutcome.RETRY,
    Action.DEAD: DeliveryOutcome.DEAD,
}
DbCall = Callable[..., Awaitable[Any]]


@dataclass
class ChannelRuntime:
    """What the pipeline keeps per channel between sends."""

    channel: Channel
    notifier: Notifier
    bucket: TokenBucket | None
    disabled: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def _nothing(_rows: list[DeliveryRow]) -> None:
    return None


class Recorder:
    """Writes delivery outcomes in batches: one transaction for whatever piled up
    while the previous one ran.

    Under a burst this turns hundreds of small write transactions into a few, so the
    database thread stays free for the claims that keep the next reminders on time.
    Each caller still learns whether its own mark held (the claim was not lost).
    """

    BATCH = 500

    def __init__(self, store: Store, db: DbCall) -> None:
        self._store = store
        self._db = db
        self._pending: list[tuple[Mark, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(self, mark: Mark) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((mark, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.BATCH]
                del self._pending[: self.BATCH]
                try:
                    results = await self._db(self._store.record, [m for m, _ in batch])
                except Exception as exc:  # the callers' tasks fail; their leases expire
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), kept in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(kept)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Pipeline:
    """Sends claimed deliveries and records what happened to each."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        metrics: Metrics,
        worker: str,
        clock: Callable[[], datetime],
        concurrency: int = 32,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        check: Callable[[DeliveryRow], Verdict] = lambda _row: None,
        on_due: Callable[[list[DeliveryRow]], Awaitable[None]] = _nothing,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self._check = check
        self._on_due = on_due
        self._on_retry = on_retry
        self._store = store
        self._db = db
        self._metrics = metrics
        self._worker = worker
        self._clock = clock
        self._rand = rand
        self._sleep = sleep
        self._slots = asyncio.Semaphore(concurrency)
        self.channels: dict[str, ChannelRuntime] = {}
        self.recorder = Recorder(store, db)
        # Deliveries inside a request right now: at shutdown, the others (still waiting
        # for their moment or their turn) are given back without using up an attempt.
        self.on_the_wire: set[str] = set()

    def set_channels(self, runtimes: Mapping[str, ChannelRuntime]) -> None:
        self.channels = dict(runtimes)

    async def deliver(self, channel_name: str, rows: Sequence[DeliveryRow]) -> None:
        """Deliver rows claimed for one channel, in due order."""
        runtime = self.channels.get(channel_name)
        if runtime is None or runtime.disabled:
            reason = "channel_removed" if runtime is None else "channel_disabled"
            for row in rows:
                await self._finish_dead(row, reason, channel_name)
            return
        by_id = {row.id: row for row in rows}
        ordered = sorted(rows, key=lambda r: r.due_at)
        # Slack and Discord combine reminders due within the channel's group window into
        # one message, sent when the last of them is due (never early); one request at a
        # time per channel keeps their ordering and pacing honest. Webhooks send
        # concurrently, each delivery at its own due time.
        if runtime.channel.type in GROUPED_TYPES:
            async with runtime.lock:
                for cluster in _clusters(ordered, runtime.channel.group_window):
                    await self._send_rows(runtime, cluster, by_id)
            return
        # Every sibling runs to its end even if one fails, so none is left sending without
        # the lease renewal that ends with this task.
        results = await asyncio.gather(
            *(self._send_rows(runtime, [row], by_id) for row in ordered), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _send_rows(
        self, runtime: ChannelRuntime, rows: list[DeliveryRow], by_id: Mapping[str, DeliveryRow]
    ) -> None:
        rows = await self._until_due(rows)
        alerts = [self._alert(row, runtime.channel.name) for row in rows]
        for batch in runtime.notifier.batches(alerts) if alerts else []:
            await self._send(runtime, batch, by_id)
        # Their moment has come (and they went out): earlier reminders of the same
        # milestone still failing on this channel are superseded. Bookkeeping, after the send.
        firsts = [row for row in rows if row.attempts == 1]
        if firsts:
            await self._on_due(firsts)

    async def _until_due(self, rows: list[DeliveryRow]) -> list[DeliveryRow]:
        """Wait until the rows' first attempts are due (they are claimed a little ahead),
        then keep those the config in force still plans; the others are cancelled.

        Retries are sent as soon as they are claimed: their time is a backoff, not a deadline.
        """
        firsts = [r.due_at for r in rows if r.attempts <= 1]
        if not firsts:
            return rows
        wait = (max(firsts) - self._clock()).total_seconds()
        if wait <= 0:
            return rows
        await self._sleep(wait)
        keep: list[DeliveryRow] = []
        for row in rows:
            verdict = None if row.attempts > 1 else self._check(row)
            if verdict is None:
                keep.append(row)
            elif verdict == "cancel":
                # Removed by a reload while it waited in memory for its moment.
                await self.recorder.record(
                    Mark(
                        "cancelled", row.id, self._worker, self._clock(), reason="milestone_changed"
                    )
                )
                self._metrics.record_delivery(row.channel, "cancelled", "milestone_changed")
                log.info(
                    "delivery cancelled",
                    extra=fields(milestone=row.milestone_id, delivery=row.id, channel=row.channel),
                )
            else:
                # Same reminder, new due time (a reload changed its zone or offset): give the
                # claim back untouched; it is claimed again at the new time.
                await self.recorder.record(Mark("released", row.id, self._worker, self._clock()))
        return keep

    def _alert(self, row: DeliveryRow, channel: str) -> Alert:
        return Alert(
            delivery_id=row.id,
            reminder=row.snapshot.reminder(channel),
            channel=channel,
            attempt=row.attempts,
            late=row.late,
            sent_at=self._clock(),
        )

    async def _send(
        self, runtime: ChannelRuntime, batch: Sequence[Alert], rows: Mapping[str, DeliveryRow]
    ) -> None:
        """Send one request and record the outcome of each of its deliveries."""
        name = runtime.channel.name
        if runtime.bucket is not None:
            await acquire(runtime.bucket, self._sleep)
        if runtime.disabled:  # disabled while this batch waited for its turn
            for alert in batch:
                await self._finish_dead(rows[alert.delivery_id], "channel_disabled", name)
            return
        now = self._clock()
        batch = [Alert(a.delivery_id, a.reminder, a.channel, a.attempt, a.late, now) for a in batch]
        async with self._slots:
            started = time.monotonic()
            wire = [a.delivery_id for a in batch]
            self.on_the_wire.update(wire)
            try:
                outcome = await runtime.notifier.send(batch)
            finally:
                self.on_the_wire.difference_update(wire)
            elapsed = time.monotonic() - started
        finished = self._clock()
        if outcome.retry_after and runtime.bucket is not None:
            pause = min(outcome.retry_after, MAX_PAUSE.total_seconds())
            runtime.bucket.pause_until(time.monotonic() + pause)
        if outcome.disable_channel:
            await self._disable(runtime, outcome, finished)
        # One jitter draw per request: deliveries that travelled together retry together
        # (and are grouped into one message again), instead of scattering into many posts.
        jitter = self._rand()
        for alert in batch:
            await self._record(
                runtime, rows[alert.delivery_id], outcome, now, finished, elapsed, jitter
            )

    async def _record(
        self,
        runtime: ChannelRuntime,
        row: DeliveryRow,
        outcome: Outcome,
        started: datetime,
        finished: datetime,
        elapsed: float,
        jitter: float,
    ) -> None:
        channel = runtime.channel
        decision = decide(outcome, row.attempts, channel.retry, rand=lambda: jitter)
        attempt = AttemptRecord(
            attempt=row.attempts,
            started_at=started,
            finished_at=finished,
            status_code=outcome.status_code,
            reason=outcome.reason.value,
            error=outcome.detail or None,
            body=outcome.body or None,
        )
        event = fields_for(row, channel.name, outcome, decision.action.value)
        lateness: float | None = None
        if decision.action is Action.SENT:
            kept = await self.recorder.record(
                Mark("sent", row.id, self._worker, finished, attempt=attempt)
            )
            lateness = (started - row.due_at).total_seconds()
            log.info("delivery sent", extra=fields(**event, lateness_ms=round(lateness * 1000, 1)))
        elif decision.action is Action.RETRY:
            delay = decision.delay or timedelta(seconds=1)
            kept = await self.recorder.record(
                Mark(
                    "retry",
                    row.id,
                    self._worker,
                    finished,
                    attempt=attempt,
                    next_attempt_at=finished + delay,
                )
            )
            self._on_retry()  # recorded: the timer can now see the retry's time
            log.warning(
                "delivery failed, will retry",
                extra=fields(**event, retry_in_s=round(delay.total_seconds(), 3)),
            )
        else:
            kept = await self.recorder.record(
                Mark(
                    "dead", row.id, self._worker, finished, attempt=attempt, reason=decision.reason
                )
            )
            log.error("delivery dead", extra=fields(**event, dead_reason=decision.reason))
        self._metrics.record_delivery(
            channel.name,
            _OUTCOMES[decision.action],
            decision.reason,
            duration=elapsed,
            lateness=lateness,
        )
        if not kept:
            log.warning(
                "claim lost before recording (another worker took the delivery over)",
                extra=fields(delivery=row.id, channel=channel.name),
            )

    async def _finish_dead(self, row: DeliveryRow, reason: str, channel: str) -> None:
        await self.recorder.record(Mark("dead", row.id, self._worker, self._clock(), reason=reason))
        self._metrics.record_delivery(channel, DeliveryOutcome.DEAD, reason)
        log.error(
            "delivery dead",
            extra=fields(
                milestone=row.milestone_id, delivery=row.id, channel=channel, dead_reason=reason
            ),
        )

    async def _disable(self, runtime: ChannelRuntime, outcome: Outcome, now: datetime) -> None:
        if runtime.disabled:
            return
        runtime.disabled = True
        channel = runtime.channel
        await self._db(
            self._store.disable_channel,
            channel.name,
            fingerprint=channel.fingerprint(),
            reason=outcome.detail or outcome.reason.value,
            now=now,
        )
        self._metrics.channels_disabled.labels(channel=channel.name).set(1)
        log.error(
            "CHANNEL DISABLED until the config changes: the receiver says it is gone",
            extra=fields(
                channel=channel.name,
                status=outcome.status_code,
                reason=outcome.reason.value,
                detail=outcome.detail,
            ),
        )


def _clusters(rows: Sequence[DeliveryRow], window: timedelta) -> list[list[DeliveryRow]]:
    """Split rows (in due order) into runs whose due times lie within ``window`` of the first."""
    out: list[list[DeliveryRow]] = []
    for row in rows:
        if out and row.due_at - out[-1][0].due_at <= window:
            out[-1].append(row)
        else:
            out.append([row])
    return out


def fields_for(row: DeliveryRow, channel: str, outcome: Outcome, result: str) -> dict[str, Any]:
    """The fields every delivery log line carries."""
    return {
        "milestone": row.milestone_id,
        "reminder": row.reminder_id,
        "delivery": row.id,
        "channel": channel,
        "attempt": row.attempts,
        "outcome": result,
        "reason": outcome.reason.value,
        "status": outcome.status_code,
        "late": row.late or None,
    }
