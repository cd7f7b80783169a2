"""The running daemon's acknowledgements: what is acknowledged now, the wake-up hook that
applies a change made anywhere, and acknowledging from the API and the ``/ack`` link.

Acknowledgements live in the database (:mod:`scheduler.db.acks`), so ``tminus ack`` in
another process and every replica share them. A daemon learns of a change in one of two
ways, both ending in :meth:`Acknowledgements.changed`: its heartbeat polls the cheap
acknowledgement version on every beat (:meth:`Acknowledgements.sync`, portable to SQLite
and PostgreSQL), and a PostgreSQL ``LISTEN`` can call :meth:`changed` directly. The hook
installs the acknowledged set where the pipeline's ``verdict`` stage reads it (so a
delivery claimed ahead in memory is cancelled at its moment), counts what is new in
``tminus_acknowledgements_total``, and kicks the dispatcher (notices are due now, an
``unack`` puts reminders back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from scheduler.acknowledge import (
    MAX_BY_CHARS,
    MAX_NOTE_CHARS,
    Acknowledgement,
    AckSource,
    choose_occurrence,
    clean_text,
)
from scheduler.acktoken import AckClaim, AckLinks
from scheduler.delivery.acked import AckMemory
from scheduler.delivery.values import DbCall
from scheduler.dispatcher import Dispatcher
from scheduler.errors import NotFoundError, TminusError
from scheduler.logs import fields
from scheduler.metrics import Metrics
from scheduler.model import ChannelType, Config
from scheduler.planning import Resolved, resolve
from scheduler.store import AckChange, Store

log = logging.getLogger("tminus.ack")

Key = tuple[str, datetime]


class LinksOff(TminusError):
    """Acknowledge links are not in use (no ``TMINUS_PUBLIC_URL``)."""


class Acknowledgements:
    """Acknowledging and taking back, and keeping every part of the daemon in step."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        read: DbCall | None = None,
        memory: AckMemory,
        dispatcher: Dispatcher,
        metrics: Metrics,
        clock: Callable[[], datetime],
        config: Callable[[], Config | None],
        links: AckLinks | None,
    ) -> None:
        self._store = store
        self._db = db
        # The version read each due batch waits for, when given: on a thread of its own
        # (PostgreSQL) or in the loop (SQLite), so it never queues behind a write (a
        # commit, a claim) on the database thread.
        self._read = read or db
        self._memory = memory
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._clock = clock
        self._config = config
        self.links = links
        self._version: str | None = None
        self._loaded = False
        self._current: dict[Key, Acknowledgement] = {}
        self._seen: set[tuple[Key, datetime]] = set()
        self._resolved: tuple[Config, dict[str, Resolved]] | None = None
        memory.poll = self.sync
        self._lock = asyncio.Lock()
        # Called after an acknowledgement made elsewhere was applied (the daemon refreshes
        # planned digests, whose lists show acknowledgement state).
        self.after_change: Callable[[], Awaitable[None]] | None = None

    # -- the wake-up hook ----------------------------------------------------------------
    async def sync(self) -> None:
        """Apply acknowledgements made anywhere, if the version says something changed."""
        version = await self._read(self._store.ack_version)
        if version != self._version or not self._loaded:
            await self.changed(version)

    async def changed(self, version: str | None = None) -> None:
        """The hook: read the acknowledgements in force and apply them (see the module
        docstring). A PostgreSQL ``NOTIFY`` listener calls this without a version."""
        async with self._lock:
            found = await self._db(self._store.acknowledgements)
            if version is not None:
                self._version = version
            self._current = {a.key: a for a in found}
            self._memory.install(found)
            new = {(a.key, a.at): a for a in found} if self._loaded else {}
            for stamp, ack in new.items():
                if stamp not in self._seen:
                    self._metrics.record_acknowledgement(ack.source.value)
            self._seen |= {(a.key, a.at) for a in found}
            first = not self._loaded
            self._loaded = True
        if not first:
            await self._dispatcher.kick()
            if self.after_change is not None:  # e.g. digests already planned list it
                await self.after_change()

    async def memory_fresh(self) -> None:
        """The heartbeat's poll, shared with the ``verdict`` stage's (one read at a time)."""
        await self._memory.ensure_fresh()

    def current(self) -> dict[Key, Acknowledgement]:
        """The acknowledgements in force, as of the last heartbeat (or change made here)."""
        return dict(self._current)

    def listed(self, milestone_id: str, occurrence: datetime) -> dict[str, str] | None:
        """What a digest lists for an occurrence: ``{"by", "at", "note"}`` when it is
        acknowledged. Reads memory only (it runs on the planning thread)."""
        ack = self._current.get((milestone_id, occurrence.astimezone(UTC)))
        if ack is None or not ack.active:
            return None
        return {"by": ack.by, "at": ack.at.isoformat(), "note": ack.note}

    # -- acknowledging ---------------------------------------------------------------------
    def _occurrence(self, milestone_id: str, wanted: datetime | None) -> datetime:
        config = self._config()
        if config is None:
            raise TminusError("no config loaded yet")
        if self._resolved is None or self._resolved[0] is not config:
            self._resolved = (config, resolve(config))
        found = self._resolved[1].get(milestone_id)
        if found is None:
            raise NotFoundError(f"no milestone {milestone_id!r} in the config in force")
        return choose_occurrence(found, self._clock(), wanted)

    def _webhooks(self) -> list[str]:
        config = self._config()
        channels = config.channels.items() if config is not None else ()
        return sorted(name for name, c in channels if c.type is ChannelType.WEBHOOK)

    async def acknowledge(
        self,
        milestone_id: str,
        *,
        occurrence: datetime | None,
        by: str | None,
        note: str | None,
        source: AckSource,
    ) -> AckChange:
        """Acknowledge an occurrence (default: the next not yet past, else the latest)."""
        moment = await asyncio.to_thread(self._occurrence, milestone_id, occurrence)
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
        ack = Acknowledgement(
            milestone_id=milestone_id,
            occurrence=occurrence,
            by=clean_text(by, field="by", limit=MAX_BY_CHARS) or f"({source.value})",
            note=clean_text(note, field="note", limit=MAX_NOTE_CHARS),
            source=source,
            at=self._clock(),
        )
        change: AckChange = await self._db(
            self._store.acknowledge, ack, webhook_channels=self._webhooks()
        )
        if change.changed:
            log.info(
                "acknowledged",
                extra=fields(
                    milestone=milestone_id,
                    occurrence=occurrence.isoformat(),
                    source=source.value,
                    cancelled=len(change.cancelled),
                    notices=len(change.notices),
                ),
            )
            await self.sync()
        return change

    async def unacknowledge(
        self, milestone_id: str, *, occurrence: datetime | None, by: str | None
    ) -> AckChange:
        """Take an acknowledgement back; :class:`NotFoundError` when there is none."""
        moment = await asyncio.to_thread(self._occurrence, milestone_id, occurrence)
        who = clean_text(by, field="by", limit=MAX_BY_CHARS) or "(api)"
        change: AckChange | None = await self._db(
            self._store.unacknowledge, milestone_id, moment, by=who, now=self._clock()
        )
        if change is None:
            raise NotFoundError(f"{milestone_id} at {moment.isoformat()} is not acknowledged")
        log.info(
            "acknowledgement taken back",
            extra=fields(milestone=milestone_id, restored=len(change.restored)),
        )
        await self.sync()
        return change

    # -- links -----------------------------------------------------------------------------
    def claim(self, token: str) -> AckClaim:
        """What an acknowledge link names (:class:`~scheduler.acktoken.TokenError` if
        it is tampered with, expired or malformed)."""
        if self.links is None:
            raise LinksOff("acknowledge links are not enabled on this server")
        return self.links.verify(token, now=self._clock())

    async def lookup(self, milestone_id: str, occurrence: datetime) -> Acknowledgement | None:
        """The occurrence's acknowledgement, in force or taken back, from the database."""
        found: Acknowledgement | None = await self._db(
            self._store.acknowledgement, milestone_id, occurrence
        )
        return found
