"""The values that flow through tminus: config → plan → deliveries.

Everything here is an immutable value with no I/O. The config loader builds
:class:`Config`; the planner turns it into :class:`Reminder` values; the
delivery pipeline turns a reminder and a channel into an :class:`Alert` and a
notifier answers with an :class:`Outcome`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from scheduler.channel_settings import DEFAULT_RETRY
from scheduler.channel_settings import MIN_SECRET_CHARS as MIN_SECRET_CHARS
from scheduler.channel_settings import MIN_SECRET_PATH as MIN_SECRET_PATH
from scheduler.channel_settings import ChannelType as ChannelType
from scheduler.channel_settings import EmailSettings as EmailSettings
from scheduler.channel_settings import Mailbox as Mailbox
from scheduler.channel_settings import QuietHours as QuietHours
from scheduler.channel_settings import RetryPolicy as RetryPolicy
from scheduler.channel_settings import Secret as Secret
from scheduler.channel_settings import StartTLS as StartTLS
from scheduler.channel_settings import Templates as Templates
from scheduler.channel_settings import apprise_url_parts as apprise_url_parts
from scheduler.durations import Duration
from scheduler.timekeeping import utc_iso_micro

# Defaults named in SPEC.md.
DEFAULT_CATCH_UP = timedelta(hours=1)
DEFAULT_TIMEOUT = timedelta(seconds=15)
DEFAULT_GROUP_WINDOW = timedelta(seconds=2)
DEFAULT_SLACK_RATE_LIMIT = 1.0  # Slack: "about one message per second" per webhook
DEFAULT_DISCORD_RATE_LIMIT = 0.5  # Discord: 30 messages a minute per channel
DEFAULT_TEAMS_RATE_LIMIT = 4.0  # Teams webhooks: 4 requests per second
ZERO = Duration()
DEFAULT_REMIND: tuple[Duration, ...] = (ZERO,)
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday


class MilestoneStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    DONE = "done"


class Roll(enum.StrEnum):
    """How a milestone that lands on a non-business day moves."""

    NONE = "none"
    FORWARD = "forward"
    BACKWARD = "backward"


class DeliveryStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"  # due outside its channel's quiet hours: sent at the next opening
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DEAD, DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED}
)


class AlertKind(enum.StrEnum):
    """What a delivery carries. Reminders, escalations and digest fires are planned
    ahead from the config (reconciliation owns their rows); acknowledgement and
    moved-deadline notices are events, inserted when they happen and never cancelled
    by a reconcile."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    DIGEST = "digest"
    ACKNOWLEDGED = "acknowledged"
    MOVED = "moved"

    @property
    def planned(self) -> bool:
        """Whether the plan decides this delivery's fate (an event notice is not planned)."""
        return self in _PLANNED_KINDS


_PLANNED_KINDS = frozenset({AlertKind.REMINDER, AlertKind.ESCALATION, AlertKind.DIGEST})


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value stands in a config file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Channel:
    """One destination for alerts, as configured."""

    name: str
    type: ChannelType
    url: Secret
    secret: Secret | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout: timedelta = DEFAULT_TIMEOUT
    retry: RetryPolicy = DEFAULT_RETRY
    rate_limit: float | None = None  # messages per second; None: unpaced (Slack: 1)
    group_window: timedelta = DEFAULT_GROUP_WINDOW
    hours: QuietHours | None = None  # None: sends at any time
    location: Location | None = field(default=None, compare=False)
    apprise_urls: tuple[Secret, ...] = ()  # `type: apprise`: every URL is a credential
    templates: Templates | None = None

    email: EmailSettings | None = None  # type: email only; its url is the smtp:// URL

    @property
    def effective_rate_limit(self) -> float | None:
        if self.rate_limit is not None:
            return self.rate_limit
        if self.type is ChannelType.SLACK:
            return DEFAULT_SLACK_RATE_LIMIT
        if self.type is ChannelType.DISCORD:
            return DEFAULT_DISCORD_RATE_LIMIT
        if self.type is ChannelType.TEAMS:
            return DEFAULT_TEAMS_RATE_LIMIT
        return None

    def secrets(self) -> tuple[str, ...]:
        """The configured values of this channel that must never be shown, longest first.

        The one rule behind both the log redactor and the scrubbing of receivers'
        answers: the URL (and its path, which is the credential of a Slack or Discord
        webhook, kept with its leading ``/`` so that an ordinary word is never taken
        for it), the signing secret with and without ``whsec_``, and header values
        (``Authorization: Bearer …``) with their last word, and an email channel's
        username and password.
        """
        found = {str(self.url)}
        if "://" in self.url:
            path = "/" + self.url.split("://", 1)[1].partition("/")[2]
            if len(path) >= MIN_SECRET_PATH:
                found.add(path)
        if self.secret:
            found.add(str(self.secret))
            found.add(self.secret.removeprefix("whsec_"))
        for value in self.headers.values():
            found.add(value)
            found.add(value.rsplit(" ", 1)[-1])
        for apprise_url in self.apprise_urls:
            found.update(apprise_url_parts(apprise_url))
        if self.templates is not None:
            found.update(self.templates.env.values())

        if self.email is not None:
            found.update(self.email.credentials())
        return tuple(
            sorted((s for s in found if len(s) >= MIN_SECRET_CHARS), key=len, reverse=True)
        )

    def fingerprint(self) -> str:
        """A digest of everything that defines the channel, secrets included.

        A channel disabled after a 410 stays disabled until this changes.
        """
        parts = [
            self.name,
            self.type.value,
            self.url,
            self.secret or "",
            repr(sorted(self.headers.items())),
            str(self.timeout.total_seconds()),
            repr(self.retry),
            repr(self.rate_limit),
            str(self.group_window.total_seconds()),
            repr(list(self.apprise_urls)),
            self.templates.fingerprint_part() if self.templates is not None else "",
        ]
        if self.email is not None:
            parts.append(repr(self.email))  # Secret's repr hides the value: add them plainly
            parts.extend(s or "" for s in (self.email.username, self.email.password))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Escalation:
    """One ``escalate`` entry: at ``at`` before the occurrence (the ``remind`` grammar;
    negative is after it), if the occurrence is not acknowledged, alert ``notify``."""

    at: Duration
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Milestone:
    """One milestone as written in the config, defaults applied, not yet resolved.

    Exactly one of ``at`` and ``after`` is set. ``at`` is a date (00:00 in the
    milestone's zone) or a datetime, naive (in the milestone's zone) or aware.
    """

    id: str
    title: str
    timezone: str = "UTC"
    at: date | datetime | None = None
    after: str | None = None
    offset: Duration = ZERO
    remind: tuple[Duration, ...] = DEFAULT_REMIND
    notify: tuple[str, ...] = ()
    catch_up: timedelta = DEFAULT_CATCH_UP
    description: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    rrule: str | None = None
    roll: Roll = Roll.NONE
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = DEFAULT_WEEKEND
    until: date | datetime | None = None
    status: MilestoneStatus = MilestoneStatus.ACTIVE
    escalate: tuple[Escalation, ...] = ()
    location: Location | None = field(default=None, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Digest:
    """A scheduled summary (``digests:``): at each fire time of the 5-field cron
    ``schedule`` (in ``timezone``), one message to ``notify`` listing the milestones
    whose occurrences fall within ``within`` from then (only those with one of ``tags``,
    when given). ``skip_empty``: a fire with nothing to list sends nothing."""

    id: str
    schedule: str
    within: Duration
    timezone: str = "UTC"
    notify: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skip_empty: bool = True
    catch_up: timedelta = DEFAULT_CATCH_UP
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration, possibly merged from several files."""

    milestones: tuple[Milestone, ...]
    channels: Mapping[str, Channel]
    timezone: str = "UTC"
    sources: tuple[str, ...] = ()
    digests: tuple[Digest, ...] = ()

    def milestone(self, milestone_id: str) -> Milestone | None:
        for m in self.milestones:
            if m.id == milestone_id:
                return m
        return None


def reminder_id(
    milestone_id: str,
    occurrence: datetime,
    offset: Duration,
    kind: AlertKind = AlertKind.REMINDER,
) -> str:
    """Stable identity of a reminder: (milestone id, occurrence instant, offset), and the
    kind for anything but a plain reminder (an escalation at ``1d`` is not the ``1d``
    reminder). Plain reminders keep the ids they always had."""
    instant = utc_iso_micro(occurrence)
    parts = f"{milestone_id}\x1f{instant}\x1f{offset.iso()}"
    if kind is not AlertKind.REMINDER:
        parts += f"\x1f{kind.value}"
    digest = hashlib.sha256(parts.encode()).hexdigest()
    return f"rem_{digest[:24]}"


def delivery_id(reminder: str, channel: str) -> str:
    """Stable identity of one reminder's delivery to one channel (the ``webhook-id``)."""
    digest = hashlib.sha256(f"{reminder}\x1f{channel}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


@dataclass(frozen=True, slots=True)
class Reminder:
    """One planned reminder: a milestone occurrence minus an offset."""

    milestone: Milestone
    occurrence: datetime  # aware, in the milestone's zone
    offset: Duration
    due_at: datetime  # aware, in the milestone's zone
    channels: tuple[str, ...]
    kind: AlertKind = AlertKind.REMINDER
    # What a kind other than a reminder carries (JSON values): an escalation's
    # ``{"at": "P1D", "level": 1}``, a moved notice's old and new instants, a digest's
    # listed milestones. Stored in the snapshot; rendered by each channel.
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def id(self) -> str:
        return reminder_id(self.milestone.id, self.occurrence, self.offset, self.kind)

    @property
    def label(self) -> str:
        """``7 days before``; an escalation adds its level (``escalation 1 · 1 day before``),
        a moved-deadline notice is ``deadline moved``."""
        if self.kind is AlertKind.ESCALATION:
            found = self.extra.get("escalation")
            level = found.get("level") if isinstance(found, Mapping) else None
            return f"escalation {level or '?'} · {self.offset.label()}"
        if self.kind is AlertKind.MOVED:
            return "deadline moved"
        return self.offset.label()

    def delivery_id(self, channel: str) -> str:
        return delivery_id(self.id, channel)


@dataclass(frozen=True, slots=True)
class Alert:
    """One delivery attempt of one reminder to one channel, ready to render."""

    delivery_id: str
    reminder: Reminder
    channel: str
    attempt: int
    late: bool
    sent_at: datetime  # aware; when this attempt is made
    # The acknowledge link of the reminder's occurrence (``TMINUS_PUBLIC_URL/ack/…``);
    # empty when links are off or the alert is itself an acknowledgement notice.
    ack_url: str = ""
    # Due outside its channel's quiet hours, so sent at the next opening (SPEC "Quiet hours").
    held: bool = False


class Reason(enum.StrEnum):
    """Why a send ended as it did: a log field and a metric label."""

    OK = "ok"
    SERVER_ERROR = "server_error"  # 5xx
    RATE_LIMITED = "rate_limited"  # 429
    TIMEOUT = "timeout"
    NETWORK = "network"  # connection refused, reset, DNS
    TLS = "tls"  # the TLS handshake failed: a certificate not trusted, a protocol mismatch
    CLIENT_ERROR = "client_error"  # other 4xx: dead at once
    GONE = "gone"  # 410 / channel_is_archived / no_service: channel disabled
    REDIRECT = "redirect"  # 3xx is a failure: redirects are not followed
    REJECTED = "rejected"  # 2xx with a body that says no (Slack other than "ok")
    RETRYABLE_STATUS = "retryable_status"  # 408, 425; SMTP 4xx
    NOT_DELIVERED = "not_delivered"  # a library without status classes said no (Apprise)
    AUTH_FAILED = "auth_failed"  # SMTP 535: the credentials were refused; channel disabled


@dataclass(frozen=True, slots=True)
class Outcome:
    """A notifier's answer for one request."""

    ok: bool
    retryable: bool
    reason: Reason
    status_code: int | None = None
    body: str = ""  # bounded excerpt of the receiver's answer
    retry_after: float | None = None  # seconds, from Retry-After / retry_after
    disable_channel: bool = False
    detail: str = ""  # human meaning, e.g. Slack's "channel_is_archived: the channel was archived"


AlertType = Literal[
    "reminder.due",
    "milestone.reached",
    "milestone.escalated",
    "milestone.acknowledged",
    "milestone.moved",
    "digest",
]
