"""``GET /timeline.svg``: gather the picture's values, let the pure renderer draw it.

Planning and drawing run in a worker thread (the instants are cached per config
by :class:`~scheduler.http.instants.Instants`); the delivery states come from the
store through ``state.db``, only for the reminders drawn (the layout caps the
rows), so a config of 100,000 milestones reads a few hundred rows at most; the
acknowledgements in force come from the daemon's memory. A store that does not
answer leaves the ticks as planned, with a note in the heading.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from scheduler.http.instants import Instants
from scheduler.http.state import AppState
from scheduler.logs import fields
from scheduler.model import Config
from scheduler.render.timeline import timeline_svg
from scheduler.render.timeline_layout import Layout, lay_out, occurrences_in, window_ahead
from scheduler.render.timeline_states import StoredState

log = logging.getLogger("tminus.http")

DEFAULT_MONTHS = 6
MAX_MONTHS = 24
UNAVAILABLE = " (delivery states unavailable)"

SVG_HEADERS = {
    # Nothing in the picture loads or runs anything; opened on its own it stays inert.
    "content-security-policy": "default-src 'none'; frame-ancestors 'self'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


def _layout(instants: Instants, config: Config, now: datetime, months: int) -> Layout:
    start, end = window_ahead(now, months)
    occs = occurrences_in(instants.resolved(config), start, end)
    return lay_out(occs, start=start, end=end, now=now, zone=ZoneInfo(config.timezone))


async def render(state: AppState, instants: Instants, months: int) -> str | None:
    """The SVG of the next ``months`` months, or None when no config is loaded yet."""
    config = state.config()
    if config is None:
        return None
    now = state.now()
    layout = await run_in_threadpool(_layout, instants, config, now, months)
    heading = f"Next {months} month{'s' if months != 1 else ''}"
    states: Mapping[str, StoredState] = {}
    store = state.store
    if store is None:
        heading += UNAVAILABLE
    else:
        try:
            states = await state.db(store.deliveries_by_id, layout.delivery_ids())
        except Exception as exc:
            log.warning("timeline: store unavailable", extra=fields(error=type(exc).__name__))
            heading += UNAVAILABLE
    # The acknowledgements in force (kept in memory by the daemon): escalations and
    # reminders beyond the stored days of an acknowledged occurrence will not be sent.
    acknowledged = list(state.acks.current()) if state.acks is not None else []
    return await run_in_threadpool(
        lambda: timeline_svg(layout, states, heading=heading, acknowledged=acknowledged)
    )
