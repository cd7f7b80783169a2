"""What the HTTP surface needs from the running daemon, as protocols.

The FastAPI app never creates resources of its own: the daemon (the one
composition root) hands :func:`scheduler.http.create_app` an object that
satisfies :class:`AppState`. Tests hand it a fake. Store calls are synchronous
and go through ``state.db(fn, *args)``, the daemon's database executor, so the
store is only ever used from the thread the daemon chose for it and a slow
query never stalls the timers sharing the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.acktoken import AckClaim
from scheduler.db.acks import AckChange
from scheduler.metrics import Metrics
from scheduler.model import Config, DeliveryStatus, Reminder

T = TypeVar("T")


class DeliveryRecord(Protocol):
    """One stored delivery as the store returns it (``scheduler.db.rows.DeliveryRow``)."""

    @property
    def id(self) -> str: ...
    @property
    def reminder_id(self) -> str: ...
    @property
    def milestone_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def status(self) -> DeliveryStatus: ...
    @property
    def attempts(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...
    @property
    def late(self) -> bool: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime: ...


class StoredStatus(Protocol):
    """What a stored delivery says of its fate (a :class:`DeliveryRecord` has it)."""

    @property
    def status(self) -> DeliveryStatus: ...
    @property
    def reason(self) -> str | None: ...


class ChannelStateRecord(Protocol):
    """A channel's stored state (``scheduler.db.rows.ChannelState``)."""

    @property
    def name(self) -> str: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def disabled_reason(self) -> str | None: ...


class StoreView(Protocol):
    """The store calls the HTTP surface makes (synchronous; run through ``db``)."""

    def ping(self, /) -> None:
        """Raise when the database does not answer."""

    def deliveries(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[DeliveryRecord]:
        """Deliveries, most recently due first, optionally only those of one status."""

    def counts_by_status(self, /) -> Mapping[str, int]:
        """Number of stored deliveries per status value."""

    def deliveries_by_id(self, ids: Sequence[str], /) -> Mapping[str, DeliveryRecord]:
        """The stored deliveries among ``ids`` (unknown ids left out), by id."""

    def deliveries_due(
        self, *, due_from: datetime, due_until: datetime
    ) -> Mapping[str, DeliveryRecord]:
        """Every stored delivery, whatever its status, due in ``[due_from, due_until)``."""

    def channel_states(self, /) -> Mapping[str, ChannelStateRecord]:
        """Every channel with stored state (at least the disabled ones), by name."""


class AckDesk(Protocol):
    """Acknowledging, as the HTTP surface asks it (``scheduler.acknowledgements``)."""

    async def acknowledge(
        self,
        milestone_id: str,
        /,
        *,
        occurrence: datetime | None,
        by: str | None,
        note: str | None,
        source: AckSource,
    ) -> AckChange:
        """Acknowledge an occurrence (default: the next not yet past, else the latest).
        :class:`scheduler.errors.NotFoundError` for an unknown milestone or occurrence."""

    async def acknowledge_occurrence(
        self,
        milestone_id: str,
        occurrence: datetime,
        /,
        *,
        by: str | None,
        note: str | None,
        source: AckSource,
    ) -> AckChange:
        """Acknowledge exactly this occurrence (a link names it)."""

    async def unacknowledge(
        self, milestone_id: str, /, *, occurrence: datetime | None, by: str | None
    ) -> AckChange:
        """Take an acknowledgement back (``NotFoundError`` when there is none)."""

    def claim(self, token: str, /) -> AckClaim:
        """What a link names; ``TokenError`` (tampered, expired, malformed) or a
        ``TminusError`` when links are off."""

    async def lookup(self, milestone_id: str, occurrence: datetime, /) -> Acknowledgement | None:
        """The occurrence's acknowledgement, in force or taken back."""

    def current(self) -> Mapping[tuple[str, datetime], Acknowledgement]:
        """The acknowledgements in force, by (milestone id, occurrence)."""


class AppState(Protocol):
    """The running daemon, as the HTTP app sees it."""

    @property
    def metrics(self) -> Metrics: ...
    @property
    def api_token(self) -> str | None: ...
    @property
    def store(self) -> StoreView | None:
        """None until the database is open."""

    @property
    def acks(self) -> AckDesk | None:
        """None until the daemon has wired its acknowledgements."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (the daemon's clock)."""

    def config(self) -> Config | None:
        """The config in force, or None before the first one is loaded."""

    def ready_reason(self) -> str | None:
        """Why the daemon is not ready (migrating, no config yet, …); None when ready."""

    def loop_alive(self) -> bool:
        """False when the scheduler's periodic heartbeat has gone stale."""

    def upcoming(self, within: timedelta, /) -> Sequence[Reminder]:
        """Planned reminders due from now to now + ``within``, soonest first (pure planning)."""

    def calendar(self) -> bytes:
        """The RFC 5545 calendar of the config in force (as ``export-ics``)."""

    def db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Awaitable[T]:
        """Run a synchronous store call on the daemon's database executor."""

    async def redeliver(self, delivery_id: str, /) -> DeliveryRecord:
        """Queue a finished delivery again (same id) and wake the dispatcher.

        Returns the updated delivery. Raises :class:`scheduler.errors.NotFoundError`
        for an unknown id (404) and another :class:`scheduler.errors.TminusError`
        when it cannot be redelivered now, e.g. it is still queued (409).
        """
