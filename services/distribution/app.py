"""distribution's HTTP API: the delivery list, and the field team's steps."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from services.distribution import handlers
from services.distribution.domain import DeliveryStatus
from services.distribution.models import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    DeliveryOut,
    DistributionTable,
    FailureIn,
)
from services.distribution.settings import DistributionSettings, get_settings
from services.distribution.stream import SUBSCRIPTIONS
from shared.clock import Clock
from shared.http import ERROR_RESPONSES
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api

router = APIRouter(responses=ERROR_RESPONSES)


def get_app_settings(request: Request) -> DistributionSettings:
    """The settings this app was built with."""
    settings: DistributionSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[DistributionSettings, Depends(get_app_settings)]


@router.get("/deliveries", tags=["deliveries"], summary="Deliveries, newest first")
def list_deliveries(
    runtime: RuntimeDep,
    status_filter: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    case_id: Annotated[UUID | None, Query(description="The incident.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """Deliveries in every state, optionally of one incident or one state."""
    rows = runtime.run(
        lambda uow: handlers.list_deliveries(
            uow, status=status_filter, case_id=case_id, limit=limit
        )
    )
    return [DeliveryOut.of(row) for row in rows]


@router.get("/deliveries/{delivery_id}", tags=["deliveries"], summary="One delivery")
def get_delivery(delivery_id: UUID, runtime: RuntimeDep) -> DeliveryOut:
    """A delivery with the time of each step taken."""
    return DeliveryOut.of(runtime.run(lambda uow: handlers.get_delivery(uow, delivery_id)))


@router.post(
    "/deliveries/{delivery_id}/assignment",
    tags=["field"],
    summary="A field team takes the delivery",
)
def assign(delivery_id: UUID, assignment: AssignmentIn, runtime: RuntimeDep) -> DeliveryOut:
    """Assign a created delivery to a team; sending it again changes nothing."""
    return DeliveryOut.of(runtime.run(lambda uow: handlers.assign(uow, delivery_id, assignment)))


@router.post(
    "/deliveries/{delivery_id}/departure",
    tags=["field"],
    summary="The goods leave for the location",
)
def depart(delivery_id: UUID, runtime: RuntimeDep) -> DeliveryOut:
    """Mark an assigned delivery in transit; sending it again changes nothing."""
    return DeliveryOut.of(runtime.run(lambda uow: handlers.depart(uow, delivery_id)))


@router.post(
    "/deliveries/{delivery_id}/arrival", tags=["field"], summary="The team reached the location"
)
def arrive(
    delivery_id: UUID, arrival: ArrivalIn, runtime: RuntimeDep, settings: SettingsDep
) -> DeliveryOut:
    """Record arrival at the team's GPS position, which must be within
    `DISTRIBUTION_ARRIVAL_TOLERANCE_M` of the destination; sending it again changes
    nothing."""
    return DeliveryOut.of(
        runtime.run(
            lambda uow: handlers.arrive(
                uow, delivery_id, arrival, tolerance_m=settings.arrival_tolerance_m
            )
        )
    )


@router.post(
    "/deliveries/{delivery_id}/completion", tags=["field"], summary="The goods were handed over"
)
def complete(delivery_id: UUID, completion: CompletionIn, runtime: RuntimeDep) -> DeliveryOut:
    """Record the handover (serah terima) to the named recipient after arrival."""
    return DeliveryOut.of(runtime.run(lambda uow: handlers.complete(uow, delivery_id, completion)))


@router.post(
    "/deliveries/{delivery_id}/failure",
    tags=["field"],
    summary="The delivery could not be completed",
)
def fail(delivery_id: UUID, failure: FailureIn, runtime: RuntimeDep) -> DeliveryOut:
    """Close a delivery that has not been handed over, with the reason."""
    return DeliveryOut.of(runtime.run(lambda uow: handlers.fail(uow, delivery_id, failure)))


def create_app(
    settings: DistributionSettings | None = None, *, clock: Clock | None = None
) -> FastAPI:
    """The distribution service: API, outbox relay, and the agent on released dispatches."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="distribution",
        settings=settings,
        metadata=DistributionTable.metadata,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial distribution",
        description="Deliveries of released dispatches to the incident location: "
        "assigned, in transit, arrived, delivered, or failed with a reason.",
    )
    api.state.settings = settings
    api.include_router(router)
    return api
