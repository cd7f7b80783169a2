"""The FastAPI app factory: health, readiness, metrics, calendar, API, status page.

The app holds no resources: everything comes from the :class:`AppState` the
daemon passes in, so it can be built many times (tests) and served inside the
daemon's own event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from scheduler import __version__
from scheduler.http import ackpage, page, schemas, timeline
from scheduler.http.api import build_router
from scheduler.http.instants import Instants
from scheduler.http.limits import RequestLimits
from scheduler.http.state import AppState
from scheduler.logs import fields

log = logging.getLogger("tminus.http")

# A database that takes longer than this to answer "SELECT 1" is not ready.
PING_TIMEOUT = 3.0


def _unavailable(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


def create_app(state: AppState) -> FastAPI:
    """Build the HTTP surface of one daemon (SPEC "HTTP surface")."""
    app = FastAPI(
        title="tminus",
        version=__version__,
        description="Deadline and milestone notifier: health, metrics and a JSON API.",
        docs_url=None,
        redoc_url=None,
        responses={
            413: {"model": schemas.ErrorBody, "description": "request body over 64 KiB"},
            414: {"model": schemas.ErrorBody, "description": "query string or path over 4 KiB"},
        },
    )
    app.add_middleware(RequestLimits)
    instants = Instants()
    unavailable: dict[int | str, dict[str, Any]] = {503: {"model": schemas.Unavailable}}

    @app.get("/healthz", response_model=schemas.Health, responses=unavailable, tags=["ops"])
    async def healthz() -> Any:
        """200 while the process, its event loop and its scheduler are alive."""
        # A stuck event loop cannot answer at all (the probe times out); a loop
        # that runs while the scheduler's periodic heartbeat has stopped gets 503.
        if not state.loop_alive():
            return _unavailable("the scheduler heartbeat is stale")
        return schemas.Health(status="ok")

    @app.get("/readyz", response_model=schemas.Health, responses=unavailable, tags=["ops"])
    async def readyz() -> Any:
        """200 when a config is loaded and the database answers, else 503 and why."""
        reason = state.ready_reason()
        if reason is not None:
            return _unavailable(reason)
        store = state.store
        if store is None:
            return _unavailable("the database is not open yet")
        try:
            await asyncio.wait_for(state.db(store.ping), PING_TIMEOUT)
        except TimeoutError:
            return _unavailable("database does not answer (timeout)")
        except Exception as exc:
            log.warning("readiness: database ping failed", extra=fields(error=type(exc).__name__))
            return _unavailable(f"database does not answer ({type(exc).__name__})")
        return schemas.Health(status="ok")

    @app.get(
        "/metrics",
        response_class=Response,
        tags=["ops"],
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """Prometheus text exposition; gauges of stored state are refreshed per scrape."""
        await _refresh_gauges(state)
        body, content_type = state.metrics.render()
        return Response(body, media_type=content_type)

    @app.get(
        "/calendar.ics",
        response_class=Response,
        tags=["ops"],
        responses={
            200: {"content": {"text/calendar": {"schema": {"type": "string"}}}},
            503: {"model": schemas.Unavailable},
        },
    )
    async def calendar() -> Response:
        """The RFC 5545 calendar of the config in force, as ``tminus export-ics`` writes it."""
        if state.config() is None:
            return _unavailable("no config loaded yet")
        body = await run_in_threadpool(state.calendar)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": 'inline; filename="tminus.ics"'},
        )

    @app.get(
        "/timeline.svg",
        response_class=Response,
        tags=["ops"],
        responses={
            200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
            503: {"model": schemas.Unavailable},
        },
    )
    async def timeline_svg(
        months: int = Query(timeline.DEFAULT_MONTHS, ge=1, le=timeline.MAX_MONTHS),
    ) -> Response:
        """The coming months as a picture: milestones, reminder ladders, ``after`` arrows."""
        svg = await timeline.render(state, instants, months)
        if svg is None:
            return _unavailable("no config loaded yet")
        return Response(svg, media_type="image/svg+xml", headers=timeline.SVG_HEADERS)

    @app.get("/", response_class=HTMLResponse, tags=["ops"])
    async def status_page() -> HTMLResponse:
        """A small status page for people: milestones, countdowns, deliveries."""
        view = await page.gather(state, instants)
        return HTMLResponse(
            page.render(view),
            headers={
                "content-security-policy": page.CONTENT_SECURITY_POLICY,
                "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer",
                "cache-control": "no-store",
            },
        )

    app.include_router(build_router(state, instants))
    app.include_router(ackpage.build_router(state))
    return app


async def _refresh_gauges(state: AppState) -> None:
    """Reminder counts and disabled channels come from the store at scrape time.

    A database that does not answer leaves the last values in place: the scrape
    must still succeed so the other metrics (and the failure) stay visible.
    """
    store = state.store
    if store is None:
        return
    try:
        counts = await asyncio.wait_for(state.db(store.counts_by_status), PING_TIMEOUT)
        channels = await asyncio.wait_for(state.db(store.channel_states), PING_TIMEOUT)
    except Exception as exc:
        log.warning("metrics: store unavailable", extra=fields(error=type(exc).__name__))
        return
    state.metrics.set_reminder_counts(counts)
    config = state.config()
    known = list(config.channels) if config is not None else []
    state.metrics.set_disabled_channels(
        [name for name, c in channels.items() if c.disabled], known=known
    )
