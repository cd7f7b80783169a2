"""Stage ``record``: the retry policy turns each delivery's outcome into sent, retry or
dead; the guarded store call, the metric and one log line follow. A receiver that says
the channel is gone disables it until its config changes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from scheduler.db.marks import Mark
from scheduler.db.rows import AttemptRecord, DeliveryRow
from scheduler.delivery.events import Events, Reached, RetryScheduled
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.values import Batch, ChannelRuntime, DbCall, Sent
from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics
from scheduler.model import Outcome
from scheduler.retry import Action, Decision, decide

log = logging.getLogger("tminus.delivery")

_OUTCOMES = {
    Action.SENT: DeliveryOutcome.SENT,
    Action.RETRY: DeliveryOutcome.RETRY,
    Action.DEAD: DeliveryOutcome.DEAD,
}


class Record:
    def __init__(
        self,
        *,
        recorder: Recorder,
        disable_channel: Callable[..., Any],
        db: DbCall,
        metrics: Metrics,
        events: Events,
        worker: str,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._recorder = recorder
        self._disable_channel = disable_channel
        self._db = db
        self._metrics = metrics
        self._events = events
        self._worker = worker
        self._rand = rand

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime, sent = batch.runtime, batch.sent
        assert runtime is not None and sent is not None  # sent
        if sent.outcome.disable_channel:
            await self._disable(runtime, sent.outcome, sent.finished)
        # One jitter draw per request: deliveries that travelled together retry together
        # (and are grouped into one message again), instead of scattering into many posts.
        jitter = self._rand()
        # Every row's mark is queued at once, so a group's outcomes share one transaction
        # (awaited one by one, a 50-reminder post cost 50 transactions before its next turn).
        if len(batch.rows) == 1:  # a webhook's request: no task for one coroutine
            await self._record(runtime, batch.rows[0], sent, jitter)
        else:
            await asyncio.gather(*(self._record(runtime, r, sent, jitter) for r in batch.rows))
        # Their moment has come (and they went out): earlier reminders of the same
        # milestone still failing on this channel are superseded. Bookkeeping, after the send.
        firsts = tuple(row for row in batch.rows if row.attempts == 1)
        if firsts:
            await self._events.publish(Reached(firsts))
        return [batch]

    async def _record(
        self, runtime: ChannelRuntime, row: DeliveryRow, sent: Sent, jitter: float
    ) -> None:
        channel, outcome = runtime.channel, sent.outcome
        decision = decide(outcome, row.attempts, channel.retry, rand=lambda: jitter)
        mark = self._mark(row, sent, decision)
        event = fields_for(row, channel.name, outcome, decision.action.value)
        kept = await self._recorder.record(mark)
        lateness: float | None = None
        if decision.action is Action.SENT:
            lateness = (sent.started - row.due_at).total_seconds()
            log.info("delivery sent", extra=fields(**event, lateness_ms=round(lateness * 1000, 1)))
        elif decision.action is Action.RETRY:
            await self._events.publish(RetryScheduled(row.id))  # the timer can now see it
            delay = (mark.next_attempt_at or sent.finished) - sent.finished
            log.warning(
                "delivery failed, will retry",
                extra=fields(**event, retry_in_s=round(delay.total_seconds(), 3)),
            )
        else:
            log.error("delivery dead", extra=fields(**event, dead_reason=decision.reason))
        self._metrics.record_delivery(
            channel.name,
            _OUTCOMES[decision.action],
            decision.reason,
            duration=sent.elapsed,
            lateness=lateness,
            kind=row.snapshot.kind,
        )
        if not kept:
            log.warning(
                "claim lost before recording (another worker took the delivery over)",
                extra=fields(delivery=row.id, channel=channel.name),
            )

    def _mark(self, row: DeliveryRow, sent: Sent, decision: Decision) -> Mark:
        outcome = sent.outcome
        attempt = AttemptRecord(
            attempt=row.attempts,
            started_at=sent.started,
            finished_at=sent.finished,
            status_code=outcome.status_code,
            reason=outcome.reason.value,
            error=outcome.detail or None,
            body=outcome.body or None,
        )
        if decision.action is Action.SENT:
            return Mark(
                "sent",
                row.id,
                self._worker,
                sent.finished,
                attempt=attempt,
                generation=row.attempts,
            )
        if decision.action is Action.RETRY:
            delay = decision.delay or timedelta(seconds=1)
            return Mark(
                "retry",
                row.id,
                self._worker,
                sent.finished,
                attempt=attempt,
                next_attempt_at=sent.finished + delay,
                generation=row.attempts,
            )
        return Mark(
            "dead",
            row.id,
            self._worker,
            sent.finished,
            attempt=attempt,
            reason=decision.reason,
            generation=row.attempts,
        )

    async def _disable(self, runtime: ChannelRuntime, outcome: Outcome, now: datetime) -> None:
        if runtime.disabled:
            return
        runtime.disabled = True
        channel = runtime.channel
        await self._db(
            self._disable_channel,
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
