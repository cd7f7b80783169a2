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
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from scheduler.durations import Duration
from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics
from scheduler.model import Alert, Channel, ChannelType, Milestone, Outcome, Reminder
from scheduler.notify.base import Notifier
from scheduler.notify.pacing import TokenBucket, acquire
from scheduler.retry import Action, decide
from scheduler.store import AttemptRecord, DeliveryRow, Store

log = logging.getLogger("tminus.delivery")

T = TypeVar("T")
GROUPED_TYPES = frozenset({ChannelType.SLACK, ChannelType.DISCORD})
_OUTCOMES = {
    Action.SENT: DeliveryOutcome.SENT,
    Action.RETRY: DeliveryOutcome.RETRY,
    Action.DEAD: DeliveryOutcome.DEAD,
}
DbCall = Callable[..., Awaitable[Any]]


def reminder_from_snapshot(snapshot: Mapping[str, Any], channel: str) -> Reminder:
    """Rebuild the reminder a delivery was planned from, without the config.

    The store keeps a snapshot of everything a message shows, so a delivery can be
    sent (or redelivered) even after its milestone left the config.
    """
    milestone = Milestone(
        id=snapshot["milestone_id"],
        title=snapshot["title"],
        timezone=snapshot.get("timezone", "UTC"),
        description=snapshot.get("description", ""),
        tags=tuple(snapshot.get("tags", ())),
        links=tuple(snapshot.get("links", ())),
    )
    zone = milestone.zone
    return Reminder(
        milestone=milestone,
        occurrence=datetime.fromisoformat(snapshot["occurrence"]).astimezone(zone),
        offset=Duration.parse(snapshot["offset"]),
        due_at=datetime.fromisoformat(snapshot["due_at"]).astimezone(zone),
        channels=(channel,),
    )


@dataclass
class ChannelRuntime:
    """What the pipeline keeps per channel between sends."""

    channel: Channel
    notifier: Notifier
    bucket: TokenBucket | None
    disabled: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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
    ) -> None:
        self._store = store
        self._db = db
        self._metrics = metrics
        self._worker = worker
        self._clock = clock
        self._rand = rand
        self._sleep = sleep
        self._slots = asyncio.Semaphore(concurrency)
        self.channels: dict[str, ChannelRuntime] = {}

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
        alerts = [self._alert(row, channel_name) for row in sorted(rows, key=lambda r: r.due_at)]
        # Slack and Discord combine what was claimed together; one request at a time per
        # channel keeps their ordering and pacing honest. Webhooks send concurrently.
        if runtime.channel.type in GROUPED_TYPES:
            async with runtime.lock:
                for batch in runtime.notifier.batches(alerts):
                    await self._send(runtime, batch, by_id)
        else:
            await asyncio.gather(
                *(self._send(runtime, batch, by_id) for batch in runtime.notifier.batches(alerts))
            )

    def _alert(self, row: DeliveryRow, channel: str) -> Alert:
        return Alert(
            delivery_id=row.id,
            reminder=reminder_from_snapshot(row.snapshot, channel),
            channel=channel,
            attempt=row.attempts,
            late=row.late,
            sent_at=self._clock(),
        )

    async def _send(
        self, runtime: ChannelRuntime, batch: Sequence[Alert], rows: Mapping[str, DeliveryRow]
    ) -> None:
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
            outcome = await runtime.notifier.send(batch)
            elapsed = time.monotonic() - started
        finished = self._clock()
        if outcome.retry_after and runtime.bucket is not None:
            runtime.bucket.pause_until(time.monotonic() + outcome.retry_after)
        if outcome.disable_channel:
            await self._disable(runtime, outcome, finished)
        for alert in batch:
            await self._record(runtime, rows[alert.delivery_id], outcome, now, finished, elapsed)

    async def _record(
        self,
        runtime: ChannelRuntime,
        row: DeliveryRow,
        outcome: Outcome,
        started: datetime,
        finished: datetime,
        elapsed: float,
    ) -> None:
        channel = runtime.channel
        decision = decide(outcome, row.attempts, channel.retry, rand=self._rand)
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
            kept = await self._db(
                self._store.mark_sent, row.id, worker=self._worker, now=finished, attempt=attempt
            )
            lateness = (started - row.due_at).total_seconds()
            log.info("delivery sent", extra=fields(**event, lateness_ms=round(lateness * 1000, 1)))
        elif decision.action is Action.RETRY:
            delay = decision.delay or timedelta(seconds=1)
            kept = await self._db(
                self._store.schedule_retry,
                row.id,
                worker=self._worker,
                now=finished,
                next_attempt_at=finished + delay,
                attempt=attempt,
            )
            log.warning(
                "delivery failed, will retry",
                extra=fields(**event, retry_in_s=round(delay.total_seconds(), 3)),
            )
        else:
            kept = await self._db(
                self._store.mark_dead,
                row.id,
                worker=self._worker,
                now=finished,
                reason=decision.reason,
                attempt=attempt,
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
        await self._db(
            self._store.mark_dead,
            row.id,
            worker=self._worker,
            now=self._clock(),
            reason=reason,
            attempt=None,
        )
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
