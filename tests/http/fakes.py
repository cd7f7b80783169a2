"""A fake daemon state for the HTTP surface: real config, planning and metrics,
an in-memory store with the real row types."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from scheduler.acknowledge import (
    MAX_BY_CHARS,
    MAX_NOTE_CHARS,
    Acknowledgement,
    AckSource,
    choose_occurrence,
    clean_text,
)
from scheduler.acktoken import AckClaim, AckLinks
from scheduler.db.acks import AckChange
from scheduler.db.rows import ChannelState, DeliveryRow
from scheduler.durations import Duration
from scheduler.errors import NotFoundError, StoreError, TminusError
from scheduler.metrics import Metrics
from scheduler.model import (
    Channel,
    ChannelType,
    Config,
    DeliveryStatus,
    Milestone,
    Reminder,
    Secret,
)
from scheduler.planning import plan, resolve
from scheduler.snapshot import Snapshot

T = TypeVar("T")
NOW = datetime(2019, 7, 26, 12, 0, tzinfo=UTC)
TOKEN = "s3cret-api-token-for-tests"


def inf_config() -> Config:
    d = Duration.parse
    channels = {
        "audit": Channel("audit", ChannelType.WEBHOOK, Secret("https://hooks.example.org/x")),
        "newsroom": Channel("newsroom", ChannelType.SLACK, Secret("https://hooks.slack.com/y")),
    }
    milestones = (
        Milestone(
            id="us-notice",
            title="U.S. gives notice of withdrawal from the INF Treaty",
            timezone="Europe/Brussels",
            at=datetime(2019, 2, 2),
            notify=("audit",),
            remind=(Duration(),),
        ),
        Milestone(
            id="withdrawal-effective",
            title="INF Treaty withdrawal takes effect <script>alert(1)</script>",
            timezone="Europe/Brussels",
            after="us-notice",
            offset=d("6 months"),
            remind=(d("7d"), d("1d"), Duration()),
            notify=("newsroom", "audit"),
            description="Article XV — six months after notice.",
        ),
        Milestone(
            id="annual-review",
            title="Annual compliance report due",
            timezone="UTC",
            at=datetime(2019, 9, 1, 9, 0),
            rrule="FREQ=YEARLY",
            remind=(d("30d"), Duration()),
            notify=("audit",),
        ),
    )
    return Config(milestones=milestones, channels=channels, timezone="Europe/Brussels")


def row(
    id: str,
    status: DeliveryStatus,
    *,
    milestone: str = "us-notice",
    channel: str = "audit",
    due: datetime = NOW - timedelta(days=1),
    error: str | None = None,
) -> DeliveryRow:
    return DeliveryRow(
        id=id,
        reminder_id="rem_" + id,
        milestone_id=milestone,
        channel=channel,
        due_at=due,
        status=status,
        attempts=1 if status is not DeliveryStatus.SCHEDULED else 0,
        next_attempt_at=due if not status.is_final else None,
        late=False,
        claimed_by=None,
        lease_until=None,
        last_error=error,
        last_status_code=None,
        last_body=None,
        reason=None,
        sent_at=due if status is DeliveryStatus.SENT else None,
        created_at=due,
        updated_at=due,
        snapshot=Snapshot(
            milestone_id=milestone,
            title=milestone,
            timezone="UTC",
            description="",
            tags=(),
            links=(),
            occurrence=due.isoformat(),
            offset="PT0S",
            label="at the moment",
            due_at=due.isoformat(),
        ),
    )


@dataclass
class FakeStore:
    rows: list[DeliveryRow] = field(default_factory=list)
    channels: dict[str, ChannelState] = field(default_factory=dict)
    down: bool = False

    def _check(self) -> None:
        if self.down:
            raise StoreError("database is unreachable")

    def ping(self) -> None:
        self._check()

    def deliveries(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DeliveryRow]:
        self._check()
        rows = [r for r in self.rows if status is None or r.status.value == status]
        rows.sort(key=lambda r: (-r.due_at.timestamp(), r.id))
        return rows[offset : offset + limit]

    def counts_by_status(self) -> dict[str, int]:
        self._check()
        counts = {s.value: 0 for s in DeliveryStatus}
        for r in self.rows:
            counts[r.status.value] += 1
        return counts

    def deliveries_by_id(self, ids: Sequence[str]) -> dict[str, DeliveryRow]:
        self._check()
        wanted = set(ids)
        return {r.id: r for r in self.rows if r.id in wanted}

    def deliveries_due(self, *, due_from: datetime, due_until: datetime) -> dict[str, DeliveryRow]:
        self._check()
        return {r.id: r for r in self.rows if due_from <= r.due_at < due_until}

    def channel_states(self) -> dict[str, ChannelState]:
        self._check()
        return dict(self.channels)

    def redeliver(self, delivery_id: str, *, now: datetime) -> DeliveryRow:
        for i, r in enumerate(self.rows):
            if r.id == delivery_id:
                if not r.status.is_final:
                    raise TminusError(f"delivery {delivery_id} is {r.status.value}: already queued")
                new = dataclasses.replace(
                    r, status=DeliveryStatus.SCHEDULED, attempts=0, next_attempt_at=now
                )
                self.rows[i] = new
                return new
        raise NotFoundError(f"no delivery {delivery_id!r}")


@dataclass
class FakeState:
    """What the daemon provides to the HTTP app, with knobs for tests."""

    store: FakeStore | None = field(default_factory=FakeStore)
    api_token: str | None = None
    acks: FakeAckDesk | None = None
    clock: Callable[[], datetime] = lambda: NOW
    loaded: Config | None = field(default_factory=inf_config)
    not_ready: str | None = None
    alive: bool = True
    metrics: Metrics = field(default_factory=Metrics)
    redelivered: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock()

    def config(self) -> Config | None:
        return self.loaded

    def ready_reason(self) -> str | None:
        return self.not_ready

    def loop_alive(self) -> bool:
        return self.alive

    def upcoming(self, within: timedelta) -> list[Reminder]:
        if self.loaded is None:
            return []
        now = self.clock()
        return plan(self.loaded, now, now + within)

    def calendar(self) -> bytes:
        ids = ",".join(m.id for m in self.loaded.milestones) if self.loaded else ""
        return f"BEGIN:VCALENDAR\r\nX-IDS:{ids}\r\nEND:VCALENDAR\r\n".encode()

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    async def redeliver(self, delivery_id: str) -> DeliveryRow:
        assert self.store is not None
        out = self.store.redeliver(delivery_id, now=self.clock())
        self.redelivered.append(delivery_id)
        return out


ACK_KEY = "fake-ack-signing-key-0001"
PUBLIC_URL = "https://tminus.example.org"


@dataclass
class FakeAckDesk:
    """Acknowledgements in memory, with the real rules, tokens and occurrence choice."""

    state: FakeState
    made: dict[tuple[str, datetime], Acknowledgement] = field(default_factory=dict)
    links_on: bool = True

    @property
    def links(self) -> AckLinks:
        return AckLinks(public_url=PUBLIC_URL, key=ACK_KEY)

    def _occurrence(self, milestone_id: str, wanted: datetime | None) -> datetime:
        config = self.state.config()
        assert config is not None
        found = resolve(config).get(milestone_id)
        if found is None:
            raise NotFoundError(f"no milestone {milestone_id!r}")
        return choose_occurrence(found, self.state.now(), wanted)

    async def acknowledge(
        self,
        milestone_id: str,
        *,
        occurrence: datetime | None,
        by: str | None,
        note: str | None,
        source: AckSource,
    ) -> AckChange:
        moment = self._occurrence(milestone_id, occurrence)
        return await self.acknowledge_occurrence(
            milestone_id, moment, by=by, note=note, source=source
        )

    async def acknowledge_occurrence(
        self,
        milestone_id: str,
        occurrence: datetime,
        *,
        by: str | None,
        note: str | None,
        source: AckSource,
    ) -> AckChange:
        key = (milestone_id, occurrence)
        found = self.made.get(key)
        if found is not None and found.active:
            return AckChange(found, changed=False)
        ack = Acknowledgement(
            milestone_id,
            occurrence,
            clean_text(by, field="by", limit=MAX_BY_CHARS) or f"({source.value})",
            clean_text(note, field="note", limit=MAX_NOTE_CHARS),
            source,
            self.state.now(),
        )
        self.made[key] = ack
        return AckChange(ack, changed=True, cancelled=[("msg_sched1", "audit")])

    async def unacknowledge(
        self, milestone_id: str, *, occurrence: datetime | None, by: str | None
    ) -> AckChange:
        key = (milestone_id, self._occurrence(milestone_id, occurrence))
        found = self.made.get(key)
        if found is None or not found.active:
            raise NotFoundError("not acknowledged")
        self.made[key] = dataclasses.replace(found, revoked_at=self.state.now(), revoked_by=by)
        return AckChange(found, changed=True)

    def claim(self, token: str) -> AckClaim:
        if not self.links_on:
            raise TminusError("links off")
        return self.links.verify(token, now=self.state.now())

    async def lookup(self, milestone_id: str, occurrence: datetime) -> Acknowledgement | None:
        return self.made.get((milestone_id, occurrence))

    def current(self) -> dict[tuple[str, datetime], Acknowledgement]:
        return {k: a for k, a in self.made.items() if a.active}


def with_acks(state: FakeState) -> FakeState:
    state.acks = FakeAckDesk(state)
    return state


def seeded_store() -> FakeStore:
    return FakeStore(
        rows=[
            row("msg_sent1", DeliveryStatus.SENT, due=NOW - timedelta(days=3)),
            row(
                "msg_dead1",
                DeliveryStatus.DEAD,
                channel="newsroom",
                milestone="withdrawal-effective",
                due=NOW - timedelta(hours=2),
                error="HTTP 404 <not found>",
            ),
            row("msg_sched1", DeliveryStatus.SCHEDULED, due=NOW + timedelta(days=6)),
        ],
        channels={
            "newsroom": ChannelState(
                "newsroom",
                disabled_fingerprint="abc",
                disabled_reason="channel_is_archived",
                disabled_at=NOW - timedelta(hours=1),
            )
        },
    )
