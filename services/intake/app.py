"""intake's HTTP API: field reports in, coordinator decisions, and the incident list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import IntegrityError

from services.intake import (
    aid_application_routes,
    assessment,
    case_records,
    family_routes,
    handlers,
)
from services.intake.complaint_routes import COMPLAINT_ACCESS, install_complaints
from services.intake.dependencies import InCallersOffice, intake_settings
from services.intake.domain import AddressRefused, IncidentStatus, geocoding_query, inspect_photo
from services.intake.family_screens import FAMILY_SCREENS, family_screens_router
from services.intake.geocoding import Geocoder, geocoder_from
from services.intake.migrations import HISTORY
from services.intake.models import (
    FollowUpIn,
    IncidentOut,
    IncidentUpdateOut,
    IncidentUpdateRow,
    IntakeTable,
    LinkedReportOut,
    PhotoOut,
    PhotoRow,
    RejectionIn,
    ReportAnswer,
    ReportIn,
    ReportOutcome,
    VerificationIn,
)
from services.intake.phone_form import page_router
from services.intake.privacy import encrypting_clear_phones_at_start
from services.intake.reports import (
    ReportResult,
    check_report,
    find_resent,
    linked_reports,
    report_incident,
)
from services.intake.screens import COORDINATOR_SCREENS, make_pages, screens_router
from services.intake.settings import IntakeSettings, get_settings
from shared.actors import ActingUserName, attributed
from shared.auth import Access, Policy, Role, office_scope
from shared.clock import Clock
from shared.errors import Forbidden, NotFound
from shared.http import ERROR_RESPONSES, ErrorBody, status_of
from shared.invariants import of_type
from shared.openapi import file_answer
from shared.pages import assets_router
from shared.paging import PAGED, After, link_next_page
from shared.privacy import PersonalDataVault
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep, create_service_api
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


def get_geocoder(request: Request) -> Geocoder:
    """The geocoder this app was built with."""
    geocoder: Geocoder = request.app.state.geocoder
    return geocoder


GeocoderDep = Annotated[Geocoder, Depends(get_geocoder)]


def get_policy(request: Request) -> handlers.ReportPolicy:
    """The report rules this app was built with."""
    policy: handlers.ReportPolicy = request.app.state.report_policy
    return policy


PolicyDep = Annotated[handlers.ReportPolicy, Depends(get_policy)]


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    tags=["reports"],
    summary="Report an incident from the field",
)
def submit_report(
    report: ReportIn,
    *,
    request: Request,
    runtime: RuntimeDep,
    geocoder: GeocoderDep,
    policy: PolicyDep,
    response: Response,
) -> ReportAnswer:
    """Record a laporan kejadian; the response clock starts now (201). Resending a report
    with the same `client_report_id` returns what the first copy became (200); a report
    of the same hazard close in space and time to an undecided incident is linked to it
    (200, `outcome: linked`) instead of opening a second incident."""
    scope = office_scope(request)
    if scope is not None and report.office_id not in (None, scope):
        raise Forbidden("a report is filed with your own office", code="other_office")
    office_id = scope or report.office_id or runtime.settings.common.default_office_id
    resent = None
    if report.client_report_id is not None:
        client_id = report.client_report_id
        resent = runtime.run(lambda uow: find_resent(uow, office_id, client_id))
    if resent is None:
        # Refuse a wrong address before asking the geocoder about it.
        check_report(report, policy.hierarchy)
        geocoded = None
        if report.location is None and report.address is not None:
            geocoded = geocoder.locate(geocoding_query(report.address))
        try:
            resent = runtime.run(
                lambda uow: report_incident(uow, report, office_id, geocoded, policy)
            )
        except IntegrityError:
            # The same phone resent the report while the first copy was being stored.
            if report.client_report_id is None:
                raise
            client_id = report.client_report_id
            found = runtime.run(lambda uow: find_resent(uow, office_id, client_id))
            if found is None:
                raise
            resent = found
    if resent.outcome is not ReportOutcome.CREATED:
        response.status_code = status.HTTP_200_OK
    return answer_for(resent, policy.vault)


def answer_for(result: ReportResult, vault: PersonalDataVault) -> ReportAnswer:
    """What the reporter is told, in Bahasa Indonesia and English."""
    incident, report = result.incident, result.report
    linked = report is not None and report.linked
    if result.outcome is ReportOutcome.CREATED:
        message = f"Laporan diterima sebagai kejadian baru {incident.id}."
        message_en = f"Report received as new incident {incident.id}."
    elif linked:
        message = (
            f"Kejadian yang sama sudah dilaporkan: laporan Anda digabung dengan kejadian "
            f"{incident.id}."
        )
        message_en = f"The same event was already reported: linked to incident {incident.id}."
    else:
        message = f"Laporan ini sudah diterima sebelumnya (kejadian {incident.id})."
        message_en = f"This report was already received (incident {incident.id})."
    return ReportAnswer(
        **IncidentOut.of(incident, vault).model_dump(),
        outcome=result.outcome,
        report_id=report.id if report is not None else incident.id,
        linked_to_incident=incident.id if linked else None,
        distance_m=report.distance_m if report is not None else None,
        minutes_apart=report.minutes_apart if report is not None else None,
        message=message,
        message_en=message_en,
    )


@router.get(
    "/incidents/{incident_id}/reports",
    dependencies=InCallersOffice,
    tags=["reports"],
    summary="Duplicate reports linked to an incident",
)
def list_linked_reports(
    incident_id: UUID, runtime: RuntimeDep, policy: PolicyDep
) -> list[LinkedReportOut]:
    """Other reports of the same event, joined to this incident."""
    rows = runtime.run(lambda uow: linked_reports(uow, incident_id))
    return [LinkedReportOut.of(row, policy.vault) for row in rows]


@router.post(
    "/incidents/{incident_id}/updates",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["reports"],
    summary="Follow up on an open incident",
)
def submit_follow_up(
    incident_id: UUID,
    update: FollowUpIn,
    runtime: RuntimeDep,
    policy: PolicyDep,
    response: Response,
) -> IncidentUpdateOut:
    """A laporan susulan: new totals of people and households, extra needs, a note. It
    updates the incident and is announced as `IncidentUpdated`. Resending the same
    `client_update_id` returns the first (200)."""

    def apply(uow: UnitOfWork) -> tuple[IncidentUpdateRow, bool]:
        return handlers.follow_up(uow, incident_id, update, policy)

    row = _stored_once(runtime, apply, response, retry=update.client_update_id is not None)
    return IncidentUpdateOut.of(row, policy.vault)


@router.get(
    "/incidents/{incident_id}/updates",
    dependencies=InCallersOffice,
    tags=["reports"],
    summary="Follow-ups",
)
def list_follow_ups(
    incident_id: UUID, runtime: RuntimeDep, policy: PolicyDep
) -> list[IncidentUpdateOut]:
    """Follow-ups of the incident, oldest first."""
    rows = runtime.run(lambda uow: handlers.incident_updates(uow, incident_id))
    return [IncidentUpdateOut.of(row, policy.vault) for row in rows]


@router.post(
    "/incidents/{incident_id}/photos",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["photos"],
    summary="Attach a photo to an incident",
    responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
async def upload_photo(
    incident_id: UUID,
    photo: Annotated[UploadFile, File(description="A JPEG, PNG or WebP picture.")],
    request: Request,
    runtime: RuntimeDep,
    response: Response,
) -> PhotoOut:
    """The bytes must really be a picture (the declared content type is not trusted), at
    most INTAKE_PHOTO_MAX_BYTES and 40 megapixels (422 `photo_too_many_pixels`). It is
    stored re-encoded without EXIF/XMP/ICC metadata (no GPS position, no device), turned
    upright first. The same picture sent again returns the first (200)."""
    settings = intake_settings(request)
    limit = settings.photo_max_bytes
    data = await photo.read(limit + 1)
    facts = inspect_photo(data, limit)
    photo_dir = settings.resolved_photo_dir()

    def keep(uow: UnitOfWork) -> tuple[PhotoRow, bool]:
        return handlers.add_photo(uow, incident_id, facts, photo_dir)

    return PhotoOut.of(await asyncio.to_thread(_stored_once, runtime, keep, response, retry=True))


Stored = TypeVar("Stored")


def _stored_once(
    runtime: ServiceRuntime,
    store: Callable[[UnitOfWork], tuple[Stored, bool]],
    response: Response,
    *,
    retry: bool,
) -> Stored:
    """Run `store`, which answers (row, whether it is new), for a request a phone may
    resend: the answer is 201 for the first copy and 200 for a copy found stored. When two
    copies race, the loser's unique index refuses it; running it again finds the winner's."""
    try:
        row, created = runtime.run(store)
    except IntegrityError:
        if not retry:
            raise
        row, created = runtime.run(store)
    if not created:
        response.status_code = status.HTTP_200_OK
    return row


@router.get(
    "/incidents/{incident_id}/photos",
    dependencies=InCallersOffice,
    tags=["photos"],
    summary="An incident's photos",
)
def list_photos(incident_id: UUID, runtime: RuntimeDep) -> list[PhotoOut]:
    """Photos of the incident, oldest first."""
    rows = runtime.run(lambda uow: handlers.incident_photos(uow, incident_id))
    return [PhotoOut.of(row) for row in rows]


@router.get(
    "/photos/{photo_id}",
    tags=["photos"],
    summary="A photo's bytes",
    response_class=FileResponse,
    responses=file_answer("image/jpeg", "image/png", "image/webp", description="The picture"),
)
def get_photo(photo_id: UUID, request: Request, runtime: RuntimeDep) -> FileResponse:
    """The picture as stored: upright, without its metadata."""
    row = runtime.run(lambda uow: handlers.get_photo(uow, photo_id))
    settings = intake_settings(request)
    path = settings.resolved_photo_dir() / str(row.incident_id) / row.file_name
    if not path.is_file():
        raise NotFound(
            f"photo {photo_id} is recorded but its file is missing", code="photo_missing"
        )
    return FileResponse(path, media_type=row.media_type)


async def _address_refused(_request: Request, exc: Exception) -> JSONResponse:
    exc = of_type(exc, AddressRefused, "the handled error")
    return JSONResponse(
        status_code=status_of(exc),
        content={
            "error": exc.error_code,
            "detail": exc.detail,
            "level": exc.level,
            "suggestions": exc.suggestions,
        },
    )


@router.post(
    "/incidents/{incident_id}/verification",
    dependencies=InCallersOffice,
    tags=["validation"],
    summary="Validate a report and set the needs to send",
)
def verify(
    incident_id: UUID,
    decision: VerificationIn,
    *,
    request: Request,
    runtime: RuntimeDep,
    policy: PolicyDep,
    actor: ActingUserName,
) -> IncidentOut:
    """The coordinator's validation; logistics allocates stock for the assessed needs.
    The signed-in user is recorded as the one who verified (`verified_by` is ignored).
    In an office of INTAKE_DISPOSITION_REQUIRED_OFFICES (default Kukar, whose standard
    reads "Disposisi pimpinan dan validasi informasi") a report without a recorded
    disposition is refused (409 `disposition_required`). Without `assessed_needs`, the
    needs of the incident's latest rapid assessment are sent (422
    `assessed_needs_missing` when there is none or it lists none)."""
    decision = attributed(decision, actor, "verified_by")
    # An office whose standard puts the leadership's disposition first (000) verifies
    # only after it is recorded: 409 `disposition_required` (services/intake/case_records.py).
    required = intake_settings(request).disposition_required_offices
    # Needs left out are the latest rapid assessment's (services/intake/assessment.py).
    return IncidentOut.of(
        runtime.run(
            lambda uow: assessment.verify_with_latest_assessment(
                uow, incident_id, decision, required
            )
        ),
        policy.vault,
    )


@router.post(
    "/incidents/{incident_id}/rejection",
    dependencies=InCallersOffice,
    tags=["validation"],
    summary="Reject a report with a reason",
)
def reject(
    incident_id: UUID,
    decision: RejectionIn,
    runtime: RuntimeDep,
    policy: PolicyDep,
    actor: ActingUserName,
) -> IncidentOut:
    """The coordinator's rejection; the incident's response clock is cancelled. The
    signed-in user is recorded as the one who rejected (`rejected_by` is ignored)."""
    decision = attributed(decision, actor, "rejected_by")
    return IncidentOut.of(
        runtime.run(lambda uow: handlers.reject_incident(uow, incident_id, decision)),
        policy.vault,
    )


@router.get("/incidents", tags=["incidents"], summary="Incidents, newest first", responses=PAGED)
def list_incidents(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    policy: PolicyDep,
    status_filter: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    office_id: str | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentOut]:
    """Reported, verified and rejected incidents (of the caller's office only), a page
    at a time: the next page is in the `Link` header."""
    scope = office_scope(request)
    if scope is not None and office_id not in (None, scope):
        raise Forbidden("you see your own office's incidents only", code="other_office")
    office_id = scope or office_id
    page = runtime.run(
        lambda uow: handlers.list_incidents(
            uow, status=status_filter, office_id=office_id, after=after, limit=limit
        )
    )
    link_next_page(request, response, page)
    return [IncidentOut.of(row, policy.vault) for row in page.items]


@router.get(
    "/incidents/{incident_id}",
    dependencies=InCallersOffice,
    tags=["incidents"],
    summary="One incident",
)
def get_incident(incident_id: UUID, runtime: RuntimeDep, policy: PolicyDep) -> IncidentOut:
    """An incident with its decision."""
    incident = runtime.run(lambda uow: handlers.get_incident(uow, incident_id))
    return IncidentOut.of(incident, policy.vault)


FIELD = (Role.FIELD_TEAM, Role.COORDINATOR)
# Who may call what; a route missing here is refused to everyone (tests/intake/test_access).
ACCESS: Policy = {
    "POST /reports": Access.of(*FIELD),
    "GET /incidents": Access.of(*FIELD, Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /incidents/{incident_id}": Access.of(*FIELD, Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /incidents/{incident_id}/reports": Access.of(*FIELD),
    "POST /incidents/{incident_id}/updates": Access.of(*FIELD),
    "GET /incidents/{incident_id}/updates": Access.of(*FIELD, Role.WAREHOUSE),
    "POST /incidents/{incident_id}/photos": Access.of(*FIELD),
    "GET /incidents/{incident_id}/photos": Access.of(*FIELD),
    "GET /photos/{photo_id}": Access.of(*FIELD),
    "POST /incidents/{incident_id}/verification": Access.of(Role.COORDINATOR),
    "POST /incidents/{incident_id}/rejection": Access.of(Role.COORDINATOR),
    # Documents, disposition, emergency status (services/intake/case_records.py).
    **case_records.CASE_RECORDS_ACCESS,
    # Tagana's rapid assessment: API and the field team's pages (services/intake/assessment.py).
    **assessment.ASSESSMENT_ACCESS,
    # Affected families and aid applications (family_routes.py, aid_application_routes.py).
    **family_routes.FAMILIES_ACCESS,
    **aid_application_routes.AID_ACCESS,
    **FAMILY_SCREENS,
    # The coordinator's inbox and report page (services/intake/screens.py).
    **COORDINATOR_SCREENS,
    # Complaints: the staff's API and screens, the complainant's public lookup.
    **COMPLAINT_ACCESS,
    # The front page (two links) and the phone form's shell and scripts: no data in them,
    # and the form must load offline.
    "GET /": Access.anyone(),
    "GET /lapor": Access.anyone(),
    "GET /lapor.js": Access.anyone(),
    "GET /lapor.css": Access.anyone(),
    "GET /sw.js": Access.anyone(),
}


def create_app(
    settings: IntakeSettings | None = None,
    *,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> FastAPI:
    """The intake service: API, outbox relay; it consumes no topic."""
    settings = settings or get_settings()
    report_policy = handlers.ReportPolicy.from_settings(settings)
    runtime = ServiceRuntime(
        name="intake",
        settings=settings,
        metadata=IntakeTable.metadata,
        migrations=HISTORY,
        clock=clock,
        background=[encrypting_clear_phones_at_start(report_policy.vault)],
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial intake",
        description="Incident reports from Tagana teams and village officials, and their "
        "validation by a coordinator.",
        policy=ACCESS,
    )
    api.state.geocoder = geocoder or geocoder_from(settings)
    api.state.intake_settings = settings
    api.state.report_policy = report_policy
    api.add_exception_handler(AddressRefused, _address_refused)
    api.include_router(router)
    api.include_router(case_records.records_router)
    api.include_router(assessment.assessment_router)
    api.include_router(family_routes.families_router)
    api.include_router(aid_application_routes.aid_router)
    api.include_router(page_router)
    api.state.pages = make_pages(settings.office_timezone)
    api.include_router(screens_router)
    api.include_router(family_screens_router)
    install_complaints(api)
    api.include_router(assets_router)
    return api
