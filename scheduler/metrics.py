"""Prometheus metrics for tminus, on a registry of their own.

Each :class:`Metrics` owns a private ``CollectorRegistry`` rather than the
process-wide default one, so that tests, benchmarks and several daemons in one
process never clash over metric names. The daemon records events through the
small methods below; ``GET /metrics`` serves :meth:`Metrics.render`.

Names follow ``tminus_<thing>_total`` for counters and ``_seconds`` for times.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from scheduler.model import AlertKind, DeliveryStatus

# Lateness is "sent time minus due time": a healthy daemon is a few milliseconds
# late, a catch-up after a restart can be up to the catch-up window (hours).
LATENESS_BUCKETS: tuple[float, ...] = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
)
# One HTTP request to a receiver: bounded by the channel timeout (default 15 s).
DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
)


class DeliveryOutcome(enum.StrEnum):
    """How one delivery attempt ended, as the ``outcome`` label."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    HELD = "held"  # outside the channel's quiet hours: sent at the next opening


class Metrics:
    """Every tminus metric, registered on a private registry.

    ``clock`` (seconds since the epoch) is only read when metrics are rendered,
    to compute ``tminus_seconds_until_next_due``; tests inject a fixed one.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._next_due: float | None = None
        r = self.registry
        self.deliveries_total = Counter(
            "tminus_deliveries_total",
            "Delivery attempts by channel, outcome (sent, retry, dead, skipped, cancelled) "
            "and reason.",
            ["channel", "outcome", "reason"],
            registry=r,
        )
        self.deliveries_dead_total = Counter(
            "tminus_deliveries_dead_total",
            "Deliveries that ended dead (gave up) by channel and reason.",
            ["channel", "reason"],
            registry=r,
        )
        self.delivery_duration_seconds = Histogram(
            "tminus_delivery_duration_seconds",
            "Time spent on one request to a receiver.",
            ["channel"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.delivery_lateness_seconds = Histogram(
            "tminus_delivery_lateness_seconds",
            "Sent time minus due time of delivered reminders.",
            ["channel"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.reminders = Gauge(
            "tminus_reminders",
            "Stored deliveries by status.",
            ["status"],
            registry=r,
        )
        self.config_reloads_total = Counter(
            "tminus_config_reloads_total",
            "Config loads and reloads by result (ok, failed).",
            ["result"],
            registry=r,
        )
        self.milestones_loaded = Gauge(
            "tminus_milestones_loaded",
            "Milestones in the config in force.",
            registry=r,
        )
        self.next_due_timestamp_seconds = Gauge(
            "tminus_next_due_timestamp_seconds",
            "Unix time of the next pending reminder (NaN when none is pending).",
            registry=r,
        )
        self.seconds_until_next_due = Gauge(
            "tminus_seconds_until_next_due",
            "Seconds until the next pending reminder (NaN when none is pending).",
            registry=r,
        )
        self.seconds_until_next_due.set_function(self._seconds_until_next_due)
        self.channels_disabled = Gauge(
            "tminus_channels_disabled",
            "1 for a channel disabled after a 410 or an archived Slack channel.",
            ["channel"],
            registry=r,
        )
        self.escalations_total = Counter(
            "tminus_escalations_total",
            "Escalation delivery attempts (milestone.escalated) by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )
        self.claims_total = Counter(
            "tminus_claims_total",
            "Deliveries claimed by this process for sending.",
            registry=r,
        )
        self.acknowledgements_total = Counter(
            "tminus_acknowledgements_total",
            "Milestone occurrences acknowledged, by source (cli, api, link); each daemon "
            "counts every acknowledgement it learns of, whichever process made it.",
            ["source"],
            registry=r,
        )
        for source in ("cli", "api", "link"):
            self.acknowledgements_total.labels(source=source)

        self.takeovers_total = Counter(
            "tminus_takeovers_total",
            "Claims of dead replicas (session lock gone) this process put back in the queue.",
            registry=r,
        )
        self.claims_lost_total = Counter(
            "tminus_claims_lost_total",
            "Claims this process dropped unsent because it could no longer be sure it held them.",
            ["reason"],
            registry=r,
        )
        for result in ("ok", "failed"):
            self.config_reloads_total.labels(result=result)
        for status in DeliveryStatus:
            self.reminders.labels(status=status.value).set(0)
        self.set_next_due(None)

    # -- events -------------------------------------------------------------

    def record_delivery(
        self,
        channel: str,
        outcome: DeliveryOutcome | str,
        reason: str,
        *,
        duration: float | None = None,
        lateness: float | None = None,
        kind: AlertKind = AlertKind.REMINDER,
    ) -> None:
        """Count one delivery attempt; ``duration`` and ``lateness`` are in seconds.
        An escalation is also counted in ``tminus_escalations_total``.

        Lateness is only observed for sent deliveries; a reminder sent a hair
        early (clock skew between replicas) counts as on time, not negative.
        """
        outcome = DeliveryOutcome(outcome)
        self.deliveries_total.labels(channel=channel, outcome=outcome.value, reason=reason).inc()
        if kind is AlertKind.ESCALATION:
            self.escalations_total.labels(channel=channel, outcome=outcome.value).inc()
        if outcome is DeliveryOutcome.DEAD:
            self.deliveries_dead_total.labels(channel=channel, reason=reason).inc()
        if duration is not None:
            self.delivery_duration_seconds.labels(channel=channel).observe(max(duration, 0.0))
        if lateness is not None and outcome is DeliveryOutcome.SENT:
            self.delivery_lateness_seconds.labels(channel=channel).observe(max(lateness, 0.0))

    def record_reload(self, *, ok: bool) -> None:
        """Count a config load or reload (the first load counts too)."""
        self.config_reloads_total.labels(result="ok" if ok else "failed").inc()

    def record_acknowledgement(self, source: str) -> None:
        self.acknowledgements_total.labels(source=source).inc()

    def record_claims(self, count: int = 1) -> None:
        if count > 0:
            self.claims_total.inc(count)

    # -- state --------------------------------------------------------------

    def set_reminder_counts(self, counts: Mapping[str, int]) -> None:
        """Set the per-status gauge; statuses absent from ``counts`` become 0."""
        known = {s.value for s in DeliveryStatus}
        for status in known | set(counts):
            self.reminders.labels(status=str(status)).set(counts.get(status, 0))

    def set_milestones_loaded(self, count: int) -> None:
        self.milestones_loaded.set(count)

    def set_next_due(self, when: datetime | float | None) -> None:
        """Record when the next pending reminder is due (aware datetime or Unix time)."""
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise ValueError("next due time must be timezone-aware")
            when = when.timestamp()
        self._next_due = when
        self.next_due_timestamp_seconds.set(math.nan if when is None else when)

    def set_disabled_channels(self, disabled: Iterable[str], *, known: Iterable[str] = ()) -> None:
        """Replace the disabled-channel gauge: 1 for ``disabled``, 0 for the rest of ``known``.

        Channels that left the config disappear from the output.
        """
        disabled = set(disabled)
        self.channels_disabled.clear()
        for name in set(known) | disabled:
            self.channels_disabled.labels(channel=name).set(1 if name in disabled else 0)

    # -- output -------------------------------------------------------------

    def _seconds_until_next_due(self) -> float:
        if self._next_due is None:
            return math.nan
        return self._next_due - self._clock()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition: (body, content type)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
