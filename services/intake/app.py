"""intake's HTTP API: field reports in, coordinator decisions, and the incident list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from services.intake import handlers
from services.intake.domain import IncidentStatus, geocoding_query
from services.intake.geocoding import Geocoder, geocoder_from
from services.intake.models import IncidentOut, IntakeTable, RejectionIn, ReportIn, VerificationIn
from services.intake.settings import IntakeSettings, get_settings
from shared.clock import Clock
from shared.http import ERROR_RESPONSES
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api

router = APIRouter(responses=ERROR_RESPONSES)


def get_geocoder(request: Request) -> Geocoder:
    """The geocoder this app was built with."""
    geocoder: Geocoder = request.app.state.geocoder
    return geocoder


GeocoderDep = Annotated[Geocoder, Depends(get_geocoder)]


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    tags=["reports"],
    summary="Report an incident from the field",
)
def submit_report(
    report: ReportIn, runtime: RuntimeDep, geocoder: GeocoderDep, response: Response
) -> IncidentOut:
    """Record a laporan kejadian. The response clock starts now. Resending a report with
    the same `client_report_id` returns the incident created the first time (200)."""
    office_id = report.office_id or runtime.settings.common.default_office_id
    geocoded = None
    if report.location is None and report.address is not None:
        geocoded = geocoder.locate(geocoding_query(report.address))
    try:
        row, created = runtime.run(
            lambda uow: handlers.report_incident(uow, report, office_id, geocoded)
        )
    except IntegrityError:
        # The same phone resent the report while the first copy was being stored.
        if report.client_report_id is None:
            raise
        client_id = report.client_report_id
        existing = runtime.run(lambda uow: handlers.find_by_client_id(uow, office_id, client_id))
        if existing is None:
            raise
        row, created = existing, False
    if not created:
        response.status_code = status.HTTP_200_OK
    return IncidentOut.of(row)


@router.post(
    "/incidents/{incident_id}/verification",
    tags=["validation"],
    summary="Validate a report and set the needs to send",
)
def verify(incident_id: UUID, decision: VerificationIn, runtime: RuntimeDep) -> IncidentOut:
    """The coordinator's validation; logistics allocates stock for the assessed needs."""
    return IncidentOut.of(
        runtime.run(lambda uow: handlers.verify_incident(uow, incident_id, decision))
    )


@router.post(
    "/incidents/{incident_id}/rejection",
    tags=["validation"],
    summary="Reject a report with a reason",
)
def reject(incident_id: UUID, decision: RejectionIn, runtime: RuntimeDep) -> IncidentOut:
    """The coordinator's rejection; the incident's response clock is cancelled."""
    return IncidentOut.of(
        runtime.run(lambda uow: handlers.reject_incident(uow, incident_id, decision))
    )


@router.get("/incidents", tags=["incidents"], summary="Incidents, newest first")
def list_incidents(
    runtime: RuntimeDep,
    status_filter: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    office_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentOut]:
    """Reported, verified and rejected incidents."""
    rows = runtime.run(
        lambda uow: handlers.list_incidents(
            uow, status=status_filter, office_id=office_id, limit=limit
        )
    )
    return [IncidentOut.of(row) for row in rows]


@router.get("/incidents/{incident_id}", tags=["incidents"], summary="One incident")
def get_incident(incident_id: UUID, runtime: RuntimeDep) -> IncidentOut:
    """An incident with its decision."""
    return IncidentOut.of(runtime.run(lambda uow: handlers.get_incident(uow, incident_id)))


def create_app(
    settings: IntakeSettings | None = None,
    *,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> FastAPI:
    """The intake service: API, outbox relay; it consumes no topic."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="intake", settings=settings, metadata=IntakeTable.metadata, clock=clock
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial intake",
        description="Incident reports from Tagana teams and village officials, and their "
        "validation by a coordinator.",
    )
    api.state.geocoder = geocoder or geocoder_from(settings)
    api.include_router(router)
    return api
