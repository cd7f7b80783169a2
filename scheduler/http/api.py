"""The JSON API under ``/api``: milestones, reminders, deliveries, redelivery, acknowledging.

Access: reads are open, like the status page and ``/metrics`` that show the
same data. Mutations need ``Authorization: Bearer $TMINUS_API_TOKEN`` (401 when
missing or wrong, compared in constant time); with no token set the API is
read-only and mutations are refused with 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.durations import Duration
from scheduler.errors import NotFoundError, TminusError
from scheduler.http import schemas
from scheduler.http.instants import Instants
from scheduler.http.state import AckDesk, AppState, DeliveryRecord, StoreView
from scheduler.model import DeliveryStatus

MAX_PAGE = 500
DEFAULT_PAGE = 50
MAX_OFFSET = 1_000_000
# Planning a window is work proportional to its length; ten years is plenty.
MAX_WITHIN = timedelta(days=3660)

_UNAUTHORIZED = {"model": schemas.ErrorBody, "description": "missing or wrong bearer token"}
_NO_CONFIG = {"model": schemas.ErrorBody, "description": "no config loaded yet"}


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
MilestoneId = Annotated[str, Path(max_length=128, description="the milestone's id")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _token_matches(expected: str, given: str | None) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def _unauthorized() -> HTTPException:
    return HTTPException(
        401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def build_router(state: AppState, instants: Instants) -> APIRouter:
    """The ``/api`` routes, bound to ``state``."""

    def write_access(request: Request) -> None:
        token = state.api_token
        if token is None:
            raise HTTPException(403, "the API is read-only: TMINUS_API_TOKEN is not set")
        if not _token_matches(token, _bearer(request)):
            raise _unauthorized()

    router = APIRouter(prefix="/api", tags=["api"])

    def store_or_503() -> StoreView:
        store = state.store
        if store is None:
            raise HTTPException(503, "the database is not open yet")
        return store

    def config_or_503() -> Any:
        config = state.config()
        if config is None:
            raise HTTPException(503, "no config loaded yet")
        return config

    @router.get(
        "/milestones",
        response_model=schemas.MilestonePage,
        responses={503: _NO_CONFIG},
    )
    async def milestones(limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> schemas.MilestonePage:
        """Milestones of the config in force, in config order, with resolved instants."""
        config = config_or_503()
        at = await run_in_threadpool(instants.of, config, state.now())
        page = config.milestones[offset : offset + limit]
        acked = state.acks.current() if state.acks is not None else {}
        return schemas.MilestonePage(
            items=[schemas.milestone_out(m, at.get(m.id), _ack_of(acked, m.id, at)) for m in page],
            total=len(config.milestones),
            limit=limit,
            offset=offset,
        )

    @router.get(
        "/reminders",
        response_model=schemas.ReminderPage,
        responses={503: _NO_CONFIG, 400: {"model": schemas.ErrorBody, "description": "bad window"}},
    )
    async def reminders(
        within: Annotated[
            str, Query(max_length=64, description="window from now: 90d, 6 months, P7D")
        ] = "90d",
        status: Annotated[
            DeliveryStatus | None, Query(description="only reminders with a delivery in it")
        ] = None,
        limit: Limit = DEFAULT_PAGE,
        offset: Offset = 0,
    ) -> schemas.ReminderPage:
        """Planned reminders and escalations due from now to now + ``within``, soonest
        first, each channel's delivery as stored; those of an acknowledged occurrence not
        yet sent are ``cancelled`` with reason ``acknowledged`` (they will never be sent)."""
        config_or_503()
        try:
            span = Duration.parse(within)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        start = state.now()
        if span.is_negative or span.approx_seconds() > MAX_WITHIN.total_seconds():
            raise HTTPException(400, "within must be between 0 and 10 years")
        try:
            end = span.add_to(start)
        except (ValueError, OverflowError) as exc:
            raise HTTPException(400, f"invalid window: {exc}") from None
        planned = await run_in_threadpool(state.upcoming, end - start)
        ids = schemas.delivery_ids(planned)
        store = state.store
        stored: Mapping[str, DeliveryRecord] = {}
        if ids and store is not None:
            # Every stored status counts, not only the open ones: an acknowledged
            # occurrence's stored deliveries are cancelled (reason acknowledged). One
            # range read on due_at: rows are stored only a couple of days ahead.
            stored = await state.db(
                store.deliveries_due, due_from=start, due_until=end + timedelta(seconds=1)
            )
        acked = state.acks.current() if state.acks is not None else {}
        items = [
            schemas.reminder_out(r, stored, acked.get((r.milestone.id, r.occurrence)))
            for r in planned
        ]
        if status is not None:
            items = [r for r in items if any(d.status == status.value for d in r.deliveries)]
        return schemas.ReminderPage(
            items=items[offset : offset + limit],
            total=len(items),
            limit=limit,
            offset=offset,
            start=start,
            end=end,
        )

    @router.get(
        "/deliveries",
        response_model=schemas.DeliveryPage,
        responses={503: {"model": schemas.ErrorBody, "description": "database not open"}},
    )
    async def deliveries(
        status: Annotated[DeliveryStatus | None, Query(description="only this status")] = None,
        limit: Limit = DEFAULT_PAGE,
        offset: Offset = 0,
    ) -> schemas.DeliveryPage:
        """Stored deliveries, most recently due first."""
        store = store_or_503()
        rows = await state.db(
            store.deliveries,
            status=status.value if status is not None else None,
            limit=limit,
            offset=offset,
        )
        counts = await state.db(store.counts_by_status)
        total = counts.get(status.value, 0) if status is not None else sum(counts.values())
        return schemas.DeliveryPage(
            items=[schemas.delivery_out(r) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    @router.post(
        "/deliveries/{delivery_id}/redeliver",
        response_model=schemas.Redelivered,
        status_code=202,
        dependencies=[Depends(write_access)],
        responses={
            401: _UNAUTHORIZED,
            403: {"model": schemas.ErrorBody, "description": "no API token configured"},
            404: {"model": schemas.ErrorBody, "description": "no such delivery"},
            409: {"model": schemas.ErrorBody, "description": "the delivery is still pending"},
        },
    )
    async def redeliver(
        delivery_id: Annotated[str, Path(max_length=128)],
    ) -> schemas.Redelivered:
        """Put a dead or sent delivery back in the queue, with the same ``webhook-id``."""
        try:
            row = await state.redeliver(delivery_id)
        except NotFoundError:
            raise HTTPException(404, "no such delivery") from None
        except TminusError as exc:
            raise HTTPException(409, str(exc)) from None
        return schemas.Redelivered(status="queued", delivery=schemas.delivery_out(row))

    def desk() -> AckDesk:
        config_or_503()
        if state.acks is None:
            raise HTTPException(503, "the daemon is still starting")
        return state.acks

    ack_errors: dict[int | str, dict[str, Any]] = {
        401: _UNAUTHORIZED,
        403: {"model": schemas.ErrorBody, "description": "no API token configured"},
        404: {"model": schemas.ErrorBody, "description": "no such milestone or occurrence"},
        400: {"model": schemas.ErrorBody, "description": "a by or note that cannot be stored"},
        503: _NO_CONFIG,
    }

    @router.post(
        "/milestones/{milestone_id}/ack",
        response_model=schemas.AckResult,
        dependencies=[Depends(write_access)],
        responses=ack_errors,
    )
    async def acknowledge(
        milestone_id: MilestoneId, body: schemas.AckIn | None = None
    ) -> schemas.AckResult:
        """Acknowledge an occurrence: its unsent reminders and escalations are cancelled."""
        wanted = body or schemas.AckIn()
        try:
            change = await desk().acknowledge(
                milestone_id,
                occurrence=wanted.occurrence,
                by=wanted.by,
                note=wanted.note,
                source=AckSource.API,
            )
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except TminusError as exc:
            raise HTTPException(400, str(exc)) from None
        return schemas.ack_result(change)

    @router.delete(
        "/milestones/{milestone_id}/ack",
        response_model=schemas.AckResult,
        dependencies=[Depends(write_access)],
        responses=ack_errors,
    )
    async def unacknowledge(
        milestone_id: MilestoneId, body: schemas.UnackIn | None = None
    ) -> schemas.AckResult:
        """Take an acknowledgement back: reminders not yet due are scheduled again."""
        wanted = body or schemas.UnackIn()
        try:
            change = await desk().unacknowledge(
                milestone_id, occurrence=wanted.occurrence, by=wanted.by
            )
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except TminusError as exc:
            raise HTTPException(400, str(exc)) from None
        return schemas.ack_result(change, taken_back=True)

    return router


def _ack_of(
    acked: Mapping[tuple[str, datetime], Acknowledgement],
    milestone_id: str,
    at: Mapping[str, datetime],
) -> Acknowledgement | None:
    instant = at.get(milestone_id)
    return None if instant is None else acked.get((milestone_id, instant))
