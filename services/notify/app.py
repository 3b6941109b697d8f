"""notify's HTTP API: response clocks (open with time remaining, closed with their
response time), webhook subscriptions, and the log of notifications sent."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status

from services.notify import handlers
from services.notify.board import board_router
from services.notify.domain import NotificationStatus
from services.notify.models import (
    ClockFilter,
    ClockOut,
    NotificationOut,
    NotifyTable,
    SubscriptionIn,
    SubscriptionOut,
)
from services.notify.settings import NotifySettings, get_settings
from services.notify.standards import OfficeStandard, Standards, load_standards
from services.notify.stream import subscriptions, tick_clocks
from services.notify.webhooks import send_notifications
from shared.clock import Clock
from shared.events import OfficeId
from shared.http import ERROR_RESPONSES
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api

router = APIRouter(responses=ERROR_RESPONSES)


def get_standards(request: Request) -> Standards:
    """The standards this app was started with."""
    standards: Standards = request.app.state.standards
    return standards


StandardsDep = Annotated[Standards, Depends(get_standards)]


@router.get("/clocks", tags=["clocks"], summary="Response clocks, open or closed")
def list_clocks(
    runtime: RuntimeDep,
    standards: StandardsDep,
    state: ClockFilter = ClockFilter.OPEN,
    office_id: OfficeId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClockOut]:
    """Open clocks soonest deadline first, with the time remaining (negative when
    overdue); closed ones most recent first, with their outcome and response time."""
    now = runtime.clock.now()
    rows = runtime.run(
        lambda uow: handlers.list_clocks(uow, state=state, office_id=office_id, limit=limit)
    )
    return [ClockOut.of(row, now=now, standards=standards) for row in rows]


@router.get("/clocks/{case_id}", tags=["clocks"], summary="One incident's response clock")
def get_clock(case_id: UUID, runtime: RuntimeDep, standards: StandardsDep) -> ClockOut:
    """The clock of one case."""
    now = runtime.clock.now()
    row = runtime.run(lambda uow: handlers.get_clock(uow, case_id))
    return ClockOut.of(row, now=now, standards=standards)


@router.get("/standards", tags=["standards"], summary="The service standards in force")
def list_standards(standards: StandardsDep) -> dict[str, OfficeStandard]:
    """Each office's standard by office id, and `default` for offices without one."""
    return {**standards.offices, "default": standards.default}


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    tags=["webhooks"],
    summary="Register a webhook endpoint",
)
def create_subscription(body: SubscriptionIn, runtime: RuntimeDep) -> SubscriptionOut:
    """The endpoint receives a POST of the event JSON for each chosen event, of one office
    or of all; `X-Dinsos-Event-Id` lets it drop a repeated delivery."""
    return SubscriptionOut.of(runtime.run(lambda uow: handlers.create_subscription(uow, body)))


@router.get("/subscriptions", tags=["webhooks"], summary="Webhook subscriptions")
def list_subscriptions(runtime: RuntimeDep, active: bool | None = None) -> list[SubscriptionOut]:
    """Every subscription, oldest first."""
    rows = runtime.run(lambda uow: handlers.list_subscriptions(uow, active=active))
    return [SubscriptionOut.of(row) for row in rows]


@router.delete(
    "/subscriptions/{subscription_id}",
    tags=["webhooks"],
    summary="Deactivate a webhook subscription",
)
def deactivate_subscription(subscription_id: UUID, runtime: RuntimeDep) -> SubscriptionOut:
    """Nothing more is sent to it; the log keeps what was."""
    return SubscriptionOut.of(
        runtime.run(lambda uow: handlers.deactivate_subscription(uow, subscription_id))
    )


@router.get("/notifications", tags=["webhooks"], summary="The log of notifications")
def list_notifications(
    runtime: RuntimeDep,
    status_filter: Annotated[NotificationStatus | None, Query(alias="status")] = None,
    case_id: UUID | None = None,
    subscription_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """What was sent to whom, newest first: status, attempts, last error, HTTP status."""
    rows = runtime.run(
        lambda uow: handlers.list_notifications(
            uow, status=status_filter, case_id=case_id, subscription_id=subscription_id, limit=limit
        )
    )
    return [NotificationOut.of(row) for row in rows]


def create_app(settings: NotifySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The notify service: API, incident and delivery agents, the clock ticker and the
    webhook sender. A bad standards file stops it here, before anything starts."""
    settings = settings or get_settings()
    standards = load_standards(settings.standards_dir)
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        subscriptions=subscriptions(standards),
        background=[tick_clocks, send_notifications],
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial notify",
        description="Response clocks against each office's service standard (1x24 hours "
        "from the report to aid at the location), warnings before a breach, and webhooks.",
    )
    api.state.standards = standards
    api.include_router(router)
    api.include_router(board_router)
    return api
