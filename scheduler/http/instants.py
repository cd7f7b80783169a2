"""Each milestone's instant for display: resolved once per config, not per request."""

from __future__ import annotations

import threading
from datetime import datetime

from scheduler.model import Config
from scheduler.planning import Resolved, next_occurrences, resolve


class Instants:
    """Caches :func:`scheduler.planning.resolve` for the config in force.

    A reload swaps the ``Config`` object, which invalidates the cache; resolving
    100,000 milestones on every page view would be wasted work.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: Config | None = None
        self._resolved: dict[str, Resolved] = {}

    def resolved(self, config: Config) -> dict[str, Resolved]:
        """:func:`scheduler.planning.resolve` of ``config``, cached."""
        with self._lock:
            if self._config is not config:
                self._resolved = resolve(config)
                self._config = config
            return self._resolved

    def of(self, config: Config, now: datetime) -> dict[str, datetime]:
        """Milestone id -> its instant; for a recurring one, the next occurrence
        from ``now`` (or its first, when the recurrence has ended)."""
        out: dict[str, datetime] = {}
        for mid, r in self.resolved(config).items():
            if r.milestone.rrule is not None:
                upcoming = next_occurrences(r, now, 1)
                out[mid] = upcoming[0] if upcoming else r.at
            else:
                out[mid] = r.at
        return out
